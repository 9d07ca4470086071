"""The rules a person's data must meet, wherever it comes from.

Registration and edit forms, the file import, the family of an asylum application (and
whatever registers people later) all hand a `PersonData` to `clean_person`, which returns it
normalized (a phone number in E.164) or raises a ValidationError keyed by field name. The
services call it on every write; a form or the importer may call it first to show errors
early, but none of them checks these rules itself.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from cases.crypto import blind
from cases.models import DocumentType, Sex, SpecificNeed
from cases.vocab import LANGUAGE_CODES

MAX_LENGTH: dict[str, int] = {
    "given_names": 200, "family_names": 200, "aliases": 500, "phone": 40, "email": 254,
    "address": 1000, "document_number": 60,
}
EARLIEST_BIRTH = datetime.date(1900, 1, 1)  # an earlier year is a typing mistake


@dataclass
class IdentityDocumentData:
    document_type: str
    number: str
    issuing_country: str = ""
    id: uuid.UUID | None = None  # an existing document to change; None adds one


@dataclass
class PersonData:
    given_names: str
    family_names: str
    sex: str = "unknown"
    date_of_birth: datetime.date | None = None
    aliases: list[str] = field(default_factory=list)
    nationalities: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    phone: str = ""
    email: str = ""
    address: str = ""
    specific_needs: list[str] = field(default_factory=list)
    documents: list[IdentityDocumentData] = field(default_factory=list)

    def fingerprint(self) -> str:
        first_doc = self.documents[0].number if self.documents else ""
        return blind.fingerprint(
            given_names=self.given_names,
            family_names=self.family_names,
            date_of_birth=self.date_of_birth,
            document=first_doc,
        )


# One rule at a time: each raises a ValidationError for its own field.


def _one_of(values: list[str]) -> ValidationError:
    return ValidationError(_("Use one of: %(values)s."), params={"values": ", ".join(values)},
                           code="invalid_choice")


def check_length(name: str, value: str) -> None:
    limit = MAX_LENGTH[name]
    if len(value) > limit:
        raise ValidationError(_("Longer than %(n)d characters."), params={"n": limit},
                              code="max_length")


def parse_phone(value: str, region: str = "") -> str:
    """Return the number in E.164, or raise ValidationError. A number without its country
    prefix is read as one of `region` (an ISO 3166 code; none: only international numbers)."""
    try:
        number = phonenumbers.parse(value, region or None)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("Enter a phone number, e.g. +501 610 1234."),
                              code="invalid") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("This phone number is not valid for its country."), code="invalid")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def check_date_of_birth(value: datetime.date | None) -> None:
    if value is None:
        return
    if value > timezone.localdate():
        raise ValidationError(_("The date of birth is in the future."), code="future")
    if value < EARLIEST_BIRTH:
        raise ValidationError(_("Check the year of birth."), code="implausible")


def check_email(value: str) -> None:
    check_length("email", value)
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(_("Enter a valid email address."), code="invalid") from None


def is_country_code(code: str) -> bool:
    return len(code) == 2 and countries.alpha2(code) == code


def check_document(item: IdentityDocumentData) -> IdentityDocumentData:
    """An identity document with its type, its number and, if given, a known issuing country;
    returned with the number trimmed. Errors are keyed document_type, document_number and
    document_country."""
    errors: dict[str, ValidationError] = {}
    number = item.number.strip()
    if not item.document_type:
        errors["document_type"] = ValidationError(_("Say what kind of document this is."),
                                                  code="incomplete")
    elif item.document_type not in DocumentType.values:
        errors["document_type"] = _one_of(DocumentType.values)
    if not number:
        errors["document_number"] = ValidationError(_("Enter the number of this document."),
                                                    code="incomplete")
    else:
        _collect(errors, "document_number", lambda: check_length("document_number", number))
    if item.issuing_country and not is_country_code(item.issuing_country):
        errors["document_country"] = ValidationError(_("Choose a country from the list."),
                                                     code="invalid_choice")
    if errors:
        raise ValidationError(errors)
    return dataclasses.replace(item, number=number)


def _collect(errors: dict[str, ValidationError], name: str, rule: Callable[[], object]) -> None:
    """Run a rule for one field unless that field already has an error."""
    if name in errors:
        return
    try:
        rule()
    except ValidationError as exc:
        errors[name] = exc


def _required(name: str, value: str) -> None:
    if not value.strip():
        raise ValidationError(_("This field is required."), code="required")
    check_length(name, value.strip())


def clean_person(data: PersonData, *, country: str = "") -> PersonData:
    """Check every rule on a person's data; return it normalized (names and texts trimmed,
    the phone number in E.164 read in `country` when it has no prefix), or raise one
    ValidationError keyed by field name, one message per field."""
    errors: dict[str, ValidationError] = {}
    _collect(errors, "given_names", lambda: _required("given_names", data.given_names))
    _collect(errors, "family_names", lambda: _required("family_names", data.family_names))
    aliases = [a.strip() for a in data.aliases if a.strip()]
    _collect(errors, "aliases", lambda: check_length("aliases", "; ".join(aliases)))
    _collect(errors, "date_of_birth", lambda: check_date_of_birth(data.date_of_birth))
    if data.sex not in Sex.values:
        errors["sex"] = _one_of(Sex.values)
    if not all(is_country_code(c) for c in data.nationalities):
        errors["nationalities"] = ValidationError(
            _("Use ISO 3166 two-letter country codes (such as HN or SV), separated by ';'."),
            code="invalid_choice")
    if any(c not in LANGUAGE_CODES for c in data.languages):
        errors["languages"] = ValidationError(
            _("Use these language codes, separated by ';': %(codes)s."),
            params={"codes": ", ".join(LANGUAGE_CODES)}, code="invalid_choice")
    phone = data.phone.strip()
    if phone:
        try:
            check_length("phone", phone)
            phone = parse_phone(phone, country)
        except ValidationError as exc:
            errors["phone"] = exc
    email = data.email.strip()
    if email:
        _collect(errors, "email", lambda: check_email(email))
    address = data.address.strip()
    _collect(errors, "address", lambda: check_length("address", address))
    if any(n not in SpecificNeed.values for n in data.specific_needs):
        errors["specific_needs"] = _one_of(SpecificNeed.values)
    documents = []
    for item in data.documents:
        try:
            documents.append(check_document(item))
        except ValidationError as exc:
            for name, problems in exc.error_dict.items():
                errors.setdefault(name, ValidationError(problems))
    if errors:
        raise ValidationError(errors)
    return dataclasses.replace(
        data, given_names=data.given_names.strip(), family_names=data.family_names.strip(),
        aliases=aliases, phone=phone, email=email, address=address, documents=documents,
    )
