"""Firing transitions (docs/architecture.md#workflow-engine): who may take which step now,
and `fire`, the only way a case changes state."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access, events, listed, restriction, texts
from cases.models import Case, CaseDeadline, CaseStep, User
from cases.updates import stamp
from cases.workflow import configured
from cases.workflow.definitions import SYSTEM, Transition, Workflow, for_case
from cases.workflow.facts import facts, known


def _took_part(case: Case, wf: Workflow | None, transition: Transition) -> set[int]:
    """Who fired the steps `transition`'s four-eyes rules name: in the current round
    (`not_by`) and the latest of them (`not_by_latest`). One query over the case's steps."""
    rounds = set(wf.rounds) if wf is not None and wf.rounds else set()
    names = set(transition.not_by) | set(transition.not_by_latest) | rounds
    steps: list[CaseStep] | None = known(case, "steps")  # the page's, by number
    rows = ([(s.number, s.transition, s.actor_id) for s in steps if s.transition in names]
            if steps is not None else
            list(CaseStep.objects.filter(case=case, transition__in=sorted(names))
                 .order_by("number").values_list("number", "transition", "actor_id")))
    start = max((n for n, t, _a in rows if t in rounds), default=None)
    took = {a for n, t, a in rows
            if a and t in transition.not_by and (start is None or n >= start)}
    latest = [a for _n, t, a in rows if t in transition.not_by_latest]
    if latest and latest[-1]:
        took.add(latest[-1])
    return took


def refusal_error(case: Case, transition: Transition, user: User | None) -> Exception | None:
    """Who may not act is refused (PermissionDenied); what the case does not allow yet is
    invalid (ValidationError)."""
    if case.state not in transition.sources:
        return ValidationError(_("The case is no longer at the step where this can be done."))
    if user is None:
        if SYSTEM not in transition.roles:
            return PermissionDenied(_("Only a member of staff can do this."))
    else:
        if not access.may_act(user, case, transition.roles):
            return PermissionDenied(_("Your role in this office does not allow this step."))
        took_part = (_took_part(case, for_case(case), transition)
                     if transition.not_by or transition.not_by_latest else set())
        if transition.excluded:
            took_part |= transition.excluded(case)
        if user.pk in took_part:
            return PermissionDenied(_("Someone other than you must do this: you took part in the "
                                      "step it checks (four-eyes rule)."))
    if case.principal.erased_at:
        return ValidationError(_("The applicant's record was erased: the case can no longer move."))
    if (restricted := restriction.restricted_error(case.principal)) is not None:
        return restricted
    for guard in transition.guards:
        why = guard(case)
        if why:
            return ValidationError(str(why))
    return None


def refusal(case: Case, transition: Transition, user: User | None) -> str | None:
    """Why `user` may not fire `transition` on `case` now, or None when they may."""
    error = refusal_error(case, transition, user)
    if error is None:
        return None
    return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


def available(case: Case, user: User) -> list[Transition]:
    """The steps this user may take on this case now (and no others)."""
    wf = for_case(case)
    if wf is None:
        return []
    with facts(case):  # the transitions' checks share what they read
        return [t for t in wf.outgoing(case.state) if refusal(case, t, user) is None]


# --- Firing -----------------------------------------------------------------------------

Effect = Callable[[Case, CaseStep], dict[str, Any] | None]
RESERVED_DETAILS = {"action", "actor", "obj", "object_type", "object_id", "office_id", "outcome",
                    "transition", "source", "target", "step"}


def _check_fresh(case: Case, wf: Workflow, expected_step: int | None) -> None:
    if expected_step is not None and case.step_no != expected_step:
        raise ValidationError(
            _("Someone else recorded a step on this case a moment ago (it is now: %(state)s). "
              "Nothing was recorded; look at the case again before you go on.")
            % {"state": wf.state(case.state).label}
        )


def ensure_fresh(case: Case, expected_step: int | None) -> None:
    """For services that check their own data before firing: a stale form hears about the
    other person's step first, not about what that step changed. Checks `case` as the
    request read it, without reading it again: `fire` checks once more under the lock."""
    if expected_step is None:
        return
    wf = for_case(case)
    if wf is not None:
        _check_fresh(case, wf, expected_step)


def fire(
    *,
    case: Case,
    name: str,
    by: User | None,
    reason: str = "",
    on: datetime.date | None = None,
    expected_step: int | None = None,
    effect: Effect | None = None,
    workflow: Workflow | None = None,
) -> CaseStep:
    """Move `case` along transition `name`: lock, check, apply, record, in one transaction.

    `expected_step` is the step number the user was looking at: if someone acted on the
    case since, nothing happens and they are told. `effect` writes the step's own records
    (a decision, an interview) inside the same transaction and may return details for the
    audit event (ids, codes; never personal values); the step it gets is saved after it
    returns (its id is set: records may refer to it). `on` is the date the step took effect
    (a notification delivered yesterday), from which clocks start.

    Refuses to run inside an outer transaction (OutsideTransactionRequired): a refusal is
    recorded after the step's own transaction rolls back, and an outer one would take the
    record with it.
    """
    texts.ensure(reason, texts.NOTE, field="reason")
    try:
        # One version of the configuration for the step's records and its clocks alike.
        with _own_transaction(name), configured.pinned():
            return _fire(case=case, name=name, by=by, reason=reason, on=on,
                         expected_step=expected_step, effect=effect, workflow=workflow)
    except _Refused as refused:
        # Recorded outside the rolled-back transaction, so a refusal stays on the record.
        events.emit("case.transition", actor=by, obj=case, outcome="denied",
                    transition=name, state=refused.state)
        raise refused.error from None


class OutsideTransactionRequired(RuntimeError):
    """`fire` was called inside a transaction of the caller's."""


@contextlib.contextmanager
def _own_transaction(name: str) -> Iterator[None]:
    # durable: Django refuses to open it inside another block (a test case's own excepted).
    block = transaction.atomic(durable=True)
    try:
        block.__enter__()
    except RuntimeError:
        raise OutsideTransactionRequired(
            f"fire({name!r}) was called inside a transaction: call it on its own and write the "
            "step's records through its `effect`.") from None
    try:
        yield
    except BaseException as exc:
        block.__exit__(type(exc), exc, exc.__traceback__)
        raise
    block.__exit__(None, None, None)


class _Refused(Exception):
    def __init__(self, error: Exception, state: str) -> None:
        self.error, self.state = error, state


def _fire(*, case: Case, name: str, by: User | None, reason: str, on: datetime.date | None,
          expected_step: int | None, effect: Effect | None, workflow: Workflow | None) -> CaseStep:
    # The case row only is locked: locking the joined office row too would queue every step
    # of the office and deadlock with inserts that reference it. The principal is joined (not
    # locked) for the erasure check: one statement, no second read. Written out
    # (cases.listed): every step reads it, and the ORM took longer to build it than to run it.
    locked = listed.whole_case(case.pk, lock=True)
    if locked is None:
        raise Case.DoesNotExist(f"case {case.pk} is gone")
    case = locked
    wf = workflow or for_case(case)
    if wf is None:
        raise ValidationError(_("This case follows no procedure."))
    transition = wf.transition(name)
    _check_fresh(case, wf, expected_step)
    error = refusal_error(case, transition, by)
    if error is not None:
        raise _Refused(error, case.state)
    if transition.needs_reason and not reason.strip():
        raise ValidationError({"reason": _("Give the reasons for this step.")})
    today = timezone.localdate()
    effective = on or today
    if effective > today:
        raise ValidationError({"on": _("This date is in the future.")})

    source, was = case.state, (case.procedure, case.closed_at)
    case.state = transition.target
    case.step_no += 1
    case.procedure = wf.name
    target = wf.state(transition.target)
    case.closed_at = timezone.now() if target.closed else None
    # The step row is written once, after the effect, with its details (docs/architecture.md
    # #speed): its id exists already, and foreign keys to it are checked at commit.
    step = CaseStep(
        case=case, number=case.step_no, transition=name, source=source, target=case.state,
        actor=by, effective_on=effective, person_id=case.principal_id, reason=reason.strip(),
    )
    details = (effect(case, step) if effect else None) or {}
    clash = RESERVED_DETAILS & set(details)
    if clash:  # a detail named like an event field would overwrite it (e.g. the outcome)
        raise ValueError(f"step details may not be named {sorted(clash)}")
    step.details = details
    step.save(force_insert=True)
    stamp(case, by=by, reason=reason)
    # Only what changed is named: the statistics' copies follow the procedure and the closing
    # (stats.facts), and most steps change neither.
    changed = [name for name, value, before in (("procedure", case.procedure, was[0]),
                                                ("closed_at", case.closed_at, was[1]))
               if value != before]
    case.save(update_fields=["state", "step_no", "updated_at", *changed])
    _run_clocks(case, wf, transition, step)
    events.emit("case.transition", actor=by, obj=case, transition=name, source=source,
                target=case.state, step=step.number, **details)
    return step


@dataclass(frozen=True)
class PastStep:
    """A step a case took elsewhere, before a file of records brought it here: the
    transition, the day it took effect, its reasons and the codes it recorded."""

    name: str
    on: datetime.date
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def record_past_steps(*, case: Case, steps: list[PastStep], by: User, source: str) -> list[CaseStep]:
    """Bring a case just opened by an import to where its file says it is, along the
    procedure's own transitions (docs/architecture.md#htcds-import).

    Not `fire`: the steps were taken elsewhere, so who may take them here, the four-eyes
    rules and the effects' records do not apply; and it runs in the import's transaction,
    so a row is written whole or not at all. What it writes is what `fire` writes: each
    step a transition out of the state the case is in (never a state the procedure could
    not reach), the `CaseStep` with `imported` (the kind of file) among its details, the
    case's history row, the clocks, and the `case.transition` event. A step the case
    cannot take is a ValueError: the importer checked its rows before writing."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_past_steps runs in the import's transaction")
    case = (Case.objects.select_for_update(of=("self",)).select_related("office", "principal")
            .get(pk=case.pk))
    wf = for_case(case)
    if wf is None:
        raise ValueError("this case follows no procedure")
    today = timezone.localdate()
    made: list[CaseStep] = []
    with configured.pinned():
        for past in steps:
            transition = wf.transition(past.name)
            if case.state not in transition.sources:
                raise ValueError(f"{past.name!r} does not leave the state {case.state!r}")
            if transition.needs_reason and not past.reason.strip():
                raise ValueError(f"{past.name!r} needs its reasons")
            if past.on > today:
                raise ValueError("a past step in the future")
            for guard in transition.guards:
                why = guard(case)
                if why:
                    raise ValueError(f"{past.name!r} is refused: {why}")
            texts.ensure(past.reason, texts.NOTE, field="reason")
            details = {**past.details, "imported": source}
            clash = RESERVED_DETAILS & set(details)
            if clash:
                raise ValueError(f"step details may not be named {sorted(clash)}")
            previous = case.state
            case.state = transition.target
            case.step_no += 1
            case.procedure = wf.name
            # Closed on the day the file says, at noon: statistics count it in that period.
            case.closed_at = (timezone.make_aware(datetime.datetime.combine(past.on, datetime.time(12)))
                              if wf.state(transition.target).closed else None)
            step = CaseStep(case=case, number=case.step_no, transition=past.name, source=previous,
                            target=case.state, actor=by, effective_on=past.on,
                            person_id=case.principal_id, reason=past.reason.strip(),
                            details=details)
            step.save(force_insert=True)
            stamp(case, by=by, reason=past.reason)
            case.save(update_fields=["state", "step_no", "procedure", "closed_at", "updated_at"])
            _run_clocks(case, wf, transition, step)
            events.emit("case.transition", actor=by, obj=case, transition=past.name,
                        source=previous, target=case.state, step=step.number, **details)
            made.append(step)
    return made


# Sent by a step that met or started periods, in its transaction: `case`, `met` (the clocks
# whose running period it met), `met_at`, `started` (the new CaseDeadline rows). The
# statistics' summary table follows it (stats/facts.py): the UPDATE below sends no
# post_save.
clocks_ran = Signal()


def _run_clocks(case: Case, wf: Workflow, transition: Transition, step: CaseStep) -> None:
    closed = wf.state(case.state).closed
    # Met on reaching a stop (or closed) state; restarted: a new period replaces the running
    # one. The UPDATE meets only the periods that are running: no read of them first.
    ending = {c.name for c in wf.clocks
              if closed or case.state in c.stops or transition.name in c.starts}
    now = timezone.now()
    met = 0
    if ending:
        met = CaseDeadline.objects.filter(case=case, met_at__isnull=True,
                                          clock__in=sorted(ending)).update(met_at=now,
                                                                           met_by_step=step)
    # A period a system administrator changed counts for the deadlines opened from now on.
    starting = ([c for c in wf.clocks_in_force() if transition.name in c.starts]
                if any(transition.name in c.starts for c in wf.clocks) else [])
    started: list[CaseDeadline] = []
    if starting:
        country = case.office.country.code
        started = CaseDeadline.objects.bulk_create([
            CaseDeadline(case=case, clock=c.name, starts_on=step.effective_on,
                         due_on=c.due(step.effective_on, country), started_by_step=step,
                         office_id=case.office_id, assigned_to_id=case.assigned_to_id)
            for c in starting])
    if met or started:
        clocks_ran.send(sender=Case, case=case, met=sorted(ending) if met else [], met_at=now,
                        started=started)


def open_deadline(case: Case, clock: str) -> CaseDeadline | None:
    running: list[CaseDeadline] | None = known(case, "running")  # the page's, by due date
    if running is not None:
        return next((d for d in running if d.clock == clock), None)
    return CaseDeadline.objects.filter(case=case, clock=clock, met_at__isnull=True).first()

