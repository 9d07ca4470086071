"""In Spanish, through the real pages: a supervisor imports an HTCDS template on the import
page (kind of file "HTCDS"), follows it to its report, then checks the CTDC statistics."""

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from cases.models import Case, CaseKind, ImportJob
from tests.tip.test_htcds_import import WORKBOOKS, _people, _workbook

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def es(text: str) -> str:
    with translation.override("es"):
        return gettext(text)


@pytest.mark.parametrize("lang", ["es"])
def test_supervisor_imports_an_htcds_workbook_then_checks_the_ctdc_figures(
        new_page, staff, login, office, upload_root):
    boss = staff["supervisor"]
    people = _people(3)
    people[1]["prs_Birthdate"] = "no sé"  # a bad row: the good ones are imported anyway

    page = new_page()
    login(page, boss)
    page.goto("/imports/")
    expect(page.locator("#import-help-htcds")).to_contain_text("con_Consent")
    page.select_option("#id_kind", "htcds")
    page.locator("#id_file").set_input_files(files=[{
        "name": "victimas.xlsx", "buffer": _workbook(WORKBOOKS[1], people),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    page.get_by_label(es("Import the good rows even if some rows have errors")).check()
    with page.expect_navigation():
        page.get_by_role("button", name=es("Upload and import")).click()

    expect(page.locator("#import-status")).to_have_attribute("data-status", "done")
    expect(page.locator("#import-created")).to_have_text("2")
    expect(page.locator("#import-progress")).to_contain_text("prs_Birthdate")
    expect(page.locator("#import-progress")).to_contain_text(
        es("Enter the date as YYYY-MM-DD or DD/MM/YYYY."))
    assert ImportJob.objects.get().kind == "htcds"
    assert Case.objects.filter(kind=CaseKind.TRAFFICKING).count() == 2

    page.goto("/")
    with page.expect_navigation():
        page.get_by_role("link", name=es("Trafficking statistics in the CTDC format")).click()
    expect(page.locator("#id_k")).to_have_value("11")
    page.get_by_role("button", name=es("Check")).click()
    expect(page.locator("#ctdc-report")).to_contain_text(es("Records left out (suppressed)"))
    # The two imported people both said TRUE in con_Consent (the bad row said FALSE).
    expect(page.locator("#ctdc-in")).to_have_text("2")
    with page.expect_download() as download:
        page.get_by_role("button", name=es("Download CSV")).click()
    assert download.value.suggested_filename.endswith("-k11.csv")
