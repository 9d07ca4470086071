"""The CTDC rows and their k-anonymity, on generated victims (no database)."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter

import pytest

from tip import ctdc
from tip.ctdc import VictimFacts

EXPLOITATION = ["ForcedLabour", "SexualExploitation", "ChildLabour", "ForcedMarriage",
                "Servitude", "OrganRemoval", "ForcedBegging", "Surrogacy", "Other"]


def _victims(count: int, seed: int = 7) -> list[VictimFacts]:
    pick = random.Random(seed)
    out = []
    for _ in range(count):
        kinds = frozenset(pick.sample(EXPLOITATION, pick.choice([0, 1, 1, 2])))
        out.append(VictimFacts(
            year_registered=pick.choice([2024, 2025, 2026]),
            gender=pick.choice(["Feminine", "Feminine", "Masculine", "TransgenderFeminine",
                                "NonSpecifiedUnknown"]),
            age_at_registration=pick.choice([None, *range(3, 70)]),
            age_when_trafficked=pick.choice([None, *range(3, 60)]),
            citizenship=pick.choice(["MX", "MX", "GT", "HN", "SV", "VE", "NI", "CO"]),
            country_of_exploitation=pick.choice(["MX", "MX", "BZ", "US", "GT", ""]),
            means_of_control=frozenset(pick.sample(sorted(ctdc.MEANS_OF_CONTROL),
                                                   pick.choice([0, 1, 3]))),
            exploitation=kinds,
            industry=pick.choice(["", "A_AgricultureForestryAndFishing", "T", "F_Construction",
                                  "K_FinancialAndInsuranceActivities"]),
            sex_exploitation=(frozenset(pick.sample(sorted(ctdc.SEX_TYPES), 1))
                              if "SexualExploitation" in kinds else frozenset()),
            relation_to_recruiter=pick.choice(["", "Familial", "Acquainted", "Unaquainted"]),
        ))
    return out


@pytest.mark.parametrize(("age", "band"), [
    (None, ""), (-1, ""), (0, "0--8"), (8, "0--8"), (9, "9--17"), (17, "9--17"), (18, "18--20"),
    (20, "18--20"), (21, "21--23"), (26, "24--26"), (29, "27--29"), (30, "30--38"),
    (38, "30--38"), (39, "39--47"), (47, "39--47"), (48, "48+"), (101, "48+"),
])
def test_age_bands_are_ctdc_s(age, band):
    assert ctdc.age_band(age) == band


def test_a_victim_becomes_one_row_of_flags():
    row = ctdc.ctdc_row(VictimFacts(
        year_registered=2026, gender="TransgenderMasculine", age_at_registration=16,
        age_when_trafficked=15, citizenship="hn", country_of_exploitation="mx",
        means_of_control=frozenset({"DebtBondage", "PhysicalThreats", "ThreatensChildrenFamily"}),
        exploitation=frozenset({"ForcedLabour", "ForcedMarriage"}), industry="T",
        relation_to_recruiter="Familial"))

    assert set(row) == set(ctdc.COLUMNS)
    assert (row["yearOfRegistration"], row["gender"], row["ageBroad"],
            row["majorityStatusAtExploit"], row["citizenship"], row["CountryOfExploitation"]) == (
        2026, "Transgender", "9--17", "Minor", "HN", "MX")
    ones = {c for c, v in row.items() if v == 1 and c not in ctdc.QUASI_IDENTIFIERS}
    assert ones == {"meansOfControlDebtBondage", "meansOfControlThreats", "isForcedLabour",
                    "isOtherExploit", "isForcedMarriage", "typeOfLabourDomesticWork",
                    "recruiterRelationFamily"}


def test_what_is_not_known_is_said_so():
    row = ctdc.ctdc_row(VictimFacts(year_registered=2025, gender="NonSpecifiedUnknown",
                                    exploitation=frozenset({"ForcedLabour"})))

    assert (row["gender"], row["ageBroad"], row["majorityStatusAtExploit"]) == ("", "", "")
    assert row["meansOfControlNotSpecified"] == 1
    assert row["typeOfLabourNotSpecified"] == 1
    assert row["recruiterRelationUnknown"] == 1
    assert row["isSexualExploit"] == row["isOtherExploit"] == 0


def test_every_combination_left_is_held_by_k_records_and_the_flags_add_up():
    rows = [ctdc.ctdc_row(v) for v in _victims(3000)]
    before = [dict(r) for r in rows]

    out, report = ctdc.anonymise(rows, k=11)
    out = list(out)

    assert all(n >= 11 for _, n in ctdc.equivalence_classes(out))
    assert report.records_in == 3000
    assert report.records_out == len(out) == 3000 - report.records_suppressed
    assert 0 < report.records_generalised < report.records_out
    assert report.cells >= report.records_generalised
    # Generalisation touches the quasi-identifiers only: each output row is an input row
    # with some of them coarser, so the flag totals are those of the rows kept.
    flags = [c for c in ctdc.COLUMNS if c not in ctdc.QUASI_IDENTIFIERS]
    kept = Counter(tuple(r[c] for c in flags) for r in out)
    assert kept <= Counter(tuple(r[c] for c in flags) for r in before)
    changed = sum(1 for r in out for c in ctdc.QUASI_IDENTIFIERS
                  if r[c] in ("", ctdc.MINOR, ctdc.ADULT))
    assert changed >= report.cells


def test_one_rare_nationality_is_never_published():
    common = [VictimFacts(year_registered=2026, gender="Feminine", age_at_registration=25,
                          citizenship="MX", country_of_exploitation="MX")] * 40
    rare = VictimFacts(year_registered=2026, gender="Feminine", age_at_registration=25,
                       citizenship="BZ", country_of_exploitation="MX")
    buffer = io.StringIO()

    report = ctdc.export([*common, rare], buffer, k=11)

    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert "BZ" not in {r["citizenship"] for r in rows}
    # Alone in its combination whatever is generalised: left out, and counted.
    assert report.records_suppressed == 1
    assert len(rows) == 40


def test_a_rare_record_joins_a_large_group_when_generalising_hides_it():
    group = [VictimFacts(year_registered=2026, gender="Masculine", age_at_registration=30,
                         citizenship="", country_of_exploitation="US")] * 12
    rare = VictimFacts(year_registered=2026, gender="Masculine", age_at_registration=31,
                       citizenship="NI", country_of_exploitation="US")

    out, report = ctdc.anonymise([ctdc.ctdc_row(v) for v in [*group, rare]], k=11)
    out = list(out)

    assert len(out) == 13 and report.records_suppressed == 0
    assert report.cells_generalised["citizenship"] == 1
    assert {r["citizenship"] for r in out} == {""}


def test_the_threshold_is_a_parameter_and_k_of_one_changes_nothing():
    rows = [ctdc.ctdc_row(v) for v in _victims(200)]

    out, report = ctdc.anonymise([dict(r) for r in rows], k=1)
    out = list(out)

    assert out == rows and report.cells == 0 and report.records_suppressed == 0
    with pytest.raises(ValueError):
        ctdc.anonymise(rows, k=0)
    strict, strict_report = ctdc.anonymise([dict(r) for r in rows], k=50)
    assert all(n >= 50 for _, n in ctdc.equivalence_classes(list(strict)))
    _, mild = ctdc.anonymise([dict(r) for r in rows], k=5)
    assert strict_report.cells + strict_report.records_suppressed > mild.cells + mild.records_suppressed


def test_the_csv_has_ctdc_s_header_in_order():
    buffer = io.StringIO()
    ctdc.export(_victims(50), buffer, k=5)

    header = buffer.getvalue().splitlines()[0].split(",")
    assert header[:6] == ["yearOfRegistration", "gender", "ageBroad", "majorityStatusAtExploit",
                          "citizenship", "CountryOfExploitation"]
    assert header == ctdc.COLUMNS and len(set(header)) == len(header)
