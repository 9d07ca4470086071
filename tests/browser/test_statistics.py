"""The statistics screen in Spanish, as an analyst: the menu, a chart with the table under
it and the formula beside it, a filter, and a download that is recorded; no names anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from audit.models import AuditEvent
from cases.models import Membership, Office, Role
from tests.browser.conftest import csp_violations
from tests.stats.build import D, asylum

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lang() -> str:
    return "es"


def test_an_analyst_reads_the_dashboard_with_a_chart_in_spanish(new_page, login, make_user,
                                                                 office, caseworker, settings):
    settings.AMPARO_REQUIRE_2FA = False
    year = timezone.localdate().year
    built = [asylum(caseworker, office, nationality="HN", applied=D(year, 1, 10 + i))
             for i in range(7)]
    built += [asylum(caseworker, office, nationality="SV", applied=D(year, 2, 1 + i),
                     modality="accelerated") for i in range(6)]
    analyst = make_user(Role.ANALYST, office, preferred_language="es")
    page = new_page()
    violations = csp_violations(page)
    login(page, analyst)

    page.locator("#nav-statistics").click()
    expect(page.get_by_role("heading", name="Estadísticas", exact=True)).to_be_visible()
    section = page.locator("#indicator-applications_by_modality")
    expect(section.get_by_role("heading")).to_have_text(
        "Solicitudes de asilo recibidas, por modalidad de tramitación")
    chart = section.locator("svg#chart-applications_by_modality")
    expect(chart).to_be_visible()
    expect(chart.locator("rect")).to_have_count(4)  # one bar per modality, zeros included
    expect(section.locator(".formula")).to_contain_text("Cómo se cuenta")
    table = section.locator("#table-applications_by_modality")
    expect(table.locator("tbody tr").last).to_contain_text("13")  # the total

    # Only Honduras: 7 of 13; the other 6 are no small difference, so 7 is shown.
    page.select_option("#id_nationality", "HN")
    with page.expect_navigation():
        page.get_by_role("button", name="Mostrar").click()
    expect(page.locator("#table-applications_by_modality tbody tr").last).to_contain_text("7")

    with page.expect_download() as download:
        page.locator("#stats-export-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "indicador,categoría,valor,suprimido"
    assert AuditEvent.objects.filter(action="stats.export", actor_id=analyst.pk).exists()

    html = page.content()
    for b in built:
        assert b.case.reference not in html
        # The whole name: a surname alone can be a country's ("Rico", "Marino").
        person = b.case.principal
        assert f"{person.given_names} {person.family_names}" not in html
    assert violations == []


def test_a_supervisor_breaks_an_indicator_down_by_office_and_by_month(new_page, login, make_user,
                                                                      office, caseworker,
                                                                      settings):
    settings.AMPARO_REQUIRE_2FA = False
    settings.AMPARO_STATS_THRESHOLD = 0
    year = timezone.localdate().year
    gt = Office.objects.create(code="GT-GUA", name="Oficina de Guatemala", country="GT")
    for i in range(4):
        asylum(caseworker, office, nationality="HN", applied=D(year, 1, 10 + i))
    asylum(caseworker, office, nationality="SV", applied=D(year, 2, 3), modality="accelerated")
    for i in range(3):
        asylum(make_user(Role.CASEWORKER, gt), gt, nationality="HN", applied=D(year, 2, 10 + i))
    supervisor = make_user(Role.SUPERVISOR, office, preferred_language="es")
    Membership.objects.create(user=supervisor, office=gt, role=Role.SUPERVISOR)
    page = new_page()
    violations = csp_violations(page)
    login(page, supervisor)

    page.locator("#nav-statistics").click()
    page.locator("#breakdown-applications_by_modality-office").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Solicitudes de asilo recibidas, por modalidad de tramitación")
    chart = page.locator("svg#breakdown-chart")
    expect(chart).to_have_attribute("data-kind", "stacked")
    expect(chart.locator("g.bar")).to_have_count(2)  # one bar per office
    expect(chart.locator("rect.segment")).to_have_count(3)  # BZ: two modalities; GT: one
    expect(page.locator("#breakdown-legend")).to_contain_text("Acelerada")
    rows = page.locator("#breakdown-table tbody tr")
    expect(rows.filter(has_text="Oficina de Guatemala")).to_contain_text("3")
    expect(rows.filter(has_text=office.name).locator("td").last).to_have_text("5")

    page.select_option("#id_by", "month")
    with page.expect_navigation():
        page.get_by_role("button", name="Mostrar").click()
    expect(page.locator("svg#breakdown-chart")).to_have_attribute("data-kind", "line")
    expect(page.locator("#breakdown-table tbody tr")).to_have_count(12)
    expect(page.locator("#breakdown-table tbody tr").first).to_contain_text("enero")

    with page.expect_download() as download:
        page.locator("#breakdown-export-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "indicador,mes,categoría,valor,suprimido"
    page.locator("#breakdown-back").click()
    expect(page.get_by_role("heading", name="Estadísticas", exact=True)).to_be_visible()
    assert violations == []
