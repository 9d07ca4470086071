"""UNHCR's annual tables, checked against counts worked out by hand from the cases below."""

from __future__ import annotations

import csv

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from audit.models import AuditEvent
from cases import services
from cases.models import Office
from stats import unhcr
from tests.stats.build import D, asylum

YEAR = 2026


@pytest.fixture
def gt_office(db):
    return Office.objects.create(code="GT-GUA", name="Oficina de Guatemala", country="GT")


@pytest.fixture
def cases(caseworker, office, gt_office, make_user, person_data):
    gt = make_user("caseworker", gt_office)
    # 1. Honduras, Belize, two derivative family members: applied and recognized in 2026.
    one = asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1)).family(2)
    one.decide("first_instance", "recognized", D(2026, 6, 1))
    # 2. Honduras: rejected, appealed, complementary protection on appeal, all in 2026.
    two = asylum(caseworker, office, nationality="HN", applied=D(2026, 3, 1))
    two.decide("first_instance", "rejected", D(2026, 7, 1))
    two.appeal(D(2026, 8, 1))
    two.decide("appeal", "complementary", D(2026, 10, 1))
    # 3. El Salvador: applied in 2025 (not counted), reopened and withdrawn in 2026; one
    # derivative member and one who seeks no status of their own.
    three = asylum(caseworker, office, nationality="SV", applied=D(2025, 11, 1)).family(1)
    three.family(1, derivative=False)
    three.step("reopen", "registered", "registered", D(2026, 3, 1))
    three.step("withdraw", "registered", "withdrawn", D(2026, 4, 15))
    # 4. El Salvador in Guatemala (UNHCR mandate): abandoned after a missed interview.
    four = asylum(gt, gt_office, nationality="SV", applied=D(2026, 4, 1), procedure="rsd.unhcr")
    four.step("record_no_show", "registered", "no_show", D(2026, 6, 1))
    four.step("confirm_abandonment", "no_show", "abandoned", D(2026, 9, 1))
    # 5. Nicaragua in Guatemala, pending.
    asylum(gt, gt_office, nationality="NI", applied=D(2026, 5, 1), procedure="rsd.unhcr")
    # 6. No nationality recorded; decided only in 2027.
    six = asylum(caseworker, office, nationality=None, applied=D(2026, 6, 1))
    six.decide("first_instance", "rejected", D(2027, 1, 3))
    # 7. Applied in 2027: not in 2026's table.
    asylum(caseworker, office, nationality="HN", applied=D(2027, 1, 5))
    # 8. Rejected in 2025, appealed and withdrawn while the appeal was pending in 2026.
    eight = asylum(caseworker, office, nationality="HN", applied=D(2025, 1, 10))
    eight.decide("first_instance", "rejected", D(2025, 12, 1))
    eight.appeal(D(2026, 1, 10))
    eight.step("withdraw", "appeal_lodged", "withdrawn", D(2026, 2, 1))
    # 9. Withdrawn after its decision, before any appeal: no second count.
    nine = asylum(caseworker, office, nationality="GT", applied=D(2025, 3, 1))
    nine.decide("first_instance", "rejected", D(2025, 9, 1))
    nine.step("withdraw", "appeal_period", "withdrawn", D(2026, 1, 20))
    # A trafficking case is no asylum application.
    victim = services.register_person(by=caseworker, office=office, data=person_data())
    services.open_case(by=caseworker, person=victim, kind="trafficking")


# Worked out by hand from the cases above: (coo, coa, procedure_type, app_type, dec_level)
# -> (cases, persons).
APPLICATIONS = {
    ("HND", "BLZ", "G", "N", "FI"): (2, 4),  # 1 (3 persons), 2
    ("HND", "BLZ", "G", "A", "AR"): (2, 2),  # 2, 8
    ("SLV", "BLZ", "G", "R", "FI"): (1, 2),  # 3 (its derivative member)
    ("SLV", "GTM", "U", "N", "FI"): (1, 1),  # 4
    ("NIC", "GTM", "U", "N", "FI"): (1, 1),  # 5
    ("UKN", "BLZ", "G", "N", "FI"): (1, 1),  # 6
}
# (coo, coa, procedure_type, dec_level) -> {pc: (recognized, other, rejected, closed, total)}
DECISIONS = {
    ("HND", "BLZ", "G", "FI"): {"C": (1, 0, 1, 0, 2), "P": (3, 0, 1, 0, 4)},  # 1, 2
    ("HND", "BLZ", "G", "AR"): {"C": (0, 1, 0, 1, 2), "P": (0, 1, 0, 1, 2)},  # 2, 8
    ("SLV", "BLZ", "G", "FI"): {"C": (0, 0, 0, 1, 1), "P": (0, 0, 0, 2, 2)},  # 3
    ("SLV", "GTM", "U", "FI"): {"C": (0, 0, 0, 1, 1), "P": (0, 0, 0, 1, 1)},  # 4
}


def _expected_applications() -> list[list[str]]:
    rows = []
    for (coo, coa, ptype, app_type, level), (c, p) in APPLICATIONS.items():
        rows.append([str(YEAR), coo, coa, ptype, app_type, level, "C", str(c)])
        rows.append([str(YEAR), coo, coa, ptype, app_type, level, "P", str(p)])
    return sorted(rows)


def _expected_decisions() -> list[list[str]]:
    return sorted([str(YEAR), coo, coa, ptype, level, pc, *map(str, counts)]
                  for (coo, coa, ptype, level), by_pc in DECISIONS.items()
                  for pc, counts in by_pc.items())


def _read(path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


@pytest.mark.usefixtures("cases")
def test_the_command_writes_both_tables_with_the_counts_worked_out_by_hand(tmp_path):
    call_command("unhcr_tables", "--year", str(YEAR), "--out", str(tmp_path), "--threshold", "0")

    header, rows = _read(tmp_path / "asylum_applications.csv")
    assert header == ["year", "coo_iso", "coa_iso", "procedure_type", "app_type", "dec_level",
                      "app_pc", "applied"]
    assert sorted(rows) == _expected_applications()
    header, rows = _read(tmp_path / "asylum_decisions.csv")
    assert header == ["year", "coo_iso", "coa_iso", "procedure_type", "dec_level", "dec_pc",
                      "dec_recognized", "dec_other", "dec_rejected", "dec_closed", "dec_total"]
    assert sorted(rows) == _expected_decisions()

    book = load_workbook(tmp_path / "unhcr_tables.xlsx", read_only=True)
    assert book.sheetnames == ["asylum_applications", "asylum_decisions"]
    sheet_rows = [[str(v) for v in r] for r in book["asylum_applications"].iter_rows(values_only=True)]
    assert sheet_rows[0] == unhcr.APPLICATION_COLUMNS
    assert sorted(sheet_rows[1:]) == _expected_applications()
    sheet_rows = [[str(v) for v in r] for r in book["asylum_decisions"].iter_rows(values_only=True)]
    assert sorted(sheet_rows[1:]) == _expected_decisions()
    assert AuditEvent.objects.filter(action="stats.unhcr_tables").count() == 1


@pytest.mark.usefixtures("cases")
def test_one_office_only(tmp_path):
    call_command("unhcr_tables", "--year", str(YEAR), "--out", str(tmp_path), "--threshold", "0",
                 "--office", "GT-GUA")

    _, rows = _read(tmp_path / "asylum_applications.csv")
    assert {r[2] for r in rows} == {"GTM"}
    assert len(rows) == 4


@pytest.mark.usefixtures("cases")
def test_by_default_small_counts_are_suppressed_and_the_notes_say_so(tmp_path):
    call_command("unhcr_tables", "--year", str(YEAR), "--out", str(tmp_path))

    _, rows = _read(tmp_path / "asylum_applications.csv")
    assert {r[-1] for r in rows} == {"*"}  # every count here is below 5
    _, rows = _read(tmp_path / "asylum_decisions.csv")
    for row in rows:
        assert all(v in ("*", "0") for v in row[6:]), row
    notes = (tmp_path / "notes.txt").read_text()
    assert "Counts from 1 to 4 are shown as *." in notes


def test_bad_arguments(db, tmp_path):
    with pytest.raises(CommandError, match="year"):
        call_command("unhcr_tables", "--year", "26", "--out", str(tmp_path))
    with pytest.raises(CommandError, match="Unknown office"):
        call_command("unhcr_tables", "--year", "2026", "--out", str(tmp_path), "--office", "XX-NONE")
    with pytest.raises(CommandError, match="negative"):
        call_command("unhcr_tables", "--year", "2026", "--out", str(tmp_path), "--threshold", "-1")


def test_an_empty_year_writes_the_headers_only(db, tmp_path):
    call_command("unhcr_tables", "--year", "2030", "--out", str(tmp_path))

    assert _read(tmp_path / "asylum_applications.csv") == (unhcr.APPLICATION_COLUMNS, [])
    assert _read(tmp_path / "asylum_decisions.csv") == (unhcr.DECISION_COLUMNS, [])
