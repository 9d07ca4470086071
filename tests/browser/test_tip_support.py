"""A trafficking case from screening to support, through the real pages in Spanish: the
caseworker screens, a supervisor (another person: four eyes) records the identification and
adds a shelter to the office's directory; the caseworker writes the support plan with two
services, one already overdue, which the dashboards show; a referral is refused until the
person's consent to referral is recorded on their page.

The texts are the catalogue's (read here with gettext in Spanish)."""

import datetime
import re

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from cases import services as case_services
from tests.browser.test_asylum import action, submit, take
from tip.models import Referral, SupportService
from tip.names import States, Steps
from tip.vocab import ServiceKind, ServiceStatus, TraffickingStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def es(text: str) -> str:
    with translation.override("es"):
        return gettext(text)


def save(page) -> None:
    page.locator("#tip-form").get_by_role("button", name=es("Save"), exact=True).click()


@pytest.mark.parametrize("lang", ["es"])
def test_screening_identification_support_plan_and_referral(new_page, staff, login, person_data):
    worker, boss = staff["caseworker"], staff["supervisor"]
    office = worker.memberships.get().office
    person = case_services.register_person(by=worker, office=office,
                                           data=person_data(given_names="Marisol", family_names="Tut"))
    case = case_services.open_case(by=worker, person=person, kind="trafficking")
    today = timezone.localdate()

    page = new_page()
    login(page, worker)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.goto(f"/cases/{case.pk}/")
    take(page, Steps.RECORD_PROFILE, es("Record the victim profile"))
    page.fill("#id_age_when_trafficked", "19")
    page.get_by_label(es("Forced labour"), exact=True).check()
    page.fill("#id_narrative", "Trabajaba sin paga en un restaurante y no podía salir.")
    submit(page, es("Record the victim profile"))
    take(page, Steps.SCREEN, es("Screen with the indicators"))
    page.get_by_label(es("Little or no pay, or pay withheld")).check()
    submit(page, es("Screen with the indicators"))
    expect(page.locator("#procedure-state")).to_have_text(es("Awaiting the identification decision"))
    expect(action(page, Steps.IDENTIFY)).to_have_count(0)  # who screened does not identify

    chief = new_page()
    login(chief, boss)
    chief.goto(f"/cases/{case.pk}/")
    take(chief, Steps.IDENTIFY, es("Record the identification decision"))
    chief.select_option("#id_status", TraffickingStatus.ACTUAL)
    chief.fill("#id_reasons", "El Consejo confirmó los indicadores.")
    submit(chief, es("Record the identification decision"))
    expect(chief.locator("#procedure-state")).to_have_text(es("Active: support under way"))
    # The supervisor adds a shelter to the office's directory.
    chief.locator("#nav-organisations").click()
    chief.fill("#id_name", "Casa Refugio Esperanza")
    chief.select_option("#id_org_type", "NGO")
    chief.select_option("#id_country", "BZ")
    chief.fill("#id_phone", "+501 222 0000")
    chief.locator("#organisation-form").get_by_role("button", name=es("Add")).click()
    expect(chief.locator("#organisations")).to_contain_text("Casa Refugio Esperanza")

    # The caseworker: the risk, the plan and two services, one overdue.
    page.goto(f"/cases/{case.pk}/")
    page.locator("#assess-risk").click()
    page.select_option("#id_individual", "high")
    page.select_option("#id_household", "medium")
    page.select_option("#id_community", "low")
    page.fill("#id_individual_notes", "El empleador conoce su domicilio.")
    save(page)
    expect(page.locator("#risk-individual")).to_have_text(es("High risk"))

    page.locator("#edit-plan").click()
    page.fill("#id_objectives", "Alojamiento seguro y atención médica.")
    page.fill("#id_review_on", (today + datetime.timedelta(days=60)).isoformat())
    save(page)
    expect(page.locator("#plan-objectives")).to_contain_text("Alojamiento seguro")

    page.locator("#add-service").click()
    # Half filled: the form comes back with the input and nothing is recorded.
    page.fill("#id_planned_end", (today - datetime.timedelta(days=2)).isoformat())
    save(page)
    expect(page.locator("#id_kind")).to_have_class(re.compile("is-invalid"))
    assert not SupportService.objects.exists()
    page.select_option("#id_kind", ServiceKind.SHELTER)
    page.select_option("#id_provider", label="Casa Refugio Esperanza")
    page.fill("#id_planned_start", (today - datetime.timedelta(days=20)).isoformat())
    save(page)
    page.locator("#add-service").click()
    page.select_option("#id_kind", ServiceKind.MEDICAL)
    page.fill("#id_planned_start", today.isoformat())
    page.fill("#id_planned_end", (today + datetime.timedelta(days=30)).isoformat())
    save(page)
    expect(page.locator("#services .support-service")).to_have_count(2)
    expect(page.locator("#services .service-overdue")).to_have_count(1)

    for who in (page, chief):
        who.goto("/")
        expect(who.locator("#tip-overdue-services .badge")).to_have_text("1")
        expect(who.locator("#trafficking .overdue-service")).to_contain_text(es("Shelter"))
        expect(who.locator("#trafficking .overdue-service")).to_contain_text(case.reference)

    # A referral without the person's consent is refused; after it is recorded, it goes.
    page.goto(f"/cases/{case.pk}/")
    expect(page.locator("#referral-consent")).to_contain_text(es("The person has not consented to referral."))
    page.locator("#add-referral").click()
    page.select_option("#id_organisation", label="Casa Refugio Esperanza")
    page.select_option("#id_service_kind", ServiceKind.SHELTER)
    page.fill("#id_details", "Necesita albergue esta semana.")
    save(page)
    expect(page.locator("#tip-form")).to_contain_text(es(
        "The person has not consented to referral. Record their consent on their page first; a "
        "supervisor may refer without it, writing why."))
    expect(page.locator("#id_details")).to_have_value("Necesita albergue esta semana.")
    assert not Referral.objects.exists()

    page.goto(f"/people/{person.pk}/")
    page.select_option("#id_purpose", "referral")
    page.locator("#consent-form input[value='yes']").check()
    page.select_option("#id_language", "es")
    page.locator("#consent-form").get_by_role("button", name=es("Record the answer")).click()
    page.goto(f"/cases/{case.pk}/")
    expect(page.locator("#referral-consent")).to_contain_text(es("The person consents to referral."))
    page.locator("#add-referral").click()
    page.select_option("#id_organisation", label="Casa Refugio Esperanza")
    page.select_option("#id_service_kind", ServiceKind.SHELTER)
    save(page)
    expect(page.locator("#referrals .referral")).to_have_count(1)
    expect(page.locator("#referrals .referral-status")).to_have_text(es("Sent"))

    referral = Referral.objects.get()
    assert (referral.case_id, referral.without_consent, referral.referred_by) == (case.pk, False, worker)
    assert SupportService.objects.filter(case=case, status=ServiceStatus.PLANNED).count() == 2
    case.refresh_from_db()
    assert case.state == States.ACTIVE
