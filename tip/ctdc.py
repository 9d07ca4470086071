"""Victim records in the shape of CTDC's global dataset, made k-anonymous
(docs/domain/trafficking.md#statistics).

`ctdc_row` turns one victim's facts (HTCDS codes) into a CTDC row; `anonymise` generalises
the quasi-identifiers (gender, age band, citizenship, country of exploitation) of the rows
in combinations held by fewer than k records, one step at a time, and drops the records no
generalisation can hide. Nothing here reads the database: the export selects the people
whose consent allows statistics and streams their facts in.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from cases.spreadsheets import safe_cell
from tip.vocab import age_band

Row = dict[str, Any]
Key = tuple[Any, ...]

DEFAULT_K = 11  # what CTDC publishes with
UNKNOWN = ""

GENDERS = {
    "Feminine": "Female",
    "Masculine": "Male",
    "TransgenderFeminine": "Transgender",
    "TransgenderMasculine": "Transgender",
    "NonConforming": "NonConforming",
}
MINOR, ADULT = "0--17", "18+"

MEANS_OF_CONTROL = {
    "DebtBondage": "meansOfControlDebtBondage",
    "TakesEarnings": "meansOfControlTakesEarnings",
    "RestrictsFinancialAccess": "meansOfControlRestrictsFinancialAccess",
    "PhysicalThreats": "meansOfControlThreats",
    "ThreatensChildrenFamily": "meansOfControlThreats",
    "ThreatsLawEnforcement": "meansOfControlThreatOfLawEnforcement",
    "PsychologicalAbuse": "meansOfControlPsychologicalAbuse",
    "PhysicalAbuse": "meansOfControlPhysicalAbuse",
    "SexualAbuse": "meansOfControlSexualAbuse",
    "FalsePromises": "meansOfControlFalsePromises",
    "PsychoactiveSubstance": "meansOfControlPsychoactiveSubstances",
    "RestrictsMedicalCare": "meansOfControlRestrictsMedicalCare",
    "ExcessiveWorkingHours": "meansOfControlExcessiveWorkingHours",
    "WithholdsNecessities": "meansOfControlWithholdsNecessities",
    "WithholdsDocuments": "meansOfControlWithholdsDocuments",
    "Other": "meansOfControlOther",
}
LABOUR = {"ForcedLabour", "ChildLabour", "ForcedBegging"}
SEXUAL = {"SexualExploitation"}
OTHER_FLAGS = {
    "ForcedMarriage": "isForcedMarriage",
    "ForcedMilitaryByNonStateActors": "isForcedMilitary",
    "OrganRemoval": "isOrganRemoval",
    "Servitude": "isSlaveryAndPractices",
}
# ISIC sections to CTDC's types of labour; any other section is "Other".
INDUSTRIES = {
    "A": "typeOfLabourAgriculture",
    "B": "typeOfLabourMiningOrDrilling",
    "C": "typeOfLabourManufacturing",
    "F": "typeOfLabourConstruction",
    "H": "typeOfLabourTransportation",
    "I": "typeOfLabourHospitality",
    "T": "typeOfLabourDomesticWork",
}
SEX_TYPES = {
    "Prostitution": "typeOfSexProstitution",
    "Pornography": "typeOfSexPornography",
    "RemoteInteractiveServices": "typeOfSexRemoteInteractiveServices",
    "PrivateSexualServices": "typeOfSexPrivateSexualServices",
}
RELATIONS = {
    "IntimatePartner": "recruiterRelationIntimatePartner",
    "Acquainted": "recruiterRelationFriend",
    "Familial": "recruiterRelationFamily",
    "Unaquainted": "recruiterRelationOther",
}

QUASI_IDENTIFIERS = ("gender", "ageBroad", "citizenship", "CountryOfExploitation")
COLUMNS = [
    "yearOfRegistration", "gender", "ageBroad", "majorityStatusAtExploit", "citizenship",
    "CountryOfExploitation",
    *dict.fromkeys(MEANS_OF_CONTROL.values()), "meansOfControlNotSpecified",
    "isForcedLabour", "isSexualExploit", "isOtherExploit", *OTHER_FLAGS.values(),
    *INDUSTRIES.values(), "typeOfLabourBegging", "typeOfLabourOther", "typeOfLabourNotSpecified",
    *SEX_TYPES.values(),
    *RELATIONS.values(), "recruiterRelationUnknown",
]


@dataclass(frozen=True)
class VictimFacts:
    """What the export needs of one victim: HTCDS codes, ages in years, ISO alpha-2 countries."""

    year_registered: int
    gender: str = ""
    age_at_registration: int | None = None
    age_when_trafficked: int | None = None
    citizenship: str = ""
    country_of_exploitation: str = ""
    means_of_control: frozenset[str] = frozenset()
    exploitation: frozenset[str] = frozenset()
    industry: str = ""  # an ISIC section code, "A_AgricultureForestryAndFishing" or "A"
    sex_exploitation: frozenset[str] = frozenset()
    relation_to_recruiter: str = ""


def ctdc_row(facts: VictimFacts) -> dict[str, str | int]:
    row: dict[str, str | int] = dict.fromkeys(COLUMNS, 0)
    at_exploit = facts.age_when_trafficked
    row.update({
        "yearOfRegistration": facts.year_registered,
        "gender": GENDERS.get(facts.gender, UNKNOWN),
        "ageBroad": age_band(facts.age_at_registration),
        "majorityStatusAtExploit": (UNKNOWN if at_exploit is None
                                    else "Minor" if at_exploit < 18 else "Adult"),
        "citizenship": facts.citizenship.upper(),
        "CountryOfExploitation": facts.country_of_exploitation.upper(),
    })
    for code in facts.means_of_control:
        row[MEANS_OF_CONTROL.get(code, "meansOfControlOther")] = 1
    row["meansOfControlNotSpecified"] = int(not facts.means_of_control)
    kinds = facts.exploitation
    row["isForcedLabour"] = int(bool(kinds & LABOUR))
    row["isSexualExploit"] = int(bool(kinds & SEXUAL))
    row["isOtherExploit"] = int(bool(kinds - LABOUR - SEXUAL))
    for code, column in OTHER_FLAGS.items():
        row[column] = int(code in kinds)
    if kinds & LABOUR:
        section = facts.industry.split("_", 1)[0]
        if "ForcedBegging" in kinds:
            row["typeOfLabourBegging"] = 1
        if section:
            row[INDUSTRIES.get(section, "typeOfLabourOther")] = 1
        elif "ForcedBegging" not in kinds:
            row["typeOfLabourNotSpecified"] = 1
    for code in facts.sex_exploitation:
        if code in SEX_TYPES:
            row[SEX_TYPES[code]] = 1
    relation = RELATIONS.get(facts.relation_to_recruiter)
    row[relation or "recruiterRelationUnknown"] = 1
    return row


def _coarser(column: str, value: str | int) -> str:
    """One step up the column's hierarchy; UNKNOWN is the top of every hierarchy."""
    if column == "ageBroad" and value not in (MINOR, ADULT, UNKNOWN):
        return MINOR if value in ("0--8", "9--17") else ADULT
    return UNKNOWN


@dataclass
class Report:
    k: int
    records_in: int = 0
    records_out: int = 0
    records_suppressed: int = 0
    records_generalised: int = 0
    cells_generalised: dict[str, int] = field(default_factory=lambda: dict.fromkeys(QUASI_IDENTIFIERS, 0))

    @property
    def cells(self) -> int:
        return sum(self.cells_generalised.values())


def _key(row: Row) -> Key:
    return tuple(row[c] for c in QUASI_IDENTIFIERS)


# The other columns of a row, packed: (year, majority at exploitation, flags as bits).
_FLAGS = [c for c in COLUMNS
          if c not in QUASI_IDENTIFIERS and c not in ("yearOfRegistration", "majorityStatusAtExploit")]


def _pack(row: Row) -> tuple[str | int, str | int, int]:
    bits = 0
    for n, column in enumerate(_FLAGS):
        if row[column]:
            bits |= 1 << n
    return row["yearOfRegistration"], row["majorityStatusAtExploit"], bits


def _unpack(key: Key, packed: tuple[str | int, str | int, int]) -> Row:
    year, majority, bits = packed
    row: dict[str, str | int] = dict(zip(QUASI_IDENTIFIERS, key, strict=True))
    row.update(yearOfRegistration=year, majorityStatusAtExploit=majority)
    row.update((column, (bits >> n) & 1) for n, column in enumerate(_FLAGS))
    return {c: row[c] for c in COLUMNS}


def _coarsen(key: Key, at: int) -> Key:
    return (*key[:at], _coarser(QUASI_IDENTIFIERS[at], key[at]), *key[at + 1:])


def anonymise(rows: Iterable[Row], k: int = DEFAULT_K) -> tuple[Iterator[Row], Report]:
    """Rows in which every combination of the quasi-identifiers is held by at least k records.

    Local recoding: only the records of small combinations are generalised, each round one
    column by one step, the column after which the fewest records remain in small
    combinations (ties in QUASI_IDENTIFIERS order). Records still in a small combination
    once nothing more can be generalised are left out. Rows are held packed (about 200 bytes
    each) and given back one by one, in their order.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    keys: list[Key] = []
    packed: list[tuple[str | int, str | int, int]] = []
    for row in rows:
        keys.append(_key(row))
        packed.append(_pack(row))
    report = Report(k=k, records_in=len(keys))
    touched: dict[int, set[int]] = {}
    while True:
        counts = Counter(keys)
        small = [i for i, key in enumerate(keys) if counts[key] < k]
        if not small:
            break
        best: tuple[int, int] | None = None
        for at in range(len(QUASI_IDENTIFIERS)):
            trial = counts.copy()
            moved = {}
            for i in small:
                if keys[i][at] != UNKNOWN:
                    moved[i] = _coarsen(keys[i], at)
                    trial[keys[i]] -= 1
                    trial[moved[i]] += 1
            if not moved:
                continue
            left = sum(trial[moved.get(i, keys[i])] < k for i in small)
            if best is None or left < best[0]:
                best = (left, at)
        if best is None:
            break
        at = best[1]
        for i in small:
            if keys[i][at] != UNKNOWN:
                keys[i] = _coarsen(keys[i], at)
                touched.setdefault(i, set()).add(at)
    counts = Counter(keys)
    kept = [i for i, key in enumerate(keys) if counts[key] >= k]
    report.records_out = len(kept)
    report.records_suppressed = len(keys) - len(kept)
    for i in kept:
        for at in touched.get(i, ()):
            report.cells_generalised[QUASI_IDENTIFIERS[at]] += 1
    report.records_generalised = sum(1 for i in kept if i in touched)
    return (_unpack(keys[i], packed[i]) for i in kept), report


def write_csv(rows: Iterable[Row], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    written = 0
    for row in rows:
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
        written += 1
    return written


def export(facts: Iterable[VictimFacts], out: IO[str], k: int = DEFAULT_K) -> Report:
    rows, report = anonymise((ctdc_row(f) for f in facts), k)
    write_csv(rows, out)
    return report


def equivalence_classes(rows: Iterable[Row]) -> Iterator[tuple[Key, int]]:
    """(combination of the quasi-identifiers, records) of a table, for checks and reports."""
    yield from Counter(_key(r) for r in rows).items()
