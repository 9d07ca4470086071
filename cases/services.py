"""Every write to cases, people, notes and documents. Each takes the acting user."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import (
    access,
    erasure,
    events,
    intake,
    keystore,
    lockout,
    metadata,
    passwords,
    regional,
    restriction,
    selectors,
    sessions,
    texts,
    transfers,
    two_factor,
    updates,
    uploads,
)
from cases.crypto import blind, datakeys, files
from cases.intake import IdentityDocumentData as IdentityDocumentData
from cases.intake import PersonData as PersonData
from cases.models import (
    Case,
    CaseDeadline,
    CaseKind,
    CaseParticipant,
    CaseUserObjectPermission,
    Document,
    DuplicateSource,
    DuplicateStatus,
    ErasureCode,
    IdentityDocument,
    Membership,
    Note,
    Office,
    ParticipantRole,
    Person,
    PersonIndex,
    PossibleDuplicate,
    ReferenceCounter,
    RegionalToken,
    Role,
    User,
)

# PersonData and IdentityDocumentData are defined with their rules in cases.intake; the
# services take them, so they are re-exported here ("import X as X").


def _index_person(person: Person) -> None:
    """(Re)write a person's index entries in the active generation, dropping every other."""
    generation = blind.active_generation()
    PersonIndex.objects.filter(person=person).delete()
    entries = blind.entries(
        names=[person.given_names or "", person.family_names or "", *(person.aliases or [])],
        documents=[d.number or "" for d in person.documents.all()],
        date_of_birth=person.date_of_birth,
        generation=generation,
    )
    PersonIndex.objects.bulk_create(
        [
            PersonIndex(person=person, generation=generation, kind=k, value=v,
                        office_id=person.office_id, created_at=person.created_at)
            for k, v in sorted(entries)
        ]
    )
    regional.index_person(person)


_CHANGEABLE = ("given_names", "family_names", "aliases", "date_of_birth", "sex",
               "nationalities", "languages", "phone", "email", "address", "specific_needs")


def _values(data: PersonData) -> dict[str, object]:
    """The person's fields from data already through intake.clean_person."""
    return {
        "given_names": data.given_names, "family_names": data.family_names,
        "aliases": data.aliases, "date_of_birth": data.date_of_birth,
        "birth_year": data.date_of_birth.year if data.date_of_birth else None,
        "sex": data.sex, "nationalities": sorted(set(data.nationalities)),
        "languages": sorted(set(data.languages)), "phone": data.phone, "email": data.email,
        "address": data.address, "specific_needs": sorted(set(data.specific_needs)),
        "fingerprint": data.fingerprint(),
    }


@transaction.atomic
def register_person(*, by: User, office: Office, data: PersonData, check_duplicates: bool = False,
                    seen: Collection[uuid.UUID] = ()) -> Person:
    """Register a person in an office; seals their data under a new data key.

    With `check_duplicates`, records of the office that may be the same person, whoever may
    see them, are queued for a supervisor; `seen`: those the user was shown and said were
    someone else (docs/architecture.md#duplicates)."""
    if not selectors.can_register(by, office):
        raise PermissionDenied(_("You cannot register people in this office."))
    data = intake.clean_person(data, country=office.country.code)
    person_id = uuid.uuid4()
    datakeys.create_data_key(subject_id=person_id)
    person = Person(id=person_id, office=office, registered_by=by, **_values(data))
    updates.stamp(person, by=by)
    person.save()
    _save_documents(by=by, person=person, items=data.documents)
    _index_person(person)
    events.emit("person.register", actor=by, obj=person)
    if check_duplicates:
        _flag_duplicates(by=by, person=person, data=data, seen=set(seen))
    return person


def _flag_duplicates(*, by: User, person: Person, data: PersonData, seen: set[uuid.UUID]) -> None:
    matches = selectors.office_matches(person.office, data, exclude=person.pk)
    if not matches:
        return
    PossibleDuplicate.objects.bulk_create([
        PossibleDuplicate(office_id=person.office_id, person=person, other_id=other,
                          source=DuplicateSource.REGISTRATION, reasons=reasons,
                          confirmed_distinct=other in seen, flagged_by=by)
        for other, reasons in sorted(matches.items())])
    events.emit("duplicate.flag", actor=by, obj=person, others=sorted(str(o) for o in matches))


@transaction.atomic
def review_duplicate(*, by: User, pair: PossibleDuplicate, same_person: bool) -> PossibleDuplicate:
    """A supervisor of the pair's office (or of its older record's) says whether its two
    records are one person."""
    pair = PossibleDuplicate.objects.select_for_update(of=("self",)).select_related("other").get(pk=pair.pk)
    supervised = access.offices_where(by, Role.SUPERVISOR)
    if pair.office_id not in supervised and pair.other.office_id not in supervised:
        raise PermissionDenied(_("Only a supervisor of the office reviews possible duplicates."))
    if pair.status != DuplicateStatus.OPEN:
        raise ValidationError(_("This pair has already been reviewed."))
    pair.status = DuplicateStatus.LINKED if same_person else DuplicateStatus.DISMISSED
    pair.decided_by = by
    pair.decided_at = timezone.now()
    pair.save(update_fields=["status", "decided_by", "decided_at"])
    events.emit("duplicate.link" if same_person else "duplicate.dismiss", actor=by, obj=pair,
                people=[str(pair.person_id), str(pair.other_id)])
    return pair


def _save_documents(*, by: User, person: Person, items: list[IdentityDocumentData]) -> None:
    """Change the documents named by id and add new ones; documents not named are kept.

    A document without id that the person already has (same type and number) is not added
    again."""
    existing = {d.pk: d for d in person.documents.all()}
    known = {(d.document_type, blind.normalize_document(d.number or "")) for d in existing.values()}
    for item in items:
        if item.id is not None and item.id not in existing:
            raise ValidationError(_("This identity document belongs to someone else."))
        if item.id is None and (item.document_type, blind.normalize_document(item.number)) in known:
            continue
        doc = existing[item.id] if item.id else IdentityDocument(person=person)
        doc.document_type = item.document_type
        doc.number = item.number.strip()
        doc.issuing_country = item.issuing_country
        updates.stamp(doc, by=by)
        doc.save()


@transaction.atomic
def add_identity_document(*, by: User, person: Person, item: IdentityDocumentData) -> None:
    person = Person.objects.select_for_update().get(pk=person.pk)
    if not selectors.can_edit_person(by, person):
        raise PermissionDenied(_("You cannot change this person's record."))
    restriction.ensure_processing_allowed(person)
    item = intake.check_document(item)
    _save_documents(by=by, person=person, items=[IdentityDocumentData(
        item.document_type, item.number, item.issuing_country)])
    _index_person(person)
    events.emit("person.add_document", actor=by, obj=person, document_type=item.document_type)


@transaction.atomic
def update_person(*, by: User, person: Person, data: PersonData, reason: str = "") -> Person:
    texts.ensure(reason, texts.SHORT, field="reason")
    person = Person.objects.select_for_update().get(pk=person.pk)
    if not selectors.can_edit_person(by, person):
        raise PermissionDenied(_("You cannot change this person's record."))
    restriction.ensure_processing_allowed(person)
    data = intake.clean_person(data, country=person.office.country.code)
    changed = [f for f in updates.model_update(person, by=by, reason=reason, **_values(data))
               if f in _CHANGEABLE]
    _save_documents(by=by, person=person, items=data.documents)
    _index_person(person)
    # Field names only: the audit log never holds the values.
    events.emit("person.update", actor=by, obj=person, fields=changed)
    return person


def _locked_counter(office: Office, year: int) -> ReferenceCounter:
    """The office's counter of the year, locked until the caller's transaction ends."""
    try:
        with transaction.atomic():
            ReferenceCounter.objects.get_or_create(office=office, year=year)
    except IntegrityError:
        pass  # another transaction created it first
    return ReferenceCounter.objects.select_for_update().get(office=office, year=year)


def case_reference(office: Office, year: int, number: int) -> str:
    return f"{office.code}-{year}-{number:06d}"


def _next_reference(office: Office, year: int) -> str:
    counter = _locked_counter(office, year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return case_reference(office, year, counter.last)


def draw_references(*, office: Office, count: int, year: int | None = None) -> tuple[int, int, int]:
    """Draw `count` consecutive case numbers of this year (or of `year`, for cases an import
    opens on their own earlier date) for the office, for cases opened later with
    `open_case(reference=...)`: (year, first, last). The counter stays locked until the
    caller's transaction ends, so call this in a short one of its own."""
    year = year or timezone.localdate().year
    counter = _locked_counter(office, year)
    first = counter.last + 1
    counter.last += count
    counter.save(update_fields=["last"])
    return year, first, counter.last


def return_references(*, office: Office, year: int, first: int, last: int) -> bool:
    """Give back drawn numbers first..last that were not used, if nobody drew after them
    (otherwise they stay unused)."""
    return bool(ReferenceCounter.objects.filter(office=office, year=year, last=last)
                .update(last=first - 1))


@transaction.atomic
def open_case(
    *, by: User, person: Person, kind: str, assign_to_me: bool = True, reason: str = "",
    reference: str = "",
) -> Case:
    """Open a case for a registered person in the person's office.

    `reference`: a number drawn beforehand with draw_references (the importer draws a
    chunk's numbers at once); without it the next number is drawn here."""
    texts.ensure(reason, texts.SHORT, field="reason")
    # Locked and read afresh: an erasure running at the same time must win or wait.
    person = Person.objects.select_for_update().get(pk=person.pk)
    office = person.office
    if not selectors.can_register(by, office):
        raise PermissionDenied(_("You cannot open cases in this office."))
    if person.erased_at:
        raise ValidationError(_("This person's record was erased."))
    restriction.ensure_processing_allowed(person)
    if kind not in CaseKind.values:
        raise ValidationError(_("Unknown case kind."))
    if reference and not reference.startswith(f"{office.code}-"):
        raise ValueError("a case reference drawn for another office")
    case = Case(
        reference=reference or _next_reference(office, timezone.localdate().year),
        office=office,
        kind=kind,
        principal=person,
        opened_by=by,
        assigned_to=by if assign_to_me else None,
    )
    updates.stamp(case, by=by, reason=reason)
    case.save()
    part = CaseParticipant(case=case, person=person, role=ParticipantRole.PRINCIPAL)
    updates.stamp(part, by=by)
    part.save()
    events.emit("case.open", actor=by, obj=case, kind=kind, person=str(person.pk),
                assigned=case.assigned_to_id is not None)
    return case


@transaction.atomic
def assign_case(*, by: User, case: Case, assignee: User | None, reason: str = "") -> Case:
    """Assign, reassign or return a case to the queue (supervisors)."""
    texts.ensure(reason, texts.SHORT, field="reason")
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not access.can_assign(by, case):
        raise PermissionDenied(_("Only a supervisor of this office can assign its cases."))
    if assignee is not None and not selectors.assignable_staff(case).filter(pk=assignee.pk).exists():
        raise ValidationError(_("%(name)s does not work on cases in this office.") % {"name": assignee})
    previous = case.assigned_to_id
    updates.model_update(case, by=by, reason=reason, assigned_to=assignee)
    _deadlines_follow(case)
    events.emit("case.assign", actor=by, obj=case, previous=previous,
                assignee=assignee.pk if assignee else None)
    return case


@transaction.atomic
def take_case(*, by: User, case: Case) -> Case:
    """A caseworker takes an unassigned case from their office queue."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.office_id not in access.offices_where(by, Role.CASEWORKER):
        raise PermissionDenied(_("You cannot take cases of this office."))
    if case.assigned_to_id is not None:
        raise ValidationError(_("Someone else took this case a moment ago."))
    updates.model_update(case, by=by, assigned_to=by)
    _deadlines_follow(case)
    events.emit("case.take", actor=by, obj=case)
    return case


def _deadlines_follow(case: Case) -> None:
    """The running deadlines carry the case's assignee (models.CaseDeadline)."""
    CaseDeadline.objects.filter(case=case, met_at__isnull=True).update(
        assigned_to_id=case.assigned_to_id)


@transaction.atomic
def add_note(*, by: User, case: Case, text: str) -> Note:
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not access.can_edit_case(by, case):
        raise PermissionDenied(_("You cannot add notes to this case."))
    if not text.strip():
        raise ValidationError({"text": _("Write the note first.")})
    texts.ensure(text.strip(), texts.NOTE, field="text")
    # Locked so that an erasure at the same moment waits (case, then person: a fixed order).
    principal = Person.objects.select_for_update().get(pk=case.principal_id)
    if principal.erased_at:
        raise ValidationError(_("This person's record was erased."))
    restriction.ensure_processing_allowed(principal)
    note = Note(case=case, person_id=case.principal_id, author=by, text=text.strip())
    updates.stamp(note, by=by)
    note.save()
    events.emit("note.add", actor=by, obj=case, note=str(note.pk))
    return note


def add_document(*, by: User, case: Case, title: str, filename: str, data: bytes,
                 package: uuid.UUID | None = None) -> Document:
    """Seal an upload with the principal's data key and attach it to the case. `package`:
    the document came in that case package (its history and its event say so)."""
    texts.ensure(title.strip(), texts.SHORT, field="title")
    texts.ensure(filename, texts.SHORT, field="file")
    content_type = uploads.check_upload(data, accepted=uploads.CASE_DOCUMENT)
    data = metadata.strip(data, content_type)  # a photo's GPS position, a PDF's author
    doc_id = uuid.uuid4()
    name = ""
    try:
        with transaction.atomic():
            case = Case.objects.select_for_update().get(pk=case.pk)
            if not access.can_edit_case(by, case):
                raise PermissionDenied(_("You cannot add documents to this case."))
            principal = Person.objects.select_for_update().get(pk=case.principal_id)
            if principal.erased_at:
                raise ValidationError(_("This person's record was erased."))
            restriction.ensure_processing_allowed(principal)
            name = files.store(
                subject_id=case.principal_id, table=Document._meta.db_table, row_id=doc_id,
                data=data,
            )
            doc = Document(
                id=doc_id, case=case, person_id=case.principal_id, uploaded_by=by,
                title=title.strip() or filename, filename=filename, content_type=content_type,
                size=len(data), storage_name=name,
            )
            updates.stamp(doc, by=by, reason=_("Received in case package %(id)s") % {
                "id": package} if package else "")
            doc.save()
            source: dict[str, Any] = {"package": str(package)} if package else {}
            events.emit("document.add", actor=by, obj=case, document=str(doc.pk),
                        content_type=content_type, size=len(data), **source)
    except Exception:
        if name:  # nothing half-written: no sealed file without its row
            files.delete(name)
        raise
    return doc


def read_document(*, by: User, document: Document) -> bytes:
    """The plaintext of a document the caller already fetched through the selector."""
    selectors.get_case(by, document.case_id)
    return files.load(
        subject_id=document.person_id, table=Document._meta.db_table, row_id=document.pk,
        name=document.storage_name,
    )


@transaction.atomic
def erase_person(*, by: User, person: Person, code: str, note: str = "") -> Person:
    """Crypto-shred a person: destroy their data key and blind indexes, and clear what still
    points at them in clear (docs/architecture.md#encryption).

    `code` says why (ErasureCode); `note`, optional except for "other", is sealed with the
    office's key so that the office's supervisors and auditors can still read it."""
    note = note.strip()
    if code not in ErasureCode.values:
        raise ValidationError({"code": _("Choose the reason for the erasure.")})
    if code == ErasureCode.OTHER and not note:
        raise ValidationError({"note": _("Say what the reason is.")})
    texts.ensure(note, texts.SHORT, field="note")
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.erased_at:
        raise ValidationError(_("This person's data was already erased."))
    if not selectors.can_erase_person(by, person):
        raise PermissionDenied(_("Only a supervisor of the person's office can erase them."))
    return shred_person(by=by, person=person, code=code, note=note)


def shred_person(*, by: User | None, person: Person, code: str, note: str = "") -> Person:
    """The erasure itself, for callers that checked who may erase: `erase_person`, and the
    retention schedules (`by` None: the schedule, not a person, decided). `person` is
    locked (select_for_update) and not yet erased."""
    datakeys.destroy(subject_id=person.pk)
    PersonIndex.objects.filter(person=person).delete()
    RegionalToken.objects.filter(person=person).delete()
    names = list(Document.objects.filter(person=person).values_list("storage_name", flat=True))

    def delete_files() -> None:
        for n in names:
            files.delete(n)

    transaction.on_commit(delete_files)
    values: dict[str, object] = {"erased_at": timezone.now(), "erasure_code": code,
                                 **erasure.PERSON_CLEARED}
    if note:
        values.update(erasure_key=keystore.ensure_office_key(person.office_id), erasure_note=note)
    # No change reason: it would be sealed with the key just destroyed.
    updates.model_update(person, by=by, reason="", **values)
    events.emit("person.erase", actor=by, obj=person, key="destroyed", code=code)
    # Neither the fingerprint (a keyed hash of who the person is) nor the clear values that
    # could point at them may stay in any history row.
    erasure.clear_person(person)
    return person


# Staff, roles and explicit grants


def role_group(role: str) -> Group:
    return Group.objects.get_or_create(name=role)[0]


# Roles that an office administrator may hand out; system administration is granted only
# by a superuser (manage.py grant_role).
OFFICE_GRANTABLE_ROLES = (Role.CASEWORKER, Role.SUPERVISOR, Role.AUDITOR, Role.ANALYST,
                          Role.OFFICE_ADMIN)


def _check_staff_admin(by: User | None, office: Office, role: str) -> None:
    if by is None or by.is_superuser:
        return
    if office.pk not in access.offices_where(by, Role.OFFICE_ADMIN):
        raise PermissionDenied(_("Only an administrator of this office can change its staff."))
    if role not in OFFICE_GRANTABLE_ROLES:
        raise PermissionDenied(_("Only a superuser grants the system administrator role."))


@transaction.atomic
def grant_membership(*, by: User | None, user: User, office: Office, role: str) -> Membership:
    """Give a user a role in an office (by=None: the system itself, e.g. seed_demo)."""
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    _check_staff_admin(by, office, role)
    membership = Membership.objects.filter(user=user, office=office, role=role).first()
    if membership is None:
        membership = Membership(user=user, office=office, role=role)
        updates.stamp(membership, by=by)
        membership.save()
        events.emit("membership.grant", actor=by, obj=membership, office_id=office.pk,
                    user=user.pk, role=role)
        if role in access.CASE_ROLES:
            from cases import shares  # shares reads the roles this module grants
            shares.follow_offices(user, by=by)  # the office's shares in force reach them
    user.groups.add(role_group(role))
    if role == Role.SYSTEM_ADMIN and not user.is_staff:
        # The configuration (offices) is kept in the administration site.
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return membership


@transaction.atomic
def add_staff_member(
    *, by: User, office: Office, role: str, username: str, first_name: str, last_name: str,
    email: str, preferred_language: str = "es",
) -> tuple[User, str]:
    """Create a staff account and give it a role in the office; the account and its first
    password, generated here, for the administrator to hand over (shown once)."""
    _check_staff_admin(by, office, role)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This user name is taken.")})
    user = User(username=username, first_name=first_name, last_name=last_name, email=email,
                preferred_language=preferred_language)
    password = _give_temporary_password(user)
    updates.stamp(user, by=by)
    user.save()
    events.emit("staff.create", actor=by, obj=user, office_id=office.pk)
    grant_membership(by=by, user=user, office=office, role=role)
    return user, password


@transaction.atomic
def revoke_membership(*, by: User, membership: Membership) -> None:
    _check_staff_admin(by, membership.office, membership.role)
    if membership.user_id == by.pk and membership.role == Role.OFFICE_ADMIN:
        raise ValidationError(_("You cannot remove your own administrator role."))
    user, role = membership.user, membership.role
    events.emit("membership.revoke", actor=by, obj=membership, office_id=membership.office_id,
                user=user.pk, role=role)
    updates.stamp(membership, by=by)
    membership.delete()
    if not Membership.objects.filter(user=user, role=role).exists():
        user.groups.remove(role_group(role))
        if role == Role.SYSTEM_ADMIN and user.is_staff and not user.is_superuser:
            user.is_staff = False
            user.save(update_fields=["is_staff"])
    access.forget(user)
    if role in access.CASE_ROLES:
        from cases import shares
        shares.follow_offices(user, by=by)  # what the office's shares gave them goes


def _check_whole_account(by: User, user: User) -> None:
    """Changes to an account itself (password, deactivation) belong to whoever administers
    every office the account works in: otherwise another office would lose a colleague."""
    if user.pk == by.pk:
        raise ValidationError(_("You cannot do this to your own account."))
    mine = set(access.offices_where(by, Role.OFFICE_ADMIN))
    theirs = set(Membership.objects.filter(user=user).values_list("office_id", flat=True))
    if not theirs or not theirs <= mine:
        raise PermissionDenied(_("This account also works in offices you do not administer; "
                                 "ask a system administrator."))
    if Membership.objects.filter(user=user, role=Role.SYSTEM_ADMIN).exists() or user.is_superuser:
        raise PermissionDenied(_("Only a system administrator changes this account."))


def _give_temporary_password(user: User) -> str:
    """A generated password the staff member must replace at the next login, refused after
    AMPARO_TEMPORARY_PASSWORD_HOURS (docs/architecture.md#passwords). Not saved here."""
    password = passwords.generate_passphrase(user)
    user.set_password(password)
    user.must_change_password = True
    user.temporary_password_set_at = timezone.now()
    return password


def _replace_password(user: User, *, by: User | None, why: str,
                      reason: str = sessions.PASSWORD) -> str:
    password = _give_temporary_password(user)
    updates.stamp(user, by=by)
    user.save(update_fields=["password", "must_change_password", "temporary_password_set_at"])
    expires = passwords.temporary_expires(user.temporary_password_set_at)
    events.emit("staff.password_reset", actor=by, obj=user, why=why,
                expires=expires.isoformat(timespec="minutes") if expires else "")
    # Django would refuse them at their next request (the password's hash changed); ending
    # them now keeps the list of sessions true, and whoever holds one may have taken the phone.
    sessions.end_all_sessions(by=by, user=user, reason=reason)
    return password


@transaction.atomic
def reset_staff_password(*, by: User, user: User) -> str:
    """Give the staff member a new, generated temporary password (returned, to be shown once);
    their sessions end and they must replace it at the next login."""
    _check_whole_account(by, user)
    user = User.objects.select_for_update().get(pk=user.pk)
    return _replace_password(user, by=by, why="administrator")


@transaction.atomic
def set_staff_active(*, by: User, user: User, active: bool, reason: str = "") -> None:
    """Deactivate an account (it can no longer log in; its history stays) or reactivate it."""
    _check_whole_account(by, user)
    if active == user.is_active:
        return
    if not active and not reason.strip():
        raise ValidationError({"reason": _("Say why this account is deactivated.")})
    texts.ensure(reason, texts.SHORT, field="reason")
    user.is_active = active
    updates.stamp(user, by=by, reason=reason)
    user.save(update_fields=["is_active"])
    # The authentication backends refuse inactive accounts at their next request; the rows
    # go now, so that the list of sessions stays true (docs/architecture.md#sessions).
    events.emit("staff.deactivate" if not active else "staff.reactivate", actor=by, obj=user)
    if not active:
        sessions.end_all_sessions(by=by, user=user, reason=sessions.DEACTIVATED)
    from cases import shares
    shares.follow_offices(user, by=by)  # shares with their offices go, or come back


@transaction.atomic
def unlock_login(*, by: User, user: User) -> int:
    """Lift the login locks of a staff member's account (cases/lockout.py); how many counters
    were removed. Nothing is done, or recorded, when the account is not locked."""
    _check_whole_account(by, user)
    if not lockout.locks_of(user.get_username()):
        return 0
    return lockout.unlock(by=by, username=user.get_username())


# How the administrator made sure the person asking for a second-factor reset is the staff
# member (README, "A lost phone"): recorded with the reset.
IDENTITY_CHECKS = {
    "in_person": gettext_lazy("In person, with their staff card or identity document"),
    "call_back": gettext_lazy("By calling them back on a number the office already had"),
}


@transaction.atomic
def reset_two_factor(*, by: User | None, user: User, identity_check: str,
                     via: str = "page") -> str | None:
    """Remove the account's second factors (a lost phone) and give it a new temporary password,
    returned to be shown once: its sessions end, and whoever gets the account back sets a
    password and a factor of their own (V6.4.4). None when there was no factor to remove.
    `identity_check` says how the person was recognised (IDENTITY_CHECKS). `by` None: the
    operator's `manage.py reset_two_factor`, for accounts no office administrator may change."""
    if by is not None:
        _check_whole_account(by, user)
    if identity_check not in IDENTITY_CHECKS:
        raise ValidationError({"identity_check": _(
            "Say how you made sure it is them: in person, or by calling them back.")})
    user = User.objects.select_for_update().get(pk=user.pk)
    removed = two_factor.remove_devices(user)
    if not removed:
        return None
    if via == "page":
        events.emit("two_factor.reset", actor=by, obj=user, devices=removed,
                    identity_check=identity_check)
    else:
        events.emit("two_factor.reset", actor=by, obj=user, devices=removed,
                    identity_check=identity_check, via=via)
    return _replace_password(user, by=by, why="two_factor_reset", reason=sessions.TWO_FACTOR)


@transaction.atomic
def end_staff_sessions(*, by: User, user: User) -> int:
    """End every session of a staff member's account (a lost laptop, a session left open on a
    shared computer) without changing its password; how many were ended."""
    _check_whole_account(by, user)
    return sessions.end_all_sessions(by=by, user=user, reason=sessions.ADMIN)


def password_changed(user: User) -> None:
    """The staff member chose their own password."""
    if user.must_change_password or user.temporary_password_set_at:
        user.must_change_password = False
        user.temporary_password_set_at = None
        user.save(update_fields=["must_change_password", "temporary_password_set_at"])
    events.emit("staff.password_change", actor=user, obj=user)


@transaction.atomic
def grant_case_access(*, by: User, case: Case, user: User, reason: str) -> None:
    """An explicit, recorded grant for one user to see one case (a share)."""
    if not access.can_assign(by, case):
        raise PermissionDenied(_("Only a supervisor of this office can share its cases."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why this case is shared.")})
    texts.ensure(reason, texts.SHORT, field="reason")
    perms = Permission.objects.filter(content_type__app_label="cases",
                                      codename__in=["view_case", *access.PARTS.values()])
    if CaseUserObjectPermission.objects.filter(access.unexpired(), content_object=case, user=user,
                                               permission__codename="view_case").exists():
        return
    # The whole case, without an end (cases.shares opens parts until a date).
    CaseUserObjectPermission.objects.filter(content_object=case, user=user,
                                            permission__in=perms).delete()
    for perm in perms:
        grant = CaseUserObjectPermission(content_object=case, user=user, permission=perm)
        updates.stamp(grant, by=by, reason=reason)
        grant.save()
    entry = transfers.record_share(by=by, case=case, user=user, reason=reason)
    access.forget(user)
    events.emit("case.share", actor=by, obj=case, user=user.pk,
                transfer=str(entry.pk) if entry else "")


@transaction.atomic
def revoke_case_access(*, by: User, case: Case, user: User, reason: str = "") -> None:
    texts.ensure(reason, texts.SHORT, field="reason")
    if not access.can_assign(by, case):
        raise PermissionDenied(_("Only a supervisor of this office can share its cases."))
    for grant in CaseUserObjectPermission.objects.filter(
        content_object=case, user=user, permission__codename__in=["view_case", *access.PARTS.values()]
    ).select_related("permission"):
        updates.stamp(grant, by=by, reason=reason)
        grant.delete()
        if grant.permission.codename == "view_case":
            events.emit("case.unshare", actor=by, obj=case, user=user.pk)
    access.forget(user)


ROLE_PERMISSIONS: dict[str, Sequence[str]] = {
    Role.CASEWORKER: ["view_person", "add_person", "change_person", "view_case", "add_case",
                      "change_case", "add_note", "view_note", "add_document", "view_document"],
    Role.SUPERVISOR: ["view_person", "add_person", "change_person", "view_case", "add_case",
                      "change_case", "add_note", "view_note", "add_document", "view_document"],
    Role.AUDITOR: [],
    Role.ANALYST: [],
    Role.OFFICE_ADMIN: ["view_user", "add_user", "change_user", "view_membership",
                        "add_membership", "change_membership", "delete_membership"],
    Role.SYSTEM_ADMIN: ["view_office", "add_office", "change_office",
                        *(f"{op}_{model}" for model in ("holiday", "deadlineperiod", "organisation")
                          for op in ("view", "add", "change", "delete"))],
}


def ensure_role_groups(roles: Iterable[str] = Role.values, *, using: str = "default") -> None:
    """Create the role groups with their model permissions (safe to re-run)."""
    for role in roles:
        group = Group.objects.db_manager(using).get_or_create(name=role)[0]
        perms = Permission.objects.using(using).filter(
            content_type__app_label="cases", codename__in=ROLE_PERMISSIONS[role]
        )
        group.permissions.set(perms)
