"""What a procedure is: states, transitions, clocks and options, and the registry of procedures
(docs/architecture.md#workflow-engine). Data only: nothing here reads the database or knows
the apps (the periods a system administrator set come through `configured`);
`cases.workflow.engine` fires the transitions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.workflow import configured
from cases.workflow.days import CALENDAR, UNITS, add_days

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from cases.models import Case, User

SYSTEM = "system"  # a transition the periodic tasks may fire (with no user)

Label = str | Promise
# A guard returns why the transition cannot fire now, or None when it can.
Guard = Callable[["Case"], Label | None]


class CaseRef(Protocol):
    """What the registry needs of a case to find its procedure."""

    procedure: str
    kind: str
    state: str

    @property
    def office(self) -> Any: ...


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
    # The roles that may fire it, held in the case's office (cases.access: roles that act only
    # on assigned cases, such as caseworkers, need the case assigned to them), or SYSTEM.
    roles: tuple[str, ...]
    guards: tuple[Guard, ...] = ()
    # Four-eyes: whoever fired one of these in the current round may not fire this, nor
    # anyone `excluded` names from the app's own records (e.g. who edited the assessment).
    not_by: tuple[str, ...] = ()
    not_by_latest: tuple[str, ...] = ()  # only whoever fired the latest of these (a proposal)
    excluded: Callable[[Case], set[int]] | None = None
    needs_reason: bool = False
    style: str = "primary"        # how the button looks: primary, secondary, danger


# The panel a procedure adds to the case page: its template and what fills it.
PanelBuilder = Callable[["Case", "User"], dict[str, Any]]
# The rows a procedure's panel shows and its steps' checks read beyond the case, its steps
# and deadlines, as queries: the card is kept under their fingerprint (cases/fragments.py).
# A procedure that does not say has its card rendered on every view.
PanelSources = Callable[["Case"], list["QuerySet[Any]"]]


@dataclass(frozen=True)
class ProcedureOptions:
    """What the core reads of a procedure's app. Apps subclass it for facts of their own
    (filing limits, deciding authorities ...) and read them through `Workflow.options`."""

    step_url: str = ""            # URL name of the step pages, taking case_id and name
    panel_template: str = ""      # the procedure's panel on the case page
    panel: PanelBuilder | None = None
    panel_sources: PanelSources | None = None


OptionsT = TypeVar("OptionsT", bound=ProcedureOptions)


@dataclass
class Workflow:
    name: str
    kind: str
    label: Label
    country: str = ""             # "" = the default for its kind
    states: dict[str, State] = field(default_factory=dict)
    transitions: dict[str, Transition] = field(default_factory=dict)
    clocks: tuple[Clock, ...] = ()
    options: ProcedureOptions = field(default_factory=ProcedureOptions)
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
            if c.unit not in UNITS:
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

    def clocks_in_force(self) -> tuple[Clock, ...]:
        """The clocks with the periods a system administrator set (on top of settings): what
        a deadline opened now counts. A period that no longer fits is left out."""
        periods = configured.periods(self.name)
        if not periods:
            return self.clocks
        out = []
        for c in self.clocks:
            with contextlib.suppress(ValueError):
                c = with_periods((c,), {c.name: periods[c.name]})[0] if c.name in periods else c
            out.append(c)
        return tuple(out)

    def clock_in_force(self, name: str) -> Clock | None:
        return next((c for c in self.clocks_in_force() if c.name == name), None)

    def outgoing(self, state: str) -> list[Transition]:
        return [t for t in self.transitions.values() if state in t.sources]

    def options_as(self, kind: type[OptionsT]) -> OptionsT:
        """The options, as the app's own class (one typed way to read them)."""
        if not isinstance(self.options, kind):
            raise TypeError(f"{self.name}: options are {type(self.options).__name__}, not {kind.__name__}")
        return self.options


STATE_FALLBACK: dict[str, Label] = {"open": gettext_lazy("Open"), "closed": gettext_lazy("Closed")}


# --- Registry ---------------------------------------------------------------------------

_registry: dict[str, Workflow] = {}
_law_clocks: dict[str, tuple[Clock, ...]] = {}  # before settings.AMPARO_DEADLINES changed them


def register(workflow: Workflow) -> Workflow:
    """Add (or replace) a procedure, its periods changed as settings.AMPARO_DEADLINES says,
    e.g. {"rsd.mx": {"appeal": (15, "working")}}. A wrong entry changes nothing here: the
    system check amparo.E020 refuses it at start-up."""
    _law_clocks[workflow.name] = workflow.clocks
    periods = getattr(settings, "AMPARO_DEADLINES", {}).get(workflow.name, {})
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        workflow.clocks = with_periods(workflow.clocks, periods)
    _registry[workflow.name] = workflow
    return workflow


def deadline_problems() -> list[str]:
    """What is wrong with settings.AMPARO_DEADLINES, one sentence each."""
    configured = getattr(settings, "AMPARO_DEADLINES", {})
    if not isinstance(configured, Mapping):
        return ["AMPARO_DEADLINES must be a dict of {procedure: {clock: (days, unit)}}."]
    problems = []
    for name, periods in configured.items():
        if name not in _registry:
            problems.append(f"AMPARO_DEADLINES names the procedure {name!r}, which does not exist; "
                            f"the procedures are {sorted(_registry)}.")
            continue
        try:
            with_periods(_law_clocks[name], periods)
        except (ValueError, TypeError, AttributeError) as exc:
            problems.append(f"AMPARO_DEADLINES[{name!r}]: {exc}.")
    return problems


def law_clock(procedure: str, name: str) -> Clock | None:
    """A clock as its procedure defines it, before settings.AMPARO_DEADLINES changed it."""
    return next((c for c in _law_clocks.get(procedure, ()) if c.name == name), None)


def unregister(name: str) -> Workflow | None:
    _law_clocks.pop(name, None)
    return _registry.pop(name, None)


def get(name: str) -> Workflow | None:
    return _registry.get(name)


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


def for_case(case: CaseRef) -> Workflow | None:
    if case.procedure:
        return _registry.get(case.procedure)
    return for_kind(case.kind, case.office.country.code)


def state_label(case: CaseRef) -> str:
    wf = for_case(case)
    if wf is None:
        return str(STATE_FALLBACK.get(case.state, case.state))
    return str(wf.state(case.state).label)


def states_waiting_for(role: str) -> set[str]:
    """In any procedure (a superset: match per procedure for the exact set)."""
    return {s.name for wf in _registry.values() for s in wf.states.values() if s.waiting_for == role}


def clock_label(case: CaseRef, name: str) -> str:
    wf = for_case(case)
    clock = wf.clock(name) if wf else None
    return str(clock.label) if clock else name


def with_periods(clocks: tuple[Clock, ...], periods: Mapping[str, tuple[int, str]]) -> tuple[Clock, ...]:
    """The clocks with some periods changed ({clock: (days, unit)}, as in AMPARO_DEADLINES).

    Raises ValueError naming what is wrong."""
    unknown = set(periods) - {c.name for c in clocks}
    if unknown:
        raise ValueError(f"unknown clocks {sorted(unknown)}; the procedure has "
                         f"{sorted(c.name for c in clocks)}")
    out = []
    for c in clocks:
        if c.name in periods:
            try:
                days, unit = periods[c.name]
                days = int(days)
            except (TypeError, ValueError):
                raise ValueError(f"{c.name}: give (days, 'calendar' or 'working')") from None
            if unit not in UNITS or days < 1:
                raise ValueError(f"{c.name}: give (days, 'calendar' or 'working'), days at least 1")
            c = dataclasses.replace(c, days=days, unit=unit)
        out.append(c)
    return tuple(out)
