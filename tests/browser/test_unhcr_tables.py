"""UNHCR's annual tables on the screen, as a supervisor: from the statistics tabs, a year
chosen, both tables with UNHCR's column names, and a download that is the command's file."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from audit.models import AuditEvent
from cases.models import Role
from tests.browser.conftest import OVERFLOW, csp_violations
from tests.stats.build import D, asylum

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lang() -> str:
    return "en"


def test_a_supervisor_reads_and_downloads_the_unhcr_tables(new_page, login, make_user, office,
                                                          caseworker, settings, tmp_path):
    settings.AMPARO_REQUIRE_2FA = False
    settings.AMPARO_STATS_THRESHOLD = 0
    year = timezone.localdate().year
    for i in range(3):
        asylum(caseworker, office, nationality="HN", applied=D(year, 1, 10 + i))
    asylum(caseworker, office, nationality="SV", applied=D(year - 1, 3, 1)).decide(
        "first_instance", "rejected", D(year - 1, 9, 1))
    supervisor = make_user(Role.SUPERVISOR, office, preferred_language="en")
    page = new_page()
    violations = csp_violations(page)
    login(page, supervisor)

    page.locator("#nav-statistics").click()
    page.locator("#stats-unhcr-link").click()
    applications = page.locator("#unhcr-applications")
    expect(applications.locator("thead")).to_contain_text("Country of origin")
    expect(applications.locator("thead code").first).to_have_text("year")
    expect(applications.locator("tbody tr").first).to_contain_text("HND")
    expect(page.locator("#unhcr-decisions tbody")).to_contain_text("Nothing to count")

    page.select_option("#id_year", str(year - 1))
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    expect(page.locator("#unhcr-decisions tbody tr").first).to_contain_text("SLV")
    assert page.evaluate(OVERFLOW) <= 0

    with page.expect_download() as download:
        page.locator("#unhcr-download-2").click()
    call_command("unhcr_tables", "--year", str(year - 1), "--out", str(tmp_path),
                 "--office", office.code)
    assert (Path(download.value.path()).read_bytes()
            == (tmp_path / "asylum_decisions.csv").read_bytes())
    assert AuditEvent.objects.filter(action="stats.export", actor_id=supervisor.pk,
                                     object_type="stats.unhcr").exists()
    assert violations == []
