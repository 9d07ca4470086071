"""The statistics screen and its downloads: who sees them, what they show, what is recorded."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from audit.models import AuditEvent
from cases import services
from cases.models import Membership, Office, Role
from tests.stats.build import D, asylum


@pytest.fixture
def gt_office(db):
    return Office.objects.create(code="GT-GUA", name="Oficina de Guatemala", country="GT")


@pytest.fixture
def applications(caseworker, office):
    """Seven applications of 2026 from Honduras in the office."""
    return [asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1 + i)) for i in range(7)]


def _table(html: str, key: str) -> str:
    start = html.index(f'id="table-{key}"')
    return html[start:html.index("</table>", start)]


@pytest.mark.usefixtures("applications")
def test_an_analyst_sees_the_numbers_with_a_chart_and_the_formula_and_no_people(client, analyst,
                                                                                  applications):
    client.force_login(analyst)
    response = client.get(reverse("stats:dashboard"), {"year": 2026})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and 'id="chart-applications_by_modality"' in html
    assert "7" in _table(html, "applications_by_modality")
    assert "How it is counted" in html
    for built in applications:  # no reference, no name
        assert built.case.reference not in html
        assert str(built.case.pk) not in html
        # The whole name: a name alone may be a country of the filter ("Chad", "Puerto Rico").
        principal = built.case.principal
        assert f"{principal.given_names} {principal.family_names}" not in html


@pytest.mark.usefixtures("applications")
def test_another_offices_analyst_sees_none_of_these_numbers(client, make_user, gt_office):
    client.force_login(make_user(Role.ANALYST, gt_office))
    html = client.get(reverse("stats:dashboard"), {"year": 2026}).content.decode()

    table = _table(html, "applications_by_modality")
    assert ">7<" not in table
    assert ">0<" in table


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.AUDITOR, Role.OFFICE_ADMIN,
                                  Role.SYSTEM_ADMIN])
def test_other_roles_are_refused(client, make_user, office, role):
    client.force_login(make_user(role, office))
    assert client.get(reverse("stats:dashboard")).status_code == 403
    assert client.get(reverse("stats:export")).status_code == 403


def test_an_analyst_opens_no_case_and_no_person(client, analyst, applications):
    client.force_login(analyst)
    case = applications[0].case
    assert client.get(reverse("case_detail", kwargs={"case_id": case.pk})).status_code == 404
    assert client.get(reverse("person_detail",
                              kwargs={"person_id": case.principal_id})).status_code == 404
    assert client.get(reverse("case_list")).status_code == 403
    assert client.get(reverse("people_search")).status_code == 403


def test_bad_filters_are_refused(client, supervisor):
    client.force_login(supervisor)
    assert client.get(reverse("stats:dashboard"), {"year": "1800"}).status_code == 400
    assert client.get(reverse("stats:dashboard"), {"year": "2026", "sex": "x"}).status_code == 400
    assert client.get(reverse("stats:dashboard"),
                      {"year": "2026", "office": "'; select 1"}).status_code == 400
    assert client.get(reverse("stats:export"), {"year": "2026", "format": "pdf"}).status_code == 400


def test_an_office_not_ones_own_cannot_be_chosen(client, supervisor, gt_office):
    client.force_login(supervisor)
    response = client.get(reverse("stats:dashboard"), {"year": "2026", "office": gt_office.pk})
    assert response.status_code == 400


@pytest.mark.usefixtures("applications")
def test_the_csv_download_is_protected_and_recorded(client, supervisor, settings):
    settings.AMPARO_STATS_THRESHOLD = 10
    client.force_login(supervisor)

    response = client.get(reverse("stats:export"), {"year": "2026", "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="statistics-2026-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["indicator", "category", "value", "suppressed"]
    modality = [r for r in rows if r[0] == "Asylum applications received, by processing modality"]
    assert ["Asylum applications received, by processing modality", "Regular", "*",
            "primary"] in modality
    assert not any(r[2] == "7" for r in rows)
    event = AuditEvent.objects.get(action="stats.export")
    assert event.actor_id == supervisor.pk
    assert event.details["threshold"] == 10
    assert event.details["format"] == "csv"


@pytest.mark.usefixtures("applications")
def test_a_lower_threshold_than_the_installations_is_not_taken(client, supervisor, settings):
    settings.AMPARO_STATS_THRESHOLD = 10
    client.force_login(supervisor)
    rows = list(csv.reader(io.StringIO(client.get(reverse("stats:export"), {
        "year": "2026", "format": "csv", "threshold": "2"}).content.decode())))
    assert not any(r[2] == "7" for r in rows)


@pytest.mark.usefixtures("applications")
def test_a_higher_threshold_per_export_and_the_xlsx(client, supervisor, settings):
    settings.AMPARO_STATS_THRESHOLD = 0
    client.force_login(supervisor)

    plain = client.get(reverse("stats:export"), {"year": "2026", "format": "xlsx"})
    book = load_workbook(io.BytesIO(plain.content), read_only=True)
    assert book.sheetnames == ["indicators", "formulas", "notes"]
    values = [r[2] for r in book["indicators"].iter_rows(values_only=True)]
    assert 7 in values

    higher = client.get(reverse("stats:export"), {"year": "2026", "format": "xlsx", "threshold": "8"})
    values = [r[2] for r in load_workbook(io.BytesIO(higher.content), read_only=True)[
        "indicators"].iter_rows(values_only=True)]
    assert 7 not in values and "*" in values


def test_an_office_administrator_may_make_someone_an_analyst(office_admin, make_user, office):
    user = make_user()
    services.grant_membership(by=office_admin, user=user, office=office, role=Role.ANALYST)
    assert Membership.objects.filter(user=user, office=office, role="analyst").exists()


def test_the_dashboard_links_the_statistics_for_analysts_only(client, analyst, caseworker):
    client.force_login(analyst)
    assert 'id="statistics-link"' in client.get(reverse("dashboard")).content.decode()
    client.force_login(caseworker)
    assert 'id="statistics-link"' not in client.get(reverse("dashboard")).content.decode()
