"""One indicator broken down by office, country, nationality, sex, age band or month
(docs/architecture.md#statistics): a row per group, a column per category.

Each group's row is the indicator counted with that group as one more filter, protected like
any table (its own total, and the same filters with one fewer: the unbroken table is one of
them). The rows of a breakdown also add up, column by column, to the unbroken table shown
on the indicators screen: a column with exactly one hidden cell would give it back, so the
secondary pass runs over the columns as well as over each row's total.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from cases.models import Office, Sex
from cases.vocab import country_name
from cases.workflow import Label
from stats import suppression
from stats.indicators import (
    AGE_BANDS,
    COUNT,
    INDICATORS,
    PART_LABELS,
    TOTAL,
    Filters,
    Indicator,
    Row,
    counted,
    protect_counts,
)
from stats.models import Fact
from stats.suppression import Sum

BY: dict[str, Label] = {
    "office": _("office"), "country": _("country of the office"),
    "nationality": _("nationality"), "sex": _("sex"), "age_band": _("age band"),
    "month": _("month"),
}
# Nationalities with the most applications and screenings in the period; the others are
# left out of a breakdown by nationality (the filter reaches any of them).
MOST_NATIONALITIES = 12


def breakable() -> list[Indicator]:
    """The indicators a breakdown is offered for: counts (a rate or a time per group is
    not: its counts would be protected by its own group only)."""
    return [i for i in INDICATORS if i.unit == COUNT and i.count is not None]


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    filters: Filters


@dataclass
class Line:
    group: Group
    cells: list[Row]  # in the order of Breakdown.columns


@dataclass
class Breakdown:
    indicator: Indicator
    by: str
    columns: list[tuple[str, str]]  # (key, label); the total last where the indicator has one
    lines: list[Line]

    @property
    def hidden(self) -> set[str]:
        """The reasons of the hidden cells."""
        return {c.reason for line in self.lines for c in line.cells if c.reason}

    @property
    def by_label(self) -> str:
        return str(BY[self.by])


def groups(filters: Filters, by: str, offices: Mapping[int, Office]) -> list[Group]:
    """The groups of `by` within the filters (a filter already set on that dimension leaves
    only its own group). `offices`: the office of each id the filters may reach."""
    replace = dataclasses.replace
    if by == "office":
        chosen = sorted((offices[pk] for pk in filters.office_ids if pk in offices),
                        key=lambda o: o.code)
        return [Group(o.code, o.name, replace(filters, offices=frozenset([o.pk])))
                for o in chosen]
    if by == "country":
        per_country: dict[str, set[int]] = defaultdict(set)
        for pk in filters.office_ids:
            if pk in offices:
                per_country[offices[pk].country.code].add(pk)
        return [Group(code, country_name(code), replace(filters, offices=frozenset(pks)))
                for code, pks in sorted(per_country.items(), key=lambda kv: country_name(kv[0]))]
    if by == "nationality":
        codes = ([filters.nationality] if filters.nationality else _most_nationalities(filters))
        return [Group(c, country_name(c), replace(filters, nationality=c)) for c in codes]
    if by == "sex":
        return [Group(value, str(label), replace(filters, sex=value)) for value, label in Sex.choices
                if not filters.sex or filters.sex == value]
    if by == "age_band":
        return [Group(band, band, replace(filters, age_band=band)) for band in AGE_BANDS
                if not filters.age_band or filters.age_band == band]
    if by == "month":
        return [Group(p.part, str(PART_LABELS[p.part]), replace(filters, period=p))
                for p in filters.period.months()]
    raise ValueError(by)


def _most_nationalities(filters: Filters) -> list[str]:
    rows = (Fact.objects.filter(filters.facts(Fact.APPLICATION, Fact.SCREENING))
            .exclude(nationality="").order_by().values("nationality")
            .annotate(n=Count("pk")).order_by("-n", "nationality")[:MOST_NATIONALITIES])
    return sorted((r["nationality"] for r in rows), key=country_name)


def compute(indicator: Indicator, filters: Filters, by: str, threshold: int, *,
            offices: Mapping[int, Office]) -> Breakdown:
    if indicator.count is None or indicator.labels is None:
        raise ValueError(f"indicator {indicator.key} is not a count")
    labels: dict[str, Any] = dict(indicator.labels())
    keys = [k for k in labels if k != TOTAL]
    columns = [(k, str(labels[k])) for k in keys]
    if indicator.totalled:
        keys.append(TOTAL)
        columns.append((TOTAL, str(_("Total"))))
    found = groups(filters, by, offices)
    # Every group's counts and the wider ones they are compared with, in one scan where
    # the indicator can.
    wider = {g.key: g.filters.wider() if threshold > 1 else [] for g in found}
    tables = counted(indicator.count, [f for g in found for f in (g.filters, *wider[g.key])])
    values: dict[tuple[str, str], int] = {}
    extra: dict[tuple[str, str], str] = {}
    for g in found:
        own = protect_counts(tables[g.filters], [tables[w] for w in wider[g.key]], threshold,
                             totalled=indicator.totalled)
        for k in keys:
            values[(g.key, k)] = own.values.get(k, 0)
            if k in own.hidden:
                extra[(g.key, k)] = own.hidden[k]
    sums: list[Sum[tuple[str, str]]] = [Sum([(g.key, k) for g in found]) for k in keys]
    if indicator.totalled:
        sums += [Sum([(g.key, k) for k in keys if k != TOTAL], total=(g.key, TOTAL))
                 for g in found]
    grid = suppression.protect(values, sums, threshold=threshold, extra=extra)
    lines = []
    for g in found:
        cells = []
        for k, label in columns:
            key = (g.key, k)
            if key in grid.hidden:
                cells.append(Row(k, label, None, suppression.MASK, grid.hidden[key]))
            else:
                cells.append(Row(k, label, values[key], str(values[key])))
        lines.append(Line(g, cells))
    return Breakdown(indicator, by, columns, lines)
