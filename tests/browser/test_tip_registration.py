"""At asylum registration, in Spanish: the caseworker records the application, then the
trafficking risk screen on the asylum case page; a referral without the person's consent
comes back with the ticks kept; with consent it opens a trafficking case for the same person,
waiting in the office's queue for its victim profile.

Texts are read from the catalogue in Spanish (gettext), so the test follows the translations."""

import datetime
import re

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from cases import services as case_services
from cases.models import Case, CaseKind, Consent, ConsentPurpose
from tests.browser.test_asylum import submit, take
from tip.models import RegistrationScreen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def es(text: str) -> str:
    with translation.override("es"):
        return gettext(text)


@pytest.mark.parametrize("lang", ["es"])
def test_the_screen_at_registration_refers_with_consent(new_page, staff, login, person_data):
    worker = staff["caseworker"]
    person = case_services.register_person(by=worker, office=worker.memberships.get().office,
                                           data=person_data(given_names="Marisol", family_names="Tzib"))
    case = case_services.open_case(by=worker, person=person, kind="asylum")
    today = timezone.localdate()

    page = new_page()
    login(page, worker)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.goto(f"/cases/{case.pk}/")
    take(page, "register", es("Record the application"))
    page.fill("#id_arrival_date", (today - datetime.timedelta(days=3)).isoformat())
    page.fill("#id_place_of_entry", "Benque Viejo del Carmen")
    page.select_option("#id_channel", "border")
    page.fill("#id_claim_summary", "Le prometieron trabajo en un restaurante y le quitaron el pasaporte.")
    submit(page, es("Record the application"))
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))

    card = page.locator("#registration-screen")
    expect(card).to_contain_text(es("Trafficking risk screen"))
    expect(card.locator("#screen-not-done")).to_be_visible()
    card.locator("#registration-screen-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(es("Trafficking risk screen"))
    page.get_by_label(es("Someone else keeps their identity or travel documents")).check()
    page.get_by_label(es("Was promised work, a journey or papers that turned out to be false")).check()
    page.get_by_label(es("Refer the person to the anti-trafficking office")).check()
    page.locator("#tip-form").get_by_role("button", name=es("Save")).click()
    # No consent yet: refused, nothing recorded, the ticks kept.
    expect(page.locator("#id_consent_error")).to_have_text(es(
        "A referral needs the person's consent to referral. Ask them, and record their answer here."))
    expect(page.get_by_label(es("Someone else keeps their identity or travel documents"))).to_be_checked()
    assert not RegistrationScreen.objects.exists()

    page.select_option("#id_consent", "yes")
    page.select_option("#id_language", "es")
    page.locator("#tip-form").get_by_role("button", name=es("Save")).click()
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))
    tip_case = Case.objects.get(principal=person, kind=CaseKind.TRAFFICKING)
    referred = page.locator("#screen-referred")
    expect(referred).to_contain_text(es("Referred to the anti-trafficking office"))
    referred.get_by_role("link", name=tip_case.reference).click()
    expect(page).to_have_url(re.compile(rf"/cases/{tip_case.pk}/$"))
    expect(page.locator("#procedure-state")).to_have_text(es("Victim profile to record"))

    screen = RegistrationScreen.objects.get(case=case)
    assert screen.suggested and screen.referred_case == tip_case and screen.screened_by == worker
    answer = Consent.objects.get(person=person, purpose=ConsentPurpose.REFERRAL, replaced_at=None)
    assert answer.given and answer.language == "es"
