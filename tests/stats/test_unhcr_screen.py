"""The screen of UNHCR's annual tables and its downloads: the command's numbers and files for
the offices of the user, who sees them, what is recorded."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from audit.models import AuditEvent
from cases import services
from cases.models import Case, Role
from stats import unhcr
from tests.cases.test_two_factor import age_verification, code, enrol, login, verify
from tests.stats.test_unhcr_tables import (  # noqa: F401  (fixtures)
    APPLICATIONS,
    DECISIONS,
    YEAR,
    cases,
    gt_office,
)

pytestmark = pytest.mark.usefixtures("cases")

PAGE, EXPORT = reverse("stats:unhcr"), reverse("stats:unhcr_export")
CSV_FILES = [unhcr.APPLICATIONS_FILE, unhcr.DECISIONS_FILE]


def _rows(page: str, table: str) -> list[list[str]]:
    """The body rows of the page's table `table` ("applications" or "decisions")."""
    start = page.index(f'id="unhcr-{table}"')
    body = page[page.index("<tbody>", start):page.index("</tbody>", start)]
    return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr)]
            for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def _command(tmp_path, *offices: str, threshold: str | None = None):
    args = ["unhcr_tables", "--year", str(YEAR), "--out", str(tmp_path)]
    for office_code in offices:
        args += ["--office", office_code]
    if threshold is not None:
        args += ["--threshold", threshold]
    call_command(*args)
    return tmp_path


def _csv_rows(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))[1:]


def _page(client, user, **params) -> str:
    client.force_login(user)
    response = client.get(PAGE, {"year": YEAR, **params})
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_the_counts_the_command_writes(client, supervisor, settings, tmp_path):
    settings.AMPARO_STATS_THRESHOLD = 0
    page = _page(client, supervisor)
    folder = _command(tmp_path, "BZ-BMP", threshold="0")

    for table, name in zip(("applications", "decisions"), CSV_FILES, strict=True):
        assert _rows(page, table) == _csv_rows(folder / name)
    # ... and those are the counts worked out by hand, Belize's only.
    shown = {tuple(r[1:6]): r[7] for r in _rows(page, "applications") if r[6] == "C"}
    assert shown == {k: str(c) for k, (c, _p) in APPLICATIONS.items() if k[1] == "BLZ"}
    persons = {tuple(r[1:5]): r[6:] for r in _rows(page, "decisions") if r[5] == "P"}
    assert persons == {k: [str(n) for n in v["P"]] for k, v in DECISIONS.items() if k[1] == "BLZ"}
    # UNHCR's column names beside their headings, and the notes.
    for column in [*unhcr.APPLICATION_COLUMNS, *unhcr.DECISION_COLUMNS]:
        assert f"<code class=\"small fw-normal\">{column}</code>" in page
    assert "Country of origin" in page and "Complementary protection" in page
    assert "No counts were suppressed (threshold off)." in page


def test_what_suppression_hid_is_the_commands(client, supervisor, tmp_path):
    page = _page(client, supervisor)  # the installation's threshold, 5
    folder = _command(tmp_path, "BZ-BMP")

    for table, name in zip(("applications", "decisions"), CSV_FILES, strict=True):
        rows = _rows(page, table)
        assert rows == _csv_rows(folder / name)
        assert any("*" in r for r in rows)
    notes = re.findall(r"<li>(.*?)</li>", page[page.index('id="unhcr-notes"'):])
    written = (folder / "notes.txt").read_text().splitlines()
    assert [html.unescape(n) for n in notes[:len(written)]] == written
    assert "Counts from 1 to 4 are shown as *." in written


@pytest.mark.parametrize("threshold", [None, "0", "7"])
def test_the_csv_downloads_are_the_commands_files(client, supervisor, settings, tmp_path,
                                                  threshold):
    settings.AMPARO_STATS_THRESHOLD = 0 if threshold == "0" else 5
    client.force_login(supervisor)
    folder = _command(tmp_path, "BZ-BMP", threshold=threshold)
    params = {"year": YEAR, **({"threshold": threshold} if threshold not in (None, "0") else {})}

    for name in CSV_FILES:
        response = client.get(EXPORT, {**params, "file": name})
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == (
            f'attachment; filename="{name.removesuffix(".csv")}-{YEAR}.csv"')
        assert response.content == (folder / name).read_bytes()
    events = AuditEvent.objects.filter(action="stats.export", object_type="stats.unhcr")
    assert events.count() == 2
    event = events.latest("id")
    assert event.actor_id == supervisor.pk
    assert event.details["file"] == unhcr.DECISIONS_FILE
    assert event.details["offices"] == ["BZ-BMP"] and event.details["year"] == YEAR


def test_the_xlsx_has_both_tables_as_the_commands(client, analyst, tmp_path):
    client.force_login(analyst)
    folder = _command(tmp_path, "BZ-BMP")

    response = client.get(EXPORT, {"year": YEAR, "file": unhcr.XLSX_FILE})

    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    theirs = load_workbook(folder / unhcr.XLSX_FILE, read_only=True)
    assert book.sheetnames == theirs.sheetnames == ["asylum_applications", "asylum_decisions"]
    for sheet in book.sheetnames:
        assert (list(book[sheet].iter_rows(values_only=True))
                == list(theirs[sheet].iter_rows(values_only=True)))
    assert AuditEvent.objects.get(action="stats.export").details["format"] == "xlsx"


def test_one_chosen_office_is_the_commands_file_for_that_office(client, make_user, office,
                                                                gt_office, tmp_path):  # noqa: F811
    both = make_user(Role.SUPERVISOR, office)
    services.grant_membership(by=None, user=both, office=gt_office, role=Role.ANALYST)
    client.force_login(both)
    folder = _command(tmp_path, "GT-GUA")

    page = client.get(PAGE, {"year": YEAR, "office": gt_office.pk}).content.decode()
    response = client.get(EXPORT, {"year": YEAR, "office": gt_office.pk,
                                   "file": unhcr.APPLICATIONS_FILE})

    assert _rows(page, "applications") == _csv_rows(folder / unhcr.APPLICATIONS_FILE)
    assert response.content == (folder / unhcr.APPLICATIONS_FILE).read_bytes()
    assert 'filename="asylum_applications-2026-GT-GUA.csv"' in response["Content-Disposition"]
    # Both offices at once: the command's file for both.
    whole = _command(tmp_path / "both", "BZ-BMP", "GT-GUA")
    response = client.get(EXPORT, {"year": YEAR, "file": unhcr.DECISIONS_FILE})
    assert response.content == (whole / unhcr.DECISIONS_FILE).read_bytes()


def test_another_offices_cases_are_not_counted(client, supervisor, make_user,
                                               gt_office, settings):  # noqa: F811
    settings.AMPARO_STATS_THRESHOLD = 0
    ours = _page(client, supervisor)
    theirs = _page(client, make_user(Role.SUPERVISOR, gt_office))

    assert {r[2] for r in _rows(ours, "applications")} == {"BLZ"}
    assert {r[2] for r in _rows(theirs, "applications")} == {"GTM"}
    assert {r[2] for r in _rows(theirs, "decisions")} == {"GTM"}
    # Nor can their office be asked for.
    client.force_login(supervisor)
    assert client.get(PAGE, {"year": YEAR, "office": gt_office.pk}).status_code == 400
    assert client.get(EXPORT, {"year": YEAR, "office": gt_office.pk,
                               "file": unhcr.APPLICATIONS_FILE}).status_code == 400


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.AUDITOR, Role.OFFICE_ADMIN,
                                  Role.SYSTEM_ADMIN])
def test_who_does_not_read_statistics_is_refused(client, make_user, office, role):
    client.force_login(make_user(role, office))
    assert client.get(PAGE).status_code == 403
    assert client.get(EXPORT, {"year": YEAR, "file": unhcr.APPLICATIONS_FILE}).status_code == 403
    assert not AuditEvent.objects.filter(action="stats.export").exists()


def test_anonymous_is_sent_to_log_in(client):
    assert client.get(PAGE).status_code == 302
    assert client.get(EXPORT).status_code == 302


@pytest.mark.parametrize("year", ["1800", "abc", "2026.5", str(timezone.localdate().year + 1),
                                  "'; select 1"])
def test_a_bad_year_is_told_not_a_server_error(client, supervisor, year):
    client.force_login(supervisor)
    response = client.get(PAGE, {"year": year})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="unhcr-error"' in page and 'id="id_year_error"' in page
    assert 'id="unhcr-applications"' not in page
    assert client.get(EXPORT, {"year": year, "file": unhcr.APPLICATIONS_FILE}).status_code == 400
    assert not AuditEvent.objects.filter(action="stats.export").exists()


@pytest.mark.parametrize("params", [{}, {"year": ""}])
def test_no_year_is_this_year(client, supervisor, params):
    client.force_login(supervisor)
    response = client.get(PAGE, params)

    assert response.status_code == 200
    assert f"Year {timezone.localdate().year};" in response.content.decode()


@pytest.mark.parametrize("params", [{"file": "notes.txt"}, {"file": "../asylum_decisions.csv"},
                                    {"file": unhcr.APPLICATIONS_FILE, "threshold": "0"},
                                    {"file": unhcr.APPLICATIONS_FILE, "office": "x"}])
def test_bad_downloads_are_refused(client, supervisor, params):
    client.force_login(supervisor)
    assert client.get(EXPORT, {"year": YEAR, **params}).status_code == 400
    assert not AuditEvent.objects.filter(action="stats.export").exists()


def test_without_a_file_the_applications_csv(client, supervisor):
    client.force_login(supervisor)
    response = client.get(EXPORT)
    assert response.status_code == 200
    assert response.content.startswith(b"year,coo_iso,coa_iso,procedure_type,app_type,")


def test_a_download_needs_a_recent_code_the_page_does_not(client, supervisor):
    device = enrol(supervisor)
    login(client, supervisor)
    verify(client, code(device))
    age_verification(client, minutes=11)

    assert client.get(PAGE, {"year": YEAR}).status_code == 200
    response = client.get(EXPORT, {"year": YEAR, "file": unhcr.DECISIONS_FILE})

    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor") + "?next=")
    assert not AuditEvent.objects.filter(action="stats.export").exists()


def test_a_lower_threshold_than_the_installations_is_not_taken(client, supervisor, settings):
    settings.AMPARO_STATS_THRESHOLD = 5
    client.force_login(supervisor)
    body = client.get(EXPORT, {"year": YEAR, "threshold": "1",
                               "file": unhcr.APPLICATIONS_FILE}).content.decode()
    assert {r[-1] for r in csv.reader(io.StringIO(body)) if r[0] != "year"} == {"*"}


def test_the_analyst_sees_no_name_and_no_case(client, analyst, caseworker):
    page = _page(client, analyst)

    assert _rows(page, "applications")
    for case in Case.objects.select_related("principal"):
        assert case.reference not in page
        assert f"{case.principal.given_names} {case.principal.family_names}" not in page
        assert f"/cases/{case.pk}/" not in page
    assert caseworker.get_full_name() not in page


def test_the_page_in_spanish(client, supervisor):
    client.force_login(supervisor)
    response = client.get(PAGE, {"year": YEAR}, headers={"accept-language": "es"})

    assert response.status_code == 200
    page = response.content.decode()
    assert 'lang="es"' in page and "Año" in page
    assert "<code class=\"small fw-normal\">dec_recognized</code>" in page


def test_the_statistics_screens_link_it(client, analyst):
    client.force_login(analyst)
    for name in ("stats:dashboard", "stats:rsd", "stats:unhcr"):
        page = client.get(reverse(name), {"year": YEAR}).content.decode()
        assert 'id="stats-unhcr-link"' in page and f'href="{PAGE}"' in page
