"""The indicators, each defined once with the formula shown beside it
(docs/architecture.md#statistics).

An indicator counts over the cases of the offices a user may read numbers of
(`stats.selectors.stats_offices`), narrowed by the filters: office, the applicant's
nationality (first recorded), sex and age band (at the end of the period), and the period
(a year, a half or a quarter: fixed periods, so that two periods never differ by a few days).
Every count goes through small-cell protection before it is shown or exported: below the
threshold, the counts a total would reveal, and the counts that differ little from the same
indicator with one filter fewer (`stats.suppression`). A rate or a time is shown only where
the counts it rests on are.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime
import functools
import operator
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.dates import MONTHS as MONTH_NAMES
from django.utils.translation import gettext_lazy as _

from cases import consent, workflow
from cases.models import CaseKind, ConsentPurpose, Handover, HandoverStatus
from cases.workflow import Label
from rsd.models import (
    ClaimChannel,
    LegalBasis,
    Modality,
    Outcome,
    Stage,
)
from rsd.names import Clocks
from stats import suppression
from stats.models import Fact
from stats.suppression import Protected, Sum
from tip.models import Referral, SupportService, VictimProfile
from tip.vocab import Exploitation, ServiceKind, ServiceStatus, TraffickingStatus

TOTAL = "total"
COUNT, PERCENT, DAYS = "count", "percent", "days"

MONTHS = tuple(f"M{m:02d}" for m in range(1, 13))
PARTS: dict[str, tuple[tuple[int, int], ...]] = {
    "": ((1, 12),),
    "H1": ((1, 6),), "H2": ((7, 12),),
    "Q1": ((1, 3),), "Q2": ((4, 6),), "Q3": ((7, 9),), "Q4": ((10, 12),),
    **{m: ((i, i),) for i, m in enumerate(MONTHS, 1)},
}
# The periods that hold each one: what a narrower period's counts could be subtracted from.
CONTAINING = {"H1": ("",), "H2": ("",), "Q1": ("H1", ""), "Q2": ("H1", ""), "Q3": ("H2", ""),
              "Q4": ("H2", ""),
              **{m: (f"Q{(i - 1) // 3 + 1}", "H1" if i <= 6 else "H2", "")
                 for i, m in enumerate(MONTHS, 1)}}
PART_LABELS: dict[str, Label] = {
    "": _("whole year"), "H1": _("first half"), "H2": _("second half"),
    "Q1": _("first quarter"), "Q2": _("second quarter"), "Q3": _("third quarter"),
    "Q4": _("fourth quarter"), **{m: MONTH_NAMES[i] for i, m in enumerate(MONTHS, 1)}}

# UNHCR's age bands (lowest, highest age; None: no upper limit).
AGE_BANDS: dict[str, tuple[int, int | None]] = {
    "0-4": (0, 4), "5-11": (5, 11), "12-17": (12, 17), "18-59": (18, 59), "60+": (60, None)}

BACKLOG_AGES: tuple[tuple[str, Label, int, int | None], ...] = (
    ("under_3", _("under 3 months"), 0, 91),
    ("3_to_6", _("3 to 6 months"), 91, 183),
    ("6_to_12", _("6 to 12 months"), 183, 366),
    ("over_12", _("over 12 months"), 366, None),
)


@dataclass(frozen=True)
class Period:
    year: int
    part: str = ""

    @property
    def start(self) -> datetime.date:
        return datetime.date(self.year, PARTS[self.part][0][0], 1)

    @property
    def end(self) -> datetime.date:
        last = PARTS[self.part][0][1]
        following = datetime.date(self.year + (last == 12), last % 12 + 1, 1)
        return following - datetime.timedelta(days=1)

    def containing(self) -> list[Period]:
        return [Period(self.year, p) for p in CONTAINING.get(self.part, ())]

    def months(self) -> list[Period]:
        """The months of the period, in order."""
        first, last = PARTS[self.part][0]
        return [Period(self.year, MONTHS[m - 1]) for m in range(first, last + 1)]

    @property
    def key(self) -> str:
        return f"{self.year}-{self.part}" if self.part else str(self.year)

    @classmethod
    def parse(cls, text: str) -> Period:
        year, _sep, part = text.partition("-")
        if not year.isdigit() or part not in PARTS or not 1990 <= int(year) <= 2100:
            raise ValueError(text)
        return cls(int(year), part)


@dataclass(frozen=True)
class Filters:
    """What an indicator counts over. `allowed`: the offices the user may read numbers of;
    `offices`: those chosen (empty: all of them)."""

    allowed: frozenset[int]
    period: Period
    offices: frozenset[int] = frozenset()
    nationality: str = ""
    sex: str = ""
    age_band: str = ""

    @property
    def office_ids(self) -> frozenset[int]:
        return (self.offices & self.allowed) if self.offices else self.allowed

    def wider(self) -> list[Filters]:
        """The same filters with one fewer: what a second export could be subtracted from."""
        out = [dataclasses.replace(self, period=p) for p in self.period.containing()]
        if self.offices and self.offices != self.allowed:
            out.append(dataclasses.replace(self, offices=frozenset()))
        if self.nationality:
            out.append(dataclasses.replace(self, nationality=""))
        if self.sex:
            out.append(dataclasses.replace(self, sex=""))
        if self.age_band:
            out.append(dataclasses.replace(self, age_band=""))
        return out

    def describe(self) -> dict[str, str]:
        return {"period": self.period.key, "offices": ",".join(map(str, sorted(self.offices))),
                "nationality": self.nationality, "sex": self.sex, "age_band": self.age_band}

    def cases(self, prefix: str = "") -> Q:
        """The filters on the cases, for a query over a model reaching them by `prefix`."""
        return Q(**{f"{prefix}office__in": sorted(self.office_ids)}) & self.people(prefix)

    def people(self, prefix: str = "") -> Q:
        """The filters on the case's applicant alone (nationality, sex, age band)."""
        q = Q()
        if self.nationality:
            q &= Q(**{f"{prefix}principal__nationalities__0": self.nationality})
        if self.sex:
            q &= Q(**{f"{prefix}principal__sex": self.sex})
        if self.age_band:
            low, high = AGE_BANDS[self.age_band]
            year = self.period.end.year
            q &= Q(**{f"{prefix}principal__birth_year__lte": year - low})
            if high is not None:
                q &= Q(**{f"{prefix}principal__birth_year__gte": year - high})
        return q

    def facts(self, *kinds: str, dated: bool = True) -> Q:
        """The filters on the summary table (`stats.models.Fact`), for rows of these kinds,
        dated in the period unless told otherwise."""
        return functools.reduce(operator.and_, self.fact_conditions(*kinds, dated=dated))

    def fact_conditions(self, *kinds: str, dated: bool = True) -> list[Q]:
        """`facts` as the conditions it is made of."""
        out = [Q(kind__in=kinds), Q(office_id__in=sorted(self.office_ids))]
        if dated:
            out.append(Q(on__range=(self.period.start, self.period.end)))
        if self.nationality:
            out.append(Q(nationality=self.nationality))
        if self.sex:
            out.append(Q(sex=self.sex))
        if self.age_band:
            low, high = AGE_BANDS[self.age_band]
            year = self.period.end.year
            band = Q(birth_year__lte=year - low)
            if high is not None:
                band &= Q(birth_year__gte=year - high)
            out.append(band)
        return out

    @property
    def on_people(self) -> bool:
        return bool(self.nationality or self.sex or self.age_band)

    def applicants(self, path: str = "case_id") -> Q:
        """The filters on the applicant, for a model reaching an asylum case by `path`: the
        cases whose application row in the summary table matches them (no join to people,
        no JSON read); no condition without such a filter."""
        if not self.on_people:
            return Q()
        rows = Fact.objects.filter(self.facts(Fact.APPLICATION, dated=False)).values("case_id")
        return Q(**{f"{path}__in": rows})

    def dates(self, path: str) -> Q:
        return Q(**{f"{path}__range": (self.period.start, self.period.end)})


@dataclass
class Row:
    key: str
    label: str
    value: float | None  # None: suppressed
    shown: str
    reason: str = ""  # why it is not shown


@dataclass
class Result:
    indicator: Indicator
    rows: list[Row]
    total: Row | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def bars(self) -> list[Row]:
        return [r for r in self.rows if r.value is not None]


Counts = dict[str, int]


@dataclass(frozen=True)
class Indicator:
    key: str
    title: Label
    formula: Label
    unit: str
    count: Callable[[Filters], Counts] | None = None  # COUNT indicators
    labels: Callable[[], Mapping[str, Any]] | None = None
    derive: Callable[[Filters, int], list[Row]] | None = None  # rates and times
    totalled: bool = True  # the counts are parts of one whole (a total row)

    def compute(self, filters: Filters, threshold: int) -> Result:
        if self.derive is not None:
            return Result(self, self.derive(filters, threshold))
        if self.count is None or self.labels is None:
            raise TypeError(f"indicator {self.key} has neither counts nor a derivation")
        table = protected(self.count, filters, threshold, totalled=self.totalled)
        labels = self.labels()
        rows = [_row(k, str(labels.get(k, k)), table) for k in labels if k != TOTAL]
        total = _row(TOTAL, str(_("Total")), table) if self.totalled else None
        return Result(self, rows, total=total)


def _row(key: str, label: str, table: Protected[str]) -> Row:
    if key in table.hidden:
        return Row(key, label, None, suppression.MASK, table.hidden[key])
    v = table.values.get(key, 0)
    return Row(key, label, v, str(v))


def protected(count: Callable[[Filters], Counts], filters: Filters, threshold: int, *,
              totalled: bool = True) -> Protected[str]:
    """The counts (with their total), small cells and what would reveal them hidden."""
    wider = filters.wider() if threshold > 1 else []
    tables = counted(count, [filters, *wider])
    return protect_counts(tables[filters], [tables[w] for w in wider], threshold,
                          totalled=totalled)


# The counts a screen already made (`compute_all`), by indicator and filters.
_made: contextvars.ContextVar[dict[tuple[Any, Filters], Counts] | None] = contextvars.ContextVar(
    "stats_counts_made", default=None)


def counted(count: Callable[[Filters], Counts], filters: list[Filters]) -> dict[Filters, Counts]:
    """The counts of each of these filters: in one scan where the indicator can (`MANY`),
    and not again where the screen counted them already."""
    made = _made.get()
    out = {f: dict(made[(count, f)]) for f in filters if made and (count, f) in made}
    distinct = [f for f in dict.fromkeys(filters) if f not in out]
    many = MANY.get(count)
    if many is not None and len(distinct) > 1:
        out.update(zip(distinct, many(distinct), strict=True))
    else:
        out.update({f: count(f) for f in distinct})
    if made is not None:
        made.update({(count, f): dict(out[f]) for f in distinct})
    return out


def protect_counts(values: Counts, wider: list[Counts], threshold: int, *,
                   totalled: bool = True) -> Protected[str]:
    """Protect a table of counts, given the same counted with one filter fewer (`wider`)."""
    if totalled:
        values = {**values, TOTAL: sum(v for k, v in values.items() if k != TOTAL)}
        wider = [{**w, TOTAL: sum(v for k, v in w.items() if k != TOTAL)} for w in wider]
    extra = suppression.hide_differences(values, wider, threshold=threshold) if wider else {}
    parts = [k for k in values if k != TOTAL]
    sums = [Sum(parts, total=TOTAL)] if totalled else []
    return suppression.protect(values, sums, threshold=threshold, extra=extra)


def _grouped(qs: QuerySet[Any], field_name: str) -> Counts:
    return {str(k): n for k, n in qs.order_by().values_list(field_name).annotate(n=Count("pk"))}


def _grouped_many(filters: list[Filters], field_name: str, *kinds: str) -> list[Counts]:
    """The counts of `_grouped` over the summary table for several filters, in one query."""
    return _counted_many(filters, kinds, by=field_name)


Measures = Callable[[Filters], dict[str, Q]]


def _counted_many(filters: list[Filters], kinds: tuple[str, ...], *, by: str | None = None,
                  measures: Measures | None = None, dated: bool = True,
                  rows: Callable[[Filters], Q] | None = None) -> list[Counts]:
    """Counts over the summary table's rows of `kinds` for several filters, in one scan.

    `by`: a column to group by (the keys are its values; with `measures`,
    `<value>_<measure>`); `measures`: named conditions counted apart (the keys are their
    names); `rows`: a further condition on the rows a filter takes; `dated`: the rows
    dated in the period only."""
    wanted: list[dict[str, list[Q]]] = []
    for f in filters:
        taken = f.fact_conditions(*kinds, dated=dated) + ([rows(f)] if rows else [])
        named = measures(f) if measures else {"": Q()}
        wanted.append({m: [*taken, c] for m, c in named.items()})
    columns = (by,) if by else ()
    out: list[Counts] = []
    for group, asked in zip(_by_conditions(wanted, columns), wanted, strict=True):
        table: Counts = dict.fromkeys(asked, 0) if by is None else {}
        for (*values, measure), n in group.items():
            if n:
                table["_".join(str(p) for p in (*values, measure) if p)] = n
        out.append(table)
    return out


def _by_conditions(wanted: list[dict[str, list[Q]]], columns: tuple[str, ...] = ()
                   ) -> list[dict[tuple[Any, ...], int]]:
    """Counts of the summary table for several filters and measures, in one scan:
    `wanted[i][measure]` is the list of conditions a row must meet to count for it.

    Each distinct condition (a filter and the same with one fewer share all but one) is
    tested once per row, in a subquery; the counts then only combine its answers, grouped
    by `columns`. Keys: (*values of `columns`, measure)."""
    conditions: dict[str, Q] = {}
    needs: list[dict[str, list[str]]] = []
    for asked in wanted:
        needs.append({})
        for measure, qs in asked.items():
            keys = []
            for q in qs:
                if q:  # an empty Q takes every row
                    conditions.setdefault(str(q), q)
                    keys.append(str(q))
            needs[-1][measure] = keys
    # The rows: those meeting what all the measures of a filter ask, for any filter. What
    # every count asks holds for all of them and is not tested again.
    shared = [set.intersection(*(set(k) for k in m.values())) if m else set() for m in needs]
    everywhere = set.intersection(*shared) if shared else set()
    union = functools.reduce(operator.or_, (
        functools.reduce(operator.and_, (conditions[k] for k in sorted(keys)), Q())
        for keys in shared))
    tested = [k for k in conditions if k not in everywhere]
    alias = {key: f"c{i}" for i, key in enumerate(tested)}
    inner = (Fact.objects.filter(union).order_by()
             .annotate(**{alias[k]: ExpressionWrapper(conditions[k], output_field=BooleanField())
                          for k in tested})
             .values(*columns, *alias.values()))
    sql, params = inner.query.sql_with_params()
    counts = []
    for i, measures in enumerate(needs):
        for j, keys in enumerate(measures.values()):
            met = " AND ".join(alias[k] for k in keys if k in alias) or "TRUE"
            counts.append(f"count(*) FILTER (WHERE {met}) AS n{i}_{j}")
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    # OFFSET 0 keeps the subquery apart: its conditions are not copied into each count
    # (SQLite takes an OFFSET only after a LIMIT).
    apart = "OFFSET 0" if connection.vendor == "postgresql" else "LIMIT -1 OFFSET 0"
    query = (f"SELECT {names + ', ' if names else ''}{', '.join(counts)} "  # noqa: S608 (aliases)
             f"FROM ({sql} {apart}) t{' GROUP BY ' + names if names else ''}")
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        found = cursor.fetchall()
    out: list[dict[tuple[Any, ...], int]] = [{} for _ in wanted]
    for row in found:
        values = tuple(row[:len(columns)])
        n = iter(row[len(columns):])
        for table, measures in zip(out, needs, strict=True):
            for measure in measures:
                table[(*values, measure)] = next(n)
    return out


# --- Asylum ------------------------------------------------------------------------------
# Counted over the summary table (stats.models.Fact, kept by stats.facts on every step):
# one scan of one table per indicator.

def _facts(f: Filters, *kinds: str, dated: bool = True) -> QuerySet[Fact]:
    return Fact.objects.filter(f.facts(*kinds, dated=dated))


def applications_by_procedure(f: Filters) -> Counts:
    return _grouped(_facts(f, Fact.APPLICATION), "procedure")


def _procedure_labels() -> dict[str, Any]:
    return {wf.name: wf.label for wf in workflow.registered() if wf.kind == CaseKind.ASYLUM}


def applications_by_modality(f: Filters) -> Counts:
    return _grouped(_facts(f, Fact.APPLICATION), "b")


def applications_by_channel(f: Filters) -> Counts:
    return _grouped(_facts(f, Fact.APPLICATION), "a")


def applications_children_priority(f: Filters) -> Counts:
    """Applications of the period made by a child (by year of birth), and those in the
    priority queue (the clear flag: which specific need stays sealed)."""
    return _children_priority_many([f])[0]


def _children_priority_many(filters: list[Filters]) -> list[Counts]:
    return _counted_many(filters, (Fact.APPLICATION,), measures=lambda f: {
        "children": Q(birth_year__gt=ExtractYear("on") - 18), "priority": Q(priority=True)})


def backlog(f: Filters) -> Counts:
    """Applications made by the period's end whose case was still open at its end, by age."""
    return backlog_many([f])[0]


def backlog_many(filters: list[Filters]) -> list[Counts]:
    """`backlog` for several filters (each with its own period's end), in one scan; filters
    that count the same (a quarter and its last month end on the same day) once."""
    same: dict[tuple[Any, ...], int] = {}
    for f in filters:
        same.setdefault(_backlog_key(f), len(same))
    distinct = [next(f for f in filters if _backlog_key(f) == k) for k in same]
    tables = _backlog_distinct(distinct)
    return [dict(tables[same[_backlog_key(f)]]) for f in filters]


def _backlog_key(f: Filters) -> tuple[Any, ...]:
    """What the backlog of `f` depends on: the period's end, not its start."""
    return (f.period.end, f.office_ids, f.nationality, f.sex, f.age_band)


def _backlog_distinct(filters: list[Filters]) -> list[Counts]:
    def pending(f: Filters) -> Q:
        end = f.period.end
        return Q(on__lte=end) & (Q(until__isnull=True) | Q(until__gt=end))

    def ages(f: Filters) -> dict[str, Q]:
        out = {}
        for key, _label, low, high in BACKLOG_AGES:
            q = Q(on__lte=f.period.end - datetime.timedelta(days=low))
            if high is not None:
                q &= Q(on__gt=f.period.end - datetime.timedelta(days=high))
            out[key] = q
        return out

    return _counted_many(filters, (Fact.APPLICATION,), dated=False, rows=pending, measures=ages)


LEVELS = {Stage.FIRST_INSTANCE: "fi", Stage.APPEAL: "ar"}
SUBSTANTIVE = (Outcome.RECOGNIZED, Outcome.COMPLEMENTARY, Outcome.REJECTED)


def decisions_by_outcome(f: Filters) -> Counts:
    """Decisions by level and outcome (`fi_recognized` ..), closures by level (`fi_closed`)."""
    return _grouped(_facts(f, Fact.DECISION, Fact.CLOSURE), "a")


def recognitions_by_basis(f: Filters) -> Counts:
    """Recognitions by level and the definition they rest on (`fi_convention` ..)."""
    out: Counts = {}
    for a, basis, n in (_facts(f, Fact.DECISION).filter(a__in=("fi_recognized", "ar_recognized"),
                                                        b__in=RECOGNITION_BASES)
                        .order_by().values_list("a", "b").annotate(n=Count("pk"))):
        out[f"{a[:2]}_{basis}"] = n
    return out


RECOGNITION_BASES = (LegalBasis.CONVENTION, LegalBasis.CARTAGENA)


def _recognition_labels() -> dict[str, Any]:
    names = {LegalBasis.CONVENTION: _("1951 Convention"),
             LegalBasis.CARTAGENA: _("Cartagena Declaration")}
    return {f"{level}_{basis}": _("%(level)s: %(basis)s") % {"level": title, "basis": names[basis]}
            for level, title in (("fi", _("First instance")), ("ar", _("Appeal")))
            for basis in RECOGNITION_BASES}


def appeals_lodged(f: Filters) -> Counts:
    """Appeals lodged in the period, by the outcome of the first-instance decision appealed."""
    return _grouped(_facts(f, Fact.APPEAL), "a")


def _decision_labels() -> dict[str, Any]:
    return {
        "fi_recognized": _("First instance: recognized"),
        "fi_complementary": _("First instance: complementary protection"),
        "fi_rejected": _("First instance: rejected"),
        "fi_closed": _("First instance: otherwise closed"),
        "ar_recognized": _("Appeal: recognized"),
        "ar_complementary": _("Appeal: complementary protection"),
        "ar_rejected": _("Appeal: rejected"),
        "ar_closed": _("Appeal: otherwise closed"),
    }


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %"


def recognition_rates(f: Filters, threshold: int) -> list[Row]:
    """From the protected table of decisions: a rate is shown only where every count it is
    made of is shown, so that it cannot be multiplied back into a hidden count."""
    table = protected(decisions_by_outcome, f, threshold)
    rows = []
    for level, name in (("fi", _("First instance")), ("ar", _("Appeal"))):
        keys = [f"{level}_{o}" for o in SUBSTANTIVE]
        values = [table.value(k) if k in table.values else 0 for k in keys]
        recognized, complementary, _rejected = values
        whole = sum(v or 0 for v in values)
        for key, label, part in (
            (f"{level}_rate", _("%(level)s: recognition rate") % {"level": name}, recognized),
            (f"{level}_total_rate", _("%(level)s: total recognition rate") % {"level": name},
             None if recognized is None or complementary is None else recognized + complementary),
        ):
            if any(v is None for v in values) or part is None:
                rows.append(Row(key, str(label), None, suppression.MASK, suppression.PRIMARY))
            elif whole == 0:
                rows.append(Row(key, str(label), None, "—", ""))
            else:
                rows.append(Row(key, str(label), round(100 * part / whole, 1), _percent(part, whole)))
    return rows


# First-instance decisions that have a processing time.
_TIMED_FIRST_INSTANCE = Q(a__startswith="fi_", days__isnull=False)


def _first_instance_days(f: Filters) -> list[int]:
    return sorted(d for d in _facts(f, Fact.DECISION).filter(_TIMED_FIRST_INSTANCE)
                  .values_list("days", flat=True) if d is not None)


def _first_instance_counts(filters: list[Filters]) -> list[int]:
    """How many decisions `_first_instance_days` would give for each filter, in one query."""
    if not filters:
        return []
    conditions = [f.facts(Fact.DECISION) for f in filters]
    row = (Fact.objects.filter(functools.reduce(operator.or_, conditions), _TIMED_FIRST_INSTANCE)
           .aggregate(**{f"n{i}": Count("pk", filter=q) for i, q in enumerate(conditions)}))
    return [row[f"n{i}"] for i in range(len(filters))]


def hides_count(n: int, wider: list[int], threshold: int) -> bool:
    """A count of a time (how many cases it is over) is hidden below the threshold, and where
    it differs from the same count with one filter fewer by less than the threshold."""
    if threshold <= 1:
        return False
    return 0 < n < threshold or any(0 < w - n < threshold for w in wider)


def processing_times(f: Filters, threshold: int) -> list[Row]:
    """Days from the application to the first-instance decision, for the decisions of the
    period: median and 90th percentile, shown where at least `threshold` decisions count
    (and where their number is not a small difference from a wider filter's)."""
    days = _first_instance_days(f)
    wider = _first_instance_counts(f.wider()) if days else []
    return _times(days, wider, threshold, _("decisions counted"))


def _times(days: list[int], wider: list[int], threshold: int, counted: Label) -> list[Row]:
    """How many, the median and the 90th percentile of `days`, protected like a count
    (`wider`: how many the same filters with one fewer count)."""
    n = len(days)
    hidden = hides_count(n, wider, threshold)
    reason = suppression.PRIMARY if n < threshold else suppression.DIFFERENCE
    rows = [Row("n", str(counted), None, suppression.MASK, reason)
            if hidden else Row("n", str(counted), n, str(n))]
    for key, label, value in (
        ("median", _("median (days)"), statistics.median(days) if days else None),
        ("p90", _("90th percentile (days)"), _p90(days) if days else None),
    ):
        if value is None:
            rows.append(Row(key, str(label), None, "—"))
        elif n < threshold or hidden:
            rows.append(Row(key, str(label), None, suppression.MASK, reason))
        else:
            rows.append(Row(key, str(label), value, f"{value:g}"))
    return rows


def _p90(days: list[int]) -> float:
    """The nearest-rank 90th percentile: the smallest value with at least 90 % at or below."""
    rank = -(-9 * len(days) // 10)  # ceil(0.9 n)
    return float(days[rank - 1])


# The MIRPS aim: the applicant heard within six months of the application.
INTERVIEW_WITHIN_DAYS = 183


def _first_interviews(f: Filters) -> QuerySet[Fact]:
    """The first attended interview of each case, when it falls in the period (from the
    summary table: one row per case heard)."""
    return _facts(f, Fact.INTERVIEW)


def interviews_within_6_months(f: Filters) -> Counts:
    """Cases whose first attended interview falls in the period, by whether it came within
    INTERVIEW_WITHIN_DAYS of the application."""
    return MANY[interviews_within_6_months]([f])[0]


def _days(qs: QuerySet[Fact]) -> list[int]:
    return sorted(d for d in qs.values_list("days", flat=True) if d is not None)


def time_to_interview(f: Filters, threshold: int) -> list[Row]:
    """Days from the application to the first attended interview, for the first interviews
    of the period."""
    days = _days(_first_interviews(f))
    wider = _how_many(f.wider(), Fact.INTERVIEW) if days else []
    return _times(days, wider, threshold, _("interviews counted"))


def time_to_notification(f: Filters, threshold: int) -> list[Row]:
    """Days from the application to the delivery of the first-instance decision, for the
    decisions delivered in the period (from the summary table)."""
    days = _days(_facts(f, Fact.NOTIFICATION))
    wider = _how_many(f.wider(), Fact.NOTIFICATION) if days else []
    return _times(days, wider, threshold, _("notifications counted"))


def _how_many(filters: list[Filters], kind: str) -> list[int]:
    """How many rows of `kind` each filter takes, in one query."""
    if not filters:
        return []
    return [t["n"] for t in _counted_many(filters, (kind,), measures=lambda f: {"n": Q()})]


# The periods the office must keep (the appeal period is the applicant's).
OFFICE_CLOCKS = (Clocks.DECISION, Clocks.INTERVIEW, Clocks.CONTACT)
DEADLINE_STATUSES = ("on_time", "late", "overdue")


def legal_deadlines(f: Filters) -> Counts:
    """The asylum procedure's periods the office keeps, each as its country's procedure counts
    it: met in the period on time or late, and running past their end on the period's last
    day (today, for a period not over yet)."""
    return _deadlines_many([f])[0]


def _deadlines_many(filters: list[Filters]) -> list[Counts]:
    # From the summary table: each deadline with its own copy of the office (a period met
    # stays with the office that met it), `on` the day it was met, `until` its last day.
    def end(f: Filters) -> datetime.date:
        return min(f.period.end, timezone.localdate())

    def met(f: Filters) -> Q:
        return Q(on__range=(f.period.start, f.period.end))

    def running(f: Filters) -> Q:
        # Past its last day at the end (it started by then: it starts before it ends).
        return Q(until__lt=end(f)) & (Q(on__isnull=True) | Q(on__gt=end(f)))

    return _counted_many(
        filters, (Fact.DEADLINE,), by="a", dated=False,
        rows=lambda f: Q(a__in=OFFICE_CLOCKS) & (met(f) | running(f)),
        measures=lambda f: {"on_time": met(f) & Q(on__lte=F("until")),
                            "late": met(f) & Q(on__gt=F("until")), "overdue": running(f)})


def _deadline_labels() -> dict[str, Any]:
    clocks: dict[str, Any] = {}
    for wf in workflow.registered():
        if wf.kind == CaseKind.ASYLUM:
            for c in wf.clocks:
                clocks.setdefault(c.name, c.label)
    statuses = {"on_time": _("%(clock)s: met on time"), "late": _("%(clock)s: met late"),
                "overdue": _("%(clock)s: overdue, not met yet")}
    return {f"{name}_{status}": statuses[status] % {"clock": clocks[name]}
            for name in OFFICE_CLOCKS if name in clocks for status in DEADLINE_STATUSES}


# --- Trafficking -------------------------------------------------------------------------

def victims(f: Filters) -> Counts:
    # Only people whose current consent allows anonymised statistics: a withdrawal takes
    # them out of the next figures (docs/architecture.md#consent).
    allowed = Q(case__principal__in=consent.allowing(ConsentPurpose.STATISTICS).values("pk"))
    screened = _facts(f, Fact.SCREENING).filter(allowed).values("case").distinct().count()
    out = {"screened": screened}
    out.update(_grouped(_facts(f, Fact.IDENTIFICATION).filter(allowed), "a"))
    return out


def victims_by_exploitation(f: Filters) -> Counts:
    """The people identified as victims in the period, by each type of exploitation their
    profile records (one person may count under several)."""
    allowed = Q(case__principal__in=consent.allowing(ConsentPurpose.STATISTICS).values("pk"))
    identified = (_facts(f, Fact.IDENTIFICATION).filter(allowed, a=TraffickingStatus.ACTUAL)
                  .values("case_id"))
    out: Counts = {}
    for kinds in VictimProfile.objects.filter(case_id__in=identified).values_list(
            "exploitation_types", flat=True).iterator(chunk_size=5000):
        for kind in set(kinds or []):
            out[kind] = out.get(kind, 0) + 1
    return out


def _victim_labels() -> dict[str, Any]:
    return {"screened": _("screened"), **{s.value: s.label for s in TraffickingStatus}}


def _statistics_allowed(path: str) -> Q:
    return Q(**{f"{path}__in": consent.allowing(ConsentPurpose.STATISTICS).values("pk")})


def _services(f: Filters) -> QuerySet[SupportService]:
    # The person a service is for, and their consent, as for `victims`.
    return SupportService.objects.filter(f.cases("case__"), _statistics_allowed("person"))


def services_delivered(f: Filters) -> Counts:
    return _grouped(_services(f).filter(f.dates("actual_end"), status=ServiceStatus.DELIVERED),
                    "kind")


def services_overdue(f: Filters) -> Counts:
    """Owed at the period's end (today, for a period not over yet): planned to end before it
    and not delivered by then (nor cancelled or recorded as not delivered)."""
    end = min(f.period.end, timezone.localdate())
    owed = (_services(f).filter(planned_end__lt=end)
            .exclude(status__in=(ServiceStatus.CANCELLED, ServiceStatus.NOT_DELIVERED))
            .exclude(status=ServiceStatus.DELIVERED, actual_end__lte=end))
    return _grouped(owed, "kind")


def trafficking_referrals(f: Filters) -> Counts:
    referrals = Referral.objects.filter(f.cases("case__"), f.dates("referred_on"),
                                        _statistics_allowed("person"))
    return _grouped(referrals, "service_kind")


# --- Between offices -----------------------------------------------------------------------

def _handovers(f: Filters) -> QuerySet[Handover]:
    """Transfers and requests sent or received by the chosen offices (the case moves with an
    accepted one: its office is not the filter)."""
    offices = sorted(f.office_ids)
    return Handover.objects.filter(Q(from_office__in=offices) | Q(to_office__in=offices),
                                   f.people("case__"))


def transfers(f: Filters) -> Counts:
    return _grouped(_handovers(f).filter(started_at__date__range=(f.period.start, f.period.end)),
                    "status")


def _answered(f: Filters) -> QuerySet[Handover]:
    return _handovers(f).filter(answered_at__date__range=(f.period.start, f.period.end),
                                status__in=(HandoverStatus.ACCEPTED, HandoverStatus.REJECTED))


def transfer_turnaround(f: Filters, threshold: int) -> list[Row]:
    days = sorted((answered_at - started_at).days for started_at, answered_at
                  in _answered(f).values_list("started_at", "answered_at")
                  if answered_at is not None)
    wider = [_answered(w).count() for w in f.wider()] if days else []
    return _times(days, wider, threshold, _("answers counted"))


# The counts that `protected` can make for a table and its wider ones in one query.
MANY: dict[Callable[[Filters], Counts], Callable[[list[Filters]], list[Counts]]] = {
    applications_by_procedure: lambda fs: _grouped_many(fs, "procedure", Fact.APPLICATION),
    applications_by_modality: lambda fs: _grouped_many(fs, "b", Fact.APPLICATION),
    applications_by_channel: lambda fs: _grouped_many(fs, "a", Fact.APPLICATION),
    decisions_by_outcome: lambda fs: _grouped_many(fs, "a", Fact.DECISION, Fact.CLOSURE),
    backlog: backlog_many,
    applications_children_priority: _children_priority_many,
    appeals_lodged: lambda fs: _grouped_many(fs, "a", Fact.APPEAL),
    interviews_within_6_months: lambda fs: _counted_many(fs, (Fact.INTERVIEW,), measures=lambda f: {
        "within": Q(days__lte=INTERVIEW_WITHIN_DAYS), "later": Q(days__gt=INTERVIEW_WITHIN_DAYS)}),
    legal_deadlines: _deadlines_many,
}


INDICATORS: tuple[Indicator, ...] = (
    Indicator("applications_by_procedure", _("Asylum applications received, by procedure"),
              _("Applications whose date of application falls in the period, counted per case "
                "(the applicant), by the procedure their office follows."),
              COUNT, count=applications_by_procedure, labels=_procedure_labels),
    Indicator("applications_by_modality", _("Asylum applications received, by processing modality"),
              _("Applications whose date of application falls in the period, by modality "
                "(regular, accelerated, simplified, merged)."),
              COUNT, count=applications_by_modality, labels=lambda: dict(Modality.choices)),
    Indicator("applications_by_channel", _("Asylum applications received, by channel"),
              _("Applications whose date of application falls in the period, by how the claim "
                "was made."),
              COUNT, count=applications_by_channel, labels=lambda: dict(ClaimChannel.choices)),
    Indicator("applications_children_priority",
              _("Asylum applications received from children, and in the priority queue"),
              _("Applications whose date of application falls in the period: made by a child "
                "(under 18 in the year of the application, by year of birth), and in the "
                "priority queue (the applicant or a family member is a child, or specific needs "
                "were noted; which need stays sealed and is not counted). The two overlap."),
              COUNT, count=applications_children_priority, totalled=False,
              labels=lambda: {"children": _("made by a child"),
                              "priority": _("in the priority queue")}),
    Indicator("backlog", _("Pending applications at the end of the period (backlog), by age"),
              _("Applications made on or before the last day of the period whose case was not "
                "closed by then; age = last day of the period minus date of application."),
              COUNT, count=backlog, labels=lambda: {k: label for k, label, *_r in BACKLOG_AGES}),
    Indicator("decisions_by_outcome", _("Decisions by outcome"),
              _("First-instance and appeal decisions dated in the period, by outcome; otherwise "
                "closed = withdrawn or closed as abandoned in the period (before a first-instance "
                "decision, or while an appeal was pending)."),
              COUNT, count=decisions_by_outcome, labels=_decision_labels),
    Indicator("appeals_lodged", _("Appeals lodged, by the first-instance outcome appealed"),
              _("Appeals whose date of lodging falls in the period, by the outcome of the "
                "first-instance decision they appeal (their outcomes are among the decisions "
                "by outcome, at the appeal level)."),
              COUNT, count=appeals_lodged,
              labels=lambda: {Outcome.REJECTED: _("against a rejection"),
                              Outcome.COMPLEMENTARY: _("against complementary protection "
                                                       "(for refugee status)")}),
    Indicator("recognitions_by_basis", _("Recognitions by definition"),
              _("First-instance and appeal decisions dated in the period that recognized "
                "refugee status, by the definition recorded with the decision: the 1951 "
                "Convention's, or the wider one of the Cartagena Declaration."),
              COUNT, count=recognitions_by_basis, labels=_recognition_labels),
    Indicator("recognition_rates", _("Recognition rates"),
              _("Recognition rate = recognized ÷ (recognized + complementary protection + "
                "rejected); total recognition rate = (recognized + complementary protection) ÷ "
                "the same; decisions dated in the period, per level; withdrawn and abandoned "
                "claims are not substantive decisions."),
              PERCENT, derive=recognition_rates),
    Indicator("processing_times", _("Processing time to the first-instance decision"),
              _("Days from the date of application to the date of the first-instance decision, "
                "for the decisions dated in the period: median, and the 90th percentile "
                "(nearest rank)."),
              DAYS, derive=processing_times),
    Indicator("time_to_interview", _("Processing time to the first interview"),
              _("Days from the date of application to the first attended interview, for the "
                "first interviews held in the period: median, and the 90th percentile (nearest "
                "rank)."),
              DAYS, derive=time_to_interview),
    Indicator("time_to_notification", _("Processing time to the notification of the "
                                        "first-instance decision"),
              _("Days from the date of application to the day the first-instance decision was "
                "delivered to the applicant, for the decisions delivered in the period: median, "
                "and the 90th percentile (nearest rank)."),
              DAYS, derive=time_to_notification),
    Indicator("legal_deadlines", _("Legal deadlines of the asylum procedure"),
              _("The periods the office keeps, as the procedure of its country counts them "
                "(the decision where the law sets one, the interview target, contact after a "
                "missed interview): met in the period on or before their last day, met after "
                "it, and still running after their last day on the last day of the period "
                "(today, for a period not over yet)."),
              COUNT, count=legal_deadlines, totalled=False, labels=_deadline_labels),
    Indicator("interviews_within_6_months",
              _("First interviews within six months of the application"),
              _("Cases whose first attended interview falls in the period: within six months "
                "(183 days) of the date of application, or later."),
              COUNT, count=interviews_within_6_months,
              labels=lambda: {"within": _("within six months"), "later": _("later")}),
    Indicator("victims", _("Trafficking: people screened and identified"),
              _("Screened = trafficking cases with a screening dated in the period; then the "
                "identification decisions dated in the period, by decision; only people whose "
                "consent allows anonymised statistics."),
              COUNT, count=victims, labels=_victim_labels,
              totalled=False),
    Indicator("victims_by_exploitation",
              _("Trafficking: people identified as victims, by type of exploitation"),
              _("Identification decisions dated in the period that found the person a victim of "
                "trafficking, by each type of exploitation their profile records (a person may "
                "count under several, so there is no total); only people whose consent allows "
                "anonymised statistics."),
              COUNT, count=victims_by_exploitation, totalled=False,
              labels=lambda: dict(Exploitation.choices)),
    Indicator("services_delivered", _("Trafficking: support services delivered, by service"),
              _("Services of the support plans recorded as delivered, whose actual end falls in "
                "the period; only people whose consent allows anonymised statistics."),
              COUNT, count=services_delivered, labels=lambda: dict(ServiceKind.choices)),
    Indicator("services_overdue", _("Trafficking: support services overdue at the end of the "
                                    "period, by service"),
              _("Services planned to end before the last day of the period (today, for a period "
                "not over yet) and not delivered by then (cancelled services and services "
                "recorded as not delivered left out); only people whose consent allows "
                "anonymised statistics."),
              COUNT, count=services_overdue, labels=lambda: dict(ServiceKind.choices)),
    Indicator("trafficking_referrals", _("Trafficking: referrals to organisations, by service"),
              _("Referrals of victims to the organisations of the directory dated in the period, "
                "by the service asked for; only people whose consent allows anonymised "
                "statistics."),
              COUNT, count=trafficking_referrals, labels=lambda: dict(ServiceKind.choices)),
    Indicator("transfers", _("Between offices: transfers and requests for a case, by outcome"),
              _("Transfers offered and cases asked for that the chosen offices sent or received, "
                "started in the period, by where they stand today."),
              COUNT, count=transfers, labels=lambda: dict(HandoverStatus.choices)),
    Indicator("transfer_turnaround", _("Between offices: days to answer a transfer or a request"),
              _("Days from the offer or the request to its acceptance or rejection, for the answers "
                "given in the period: median, and the 90th percentile (nearest rank)."),
              DAYS, derive=transfer_turnaround),
)
BY_KEY = {i.key: i for i in INDICATORS}


def compute_all(filters: Filters, threshold: int,
                which: tuple[Indicator, ...] | None = None) -> list[Result]:
    """The indicators of a screen. The counts several of them make from the same rows of
    the summary table (`SHARED`) are made together first, in one scan per kind, for the
    filters and the wider ones protection compares them with."""
    chosen = INDICATORS if which is None else which
    made: dict[tuple[Any, Filters], Counts] = {}
    token = _made.set(made)
    try:
        every = [filters, *(filters.wider() if threshold > 1 else [])]
        counts = {i.count for i in chosen if i.count is not None}
        counts |= {decisions_by_outcome for i in chosen if i.derive is recognition_rates}
        for scan in SHARED:
            if len(counts & set(scan.counts)) > 1:
                for f, table in zip(every, scan.many(every), strict=True):
                    made.update({(fn, f): fn_counts for fn, fn_counts in table.items()})
        return [i.compute(filters, threshold) for i in chosen]
    finally:
        _made.reset(token)


@dataclass(frozen=True)
class Shared:
    """Count indicators made from the same rows: `many` gives, for each filter, each one's
    counts from one scan."""

    counts: tuple[Callable[[Filters], Counts], ...]
    many: Callable[[list[Filters]], list[PerCount]]


PerCount = dict[Callable[[Filters], Counts], Counts]


def _applications_shared(filters: list[Filters]) -> list[PerCount]:
    """The applications of the period by procedure, modality and channel, made by children
    and in the priority queue: one scan grouped by the three."""
    rows = _cube(filters, (Fact.APPLICATION,), ("procedure", "a", "b"), {
        "children": Q(birth_year__gt=ExtractYear("on") - 18), "priority": Q(priority=True)})
    out: list[PerCount] = []
    for table in rows:
        by: dict[str, Counts] = {"procedure": {}, "a": {}, "b": {}}
        extra = {"children": 0, "priority": 0}
        for key, n in table.items():
            *group, measure = key
            if measure == "":
                for column, value in zip(("procedure", "a", "b"), group, strict=True):
                    by[column][value] = by[column].get(value, 0) + n
            else:
                extra[measure] += n
        out.append({applications_by_procedure: by["procedure"], applications_by_channel: by["a"],
                    applications_by_modality: by["b"], applications_children_priority: extra})
    return out


def _decisions_shared(filters: list[Filters]) -> list[PerCount]:
    """Decisions and closures by outcome, recognitions by definition: one scan."""
    out: list[PerCount] = []
    for table in _cube(filters, (Fact.DECISION, Fact.CLOSURE), ("a", "b")):
        outcomes: Counts = {}
        bases: Counts = {}
        for (a, b, _measure), n in table.items():
            outcomes[a] = outcomes.get(a, 0) + n
            if a in ("fi_recognized", "ar_recognized") and b in RECOGNITION_BASES:
                bases[f"{a[:2]}_{b}"] = bases.get(f"{a[:2]}_{b}", 0) + n
        out.append({decisions_by_outcome: outcomes, recognitions_by_basis: bases})
    return out


def _cube(filters: list[Filters], kinds: tuple[str, ...], columns: tuple[str, ...],
          measures: dict[str, Q] | None = None) -> list[dict[tuple[str, ...], int]]:
    """For each filter, the rows it takes counted by the values of `columns`: keys
    (*values, "") for all of them and (*values, measure) for those a measure takes too."""
    wanted = []
    for f in filters:
        taken = f.fact_conditions(*kinds)
        wanted.append({m: [*taken, c] for m, c in {"": Q(), **(measures or {})}.items()})
    return [{(*(str(v) for v in values), measure): n
             for (*values, measure), n in table.items() if n}
            for table in _by_conditions(wanted, columns)]


SHARED = (
    Shared((applications_by_procedure, applications_by_modality, applications_by_channel,
            applications_children_priority), _applications_shared),
    Shared((decisions_by_outcome, recognitions_by_basis), _decisions_shared),
)

