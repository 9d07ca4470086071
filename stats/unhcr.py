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
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext, gettext_lazy
from django_countries import countries

from cases.models import CaseKind, CaseStep, Office
from rsd.models import Appeal, Outcome, Stage
from rsd.names import States, Steps
from stats import exports, suppression
from stats.models import Fact
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


# What a row is counted by: its office, the applicant's first nationality and the procedure.
LIVE = ("case__office", "case__principal__nationalities__0", "case__procedure")
SUMMARY = ("office", "nationality", "procedure")  # stats_fact has them beside each row


def _grouped(rows: QuerySet[Any], keys: tuple[str, str, str], *extra: str) -> list[tuple[Any, ...]]:
    """`rows` (each with a `case`) counted in the database by `keys` and `extra`: (office id,
    coo, coa, procedure type, *extra, cases, persons), persons being each case's applicant and
    derivative family members."""
    rows = rows.order_by()
    cases = {tuple(r[:-1]): r[-1] for r in rows.values_list(*keys, *extra).annotate(n=Count("pk"))}
    derivatives = {tuple(r[:-1]): r[-1] for r in rows.filter(case__family_members__derivative=True)
                   .values_list(*keys, *extra).annotate(n=Count("case__family_members"))}
    country = dict(Office.objects.values_list("pk", "country"))
    return [(office, iso3(coo or None), iso3(country[office]), procedure_type(procedure or ""),
             *rest, n, n + derivatives.get((office, coo, procedure, *rest), 0))
            for (office, coo, procedure, *rest), n in cases.items()]


Counts = tuple[Counter[tuple[AppKey, str]], Counter[tuple[DecKey, str]]]


def _counts(year: int, offices: QuerySet[Office] | None) -> dict[Any, Counts]:
    """The raw counts of both tables for `year` of each of `offices` (None: every office),
    grouped in the database: a handful of rows per office and country, however many cases.
    New applications, decisions and closures are read from the summary table (`stats_fact`,
    kept by each step); reopenings and appeals, far fewer, from the records."""
    live = Q(case__kind=CaseKind.ASYLUM)
    summary = Q(on__range=(datetime.date(year, 1, 1), datetime.date(year, 12, 31)))
    if offices is not None:
        live &= Q(case__office__in=offices)
        summary &= Q(office__in=offices)
    start, end = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    out: dict[Any, Counts] = defaultdict(lambda: (Counter(), Counter()))

    events = (
        ("N", "FI", Fact.objects.filter(summary, kind=Fact.APPLICATION), SUMMARY),
        ("R", "FI", CaseStep.objects.filter(live, transition=Steps.REOPEN,
                                            effective_on__range=(start, end)), LIVE),
        ("A", "AR", Appeal.objects.filter(live, lodged_on__range=(start, end)), LIVE),
    )
    for app_type, level, rows, keys in events:
        for office, coo, coa, ptype, n_cases, n_people in _grouped(rows, keys):
            for pc, n in (("C", n_cases), ("P", n_people)):
                out[office][0][((year, coo, coa, ptype, app_type, level, pc), "applied")] += n

    # Decisions (`fi_recognized` ..) and closures (`fi_closed`, `ar_closed`) by level.
    for office, coo, coa, ptype, a, n_cases, n_people in _grouped(
            Fact.objects.filter(summary, kind__in=(Fact.DECISION, Fact.CLOSURE)), SUMMARY, "a"):
        level, outcome = a.split("_", 1)
        column = "dec_closed" if outcome == "closed" else OUTCOME_COLUMN[Outcome(outcome)]
        for pc, n in (("C", n_cases), ("P", n_people)):
            key = (year, coo, coa, ptype, level.upper(), pc)
            out[office][1][(key, column)] += n
            out[office][1][(key, "dec_total")] += n
    return out


def _total(by_office: dict[Any, Counts], offices: Iterable[Any]) -> Counts:
    applied: Counter[tuple[AppKey, str]] = Counter()
    decided: Counter[tuple[DecKey, str]] = Counter()
    for office in offices:
        if office in by_office:
            applied.update(by_office[office][0])
            decided.update(by_office[office][1])
    return applied, decided


def compute(year: int, *, offices: QuerySet[Office] | None = None,
            threshold: int | None = None) -> Tables:
    """Both tables for `year`, over `offices` (None: every office of the installation).

    For some offices only, a count that differs from the whole installation's by less than
    the threshold is hidden as well: two offices in one country share its rows, and the
    whole installation's file minus one office's would give the other's small counts. Both
    come from one pass, counted by office."""
    threshold = suppression.default_threshold() if threshold is None else threshold
    wide = offices is not None and threshold > 1
    by_office = _counts(year, None if wide else offices)
    chosen = by_office.keys() if offices is None else set(offices.values_list("pk", flat=True))
    applied, decided = _total(by_office, chosen)
    app_keys = sorted({k for k, _ in applied})
    dec_keys = sorted({k for k, _ in decided})
    for key in dec_keys:  # every column of a row present, zeros included
        for column in [*COUNTS, "dec_total"]:
            decided.setdefault((key, column), 0)
    app_extra: dict[tuple[AppKey, str], str] = {}
    dec_extra: dict[tuple[DecKey, str], str] = {}
    if wide:
        wide_applied, wide_decided = _total(by_office, by_office.keys())
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
