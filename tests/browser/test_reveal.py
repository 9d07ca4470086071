"""Masked values on the person page: "Show" puts one value in place with htmx, or brings the
page back with it without JavaScript; each showing is an audit event (ASVS V14.2.6)."""

from __future__ import annotations

import re

import pytest
from faker import Faker
from playwright.sync_api import expect

from audit.models import AuditEvent
from cases import services
from cases.models import Role
from tests.browser.conftest import PASSWORD, csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOW = {"en": "Show", "es": "Mostrar"}


@pytest.fixture
def someone(staff, office, person_data):
    fake = Faker("es_MX")
    fake.seed_instance(612)
    person = services.register_person(by=staff["caseworker"], office=office, data=person_data(
        phone=f"+5255{fake.numerify('########')}", email=fake.email(),
        documents=[services.IdentityDocumentData("passport", fake.bothify("??#######").upper(), "MX")]))
    services.open_case(by=staff["caseworker"], person=person, kind="asylum", assign_to_me=True)
    return person


def test_show_puts_the_value_in_place_and_records_it(page, staff, login, lang, someone):
    violations = csp_violations(page)
    login(page, staff["caseworker"])
    page.goto(f"/people/{someone.pk}/")
    phone = page.locator("#person-phone")
    expect(phone).to_contain_text("+52 ")
    expect(phone).not_to_contain_text(someone.phone[-8:])

    phone.get_by_role("button", name=SHOW[lang]).click()

    expect(phone).to_have_text(someone.phone)
    expect(page).to_have_url(re.compile(rf"/people/{someone.pk}/$"))  # in place, no reload
    expect(page.locator("#person-email")).not_to_contain_text(someone.email)  # only that one
    event = AuditEvent.objects.get(action="person.reveal")
    assert (event.details, event.actor_id) == ({"field": "phone"}, staff["caseworker"].pk)
    assert violations == []


def test_without_javascript_show_brings_the_page_back_with_that_value(browser, live_server,
                                                                      make_user, office,
                                                                      person_data):
    user = make_user(Role.CASEWORKER, office, preferred_language="en")
    person = services.register_person(by=user, office=office, data=person_data(
        email="lucia.perez@example.org"))
    context = browser.new_context(base_url=live_server.url, locale="en-US",
                                  java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"/people/{person.pk}/")
        email = page.locator("#person-email")
        expect(email).to_have_text(re.compile(r"^\s*l•••@example\.org\s*Show\s*$"))

        email.get_by_role("button", name="Show").click()

        expect(page.locator("#person-email")).to_have_text("lucia.perez@example.org")
        expect(page.locator("#person-phone")).to_contain_text("•")
        assert AuditEvent.objects.get(action="person.reveal").details == {"field": "email"}
    finally:
        context.close()
