"""Identifying values as the pages show them until someone asks for one (ASVS V14.2.6).

A masked value keeps just enough to tell two apart at a glance (the last digits of a
document, the country and last two digits of a phone, the first letter and domain of an
email, the lines of an address after the first), never the length of what it hides.
Pages only: exports and packages carry full values (docs/architecture.md#masked-values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases.models import IdentityDocument, Person

DOT = "•"
HIDDEN = DOT * 4
DOCUMENT = "document-"


def mask_document(number: str | None) -> str:
    """`•••• 4821`: the last four characters of a number of eight or more, the last two of
    five to seven, nothing of a shorter one."""
    value = "".join((number or "").split())
    if not value:
        return ""
    shown = 4 if len(value) >= 8 else 2 if len(value) >= 5 else 0
    return f"{HIDDEN} {value[-shown:]}" if shown else HIDDEN


def mask_phone(phone: str | None) -> str:
    """`+52 •• •••• ••12`: the country code and the last two digits, in the number's own
    grouping when it parses, every other digit hidden."""
    value = (phone or "").strip()
    if not value:
        return ""
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and parsed.country_code:
        shown = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        prefix = f"+{parsed.country_code}"
        if shown.startswith(prefix):
            return prefix + _hide_digits(shown[len(prefix):], keep=2)
    return _hide_digits(value, keep=2)


def mask_email(email: str | None) -> str:
    """`m•••@example.org`: the first character of the mailbox and the domain."""
    value = (email or "").strip()
    if not value:
        return ""
    local, at, domain = value.rpartition("@")
    if not at:
        return HIDDEN
    first = local[:1] if len(local) > 1 else ""
    return f"{first}{DOT * 3}@{domain}"


def mask_address(address: str | None) -> str:
    """The address without its first line (street and number): `••••` and what follows,
    the town or region. A one-line address loses its part before the first comma."""
    lines = [line.strip() for line in (address or "").strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) == 1:
        _, comma, rest = lines[0].partition(",")
        rest = rest.strip()
        return f"{HIDDEN}, {rest}" if comma and rest else HIDDEN
    return "\n".join([HIDDEN, *lines[1:]])


def _hide_digits(text: str, *, keep: int) -> str:
    """Every digit of `text` as a dot but the last `keep`; all of them when there are so few
    that the kept ones would be most of the number."""
    digits = sum(ch.isdigit() for ch in text)
    keep = keep if digits >= 6 else 0
    out: list[str] = []
    seen = 0
    for ch in text:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > digits - keep else DOT)
        else:
            out.append(ch)
    return "".join(out)


_CONTACTS: dict[str, tuple[Callable[[str | None], str], Promise]] = {
    "phone": (mask_phone, _("phone")),
    "email": (mask_email, _("email")),
    "address": (mask_address, _("address")),
}


@dataclass(frozen=True)
class MaskedValue:
    """One value of a person as a page shows it: `clear` only when it was asked for."""

    key: str  # "phone", "email", "address" or "document-<id>": what a reveal asks for
    kind: str  # what the audit event names: "phone", "email", "address" or "document"
    label: str
    masked: str
    clear: str | None = None


def contact_value(person: Person, key: str, *, revealed: str = "") -> MaskedValue | None:
    """The phone, email or address of `person` masked (in clear if `revealed` is `key`);
    None for any other key."""
    if key not in _CONTACTS:
        return None
    mask, label = _CONTACTS[key]
    raw = getattr(person, key) or ""
    return MaskedValue(key, kind_of(key), str(label), mask(raw), raw if revealed == key else None)


def document_value(document: IdentityDocument, *, revealed: str = "") -> MaskedValue:
    key = f"{DOCUMENT}{document.pk}"
    raw = document.number or ""
    return MaskedValue(key, "document", str(_("document number")), mask_document(raw),
                       raw if revealed == key else None)


def kind_of(key: str) -> str:
    """What a reveal asked for, in the audit log's words, whatever the request held."""
    if key.startswith(DOCUMENT):
        return "document"
    return key if key in _CONTACTS else "unknown"


def person_value(person: Person, key: str, *, revealed: str = "") -> MaskedValue | None:
    """The value `key` names among the person's contacts and identity documents, or None."""
    if key.startswith(DOCUMENT):
        for document in person.documents.all():
            if key == f"{DOCUMENT}{document.pk}":
                return document_value(document, revealed=revealed)
        return None
    return contact_value(person, key, revealed=revealed)
