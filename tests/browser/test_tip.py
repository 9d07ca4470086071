"""The trafficking procedure driven through the real pages in Spanish: a caseworker records
the victim profile and screens the case; a supervisor records the identification decision.

The texts are the catalogue's (read here with gettext in Spanish), so the test follows the
translations instead of repeating them."""

import re

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from cases import services as case_services
from cases.models import Case, CaseStep
from tests.browser.test_asylum import action, submit, take
from tip.models import Identification, Screening, VictimProfile
from tip.names import States, Steps
from tip.vocab import Recommendation, TraffickingStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def es(text: str) -> str:
    with translation.override("es"):
        return gettext(text)


@pytest.mark.parametrize("lang", ["es"])
def test_screening_then_identification_by_a_second_person(new_page, staff, login, person_data):
    worker, boss = staff["caseworker"], staff["supervisor"]
    person = case_services.register_person(by=worker, office=worker.memberships.get().office,
                                           data=person_data(given_names="Yesenia", family_names="Caal"))
    case = case_services.open_case(by=worker, person=person, kind="trafficking")

    page = new_page()
    login(page, worker)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.goto(f"/cases/{case.pk}/")
    expect(page.locator("#procedure-state")).to_have_text(es("Victim profile to record"))

    take(page, Steps.RECORD_PROFILE, es("Record the victim profile"))
    page.fill("#id_age_when_trafficked", "16")
    page.get_by_label(es("Forced labour"), exact=True).check()
    page.get_by_label(es("Debt bondage"), exact=True).check()
    page.select_option("#id_forced_labour_industry", "A_AgricultureForestryAndFishing")
    page.fill("#id_narrative", "Me ofrecieron trabajo en una finca y me quitaron el pasaporte.")
    submit(page, es("Record the victim profile"))
    expect(page.locator("#procedure-state")).to_have_text(es("Screening to do"))
    expect(page.locator("#exploitation-types")).to_have_text(es("Forced labour"))

    take(page, Steps.SCREEN, es("Screen with the indicators"))
    page.get_by_label(es("Identity or travel documents are kept by someone else")).check()
    page.get_by_label(es("Little or no pay, or pay withheld")).check()
    page.fill("#id_notes", "Entrevista en el albergue.")
    submit(page, es("Screen with the indicators"))
    expect(page.locator("#procedure-state")).to_have_text(es("Awaiting the identification decision"))
    expect(page.locator("#screening .recommendation")).to_have_text(
        es("Possible victim of trafficking: more information needed"))
    # Whoever screened has no button for the identification.
    expect(action(page, Steps.IDENTIFY)).to_have_count(0)

    chief = new_page()
    login(chief, boss)
    chief.goto("/")
    identification = chief.locator("#tip-identification")
    expect(identification).to_contain_text("1")
    chief.locator("#trafficking").get_by_role("link", name=case.reference).click()
    take(chief, Steps.IDENTIFY, es("Record the identification decision"))
    expect(chief.locator("#screening-recommendation")).to_have_text(
        es("Possible victim of trafficking: more information needed"))
    expect(chief.locator("body")).to_contain_text(es("Anti-Trafficking in Persons (ATIPs) Council"))
    # Half filled: the form comes back and nothing is recorded.
    submit(chief, es("Record the identification decision"))
    expect(chief.locator("#step-form")).to_be_visible()
    assert not Identification.objects.filter(case=case).exists()
    chief.select_option("#id_status", TraffickingStatus.ACTUAL)
    chief.fill("#id_reasons", "El Consejo confirmó los indicadores de trabajo forzoso.")
    submit(chief, es("Record the identification decision"))
    expect(chief).to_have_url(re.compile(rf"/cases/{case.pk}/$"))
    expect(chief.locator("#procedure-state")).to_have_text(es("Active: support under way"))
    expect(chief.locator("#trafficking-status")).to_contain_text(es("Identified victim of trafficking"))

    case = Case.objects.get(pk=case.pk)
    assert case.state == States.ACTIVE
    screening = Screening.objects.get(case=case)
    assert (screening.screened_by, screening.recommendation) == (worker, Recommendation.POSSIBLE)
    assert Identification.objects.get(case=case).recorded_by == boss
    assert VictimProfile.objects.get(case=case).trafficking_status == TraffickingStatus.ACTUAL
    assert list(CaseStep.objects.filter(case=case).order_by("number").values_list(
        "transition", flat=True)) == [Steps.RECORD_PROFILE, Steps.SCREEN, Steps.IDENTIFY]
