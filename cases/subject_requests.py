"""Requests of the people in the records about their own data: access, correction,
restriction of processing and erasure (docs/architecture.md#data-subject-requests).

Anyone of the office who works on the person records a request; what answers it depends on
the kind. Access: the copy (cases/subject_export.py), then done. Correction: the record is
corrected through its usual pages, then done. Restriction: a supervisor puts it in force
(the record is kept and read, never changed or moved along a procedure) and lifts it later.
Erasure: a supervisor other than whoever recorded it approves, and the record is erased
with the request's legal basis. Refusals are a supervisor's, with the reasons given.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import events, services, texts, transfers, updates
from cases.access import offices_where
from cases.models import (
    ErasureCode,
    Person,
    RequestKind,
    RequestStatus,
    Role,
    SubjectRequest,
    User,
)
from cases.selectors import Bounded, bounded_count, visible_people

# How long an office has to answer, in calendar days from receipt (settings.AMPARO_SUBJECT_REQUEST_DAYS).
DEFAULT_DAYS = 30


def answer_days() -> int:
    return int(getattr(settings, "AMPARO_SUBJECT_REQUEST_DAYS", DEFAULT_DAYS))


# --- Who may do what ---------------------------------------------------------------------------

def handles(user: User, person: Person) -> bool:
    """Records requests and produces copies: the caseworkers and supervisors of the person's
    office (the person was found through the user's scope)."""
    return person.office_id in offices_where(user, Role.CASEWORKER, Role.SUPERVISOR)


def supervises(user: User, person: Person) -> bool:
    return person.office_id in offices_where(user, Role.SUPERVISOR)


def visible_requests(user: User) -> QuerySet[SubjectRequest]:
    """Supervisors and auditors: their offices' requests. Caseworkers: the requests on the
    people they may see."""
    if not user.is_authenticated or not user.is_active:
        return SubjectRequest.objects.none()
    offices = offices_where(user, Role.SUPERVISOR, Role.AUDITOR)
    scope = Q(office__in=offices)
    if offices_where(user, Role.CASEWORKER):
        scope |= Q(person__in=visible_people(user).values("pk"))
    return SubjectRequest.objects.filter(scope).select_related("person", "office")


def get_request(user: User, pk: uuid.UUID | str) -> SubjectRequest:
    try:
        return visible_requests(user).get(pk=pk)
    except (SubjectRequest.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such request.") from None


def person_requests(person: Person) -> QuerySet[SubjectRequest]:
    return SubjectRequest.objects.filter(person=person).order_by("-recorded_at")


def open_counts(user: User) -> tuple[Bounded, Bounded]:
    """(open, overdue) requests of the offices the user supervises: the dashboard's card,
    counted no further than a page shows (docs/architecture.md#speed)."""
    offices = offices_where(user, Role.SUPERVISOR)
    mine = SubjectRequest.objects.filter(office__in=offices, status=RequestStatus.OPEN)
    return bounded_count(mine), bounded_count(mine.filter(due_on__lt=timezone.localdate()))


# --- Writes -----------------------------------------------------------------------------------------

def _locked(request: SubjectRequest) -> SubjectRequest:
    locked = SubjectRequest.objects.select_for_update().select_related("person").get(pk=request.pk)
    if locked.status != RequestStatus.OPEN:
        raise ValidationError(_("This request was already answered."))
    return locked


@transaction.atomic
def record_request(*, by: User, person: Person, kind: str, channel: str,
                   received_on: datetime.date, details: str = "",
                   legal_basis: str = "") -> SubjectRequest:
    details = details.strip()
    errors: dict[str, str] = {}
    if kind not in RequestKind.values:
        errors["kind"] = _("Choose what the person asks for.")
    if received_on > timezone.localdate():
        errors["received_on"] = _("This date is in the future.")
    if kind == RequestKind.CORRECTION and not details:
        errors["details"] = _("Say what is wrong and what it should be.")
    if kind == RequestKind.ERASURE:
        if legal_basis not in ErasureCode.values:
            errors["legal_basis"] = _("Choose the legal basis for the erasure.")
        elif legal_basis == ErasureCode.OTHER and not details:
            errors["details"] = _("Say what the legal basis is.")
    elif legal_basis:
        errors["legal_basis"] = _("Only an erasure has a legal basis.")
    # An erasure's details become its note, which stays short (cases/texts.py).
    limit = texts.SHORT if kind == RequestKind.ERASURE else texts.NOTE
    texts.check(errors, {"details": (details, limit)})
    if errors:
        raise ValidationError(errors)
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.erased_at:
        raise ValidationError(_("This person's data was already erased."))
    if not handles(by, person):
        raise PermissionDenied(_("Only the caseworkers and supervisors of the person's office "
                                 "record their requests."))
    if SubjectRequest.objects.filter(person=person, kind=kind, status=RequestStatus.OPEN).exists():
        raise ValidationError(_("This person already has an open request of this kind: answer "
                                "that one first."))
    request = SubjectRequest(
        office_id=person.office_id, person=person, kind=kind, channel=channel,
        received_on=received_on, due_on=received_on + datetime.timedelta(days=answer_days()),
        details=details, legal_basis=legal_basis if kind == RequestKind.ERASURE else "",
        recorded_by=by)
    request.full_clean(exclude=["person", "office", "recorded_by", "details", "answer"])
    updates.stamp(request, by=by)
    request.save()
    events.emit("subject_request.record", actor=by, obj=request, kind=kind, person=str(person.pk))
    return request


def _close(request: SubjectRequest, *, by: User, status: str, answer: str) -> None:
    updates.model_update(request, by=by, status=status, answer=answer, decided_by=by,
                         decided_at=timezone.now())


def _answer(answer: str, *, required: bool) -> str:
    answer = answer.strip()
    if required and not answer:
        raise ValidationError({"answer": _("Give the reasons.")})
    texts.ensure(answer, texts.NOTE, field="answer")
    return answer


@transaction.atomic
def mark_exported(*, by: User, request: SubjectRequest, fmt: str, language: str,
                  internal: bool) -> None:
    """The copy was produced (cases/subject_export.py builds it)."""
    request = SubjectRequest.objects.select_for_update().select_related("person").get(pk=request.pk)
    if request.kind != RequestKind.ACCESS:
        raise ValidationError(_("Only an access request has a copy of the data."))
    if request.person.erased_at:
        raise ValidationError(_("This person's data was already erased."))
    if not handles(by, request.person):
        raise PermissionDenied(_("Only the caseworkers and supervisors of the person's office "
                                 "produce the copy."))
    if internal and not supervises(by, request.person):
        raise PermissionDenied(_("Only a supervisor decides to include the office's internal "
                                 "notes and assessments."))
    updates.model_update(request, by=by, exported_at=timezone.now())
    # The copy leaves the office: the register of transfers has it (once per request).
    entry = transfers.record_access_copy(by=by, request=request, fmt=fmt, language=language,
                                         internal=internal)
    events.emit("subject_request.export", actor=by, obj=request, format=fmt, language=language,
                internal=internal, person=str(request.person_id),
                transfer=str(entry.pk) if entry else "")


@transaction.atomic
def complete_request(*, by: User, request: SubjectRequest, answer: str = "") -> SubjectRequest:
    """Access (once the copy was produced) and correction (once the record was corrected)."""
    request = _locked(request)
    answer = _answer(answer, required=False)
    if not handles(by, request.person):
        raise PermissionDenied(_("Only the caseworkers and supervisors of the person's office "
                                 "answer their requests."))
    if request.kind == RequestKind.ACCESS and request.exported_at is None:
        raise ValidationError(_("Produce the copy of the data first."))
    if request.kind not in (RequestKind.ACCESS, RequestKind.CORRECTION):
        raise ValidationError(_("A supervisor answers this request."))
    _close(request, by=by, status=RequestStatus.DONE, answer=answer)
    events.emit("subject_request.complete", actor=by, obj=request, kind=request.kind)
    return request


@transaction.atomic
def refuse_request(*, by: User, request: SubjectRequest, answer: str) -> SubjectRequest:
    request = _locked(request)
    answer = _answer(answer, required=True)
    if not supervises(by, request.person):
        raise PermissionDenied(_("Only a supervisor of the person's office refuses a request."))
    _close(request, by=by, status=RequestStatus.REFUSED, answer=answer)
    events.emit("subject_request.refuse", actor=by, obj=request, kind=request.kind)
    return request


@transaction.atomic
def restrict_processing(*, by: User, request: SubjectRequest, answer: str = "") -> SubjectRequest:
    request = _locked(request)
    answer = _answer(answer, required=False)
    if request.kind != RequestKind.RESTRICTION:
        raise ValidationError(_("This is not a request to restrict processing."))
    person = Person.objects.select_for_update().get(pk=request.person_id)
    if not supervises(by, person):
        raise PermissionDenied(_("Only a supervisor of the person's office restricts processing."))
    _close(request, by=by, status=RequestStatus.DONE, answer=answer)
    updates.model_update(person, by=by, restricted_at=timezone.now())
    events.emit("person.restrict", actor=by, obj=person, request=str(request.pk))
    return request


@transaction.atomic
def lift_restriction(*, by: User, request: SubjectRequest, reason: str) -> SubjectRequest:
    request = SubjectRequest.objects.select_for_update().get(pk=request.pk)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reasons.")})
    texts.ensure(reason, texts.NOTE, field="reason")
    if request.kind != RequestKind.RESTRICTION or request.status != RequestStatus.DONE \
            or request.lifted_at is not None:
        raise ValidationError(_("No restriction of this request is in force."))
    person = Person.objects.select_for_update().get(pk=request.person_id)
    if not supervises(by, person):
        raise PermissionDenied(_("Only a supervisor of the person's office lifts a restriction."))
    updates.model_update(request, by=by, reason=reason, lifted_by=by, lifted_at=timezone.now())
    updates.model_update(person, by=by, reason=reason, restricted_at=None)
    events.emit("person.lift_restriction", actor=by, obj=person, request=str(request.pk))
    return request


@transaction.atomic
def approve_erasure(*, by: User, request: SubjectRequest) -> SubjectRequest:
    """Four eyes: the supervisor who approves did not record the request. The request's
    details become the erasure's note, sealed with the office's key (the person's key is
    destroyed)."""
    request = _locked(request)
    if request.kind != RequestKind.ERASURE:
        raise ValidationError(_("This is not a request for erasure."))
    if not supervises(by, request.person):
        raise PermissionDenied(_("Only a supervisor of the person's office can erase them."))
    if request.recorded_by_id == by.pk:
        raise PermissionDenied(_("Someone other than you must approve: you recorded this "
                                 "request (four-eyes rule)."))
    note = request.details or ""
    # Written while the person's key still exists: the answer fields are sealed with it.
    _close(request, by=by, status=RequestStatus.DONE, answer="")
    events.emit("subject_request.approve_erasure", actor=by, obj=request,
                code=request.legal_basis)
    services.erase_person(by=by, person=request.person, code=request.legal_basis, note=note)
    return request
