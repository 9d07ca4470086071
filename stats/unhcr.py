"""UNHCR's annual asylum tables computed from the cases (docs/architecture.md#statistics).

Two tables in the layout of UNHCR's published datasets, each row once counting cases (`C`)
and once persons (`P`: the applicant and the family members who seek derivative status):

- applications: `year, coo_iso, coa_iso, procedure_type, app_type, dec_level, app_pc,
  applied`. New applications (`N`, first instance `FI`) by their date of application,
  reopened claims (`R`, `FI`) by the date of reopening, appeals (`A`, `AR`) by the date
  they were lodged.
- decisions: `year, coo_iso, coa_iso, procedure_type, dec_level, dec_pc, dec_recognized,
  dec_other, dec_rejected, dec_closed, dec_total`. First-instance (`FI`) and appeal (`AR`)
  decisions by their date; `dec_other` is complementary protection; `dec_closed` counts
  withdrawals and closures as abandoned (before a first-instance decision at `FI`, while an
  appeal is pending at `AR`; a claim withdrawn after its decision counts nowhere again).

Country of origin: the applicant's first nationality (`UKN` if none recorded); country of
asylum: the office's country; procedure type `U` where the office runs UNHCR's mandate
procedure, `G` where the state's.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext, gettext_lazy
from django_countries import countries

from cases.models import Case, CaseKind, CaseStep, Office
from rsd.models import Appeal, Application, Decision, Outcome, Stage
from rsd.names import States, Steps
from stats import exports, suppression
from stats.suppression import Protected, Sum

APPLICATION_COLUMNS = ["year", "coo_iso", "coa_iso", "procedure_type", "app_type", "dec_level",
                       "app_pc", "applied"]
DECISION_COLUMNS = ["year", "coo_iso", "coa_iso", "procedure_type", "dec_level", "dec_pc",
                    "dec_recognized", "dec_other", "dec_rejected", "dec_closed", "dec_total"]
# The columns in words, for the screen (the files keep UNHCR's names).
HEADINGS = {
    "year": gettext_lazy("Year"),
    "coo_iso": gettext_lazy("Country of origin"),
    "coa_iso": gettext_lazy("Country of asylum"),
    "procedure_type": gettext_lazy("Procedure type"),
    "app_type": gettext_lazy("Application type"),
    "dec_level": gettext_lazy("Instance"),
    "app_pc": gettext_lazy("Cases or persons"),
    "applied": gettext_lazy("Applications"),
    "dec_pc": gettext_lazy("Cases or persons"),
    "dec_recognized": gettext_lazy("Recognitions"),
    "dec_other": gettext_lazy("Complementary protection"),
    "dec_rejected": gettext_lazy("Rejections"),
    "dec_closed": gettext_lazy("Otherwise closed"),
    "dec_total": gettext_lazy("Total decisions"),
}
COUNTS = ["dec_recognized", "dec_other", "dec_rejected", "dec_closed"]
UNKNOWN = "UKN"
MANDATE = "rsd.unhcr"

# A closure counts at the level the claim was at: before a first-instance decision, or
# while an appeal is pending.
FIRST_INSTANCE_STATES = {States.OPEN, States.REGISTERED, States.INTERVIEW_SCHEDULED,
                         States.NO_SHOW, States.ABANDONMENT_PROPOSED, States.INTERVIEWED,
                         States.UNDER_REVIEW, States.COMMITTEE, States.MINISTER, States.COMMISSION}
APPEAL_STATES = {States.APPEAL_LODGED, States.APPEAL_DECIDED}
CLOSED_STATES = (States.WITHDRAWN, States.ABANDONED)
OUTCOME_COLUMN = {Outcome.RECOGNIZED: "dec_recognized", Outcome.COMPLEMENTARY: "dec_other",
                  Outcome.REJECTED: "dec_rejected"}
LEVEL = {Stage.FIRST_INSTANCE: "FI", Stage.APPEAL: "AR"}

AppKey = tuple[int, str, str, str, str, str, str]  # year .. app_pc
DecKey = tuple[int, str, str, str, str, str]  # year .. dec_pc


def iso3(code: str | None) -> str:
    if not code:
        return UNKNOWN
    return countries.alpha3(code) or UNKNOWN


def procedure_type(procedure: str) -> str:
    return "U" if procedure == MANDATE else "G"


@dataclass
class Tables:
    year: int
    threshold: int
    applications: Protected[tuple[AppKey, str]]
    decisions: Protected[tuple[DecKey, str]]
    application_keys: list[AppKey] = field(default_factory=list)
    decision_keys: list[DecKey] = field(default_factory=list)

    def application_rows(self) -> list[list[Any]]:
        return [[*key, self.applications.shown((key, "applied"))] for key in self.application_keys]

    def decision_rows(self) -> list[list[Any]]:
        return [[*key, *(self.decisions.shown((key, c)) for c in [*COUNTS, "dec_total"])]
                for key in self.decision_keys]

    def notes(self) -> list[str]:
        """What was hidden, in words, in the active language (the exports carry it)."""
        hidden = {name: (t.count(suppression.PRIMARY), t.count(suppression.SECONDARY),
                         t.count(suppression.DIFFERENCE))
                  for name, t in ((gettext("applications"), self.applications),
                                  (gettext("decisions"), self.decisions))}
        if self.threshold <= 1:
            return [gettext("No counts were suppressed (threshold off).")]
        return [gettext("Counts from 1 to %(n)s are shown as %(mask)s.") % {
            "n": self.threshold - 1, "mask": suppression.MASK}] + [
            gettext("%(table)s: %(primary)s counts below the threshold, %(difference)s counts "
                    "that differ from the whole installation's by less than the threshold and "
                    "%(secondary)s further counts that would reveal them through a total were "
                    "suppressed.") % {"table": name, "primary": p, "difference": d,
                                      "secondary": s}
            for name, (p, s, d) in hidden.items()]

    def suppressed(self) -> int:
        return len(self.applications.hidden) + len(self.decisions.hidden)

    def files(self) -> dict[str, tuple[list[str], list[list[Any]]]]:
        """The two CSV files by name: their columns and rows."""
        return {APPLICATIONS_FILE: (APPLICATION_COLUMNS, self.application_rows()),
                DECISIONS_FILE: (DECISION_COLUMNS, self.decision_rows())}


APPLICATIONS_FILE, DECISIONS_FILE = "asylum_applications.csv", "asylum_decisions.csv"
XLSX_FILE = "unhcr_tables.xlsx"


def write_csv(out: IO[str], tables: Tables, name: str) -> None:
    """One of the CSV files (`name`: APPLICATIONS_FILE or DECISIONS_FILE), as the command
    writes it and the screen downloads it."""
    columns, rows = tables.files()[name]
    exports.write_csv(out, columns, rows)


def write_xlsx(out: IO[bytes], tables: Tables) -> None:
    """Both tables as the sheets of one workbook, named like the CSV files."""
    exports.write_xlsx(out, [(name.removesuffix(".csv"), columns, rows)
                             for name, (columns, rows) in tables.files().items()])


def _cases(offices: QuerySet[Office] | None) -> QuerySet[Case]:
    qs = Case.objects.filter(kind=CaseKind.ASYLUM)
    return qs if offices is None else qs.filter(office__in=offices)


def _people(case_ids: Iterable[Any]) -> dict[Any, tuple[str, str, str, int]]:
    """case id -> (coo, coa, procedure type, persons) for these cases."""
    rows = (Case.objects.filter(pk__in=list(set(case_ids)))
            .annotate(derivatives=Count("family_members", filter=Q(family_members__derivative=True)))
            .values_list("pk", "principal__nationalities", "office__country", "procedure",
                         "derivatives"))
    return {pk: (iso3(nat[0] if nat else None), iso3(country), procedure_type(proc), 1 + n)
            for pk, nat, country, proc, n in rows}


def _counts(year: int, offices: QuerySet[Office] | None
            ) -> tuple[Counter[tuple[AppKey, str]], Counter[tuple[DecKey, str]]]:
    """The raw counts of both tables for `year` over `offices` (None: every office)."""
    cases = _cases(offices)
    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)

    # (case id, app_type, dec_level) per application event of the year.
    events: list[tuple[Any, str, str]] = []
    events += [(c, "N", "FI") for c in Application.objects.filter(
        case__in=cases, application_date__range=(start, end)).values_list("case_id", flat=True)]
    events += [(c, "R", "FI") for c in CaseStep.objects.filter(
        case__in=cases, transition=Steps.REOPEN, effective_on__range=(start, end)
    ).values_list("case_id", flat=True)]
    events += [(c, "A", "AR") for c in Appeal.objects.filter(
        case__in=cases, lodged_on__range=(start, end)).values_list("case_id", flat=True)]

    # (case id, level, column) per decision or closure of the year.
    outcomes: list[tuple[Any, str, str]] = [
        (c, LEVEL[Stage(stage)], OUTCOME_COLUMN[Outcome(outcome)])
        for c, stage, outcome in Decision.objects.filter(
            case__in=cases, stage__in=list(LEVEL), decided_on__range=(start, end)
        ).values_list("case_id", "stage", "outcome")]
    for c, source in CaseStep.objects.filter(
        case__in=cases, target__in=CLOSED_STATES, effective_on__range=(start, end)
    ).values_list("case_id", "source"):
        level = "FI" if source in FIRST_INSTANCE_STATES else "AR" if source in APPEAL_STATES else None
        if level:
            outcomes.append((c, level, "dec_closed"))

    people = _people([e[0] for e in events] + [o[0] for o in outcomes])

    applied: Counter[tuple[AppKey, str]] = Counter()
    for case_id, app_type, level in events:
        coo, coa, ptype, persons = people[case_id]
        applied[((year, coo, coa, ptype, app_type, level, "C"), "applied")] += 1
        applied[((year, coo, coa, ptype, app_type, level, "P"), "applied")] += persons
    decided: Counter[tuple[DecKey, str]] = Counter()
    for case_id, level, column in outcomes:
        coo, coa, ptype, persons = people[case_id]
        for pc, n in (("C", 1), ("P", persons)):
            key = (year, coo, coa, ptype, level, pc)
            decided[(key, column)] += n
            decided[(key, "dec_total")] += n
    return applied, decided


def compute(year: int, *, offices: QuerySet[Office] | None = None,
            threshold: int | None = None) -> Tables:
    """Both tables for `year`, over `offices` (None: every office of the installation).

    For some offices only, a count that differs from the whole installation's by less than
    the threshold is hidden as well: two offices in one country share its rows, and the
    whole installation's file minus one office's would give the other's small counts."""
    threshold = suppression.default_threshold() if threshold is None else threshold
    applied, decided = _counts(year, offices)
    app_keys = sorted({k for k, _ in applied})
    dec_keys = sorted({k for k, _ in decided})
    for key in dec_keys:  # every column of a row present, zeros included
        for column in [*COUNTS, "dec_total"]:
            decided.setdefault((key, column), 0)
    app_extra: dict[tuple[AppKey, str], str] = {}
    dec_extra: dict[tuple[DecKey, str], str] = {}
    if offices is not None and threshold > 1:
        wide_applied, wide_decided = _counts(year, None)
        app_extra = suppression.hide_differences(applied, [wide_applied], threshold=threshold)
        dec_extra = suppression.hide_differences(decided, [wide_decided], threshold=threshold)
    return Tables(year=year, threshold=threshold, application_keys=app_keys, decision_keys=dec_keys,
                  applications=suppression.protect(applied, _application_sums(app_keys),
                                                   threshold=threshold, extra=app_extra),
                  decisions=suppression.protect(decided, _decision_sums(dec_keys),
                                                threshold=threshold, extra=dec_extra))


def _application_sums(keys: list[AppKey]) -> list[Sum[tuple[AppKey, str]]]:
    """Over countries of origin, each count of a country of asylum adds up to a total that
    UNHCR publishes."""
    groups: dict[tuple[Any, ...], list[tuple[AppKey, str]]] = {}
    for key in keys:
        groups.setdefault((key[0], *key[2:]), []).append((key, "applied"))
    return [Sum(parts) for parts in groups.values()]


def _decision_sums(keys: list[DecKey]) -> list[Sum[tuple[DecKey, str]]]:
    """Each row's counts add up to its total; each column adds up over countries of origin."""
    sums: list[Sum[tuple[DecKey, str]]] = [
        Sum([(key, c) for c in COUNTS], total=(key, "dec_total")) for key in keys]
    groups: dict[tuple[Any, ...], list[DecKey]] = {}
    for key in keys:
        groups.setdefault((key[0], *key[2:]), []).append(key)
    for members in groups.values():
        sums += [Sum([(key, c) for key in members]) for c in [*COUNTS, "dec_total"]]
    return sums
