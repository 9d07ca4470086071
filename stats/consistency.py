"""Decision consistency: recognition rates per eligibility officer and per reviewer against
their office's (docs/architecture.md#decision-consistency).

What is counted: the substantive first-instance decisions (recognized, complementary
protection, rejected) of one office dated in the period. A decision is attributed to the
eligibility officer who wrote the case's approved assessment (the latest submitted before
the decision was recorded) and to the reviewer who approved it; a decision without an
approved assessment (a procedure without one) counts for the office only. Rate = recognized
÷ substantive decisions, as in the indicators.

How a difference is judged:
- each rate has a 95 % Wilson score interval (honest at small numbers and near 0 or 1,
  where the textbook interval is not);
- each member of staff is compared with the rest of the office (the office without their
  own decisions: comparing with a total that contains them would shrink the difference)
  by a two-sided two-proportion z-test with a pooled proportion; it is run only where all
  four expected counts are at least 5, the usual condition for the normal approximation,
  and the row says "too few" otherwise;
- with many officers, some would differ "significantly" by chance alone: the p-values of
  one table are adjusted together with Holm's step-down method (which keeps the chance of
  even one false flag in the table at or below 5 %), and a row is flagged when its
  adjusted p-value is below 0.05.

A flag says that a difference is unlikely to be chance, not why: caseloads differ
(nationalities, vulnerabilities) even within an office, hence the split by nationality.

Who sees what (`stats.selectors.consistency_view`): a supervisor every member of staff of
their offices by name; an analyst the same numbers with staff numbered instead of named,
and small counts hidden as everywhere else; a caseworker their own rows and the office's.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, OuterRef, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import User
from rsd.models import AssessmentStatus, Decision, EligibilityAssessment, Outcome, Stage
from stats import suppression
from stats.indicators import Period
from stats.suppression import Sum

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile
ALPHA = 0.05
MIN_EXPECTED = 5
SUBSTANTIVE = (Outcome.RECOGNIZED, Outcome.COMPLEMENTARY, Outcome.REJECTED)
OFFICE = "office"
UNATTRIBUTED = "unattributed"
OFFICER, REVIEWER = "officer", "reviewer"
ROLES = {OFFICER: ("author", gettext_lazy("Eligibility officer")),
         REVIEWER: ("reviewed_by", gettext_lazy("Reviewer"))}
# What each viewer sees: every name, numbered staff (analysts) or their own rows.
NAMED, NUMBERED, OWN = "named", "numbered", "own"


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of the proportion k/n (0..1)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test of k1/n1 against k2/n2; None
    where an expected count is below MIN_EXPECTED (the approximation would not hold)."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    expected = (n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
    if min(expected) < MIN_EXPECTED:
        return None
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (k1 / n1 - k2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjustment: the i-th smallest of m p-values times (m - i + 1),
    never below the one before it, never above 1; returned in the order given."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


@dataclass
class Line:
    """One member of staff (or the office) in one nationality ("" for all of them)."""

    staff: int | str  # a user id, OFFICE or UNATTRIBUTED
    nationality: str
    decided: int
    recognized: int
    rest_decided: int = 0  # the rest of the office: its decisions without these
    rest_recognized: int = 0
    label: str = ""
    p: float | None = None
    adjusted: float | None = None
    flagged: bool = False
    hidden: bool = False  # small-cell protection (numbered view)
    hidden_cells: set[str] = field(default_factory=set)

    @property
    def rate(self) -> float | None:
        return self.recognized / self.decided if self.decided else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.recognized, self.decided) if self.decided else None

    @property
    def rest_rate(self) -> float | None:
        return self.rest_recognized / self.rest_decided if self.rest_decided else None

    @property
    def direction(self) -> str:
        if not self.flagged or self.rate is None or self.rest_rate is None:
            return ""
        return "higher" if self.rate > self.rest_rate else "lower"

    @property
    def cells(self) -> dict[str, str]:
        return {c: self.shown(c) for c in ("decided", "recognized", "rate", "interval",
                                           "rest_rate", "p")}

    def shown(self, cell: str) -> str:
        """A cell as text: counts, the rate and interval in percent, the p-values."""
        if cell in self.hidden_cells or (self.hidden and cell not in ("decided", "recognized")):
            return suppression.MASK
        if cell in ("decided", "recognized"):
            return str(getattr(self, cell))
        if cell == "rate":
            return "—" if self.rate is None else f"{100 * self.rate:.1f} %"
        if cell == "interval":
            if self.interval is None:
                return "—"
            low, high = self.interval
            return f"{100 * low:.1f} to {100 * high:.1f} %"
        if cell == "rest_rate":
            return "—" if self.rest_rate is None else f"{100 * self.rest_rate:.1f} %"
        if cell == "p":
            return "—" if self.adjusted is None else _pvalue(self.adjusted)
        raise KeyError(cell)


def _pvalue(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


@dataclass
class Table:
    role: str  # OFFICER or REVIEWER
    lines: list[Line]  # the office's line first in each nationality
    tested: int  # comparisons in Holm's family
    flagged: int


@dataclass(frozen=True)
class Query:
    office_id: int
    period: Period
    role: str = OFFICER
    nationality: str = ""  # only this nationality
    split: bool = False  # a line per nationality


def _counts(q: Query) -> dict[tuple[Any, str], list[int]]:
    """(staff id or None, nationality or "") -> [substantive decisions, recognized]."""
    field_name, _label = ROLES[q.role]
    assessment = (EligibilityAssessment.objects
                  .filter(case=OuterRef("case"), status=AssessmentStatus.APPROVED,
                          submitted_at__lte=OuterRef("recorded_at"))
                  .order_by("-submitted_at").values(field_name)[:1])
    decisions = Decision.objects.filter(
        case__office_id=q.office_id, stage=Stage.FIRST_INSTANCE, outcome__in=SUBSTANTIVE,
        decided_on__range=(q.period.start, q.period.end))
    if q.nationality:
        decisions = decisions.filter(case__principal__nationalities__0=q.nationality)
    columns = ["staff", "outcome"]
    decisions = decisions.annotate(staff=Subquery(assessment))
    if q.split:
        columns.append("case__principal__nationalities__0")
    out: dict[tuple[Any, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in decisions.order_by().values_list(*columns).annotate(n=Count("pk")):
        staff, outcome, *rest = row[:-1]
        n = row[-1]
        nat = (rest[0] or "") if q.split else ""
        cell = out[(staff, nat)]
        cell[0] += n
        if outcome == Outcome.RECOGNIZED:
            cell[1] += n
    return out


def compute(q: Query) -> Table:
    """Every line of the office, tested and flagged (who sees which: `for_viewer`)."""
    counts = _counts(q)
    office: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (_staff, nat), (n, k) in counts.items():
        office[nat][0] += n
        office[nat][1] += k
    lines: list[Line] = []
    for nat in sorted(office):
        n_all, k_all = office[nat]
        lines.append(Line(OFFICE, nat, n_all, k_all))
        staff = sorted(((s, v) for (s, na), v in counts.items() if na == nat and s is not None),
                       key=lambda sv: (-sv[1][0], sv[0]))
        for s, (n, k) in staff:
            lines.append(Line(s, nat, n, k, rest_decided=n_all - n, rest_recognized=k_all - k))
        if (None, nat) in counts:
            n, k = counts[(None, nat)]
            lines.append(Line(UNATTRIBUTED, nat, n, k))
    tested = [ln for ln in lines if ln.staff not in (OFFICE, UNATTRIBUTED)]
    for ln in tested:
        ln.p = two_proportion_p(ln.recognized, ln.decided, ln.rest_recognized, ln.rest_decided)
    family = [ln for ln in tested if ln.p is not None]
    for ln, adjusted in zip(family, holm([ln.p for ln in family if ln.p is not None]), strict=True):
        ln.adjusted = adjusted
        ln.flagged = adjusted < ALPHA
    return Table(q.role, lines, tested=len(family), flagged=sum(ln.flagged for ln in family))


def for_viewer(table: Table, view: str, *, viewer: User, threshold: int) -> Table:
    """The lines `view` shows, labelled: names (NAMED), numbers (NUMBERED, small counts
    hidden) or the viewer's own lines and the office's (OWN)."""
    role_label = str(ROLES[table.role][1])
    lines = table.lines
    if view == OWN:
        lines = [ln for ln in lines if ln.staff in (OFFICE, viewer.pk)]
    numbers: dict[Any, int] = {}
    if view == NUMBERED:
        # Numbered by decisions over the whole table (then by an internal id), so that a
        # number means the same person in every nationality of one screen, and nothing more.
        totals: dict[Any, int] = defaultdict(int)
        for ln in lines:
            if isinstance(ln.staff, int):
                totals[ln.staff] += ln.decided
        numbers = {s: i + 1 for i, s in enumerate(sorted(totals, key=lambda s: (-totals[s], s)))}
    names = _names({ln.staff for ln in lines if isinstance(ln.staff, int)}) if view != NUMBERED else {}
    out = []
    for ln in lines:
        copy = Line(**{f: getattr(ln, f) for f in Line.__dataclass_fields__
                       if f not in ("hidden_cells",)})
        if ln.staff == OFFICE:
            copy.label = _("Whole office")
        elif ln.staff == UNATTRIBUTED:
            copy.label = _("No approved assessment")
        elif view == NUMBERED:
            copy.label = f"{role_label} {numbers[ln.staff]}"
        else:
            copy.label = names.get(int(ln.staff), "?")
        out.append(copy)
    if view != NAMED:
        # Small counts are hidden from who does not supervise the office: an office line of
        # one nationality may be one person's decision. The flags counted are the ones shown.
        _protect(out, threshold)
        return Table(table.role, out, tested=table.tested,
                     flagged=sum(bool(ln.flagged) for ln in out))
    return Table(table.role, out, tested=table.tested, flagged=table.flagged)


def _names(ids: Iterable[int]) -> dict[int, str]:
    return {u.pk: (u.get_full_name() or u.get_username())
            for u in User.objects.filter(pk__in=list(ids))}


def _protect(lines: list[Line], threshold: int) -> None:
    """Small-cell protection over the numbered lines: per line, recognized + the others =
    decisions; per nationality, the staff's lines (and the unattributed) add up to the
    office's. A line with a hidden count shows no rate, interval, p-value or flag."""
    values: dict[tuple[int, str], int] = {}
    sums: list[Sum[tuple[int, str]]] = []
    by_nat: dict[str, tuple[int | None, list[int]]] = {}
    for i, ln in enumerate(lines):
        values[(i, "decided")] = ln.decided
        values[(i, "recognized")] = ln.recognized
        values[(i, "other")] = ln.decided - ln.recognized
        sums.append(Sum([(i, "recognized"), (i, "other")], total=(i, "decided")))
        office, members = by_nat.get(ln.nationality, (None, []))
        if ln.staff == OFFICE:
            office = i
        else:
            members.append(i)
        by_nat[ln.nationality] = (office, members)
    for office, members in by_nat.values():
        if office is None:
            continue
        for cell in ("decided", "recognized", "other"):
            sums.append(Sum([(m, cell) for m in members], total=(office, cell)))
    table = suppression.protect(values, sums, threshold=threshold)
    for (i, cell) in table.hidden:
        lines[i].hidden = True
        if cell != "other":
            lines[i].hidden_cells.add(cell)
    for ln in lines:
        if ln.hidden:
            ln.flagged = False
