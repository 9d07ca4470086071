"""Cases moving between offices of this installation: an office offers a case to another, or
asks another office for one; the other office accepts or rejects, the starting office may
withdraw while it waits (docs/architecture.md#transfers-between-offices)."""

from __future__ import annotations

import datetime
from collections.abc import Collection

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import (
    access,
    events,
    keystore,
    notifications,
    restriction,
    selectors,
    shares,
    texts,
    updates,
)
from cases.models import (
    Case,
    CaseDeadline,
    Handover,
    HandoverKind,
    HandoverStatus,
    Office,
    Person,
    PersonIndex,
    Role,
    User,
)


def supervises(user: User, office_id: int) -> bool:
    return office_id in access.offices_where(user, Role.SUPERVISOR)


def visible(user: User) -> QuerySet[Handover]:
    """Handovers to or from an office the user supervises."""
    offices = access.offices_where(user, Role.SUPERVISOR)
    return (Handover.objects.filter(Q(from_office__in=offices) | Q(to_office__in=offices))
            .select_related("case", "from_office", "to_office", "started_by", "answered_by"))


def waiting_count(user: User) -> selectors.Bounded:
    """Handovers waiting for an answer from an office the user supervises (the dashboard's
    card, counted no further than a page shows)."""
    offices = access.offices_where(user, Role.SUPERVISOR)
    return selectors.bounded_count(Handover.objects.filter(
        Q(kind=HandoverKind.OFFER, to_office__in=offices)
        | Q(kind=HandoverKind.REQUEST, from_office__in=offices),
        status=HandoverStatus.PENDING))


def _check_reason(reason: str, field: str = "reason") -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError({field: _("Say why.")})
    texts.ensure(reason, texts.NOTE, field=field)
    return reason


def _check_movable(case: Case, to_office: Office) -> None:
    if case.closed_at:
        raise ValidationError(_("A closed case is not handed over."))
    if to_office.pk == case.office_id:
        raise ValidationError({"to_office": _("The case is already in this office.")})
    if not to_office.is_active:
        raise ValidationError({"to_office": _("This office is closed.")})
    if case.procedure and to_office.country != case.office.country:
        raise ValidationError({"to_office": _(
            "A case in a procedure moves only between offices of the same country: its "
            "deadlines follow that country's law. Send it to another country as a case "
            "package instead.")})
    restriction.ensure_processing_allowed(case.principal)


def _start(*, by: User, case: Case, kind: str, to_office: Office, reason: str) -> Handover:
    starting = case.office_id if kind == HandoverKind.OFFER else to_office.pk
    try:
        with transaction.atomic():
            handover = Handover.objects.create(
                case=case, kind=kind, from_office_id=case.office_id, to_office=to_office,
                office_key=keystore.ensure_office_key(starting), reason=reason, started_by=by)
    except IntegrityError:
        raise ValidationError(_("This case already has a transfer waiting for an answer.")) from None
    events.emit("case.handover_start", actor=by, obj=case, handover=str(handover.pk), kind=kind,
                to_office=to_office.pk, from_office=case.office_id)
    notifications.handover_started(handover, by=by)
    return handover


@transaction.atomic
def offer(*, by: User, case: Case, to_office: Office, reason: str) -> Handover:
    """The case's office offers it to another office (a supervisor of the case's office)."""
    case = Case.objects.select_for_update().select_related("office", "principal").get(pk=case.pk)
    if not supervises(by, case.office_id):
        raise PermissionDenied(_("Only a supervisor of the case's office transfers it."))
    reason = _check_reason(reason)
    _check_movable(case, to_office)
    return _start(by=by, case=case, kind=HandoverKind.OFFER, to_office=to_office, reason=reason)


@transaction.atomic
def ask(*, by: User, reference: str, office: Office, reason: str) -> Handover:
    """Another office asks for a case by its reference (a supervisor of the asking office)."""
    if not supervises(by, office.pk):
        raise PermissionDenied(_("Only a supervisor of the office asks for a case."))
    reason = _check_reason(reason)
    case = (Case.objects.select_for_update().select_related("office", "principal")
            .filter(reference=reference.strip().upper()).first())
    if case is None:
        raise ValidationError({"reference": _("No case has this reference.")})
    if case.office_id == office.pk:
        raise ValidationError({"reference": _("This case is already in your office.")})
    _check_movable(case, office)
    return _start(by=by, case=case, kind=HandoverKind.REQUEST, to_office=office, reason=reason)


def _locked(handover: Handover) -> Handover:
    # The handover row alone: locking joined rows that another answer changes (the case,
    # its person) would make PostgreSQL drop this row from the result instead of waiting.
    locked = (Handover.objects.select_for_update(of=("self",))
              .select_related("case", "to_office").get(pk=handover.pk))
    if locked.status != HandoverStatus.PENDING:
        raise ValidationError(_("This transfer was already answered or withdrawn."))
    return locked


# What the sending office keeps by default when the receiver lets it: where the case stands,
# for three months.
KEEP_PARTS = ("procedure",)
KEEP_DAYS = 90


@transaction.atomic
def accept(*, by: User, handover: Handover, sender_keeps_access: bool = False,
           answer: str = "", keep_parts: Collection[str] = KEEP_PARTS,
           keep_until: datetime.date | None = None, keep_override: str = "") -> Handover:
    """The answering office accepts: the case, its running deadlines and (when it has no case
    left in the old office) its person move; the case waits in the new office's queue.

    With `sender_keeps_access`, who offered it and its old assignee keep `keep_parts` of it
    until `keep_until` (KEEP_DAYS from today if not given), as a share: the person's consent
    to sharing, or the accepting supervisor's reason to go without it (`keep_override`), as
    for any share outside the case's office. A share that cannot be made refuses the whole
    acceptance."""
    handover = _locked(handover)
    if not supervises(by, handover.answering_office_id):
        raise PermissionDenied(_("Only a supervisor of the office that answers accepts it."))
    case = Case.objects.select_for_update().select_related("office", "principal").get(
        pk=handover.case_id)
    if case.office_id != handover.from_office_id:
        raise ValidationError(_("The case moved to another office meanwhile."))
    _check_movable(case, handover.to_office)
    answer = answer.strip()
    texts.ensure(answer, texts.NOTE, field="answer")
    old_office, old_assignee = case.office, case.assigned_to
    case.office = handover.to_office
    case.assigned_to = None
    updates.stamp(case, by=by, reason=_("Transferred from %(office)s") % {"office": old_office.code})
    case.save(update_fields=["office", "assigned_to", "updated_at"])
    CaseDeadline.objects.filter(case=case, met_at__isnull=True).update(
        office=handover.to_office, assigned_to=None)
    # Its people with no case left in the old office move too, their index entries with
    # them: a search walks the entries of the user's offices (docs/architecture.md#search).
    moving = list(Person.objects.select_for_update()
                  .filter(participations__case=case)
                  .exclude(participations__case__office=old_office).order_by("pk"))
    for person in moving:
        person.office = handover.to_office
        updates.stamp(person, by=by)
        person.save(update_fields=["office", "updated_at"])
    PersonIndex.objects.filter(person__in=moving).update(office=handover.to_office)
    handover.status = HandoverStatus.ACCEPTED
    handover.answer = answer
    handover.sender_keeps_access = sender_keeps_access
    handover.answered_by, handover.answered_at = by, timezone.now()
    handover.save(update_fields=["status", "answer", "sender_keeps_access", "answered_by",
                                 "answered_at"])
    if sender_keeps_access:
        # The people of the old office who worked on it keep what the receiver chose of it,
        # for a while: a share, never the whole case for good
        # (docs/architecture.md#shares-and-referrals).
        keepers = {u for u in (handover.started_by if handover.kind == HandoverKind.OFFER
                               else None, old_assignee)
                   if u is not None and u.is_active and access.roles_in(u, old_office.pk)
                   and not access.roles_in(u, case.office_id)}
        until = keep_until or timezone.localdate() + datetime.timedelta(
            days=min(KEEP_DAYS, shares.max_days()))
        for user in sorted(keepers, key=lambda u: u.pk):
            shares.share(by=by, case=case, user=user, parts=keep_parts, until=until,
                         reason=_("Transferred from %(office)s") % {"office": old_office.code},
                         override=keep_override)
    events.emit("case.handover_accept", actor=by, obj=case, handover=str(handover.pk),
                from_office=old_office.pk, to_office=handover.to_office_id,
                sender_keeps_access=sender_keeps_access)
    notifications.handover_answered(handover, by=by)
    return handover


@transaction.atomic
def reject(*, by: User, handover: Handover, answer: str) -> Handover:
    handover = _locked(handover)
    if not supervises(by, handover.answering_office_id):
        raise PermissionDenied(_("Only a supervisor of the office that answers rejects it."))
    handover.answer = _check_reason(answer, "answer")
    handover.status = HandoverStatus.REJECTED
    handover.answered_by, handover.answered_at = by, timezone.now()
    handover.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    events.emit("case.handover_reject", actor=by, obj=handover.case, handover=str(handover.pk))
    notifications.handover_answered(handover, by=by)
    return handover


@transaction.atomic
def withdraw(*, by: User, handover: Handover) -> Handover:
    handover = _locked(handover)
    if not supervises(by, handover.starting_office_id):
        raise PermissionDenied(_("Only a supervisor of the office that started it withdraws it."))
    handover.status = HandoverStatus.WITHDRAWN
    handover.answered_by, handover.answered_at = by, timezone.now()
    handover.save(update_fields=["status", "answered_by", "answered_at"])
    events.emit("case.handover_withdraw", actor=by, obj=handover.case, handover=str(handover.pk))
    notifications.handover_answered(handover, by=by)
    return handover
