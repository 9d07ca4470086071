"""What the dashboard shows about deadlines, and the sections other apps add to it.

`cases` imports no procedure app: `rsd` (and later `tip`) register a section builder here
from their AppConfig.ready(); the dashboard renders each section's template and records the
cases every section names in its one `case.list` event.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from cases import access, listed, selectors, workflow
from cases.models import Case, CaseDeadline, Role, User

ROWS = 20  # deadlines listed per panel; the totals say how many there are (up to a limit)


@dataclass
class DeadlineRow:
    case: Case
    clock: str
    label: str
    due_on: datetime.date
    days: int  # days left until the due date; negative: days overdue

    @property
    def overdue(self) -> bool:
        return self.days < 0

    @property
    def days_overdue(self) -> int:
        return -self.days


@dataclass
class Deadlines:
    mine: list[DeadlineRow] | None = None  # caseworkers: their own cases
    mine_total: selectors.Bounded = field(default_factory=lambda: selectors.Bounded(0))
    offices: list[DeadlineRow] | None = None  # supervisors: every case of their offices
    offices_total: selectors.Bounded = field(default_factory=lambda: selectors.Bounded(0))
    per_office: list[selectors.OfficeDeadlines] = field(default_factory=list)
    within_days: int = selectors.DUE_SOON_DAYS

    @property
    def overdue(self) -> selectors.Bounded:
        """Overdue deadlines among the listed (soonest first, so overdue ones lead): exact
        unless every listed row is overdue and there are more."""
        rows = self.mine if self.mine is not None else (self.offices or [])
        total = self.mine_total if self.mine is not None else self.offices_total
        n = sum(1 for r in rows if r.overdue)
        return selectors.Bounded(n, n == len(rows) and (total > n or total.more))

    @property
    def cases(self) -> list[Case]:
        return [r.case for r in (self.mine or []) + (self.offices or [])]


def _counted(qs: QuerySet[Any], page: int) -> tuple[list[Any], selectors.Bounded]:
    """The first `page` rows of `qs` (a values query) and how many there are up to the count's
    limit, from one statement: reading the ids past the page costs less than a second one."""
    found = list(qs[:selectors.COUNT_LIMIT + 1])
    return found[:page], selectors.bounded(len(found))


def _rows(deadlines: QuerySet[CaseDeadline]) -> tuple[list[DeadlineRow], selectors.Bounded]:
    """The panel's first ROWS deadlines, their cases read as a table lists them, and how many
    there are."""
    found, count = _counted(deadlines.select_related(None).prefetch_related(None)
                            .values_list("case_id", "clock", "due_on"), ROWS)
    cases = {c.pk: c for c in listed.listed_cases([case_id for case_id, _c, _d in found])}
    today = timezone.localdate()
    return [DeadlineRow(case=cases[case_id], clock=clock, label=workflow.clock_label(cases[case_id], clock),
                        due_on=due_on, days=(due_on - today).days)
            for case_id, clock, due_on in found if case_id in cases], count  # gone since: not shown


def first_records(qs: QuerySet[Any], page: int, *fields: str) -> tuple[list[Any], selectors.Bounded]:
    """A panel's first `page` records of cases (a service, a plan) in `qs` and how many there
    are up to the count's limit, from one statement reading only `fields`; each record's case
    read as a table lists them (`listed.listed_cases`), not joined whole with its principal."""
    found, count = _counted(qs.select_related(None).prefetch_related(None).only("case", *fields), page)
    cases = {c.pk: c for c in listed.listed_cases(list(dict.fromkeys(r.case_id for r in found)))}
    for record in found:
        record.case = cases.get(record.case_id)
    return [r for r in found if r.case is not None], count  # gone since: not shown


def first_cases(qs: QuerySet[Case], page: int, *annotations: str) -> tuple[list[Case], selectors.Bounded]:
    """`first_rows` of a query of cases, read as a table lists them (`listed.listed_cases`):
    the query gives the ids in its order (and how many there are, in the same statement), and
    the values of `annotations` to set on each."""
    found, count = _counted(qs.select_related(None).prefetch_related(None)
                            .values_list("pk", *annotations), page)
    values = {row[0]: row[1:] for row in found}
    rows = listed.listed_cases(list(values))  # in the query's order
    for case in rows:
        for name, value in zip(annotations, values[case.pk], strict=True):
            setattr(case, name, value)
    return rows, count


def deadlines(user: User, *, within_days: int = selectors.DUE_SOON_DAYS) -> Deadlines:
    """Overdue and soon-due deadlines: caseworkers their own cases', supervisors their offices'."""
    held = access.roles_by_office(user)
    out = Deadlines(within_days=within_days)
    if held.get(Role.CASEWORKER):
        mine = selectors.due_deadlines(user, mine_only=True, within_days=within_days)
        out.mine, out.mine_total = _rows(mine)
    if held.get(Role.SUPERVISOR):
        offices = selectors.due_deadlines(user, within_days=within_days,
                                          offices=access.offices_where(user, Role.SUPERVISOR))
        out.offices, out.offices_total = _rows(offices)
        out.per_office = selectors.supervised_deadlines(user, within_days=within_days)
    return out


@dataclass
class Section:
    """A part of the dashboard an app adds: its template, context and the cases it names."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)


SectionBuilder = Callable[[User], "Section | None"]
_builders: list[SectionBuilder] = []


def register(builder: SectionBuilder) -> SectionBuilder:
    if builder not in _builders:  # ready() may run twice in tests
        _builders.append(builder)
    return builder


def sections(user: User) -> list[Section]:
    return [s for s in (b(user) for b in _builders) if s is not None]
