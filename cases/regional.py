"""The regional duplicate check: "has this person already applied in another country?"
without sending a name, a date or a number (docs/architecture.md#regional-duplicate-check).

Installations that agree share a regional key (in the key file, never in the database).
Each keeps, per person, HMAC-SHA256 tokens under it of their document numbers and of their
name with their date of birth (as written and as it sounds). An inquiry carries the tokens
of one person, signed with the asking office's Ed25519 key; the answer, signed by the
answering office, says only "possible match, ask office X about inquiry N" or "no match".
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import uuid
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import events, office_keys
from cases.access import roles_in
from cases.crypto import blind, keyring
from cases.crypto.packages import canonical
from cases.models import (
    InquiryDirection,
    Office,
    PartnerKey,
    Person,
    RegionalInquiry,
    RegionalToken,
    Role,
    User,
)

INQUIRY, ANSWER, VERSION = "amparo-regional-inquiry", "amparo-regional-answer", 1
KINDS = ("doc", "name_dob", "sound_dob")
MAX_TOKENS = 40  # per kind: a person has a few documents and names
POSSIBLE, NONE = "possible_match", "no_match"


class InquiryRefused(Exception):
    """An inquiry or answer that is not taken; the message says why."""


def regional_key() -> bytes | None:
    return keyring.provider().regional_key()


def _token(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}|{value}".encode(), hashlib.sha256).hexdigest()


def tokens(key: bytes, *, names: list[str], documents: list[str],
           date_of_birth: datetime.date | None) -> set[tuple[str, str]]:
    out = {("doc", _token(key, "doc", blind.normalize_document(n)))
           for n in documents if blind.normalize_document(n)}
    words = sorted(blind.name_tokens(*names))
    if date_of_birth and words:
        born = date_of_birth.isoformat()
        out.add(("name_dob", _token(key, "name_dob", " ".join(words) + "|" + born)))
        sounds = sorted({blind.phonetic(w) for w in words})
        out.add(("sound_dob", _token(key, "sound_dob", " ".join(sounds) + "|" + born)))
    return out


def _person_tokens(key: bytes, person: Person) -> set[tuple[str, str]]:
    return tokens(key, names=[person.given_names or "", person.family_names or ""],
                  documents=[d.number or "" for d in person.documents.all()],
                  date_of_birth=person.date_of_birth)


def index_person(person: Person) -> None:
    """(Re)write the person's regional tokens; none without a regional key, or once erased."""
    RegionalToken.objects.filter(person=person).delete()
    key = regional_key()
    if key is None or person.erased_at:
        return
    RegionalToken.objects.bulk_create([RegionalToken(person=person, kind=k, token=t)
                                       for k, t in sorted(_person_tokens(key, person))])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _signed(body: dict[str, Any], office: Office) -> bytes:
    signature = office_keys.keys(office).signing.sign(canonical(body))
    return json.dumps({**body, "signature": _b64(signature)}).encode()


def _verified(data: bytes, expected_format: str) -> tuple[dict[str, Any], PartnerKey]:
    try:
        message = json.loads(data)
        if not isinstance(message, dict) or message.get("format") != expected_format:
            raise ValueError
        if message.get("version") != VERSION:
            raise ValueError
        signature = base64.b64decode(message.pop("signature"), validate=True)
        uuid.UUID(str(message["inquiry"]))
        sender_fingerprint = str(message["from_key"])
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise _refused(_("This file is not a regional inquiry or answer, or it is "
                         "damaged."), "unreadable") from None
    sender = PartnerKey.objects.filter(fingerprint=sender_fingerprint,
                                       revoked_at__isnull=True).first()
    if sender is None or sender.office_code != message.get("from_office"):
        raise _refused(_("It comes from a key that is not registered here."), "unknown_sender")
    try:
        Ed25519PublicKey.from_public_bytes(bytes(sender.signing_key)).verify(signature,
                                                                           canonical(message))
    except InvalidSignature:
        raise _refused(_("It was changed after it was signed."), "bad_signature") from None
    return message, sender


def inquire(*, by: User, person: Person, to: PartnerKey) -> bytes:
    """An inquiry about a person the user may see, from the person's office to another
    installation's office."""
    key = regional_key()
    if key is None:
        raise ValidationError(_("This installation holds no regional key: it does not take "
                                "part in the regional duplicate check."))
    if not ({Role.CASEWORKER, Role.SUPERVISOR} & roles_in(by, person.office_id)):
        raise PermissionDenied(_("Only the caseworkers and supervisors of the person's office ask."))
    if person.erased_at:
        raise ValidationError(_("This person's record was erased."))
    found = _person_tokens(key, person)
    if not found:
        raise ValidationError(_("Record a document or a date of birth first: there is nothing "
                                "to compare."))
    inquiry = uuid.uuid4()
    body = {"format": INQUIRY, "version": VERSION, "inquiry": str(inquiry),
            "from_office": person.office.code,
            "from_key": office_keys.bundle(person.office).fingerprint,
            "to_office": to.office_code, "created_at": timezone.now().isoformat(),
            "tokens": {kind: sorted(t for k, t in found if k == kind) for kind in KINDS}}
    data = _signed(body, person.office)
    RegionalInquiry.objects.create(inquiry=inquiry, direction=InquiryDirection.SENT,
                                   office=person.office, partner_office=to.office_code,
                                   person=person, by=by)
    events.emit("regional.inquire", actor=by, obj=person, inquiry=str(inquiry),
                to_office=to.office_code)
    return data


def per_day() -> int:
    return int(getattr(settings, "AMPARO_REGIONAL_INQUIRIES_PER_DAY", 200))


def may_ask(user: User, person: Person) -> bool:
    """Whether `user` may ask about `person`: a caseworker or supervisor of the person's
    office, while this installation holds a regional key and the record is not erased."""
    return (not person.erased_at and bool({Role.CASEWORKER, Role.SUPERVISOR}
                                          & roles_in(user, person.office_id))
            and regional_key() is not None)


def answer(*, by: User, data: bytes) -> bytes:
    """The signed answer to an inquiry addressed to an office of this installation; a refused
    inquiry is recorded too (`regional.answer`, outcome refused)."""
    try:
        return _answer(by=by, data=data)
    except InquiryRefused as refused:
        if not getattr(refused, "recorded", False):
            events.emit("regional.answer", actor=by, outcome="refused",
                        reason=getattr(refused, "code", "refused"))
        raise
    except PermissionDenied:
        events.emit("regional.answer", actor=by, outcome="denied", reason="role")
        raise


def _refused(message: str, code: str, *, recorded: bool = False) -> InquiryRefused:
    refused = InquiryRefused(message)
    refused.code = code  # type: ignore[attr-defined]
    refused.recorded = recorded  # type: ignore[attr-defined]
    return refused


def _answer(*, by: User, data: bytes) -> bytes:
    key = regional_key()
    if key is None:
        raise _refused(_("This installation holds no regional key."), "no_key")
    message, sender = _verified(data, INQUIRY)
    office = Office.objects.filter(code=message.get("to_office")).first()
    if office is None:
        raise _refused(_("It is addressed to an office that is not in this installation."),
                       "not_for_us")
    if not ({Role.CASEWORKER, Role.SUPERVISOR} & roles_in(by, office.pk)):
        raise PermissionDenied(_("Only the caseworkers and supervisors of the office answer."))
    since = timezone.now() - datetime.timedelta(days=1)
    if RegionalInquiry.objects.filter(direction=InquiryDirection.RECEIVED,
                                      partner_office=sender.office_code, at__gte=since
                                      ).count() >= per_day():
        events.emit("regional.answer", actor=by, office_id=office.pk, outcome="refused",
                    reason="rate", from_office=sender.office_code)
        raise _refused(_("%(office)s sent more than %(n)d inquiries in a day; try "
                         "tomorrow.") % {"office": sender.office_code, "n": per_day()}, "rate",
                       recorded=True)
    asked = message.get("tokens")
    if not isinstance(asked, dict):
        raise _refused(_("The inquiry holds no tokens."), "no_tokens")
    wanted = Q()
    for kind in KINDS:
        values = [str(t) for t in (asked.get(kind) or [])[:MAX_TOKENS] if isinstance(t, str)]
        if values:
            wanted |= Q(kind=kind, token__in=values)
    hit = None
    if wanted:
        hit = (Person.objects.filter(erased_at__isnull=True,
                                     pk__in=RegionalToken.objects.filter(wanted).values("person"))
               .select_related("office").order_by("created_at").first())
    try:
        with transaction.atomic():
            RegionalInquiry.objects.create(
                inquiry=message["inquiry"], direction=InquiryDirection.RECEIVED, office=office,
                partner_office=sender.office_code, result=POSSIBLE if hit else NONE,
                ask_office=hit.office.code if hit else "", by=by)
    except IntegrityError:
        raise _refused(_("This inquiry was answered before."), "answered") from None
    events.emit("regional.answer", actor=by, office_id=office.pk, inquiry=message["inquiry"],
                from_office=sender.office_code, result=POSSIBLE if hit else NONE)
    body = {"format": ANSWER, "version": VERSION, "inquiry": message["inquiry"],
            "from_office": office.code, "from_key": office_keys.bundle(office).fingerprint,
            "to_office": sender.office_code, "created_at": timezone.now().isoformat(),
            "result": POSSIBLE if hit else NONE, "ask_office": hit.office.code if hit else None}
    return _signed(body, office)


def read_answer(*, by: User, data: bytes) -> RegionalInquiry:
    """The answer to an inquiry this installation sent, recorded on it; a refused answer is
    recorded too (`regional.answer_read`, outcome refused)."""
    try:
        return _read_answer(by=by, data=data)
    except InquiryRefused as refused:
        events.emit("regional.answer_read", actor=by, outcome="refused",
                    reason=getattr(refused, "code", "refused"))
        raise
    except PermissionDenied:
        events.emit("regional.answer_read", actor=by, outcome="denied", reason="role")
        raise


def _read_answer(*, by: User, data: bytes) -> RegionalInquiry:
    message, sender = _verified(data, ANSWER)
    sent = RegionalInquiry.objects.filter(inquiry=message["inquiry"],
                                          direction=InquiryDirection.SENT).first()
    if sent is None or sent.partner_office != sender.office_code:
        raise _refused(_("This answer is not to an inquiry sent from here."), "not_ours")
    if not ({Role.CASEWORKER, Role.SUPERVISOR} & roles_in(by, sent.office_id)):
        raise PermissionDenied(_("Only the caseworkers and supervisors of the office read it."))
    if message.get("result") not in (POSSIBLE, NONE):
        raise _refused(_("The answer says neither match nor no match."), "bad_result")
    sent.result = message["result"]
    sent.ask_office = str(message.get("ask_office") or "")[:20]
    sent.answered_at = timezone.now()
    sent.save(update_fields=["result", "ask_office", "answered_at"])
    events.emit("regional.answer_read", actor=by, office_id=sent.office_id,
                inquiry=str(sent.inquiry), result=sent.result, ask_office=sent.ask_office)
    return sent

