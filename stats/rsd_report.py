"""The tables of UNHCR's RSD statistical report, for the cases an office decides under
UNHCR's mandate (procedure `rsd.unhcr`; docs/architecture.md#statistics): decisions by legal
basis, the frequency of each Convention ground among recognitions, and processing times.

They are indicators like the others (`stats.indicators.Indicator`): the same filters, the
same small-cell protection, the same screen, downloads and formulas beside the numbers.
"""

from __future__ import annotations

import datetime
import statistics
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from rsd.models import (
    ConventionGround,
    Decision,
    InterviewStatus,
    LegalBasis,
    Outcome,
    Stage,
)
from stats import suppression
from stats.indicators import COUNT, DAYS, Counts, Filters, Indicator, Row, _p90, hides_count
from stats.models import Fact
from stats.unhcr import MANDATE

LEVELS = {Stage.FIRST_INSTANCE: "fi", Stage.APPEAL: "ar"}
BASES = (LegalBasis.CONVENTION, LegalBasis.CARTAGENA, LegalBasis.COMPLEMENTARY, LegalBasis.NONE)
RECOGNITIONS = "recognitions"


def _mandate(f: Filters) -> Q:
    return f.cases("case__") & Q(case__procedure=MANDATE)


def _decisions(f: Filters) -> QuerySet[Decision]:
    return Decision.objects.filter(_mandate(f), f.dates("decided_on"), stage__in=list(LEVELS))


def decisions_by_basis(f: Filters) -> Counts:
    """From the summary table: decisions by level and legal basis, closures by level."""
    out: Counts = {}
    for a, basis, n in (Fact.objects.filter(f.facts(Fact.DECISION, Fact.CLOSURE),
                                            procedure=MANDATE)
                        .order_by().values_list("a", "b").annotate(n=Count("pk"))):
        level = a[:2]
        key = f"{level}_closed" if a.endswith("_closed") else f"{level}_{basis}"
        out[key] = out.get(key, 0) + n
    return out


def _basis_labels() -> dict[str, Any]:
    names = {LegalBasis.CONVENTION: _("recognized under the 1951 Convention"),
             LegalBasis.CARTAGENA: _("recognized under the Cartagena Declaration"),
             LegalBasis.COMPLEMENTARY: _("complementary protection"),
             LegalBasis.NONE: _("rejected"),
             "closed": _("otherwise closed")}
    out: dict[str, Any] = {}
    for level, title in (("fi", _("First instance")), ("ar", _("Appeal"))):
        for key, name in names.items():
            out[f"{level}_{key}"] = _("%(level)s: %(basis)s") % {"level": title, "basis": name}
    return out


def convention_grounds(f: Filters) -> Counts:
    """Recognitions on the Convention basis, and how many of them name each ground."""
    grounds = _decisions(f).filter(outcome=Outcome.RECOGNIZED,
                                   legal_basis=LegalBasis.CONVENTION).values_list("grounds",
                                                                                  flat=True)
    counter: Counter[str] = Counter()
    recognitions = 0
    for named in grounds.iterator(chunk_size=5000):
        recognitions += 1
        counter.update(set(named or ()) & set(ConventionGround.values))
    return {RECOGNITIONS: recognitions, **counter}


def _ground_labels() -> dict[str, Any]:
    return {RECOGNITIONS: _("recognitions under the 1951 Convention"),
            **{g.value: g.label for g in ConventionGround}}


def _days(pairs: Iterable[tuple[datetime.date | datetime.datetime | None,
                                datetime.date | datetime.datetime | None]]) -> list[int]:
    out = []
    for start, end in pairs:
        if start is None or end is None:
            continue
        if isinstance(start, datetime.datetime):
            start = start.date()
        if isinstance(end, datetime.datetime):
            end = end.date()
        out.append((end - start).days)
    return sorted(out)


def _spans(f: Filters) -> dict[str, list[int]]:
    """For the first-instance decisions of the period: days from the application to the
    first interview attended, to the decision and to its notification."""
    rows = list(Decision.objects.filter(_mandate(f), f.dates("decided_on"),
                                        stage=Stage.FIRST_INSTANCE,
                                        case__application__isnull=False)
                .annotate(interviewed=Min("case__interviews__scheduled_for",
                                          filter=Q(case__interviews__status=InterviewStatus.ATTENDED)))
                .values_list("case__application__application_date", "interviewed",
                             "decided_on", "delivered_on"))
    return {"interview": _days((a, i) for a, i, _d, _n in rows),
            "decision": _days((a, d) for a, _i, d, _n in rows),
            "notification": _days((a, n) for a, _i, _d, n in rows)}


def processing_times(f: Filters, threshold: int) -> list[Row]:
    spans = _spans(f)
    wider = [_spans(w) for w in f.wider()] if threshold > 1 and any(spans.values()) else []
    labels = {"interview": _("to the interview"), "decision": _("to the decision"),
              "notification": _("to the notification")}
    out: list[Row] = []
    for key, days in spans.items():
        label = labels[key]
        n = len(days)
        hidden = hides_count(n, [len(w[key]) for w in wider], threshold)
        reason = "" if not hidden else (suppression.PRIMARY if n < threshold
                                        else suppression.DIFFERENCE)
        out.append(Row(f"{key}_n", str(_("%(span)s: cases counted") % {"span": label}),
                       None if hidden else n, suppression.MASK if hidden else str(n), reason))
        for stat, stat_label, value in (
            ("median", _("median (days)"), statistics.median(days) if days else None),
            ("p90", _("90th percentile (days)"), _p90(days) if days else None),
        ):
            text = str(_("%(span)s: %(stat)s") % {"span": label, "stat": stat_label})
            if value is None:
                out.append(Row(f"{key}_{stat}", text, None, "—"))
            elif hidden:
                out.append(Row(f"{key}_{stat}", text, None, suppression.MASK, reason))
            else:
                out.append(Row(f"{key}_{stat}", text, value, f"{value:g}"))
    return out


INDICATORS: tuple[Indicator, ...] = (
    Indicator("rsd_decisions_by_basis", _("Mandate RSD: decisions by legal basis"),
              _("First-instance and appeal decisions under UNHCR's mandate dated in the period, by "
                "the legal basis recorded with the decision; otherwise closed = withdrawn or closed "
                "as abandoned in the period."),
              COUNT, count=decisions_by_basis, labels=_basis_labels),
    Indicator("rsd_convention_grounds", _("Mandate RSD: Convention grounds among recognitions"),
              _("Recognitions under the 1951 Convention dated in the period (first instance and "
                "appeal), and how many of them rest on each ground; one recognition may rest on "
                "several grounds, so the grounds add up to more than the recognitions."),
              COUNT, count=convention_grounds, labels=_ground_labels, totalled=False),
    Indicator("rsd_processing_times", _("Mandate RSD: processing times"),
              _("For the first-instance decisions under UNHCR's mandate dated in the period: days "
                "from the date of application to the first interview attended, to the decision "
                "and to the day the decision was delivered; median and 90th percentile (nearest "
                "rank), each over the cases where both dates are known."),
              DAYS, derive=processing_times),
)
