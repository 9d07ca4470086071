"""What the case list (/cases/) may be narrowed by and sorted on (docs/architecture.md#case-list).

Plain values and the conditions they stand for; nothing here reads the database or widens
a scope: `selectors.case_list` applies a `CaseFilters` inside each part of the user's scope.
Apps add conditions on their own records (the asylum procedure's priority) with
`register_flag` from their AppConfig.ready(), so the core imports no app.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases import workflow
from cases.models import CaseDeadline

Label = str | Promise

NEWEST, OLDEST, REFERENCE, DEADLINE, CHANGED = "newest", "oldest", "reference", "deadline", "changed"
SORTS: dict[str, Label] = {
    NEWEST: _("Newest registration first"),
    OLDEST: _("Oldest registration first"),
    REFERENCE: _("Reference"),
    DEADLINE: _("Next deadline first"),
    CHANGED: _("Last changed first"),
}

DUE_SOON_DAYS = 7  # the "due soon" of the deadline filter and the dashboards
OVERDUE, DUE_SOON, NO_DEADLINE = "overdue", "soon", "none"
DEADLINES: dict[str, Label] = {
    OVERDUE: _("Overdue"),
    DUE_SOON: _("Due within 7 days"),
    NO_DEADLINE: _("No deadline running"),
}

# The state filter also takes every open or every closed state at once.
ANY_OPEN, ANY_CLOSED = "any-open", "any-closed"


@dataclass(frozen=True)
class Flag:
    """A yes/no condition an app adds to the list, e.g. the asylum procedure's priority.

    `condition` returns a condition on `Case` (usually an Exists over the app's records)."""

    code: str
    label: Label
    condition: Callable[[], Q]


_flags: dict[str, Flag] = {}


def register_flag(flag: Flag) -> Flag:
    _flags[flag.code] = flag  # again with the same code: ready() may run twice in tests
    return flag


def flags() -> list[Flag]:
    return list(_flags.values())


def running_deadlines() -> Q:
    return Q(met_at__isnull=True)


def procedure_condition(name: str) -> Q:
    """Cases that follow the procedure `name`, and those of its kind and country not yet in one
    (they will follow it: `workflow.for_kind`)."""
    wf = workflow.get(name)
    if wf is None:
        return Q(pk__in=[])
    not_yet = Q(procedure="", kind=wf.kind)
    if wf.country:
        not_yet &= Q(office__country=wf.country)
    else:  # the default of its kind: where no country has its own
        own = [w.country for w in workflow.registered() if w.kind == wf.kind and w.country]
        not_yet &= ~Q(office__country__in=own)
    return Q(procedure=name) | not_yet


@dataclass(frozen=True)
class CaseFilters:
    """Validated filters of the case list; empty values filter nothing."""

    kind: str = ""
    state: str = ""  # a state name, ANY_OPEN or ANY_CLOSED
    procedure: str = ""
    assignee: int | None = None  # a staff member (mine and the queue are `show`)
    deadline: str = ""  # OVERDUE, DUE_SOON or NO_DEADLINE
    office: int | None = None
    flags: tuple[str, ...] = ()

    def condition(self, today: datetime.date) -> Q:
        """The filters as one condition on `Case` (to be applied inside the user's scope)."""
        q = Q()
        if self.kind:
            q &= Q(kind=self.kind)
        if self.state == ANY_OPEN:
            q &= Q(closed_at__isnull=True)
        elif self.state == ANY_CLOSED:
            q &= Q(closed_at__isnull=False)
        elif self.state:
            q &= Q(state=self.state)
        if self.procedure:
            q &= procedure_condition(self.procedure)
        if self.assignee is not None:
            q &= Q(assigned_to_id=self.assignee)
        if self.office is not None:
            q &= Q(office_id=self.office)
        running = CaseDeadline.objects.filter(running_deadlines())
        if self.deadline == OVERDUE:
            q &= Q(pk__in=running.filter(due_on__lt=today).values("case_id"))
        elif self.deadline == DUE_SOON:
            q &= Q(pk__in=running.filter(
                due_on__gte=today, due_on__lte=today + datetime.timedelta(days=DUE_SOON_DAYS)
            ).values("case_id"))
        elif self.deadline == NO_DEADLINE:
            q &= ~Q(Exists(running.filter(case=OuterRef("pk"))))
        for code in self.flags:
            flag = _flags.get(code)
            q &= flag.condition() if flag else Q(pk__in=[])
        return q


@dataclass
class ListChoices:
    """What one user may pick in the case list's filters (selectors.case_list_choices)."""

    offices: list[tuple[int, str, str]]  # (id, code, label) of the offices they work in
    procedures: list[tuple[str, str]]  # (name, label) of the procedures those offices use
    open_states: list[tuple[str, str]]  # (name, label) of those procedures' states
    closed_states: list[tuple[str, str]]
    staff: list[tuple[int, str]]  # (id, name): staff of the offices they supervise
    supervises: bool
    flags: list[tuple[str, str]]
