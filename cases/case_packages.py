"""Cases sent to and received from offices of other installations, as signed and encrypted
packages (docs/architecture.md#case-packages). The envelope is cases/crypto/packages.py;
this module decides who may, what goes, and what a received package creates."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from cases import (
    consent,
    events,
    intake,
    office_keys,
    restriction,
    selectors,
    services,
    texts,
    transfers,
)
from cases.access import has_role, roles_in
from cases.crypto import files, packages
from cases.crypto.packages import PackageRefused, PublicBundle
from cases.models import (
    Case,
    CaseKind,
    ConsentPurpose,
    Document,
    Office,
    Organisation,
    OrganisationKind,
    PartnerKey,
    Person,
    ReceivedPackage,
    Role,
    TransferChannel,
    User,
)

PARTS = ("identity", "contact", "history", "documents")  # identity always goes
# Version 1 is the content's JSON alone. With the case's documents it is version 2: the
# JSON on one line, a newline, then each document's bytes in the order the JSON lists them
# (with their sizes), so that they are not inflated by base 64 twice.
CONTENT_VERSION, DOCUMENTS_VERSION = 1, 2
# Room in a package for its header and signature beside the ciphertext (in base 64).
ENVELOPE_ROOM = 2048

REFUSALS = {
    "unreadable": gettext_lazy("This file is not a case package, or it is damaged."),
    "not_for_us": gettext_lazy("This package is addressed to another office, or to keys this "
                    "installation no longer holds."),
    "unknown_sender": gettext_lazy("This package comes from a key that is not registered here. Register "
                        "the sending office's key (and check its fingerprint by phone) first."),
    "bad_signature": gettext_lazy("This package was changed after it was signed: it is refused."),
    "undecryptable": gettext_lazy("This package cannot be decrypted with this office's key."),
}


def refusal_message(refused: PackageRefused) -> str:
    if refused.reason == "too_large":
        return too_large_message()
    return str(REFUSALS[refused.reason])


def max_bytes() -> int:
    """The largest package sent or received (setting AMPARO_PACKAGE_MAX_BYTES)."""
    return int(settings.AMPARO_PACKAGE_MAX_BYTES)


def refused_for_size(*, by: User, size: int) -> PackageRefused:
    """A package too large to be read at all, its refusal recorded as any other's."""
    events.emit("package.import", actor=by, outcome="refused", reason="too_large")
    return PackageRefused("too_large", f"{size} bytes")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def max_bytes_text() -> str:
    """The limit in MB, as the pages say it."""
    return _mb(max_bytes())


def too_large_message(size: int | None = None) -> str:
    if size is None:
        return _("A case package may be at most %(limit)s MB; this file is larger.") % {
            "limit": max_bytes_text()}
    return _("The package would be %(size)s MB, more than the %(limit)s MB a case package "
             "may be: send it without the case's documents.") % {"size": _mb(size),
                                                                  "limit": max_bytes_text()}


# Registering another installation's office.


def can_register_keys(user: User) -> bool:
    return has_role(user, Role.OFFICE_ADMIN, Role.SYSTEM_ADMIN)


@transaction.atomic
def register_partner_key(*, by: User, bundle: PublicBundle) -> tuple[PartnerKey, bool]:
    """(the registered key, whether it is new); the same bundle twice registers it once."""
    if not can_register_keys(by):
        raise PermissionDenied(_("Only an office administrator registers other offices' keys."))
    if Office.objects.filter(code=bundle.office).exists():
        raise ValidationError(_("%(code)s is an office of this installation; its keys are "
                                "not registered as another's."), params={"code": bundle.office})
    if not intake.is_country_code(bundle.country):
        raise ValidationError(_("The bundle names no country."))
    existing = PartnerKey.objects.filter(fingerprint=bundle.fingerprint).first()
    if existing is not None:
        return existing, False
    organisation = Organisation.objects.create(
        name=f"{bundle.name or bundle.office} ({bundle.office})"[:200],
        kind=OrganisationKind.GOVERNMENT, country=bundle.country)
    key = PartnerKey.objects.create(
        office_code=bundle.office, name=bundle.name[:200] or bundle.office, country=bundle.country,
        signing_key=bundle.signing, encryption_key=bundle.encryption,
        fingerprint=bundle.fingerprint, organisation=organisation, registered_by=by)
    events.emit("package.key_register", actor=by, obj=key, office_code=bundle.office,
                fingerprint=bundle.fingerprint)
    return key, True


def _bundle(key: PartnerKey) -> PublicBundle:
    return PublicBundle(office=key.office_code, name=key.name, country=str(key.country),
                        signing=bytes(key.signing_key), encryption=bytes(key.encryption_key))


def partner(code: str) -> PartnerKey | None:
    """The newest key registered for another installation's office, unless revoked."""
    return (PartnerKey.objects.filter(office_code=code, revoked_at__isnull=True)
            .order_by("-registered_at").first())


# Sending.


def _content(case: Case, parts: set[str], reason: str,
             documents: list[Document]) -> dict[str, Any]:
    person = case.principal
    data: dict[str, Any] = {
        "given_names": person.given_names, "family_names": person.family_names,
        "sex": person.sex,
        "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else None,
        "aliases": list(person.aliases or []), "nationalities": list(person.nationalities),
        "languages": list(person.languages),
        "documents": [{"type": d.document_type, "number": d.number,
                       "country": str(d.issuing_country or "")}
                      for d in person.documents.all()],
    }
    if "contact" in parts:
        data.update(phone=person.phone or "", email=person.email or "", address=person.address or "")
    content: dict[str, Any] = {
        "version": DOCUMENTS_VERSION if "documents" in parts else CONTENT_VERSION,
        "parts": sorted(parts), "reason": reason,
        "case": {"reference": case.reference, "kind": case.kind, "state": case.state,
                 "procedure": case.procedure, "opened_on": case.opened_at.date().isoformat(),
                 "closed_on": case.closed_at.date().isoformat() if case.closed_at else None},
        "person": data,
    }
    if "history" in parts:
        content["history"] = [
            {"number": s.number, "transition": s.transition, "from": s.source, "to": s.target,
             "effective_on": s.effective_on.isoformat()}
            for s in case.steps.order_by("number")]
    if "documents" in parts:
        content["documents"] = [
            {"title": d.title, "filename": d.filename, "content_type": d.content_type,
             "size": d.size, "added_on": d.created_at.date().isoformat()} for d in documents]
    return content


def _body(by: User, head: bytes, documents: list[Document]) -> bytes:
    """The content of version 2: the JSON, a newline, the documents' bytes one after the
    other (read through the same service as a download)."""
    body = bytearray(head + b"\n")
    for document in documents:
        data = services.read_document(by=by, document=document)
        if len(data) != document.size:
            raise ValueError(f"document {document.pk} is not the size recorded")
        body += data
    return bytes(body)


def export_case(*, by: User, case: Case, to: PartnerKey, parts: set[str], reason: str,
                create_keys: bool = False, override: str = "") -> bytes:
    """The package of a case for another installation's office; recorded in the register of
    transfers and the audit log. A supervisor of the case's office sends it, with the
    person's consent to sharing, or overriding its absence with a written reason."""
    if Role.SUPERVISOR not in roles_in(by, case.office_id):
        raise PermissionDenied(_("Only a supervisor of the case's office sends it to another "
                                 "installation."))
    parts = {"identity", *parts}
    if not parts <= set(PARTS):
        raise ValidationError(_("Unknown parts: %(parts)s."),
                              params={"parts": ", ".join(sorted(parts - set(PARTS)))})
    if not reason.strip():
        raise ValidationError(_("Say why the case goes to the other office."))
    if to.revoked_at is not None:
        raise ValidationError(_("This office's key was revoked."))
    with transaction.atomic():
        case = Case.objects.select_for_update().select_related("principal").get(pk=case.pk)
        person = case.principal
        if person.erased_at:
            raise ValidationError(_("This person's record was erased."))
        restriction.ensure_processing_allowed(person)
        documents = (list(case.documents.order_by("created_at", "pk"))
                     if "documents" in parts else [])
        head = json.dumps(_content(case, parts, reason.strip(), documents)).encode()
        # The stored sizes tell how large the package will be before any file is read.
        expected = packages.sealed_size(len(head) + 1 + sum(d.size for d in documents),
                                        room=ENVELOPE_ROOM)
        if expected > max_bytes():
            raise ValidationError(too_large_message(expected))
        purpose = reason.strip()
        if not consent.allows(person, ConsentPurpose.SHARING):
            if not override.strip():
                raise ValidationError({"override": _(
                    "The person has not consented to sharing their data with another office. "
                    "Record their consent on their page, or write why you share it without.")})
            texts.ensure(override.strip(), texts.NOTE, field="override")
            events.emit("consent.override", actor=by, obj=person, purpose=ConsentPurpose.SHARING,
                        case=str(case.pk), to_office=to.office_code)
            # The written reason is kept with the register's entry (sealed with the office's
            # key), as a share keeps it in its history.
            purpose += "\n" + _("Shared without the person's consent: %(reason)s") % {
                "reason": override.strip()}
        package_id = uuid.uuid4()
        sealed = packages.seal(_body(by, head, documents) if "documents" in parts else head,
                               sender=office_keys.keys(case.office, create=create_keys),
                               recipient=_bundle(to), package_id=package_id)
        if len(sealed) > max_bytes():
            raise ValidationError(too_large_message(len(sealed)))
        transfers.record_transfer(
            by=by, office=case.office, transferred_on=timezone.localdate(),
            channel=TransferChannel.PLATFORM, case=case,
            categories=", ".join(str(_PART_LABELS[p]) for p in sorted(parts)),
            purpose=purpose, to_organisation=to.organisation,
            agreement=_("Case package %(id)s") % {"id": package_id})
        events.emit("package.export", actor=by, obj=case, package=str(package_id),
                    to_office=to.office_code, fingerprint=to.fingerprint, parts=sorted(parts),
                    documents=[str(d.pk) for d in documents])
    return sealed


_PART_LABELS = {"identity": gettext_lazy("identity and documents"),
                "contact": gettext_lazy("contact details"), "history": gettext_lazy("case history"),
                "documents": gettext_lazy("the case's files (scans and photos)")}


# Receiving.


def _own_keys(code: str) -> packages.OfficeKeys | None:
    office = Office.objects.filter(code=code).first()
    if office is None:
        return None
    try:
        return office_keys.keys(office)
    except office_keys.NoOfficeKeys:
        return None


def _sender(fingerprint: str) -> PublicBundle | None:
    key = PartnerKey.objects.filter(fingerprint=fingerprint, revoked_at__isnull=True).first()
    return _bundle(key) if key else None


def _person_data(person: dict[str, Any]) -> intake.PersonData:
    born = person.get("date_of_birth")
    return intake.PersonData(
        given_names=str(person.get("given_names") or ""),
        family_names=str(person.get("family_names") or ""),
        sex=str(person.get("sex") or "unknown"),
        date_of_birth=datetime.date.fromisoformat(born) if born else None,
        aliases=[str(a) for a in person.get("aliases") or []],
        nationalities=[str(n) for n in person.get("nationalities") or []],
        languages=[str(n) for n in person.get("languages") or []],
        phone=str(person.get("phone") or ""), email=str(person.get("email") or ""),
        address=str(person.get("address") or ""),
        documents=[intake.IdentityDocumentData(str(d.get("type") or ""), str(d.get("number") or ""),
                                               str(d.get("country") or ""))
                   for d in person.get("documents") or []])


def _summary(opened: packages.Opened, content: dict[str, Any]) -> str:
    case = content["case"]
    lines = [_("Received from %(office)s (%(name)s) in case package %(id)s.") % {
        "office": opened.sender.office, "name": opened.sender.name, "id": opened.package_id},
        _("Their reference: %(ref)s; opened there on %(opened)s; state there: %(state)s.") % {
            "ref": case.get("reference", ""), "opened": case.get("opened_on", ""),
            "state": case.get("state", "")},
        _("Why it was sent: %(reason)s") % {"reason": content.get("reason", "")}]
    if "documents" in content:
        count = len(content["documents"])
        lines.append(ngettext("%(count)d document came with the package.",
                              "%(count)d documents came with the package.", count)
                     % {"count": count})
    for step in content.get("history", [])[:200]:
        lines.append(f"{step.get('number')}. {step.get('effective_on')} {step.get('transition')}: "
                     f"{step.get('from')} → {step.get('to')}")
    return "\n".join(lines)


Attached = list[tuple[dict[str, Any], memoryview]]


def _parse(content: bytes) -> tuple[dict[str, Any], Attached]:
    """The content's JSON and, in version 2, each document's entry with its bytes (views
    into `content`, not copies)."""
    cut = content.find(b"\n")
    head = json.loads(content if cut < 0 else content[:cut])
    if head.get("version") == CONTENT_VERSION and cut < 0:
        return head, []
    if head.get("version") != DOCUMENTS_VERSION or cut < 0 or not isinstance(
            head.get("documents"), list):
        raise ValueError("content version")
    tail = memoryview(content)[cut + 1:]
    attached: Attached = []
    offset = 0
    for item in head["documents"]:
        size = item["size"]
        if type(size) is not int or size < 0:
            raise ValueError("document size")
        attached.append((item, tail[offset:offset + size]))
        offset += size
    if offset != len(tail):
        raise ValueError("the documents' sizes do not add up")
    return head, attached


def _read(data: bytes) -> tuple[packages.Opened, dict[str, Any], Attached]:
    if len(data) > max_bytes():  # before anything is parsed or decrypted
        raise PackageRefused("too_large", f"{len(data)} bytes")
    opened = packages.open_package(data, own_keys=_own_keys, sender_bundle=_sender)
    try:
        content, attached = _parse(opened.content)
        if not isinstance(content.get("person"), dict):
            raise ValueError("person")
        if content["case"]["kind"] not in CaseKind.values:
            raise ValueError("case kind")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise PackageRefused("unreadable", "the content is not a case of this version") from None
    return opened, content, attached


def _attach(*, by: User, case: Case, attached: Attached, package_id: uuid.UUID,
            stored: list[str]) -> None:
    """Each document through the upload's own service: checked, its metadata removed,
    sealed with the person's key here. `stored` collects the files written."""
    for number, (item, data) in enumerate(attached, 1):
        try:
            document = services.add_document(
                by=by, case=case, title=str(item.get("title") or ""),
                filename=str(item.get("filename") or ""), data=bytes(data), package=package_id)
        except ValidationError as exc:
            raise ValidationError(
                _("Document %(number)d of the package cannot be stored here: %(reason)s"),
                params={"number": number, "reason": " ".join(exc.messages)}) from None
        stored.append(document.storage_name)


def import_package(*, by: User, data: bytes) -> tuple[ReceivedPackage, bool]:
    """(what the package created, whether it is new). A package already imported, or the
    same case of the same office in a new package, creates nothing; a person already
    registered in the office (same keyed fingerprint) gets the case. PackageRefused,
    PermissionDenied or ValidationError: nothing is written but the refusal's audit event."""
    try:
        opened, content, attached = _read(data)
    except PackageRefused as refused:
        events.emit("package.import", actor=by, outcome="refused", reason=refused.reason)
        raise
    office = Office.objects.get(code=opened.header["to_office"])
    if not selectors.can_register(by, office):
        events.emit("package.import", actor=by, office_id=office.pk, outcome="denied",
                    package=str(opened.package_id))
        raise PermissionDenied(_("You cannot register cases in the office this package is for."))
    done = ReceivedPackage.objects.filter(package_id=opened.package_id).first()
    if done is not None:
        return done, False
    reference = str(content["case"].get("reference", ""))[:40]
    stored: list[str] = []  # sealed files written: removed again if the transaction is not kept
    try:
        with transaction.atomic():
            sender = PartnerKey.objects.get(fingerprint=opened.header["from_key"])
            person_data = intake.clean_person(_person_data(content["person"]),
                                              country=office.country.code)
            fingerprint = person_data.fingerprint()
            # The same case sent again in a new package (an export run twice, a resend): its
            # sending office and reference, about the same person, find the case it became,
            # and nothing new is made. Another person under that reference is a case of its own.
            earlier = (ReceivedPackage.objects
                       .filter(office=office, sender__office_code=sender.office_code,
                               sender_reference=reference, person__erased_at__isnull=True,
                               person__fingerprint=fingerprint)
                       .exclude(sender_reference="").order_by("received_at").first())
            if earlier is not None:
                again = ReceivedPackage.objects.create(
                    package_id=opened.package_id, sender=sender, office=office,
                    case_id=earlier.case_id, person_id=earlier.person_id,
                    sender_reference=reference, received_by=by)
                events.emit("package.import", actor=by, obj=earlier.case,
                            package=str(opened.package_id), from_office=opened.sender.office,
                            fingerprint=sender.fingerprint, person=str(earlier.person_id),
                            parts=content.get("parts", []), again=str(earlier.package_id))
                return again, False
            person = (Person.objects.filter(office=office, erased_at__isnull=True,
                                            fingerprint=fingerprint).first()
                      or services.register_person(by=by, office=office, data=person_data))
            case = services.open_case(by=by, person=person, kind=content["case"]["kind"],
                                      reason=_("Received from %(office)s") % {
                                          "office": opened.sender.office})
            services.add_note(by=by, case=case, text=_summary(opened, content))
            # Before the documents: the same package imported at the same moment waits here
            # (or fails) before it writes any file.
            received = ReceivedPackage.objects.create(
                package_id=opened.package_id, sender=sender, office=office, case=case,
                person=person, sender_reference=reference, received_by=by)
            _attach(by=by, case=case, attached=attached, package_id=opened.package_id,
                    stored=stored)
            events.emit("package.import", actor=by, obj=case, package=str(opened.package_id),
                        from_office=opened.sender.office, fingerprint=sender.fingerprint,
                        person=str(person.pk), parts=content.get("parts", []),
                        documents=len(attached))
    except BaseException as exc:
        for name in stored:  # nothing half-written: no sealed file without its row
            files.delete(name)
        if isinstance(exc, IntegrityError):  # the same package imported at the same moment
            done = ReceivedPackage.objects.filter(package_id=opened.package_id).first()
            if done is not None:
                return done, False
        elif isinstance(exc, ValueError | TypeError):
            raise ValidationError(_("The package's person or case cannot be read.")) from None
        raise
    return received, True
