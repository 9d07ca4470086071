"""The workflow engine (DESIGN.md section 5).

A workflow is data: states, transitions (who may fire them, guards, four-eyes rules) and
clocks (deadlines counted in calendar or working days with the country's public holidays).
Apps register their procedures (`rsd`, `tip`); a case follows the procedure recorded on it
when it entered one. `fire` is the only way a case changes state.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import holidays
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import events, selectors
from cases.models import Case, CaseDeadline, CaseStep, Role, User

CALENDAR = "calendar"
WORKING = "working"
SYSTEM = "system"  # a transition the periodic tasks may fire (with no user)

Label = str | Promise
# A guard returns why the transition cannot fire now, or None when it can.
Guard = Callable[[Case], Label | None]


# --- Days -------------------------------------------------------------------------------

@cache
def _holidays(country: str, year: int) -> frozenset[datetime.date]:
    try:
        return frozenset(holidays.country_holidays(country, years=year))
    except NotImplementedError:
        return frozenset()  # a country the package does not know: weekends only


def is_working_day(day: datetime.date, country: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(country, day.year)


def next_working_day(day: datetime.date, country: str) -> datetime.date:
    while not is_working_day(day, country):
        day += datetime.timedelta(days=1)
    return day


def add_days(start: datetime.date, days: int, *, unit: str, country: str,
             roll_forward: bool = True) -> datetime.date:
    """The last day of a period of `days` starting the day after `start`.

    Working days skip weekends and the country's public holidays. A calendar period that
    ends on a non-working day runs to the next working day when `roll_forward` is set
    (offices are closed that day; the applicant must not lose the last day).
    """
    if unit == CALENDAR:
        end = start + datetime.timedelta(days=days)
        return next_working_day(end, country) if roll_forward else end
    if unit != WORKING:
        raise ValueError(f"unknown unit of days: {unit!r}")
    day, left = start, days
    while left > 0:
        day += datetime.timedelta(days=1)
        if is_working_day(day, country):
            left -= 1
    return day


def working_days_between(start: datetime.date, end: datetime.date, country: str) -> int:
    """Working days after `start` up to and including `end` (negative when end < start)."""
    if end < start:
        return -working_days_between(end, start, country)
    return sum(1 for n in range(1, (end - start).days + 1)
               if is_working_day(start + datetime.timedelta(days=n), country))


# --- Definitions ------------------------------------------------------------------------

@dataclass(frozen=True)
class State:
    name: str
    label: Label
    closed: bool = False          # a final state: the case is closed while it is here
    waiting_for: str = ""         # the role that has to act next (drives the queues)


@dataclass(frozen=True)
class Clock:
    """A deadline: started by some transitions, met when the case reaches a stop state."""

    name: str
    label: Label
    days: int
    unit: str = CALENDAR
    starts: tuple[str, ...] = ()
    stops: tuple[str, ...] = ()   # reaching any of these states (or a closed one) meets it
    roll_forward: bool = True

    def due(self, start: datetime.date, country: str) -> datetime.date:
        return add_days(start, self.days, unit=self.unit, country=country,
                        roll_forward=self.roll_forward)


@dataclass(frozen=True)
class Transition:
    name: str
    label: Label
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]        # Role values, or SYSTEM; caseworkers must hold the case
    guards: tuple[Guard, ...] = ()
    # Four-eyes: whoever fired one of these in the current round may not fire this, nor
    # anyone `excluded` names from the app's own records (e.g. who edited the assessment).
    not_by: tuple[str, ...] = ()
    not_by_latest: tuple[str, ...] = ()  # only whoever fired the latest of these (a proposal)
    excluded: Callable[[Case], set[int]] | None = None
    needs_reason: bool = False
    style: str = "primary"        # how the button looks: primary, secondary, danger


@dataclass
class Workflow:
    name: str
    kind: str
    label: Label
    country: str = ""             # "" = the default for its kind
    states: dict[str, State] = field(default_factory=dict)
    transitions: dict[str, Transition] = field(default_factory=dict)
    clocks: tuple[Clock, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)  # procedure facts the app reads
    rounds: tuple[str, ...] = ()  # steps that start a new round (a reopening): earlier ones stop counting

    def __post_init__(self) -> None:
        for t in self.transitions.values():
            unknown = {t.target, *t.sources} - set(self.states)
            if unknown:
                raise ValueError(f"{self.name}.{t.name}: unknown states {sorted(unknown)}")
        for c in self.clocks:
            unknown_t = set(c.starts) - set(self.transitions)
            if unknown_t:
                raise ValueError(f"{self.name} clock {c.name}: unknown transitions {sorted(unknown_t)}")
            if c.unit not in (CALENDAR, WORKING):
                raise ValueError(f"{self.name} clock {c.name}: unknown unit {c.unit!r}")

    def transition(self, name: str) -> Transition:
        try:
            return self.transitions[name]
        except KeyError:
            raise ValidationError(_("This step does not exist in the case's procedure.")) from None

    def state(self, name: str) -> State:
        return self.states.get(name) or State(name, STATE_FALLBACK.get(name, name))

    def clock(self, name: str) -> Clock | None:
        return next((c for c in self.clocks if c.name == name), None)

    def outgoing(self, state: str) -> list[Transition]:
        return [t for t in self.transitions.values() if state in t.sources]


STATE_FALLBACK: dict[str, Label] = {"open": gettext_lazy("Open"), "closed": gettext_lazy("Closed")}

_registry: dict[str, Workflow] = {}


def register(workflow: Workflow) -> Workflow:
    _registry[workflow.name] = workflow
    return workflow


def registered() -> list[Workflow]:
    return list(_registry.values())


def for_kind(kind: str, country: str) -> Workflow | None:
    """The procedure a new case of this kind follows in this country."""
    fallback = None
    for wf in _registry.values():
        if wf.kind == kind and wf.country == country:
            return wf
        if wf.kind == kind and not wf.country:
            fallback = wf
    return fallback


def for_case(case: Case) -> Workflow | None:
    if case.procedure:
        return _registry.get(case.procedure)
    return for_kind(case.kind, case.office.country.code)


def state_label(case: Case) -> str:
    wf = for_case(case)
    if wf is None:
        return str(STATE_FALLBACK.get(case.state, case.state))
    return str(wf.state(case.state).label)


def states_waiting_for(role: str) -> set[str]:
    """In any procedure (a superset: match per procedure for the exact set)."""
    return {s.name for wf in _registry.values() for s in wf.states.values() if s.waiting_for == role}


# --- Who may fire what ------------------------------------------------------------------

def _latest_actor(case: Case, names: Iterable[str]) -> set[int]:
    actor = (CaseStep.objects.filter(case=case, transition__in=list(names)).order_by("-number")
             .values_list("actor_id", flat=True).first())
    return {actor} if actor else set()


def _actors_this_round(case: Case, wf: Workflow | None, names: Iterable[str]) -> set[int]:
    steps = CaseStep.objects.filter(case=case)
    if wf is not None and wf.rounds:
        start = (steps.filter(transition__in=wf.rounds).order_by("-number")
                 .values_list("number", flat=True).first())
        if start is not None:
            steps = steps.filter(number__gte=start)
    return {a for a in steps.filter(transition__in=list(names)).values_list("actor_id", flat=True) if a}


def refusal_error(case: Case, transition: Transition, user: User | None) -> Exception | None:
    """Who may not act is refused (PermissionDenied); what the case does not allow yet is
    invalid (ValidationError)."""
    if case.state not in transition.sources:
        return ValidationError(_("The case is no longer at the step where this can be done."))
    if user is None:
        if SYSTEM not in transition.roles:
            return PermissionDenied(_("Only a member of staff can do this."))
    else:
        held_here = {r for r, offices in selectors.roles_by_office(user).items()
                     if case.office_id in offices}
        allowed = False
        if Role.SUPERVISOR in transition.roles and Role.SUPERVISOR in held_here:
            allowed = True
        if (Role.CASEWORKER in transition.roles and Role.CASEWORKER in held_here
                and case.assigned_to_id == user.pk):
            allowed = True
        if not allowed:
            return PermissionDenied(_("Your role in this office does not allow this step."))
        took_part = (_actors_this_round(case, for_case(case), transition.not_by)
                     if transition.not_by else set())
        if transition.not_by_latest:
            took_part |= _latest_actor(case, transition.not_by_latest)
        if transition.excluded:
            took_part |= transition.excluded(case)
        if user.pk in took_part:
            return PermissionDenied(_("Someone other than you must do this: you took part in the "
                                      "step it checks (four-eyes rule)."))
    if case.principal.erased_at:
        return ValidationError(_("The applicant's record was erased: the case can no longer move."))
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
    other person's step first, not about what that step changed."""
    if expected_step is None:
        return
    current = Case.objects.select_related("office").get(pk=case.pk)
    wf = for_case(current)
    if wf is not None:
        _check_fresh(current, wf, expected_step)


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
    audit event (ids, codes; never personal values). `on` is the date the step took effect
    (a notification delivered yesterday), from which clocks start.
    """
    try:
        return _fire(case=case, name=name, by=by, reason=reason, on=on,
                     expected_step=expected_step, effect=effect, workflow=workflow)
    except _Refused as refused:
        # Recorded outside the rolled-back transaction, so a refusal stays on the record.
        events.emit("case.transition", actor=by, obj=case, outcome="denied",
                    transition=name, state=refused.state)
        raise refused.error from None


class _Refused(Exception):
    def __init__(self, error: Exception, state: str) -> None:
        self.error, self.state = error, state


@transaction.atomic
def _fire(*, case: Case, name: str, by: User | None, reason: str, on: datetime.date | None,
          expected_step: int | None, effect: Effect | None, workflow: Workflow | None) -> CaseStep:
    # The case row only: a plain FOR UPDATE would lock the joined office row too, queueing
    # every step of the office and deadlocking with inserts that reference it.
    case = Case.objects.select_for_update(of=("self",)).select_related("office").get(pk=case.pk)
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

    source = case.state
    case.state = transition.target
    case.step_no += 1
    case.procedure = wf.name
    target = wf.state(transition.target)
    case.closed_at = timezone.now() if target.closed else None
    step = CaseStep.objects.create(
        case=case, number=case.step_no, transition=name, source=source, target=case.state,
        actor=by, effective_on=effective, person_id=case.principal_id, reason=reason.strip(),
    )
    details = (effect(case, step) if effect else None) or {}
    clash = RESERVED_DETAILS & set(details)
    if clash:  # a detail named like an event field would overwrite it (e.g. the outcome)
        raise ValueError(f"step details may not be named {sorted(clash)}")
    if details:
        step.details = details
        step.save(update_fields=["details"])
    case._history_user = by  # type: ignore[attr-defined]
    case._change_reason = reason.strip()  # type: ignore[attr-defined]
    case.save(update_fields=["state", "step_no", "procedure", "closed_at", "updated_at"])
    _run_clocks(case, wf, transition, step)
    events.emit("case.transition", actor=by, obj=case, transition=name, source=source,
                target=case.state, step=step.number, **details)
    return step


def _run_clocks(case: Case, wf: Workflow, transition: Transition, step: CaseStep) -> None:
    country = case.office.country.code
    closed = wf.state(case.state).closed
    running = set(CaseDeadline.objects.filter(case=case, met_at__isnull=True)
                  .values_list("clock", flat=True))
    # Met on reaching a stop (or closed) state; restarted: a new period replaces the running one.
    ending = {c.name for c in wf.clocks
              if c.name in running and (closed or case.state in c.stops or transition.name in c.starts)}
    if ending:
        CaseDeadline.objects.filter(case=case, met_at__isnull=True, clock__in=ending).update(
            met_at=timezone.now(), met_by_step=step)
    new = [CaseDeadline(case=case, clock=c.name, starts_on=step.effective_on,
                        due_on=c.due(step.effective_on, country), started_by_step=step)
           for c in wf.clocks if transition.name in c.starts]
    if new:
        CaseDeadline.objects.bulk_create(new)


def open_deadline(case: Case, clock: str) -> CaseDeadline | None:
    return CaseDeadline.objects.filter(case=case, clock=clock, met_at__isnull=True).first()


def clock_label(case: Case, name: str) -> str:
    wf = for_case(case)
    clock = wf.clock(name) if wf else None
    return str(clock.label) if clock else name
