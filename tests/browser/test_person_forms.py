"""The person page's occasional forms open on demand: in place with htmx, or as a page of
their own without JavaScript."""

import re

import pytest
from playwright.sync_api import expect

from cases import services
from cases.models import Role
from tests.browser.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {"Add an identity document": "Add an identity document", "Add document": "Add document",
           "added": "Identity document added.", "country": "Guatemala"},
    "es": {"Add an identity document": "Agregar un documento de identidad",
           "Add document": "Agregar documento", "added": "Documento de identidad agregado.",
           "country": "Guatemala"},
}


@pytest.fixture
def person(staff, office, person_data):
    return services.register_person(by=staff["caseworker"], office=office, data=person_data())


def test_the_document_form_opens_in_place_and_adds_the_document(page, staff, person, login, lang):
    words = TEXT[lang]
    login(page, staff["caseworker"])
    page.goto(f"/people/{person.pk}/")
    expect(page.locator("#person-name")).to_have_text("María José Núñez Pérez")
    expect(page.locator("#id_document_number")).to_have_count(0)  # not rendered until asked

    page.get_by_role("link", name=words["Add an identity document"]).click()

    form = page.locator("#identity-document-form")
    expect(form).to_be_visible()
    assert page.url.endswith(f"/people/{person.pk}/")  # shown in place
    form.locator("#id_document_type").select_option("national_id")
    form.locator("#id_document_number").fill("0801199012345")
    form.locator("#id_document_country").select_option(label=words["country"])
    form.get_by_role("button", name=words["Add document"]).click()

    expect(page.get_by_role("alert")).to_have_text(words["added"])
    expect(page).to_have_url(re.compile(rf"/people/{person.pk}/$"))
    expect(page.locator("#identity-documents")).to_contain_text("•••• 2345")  # masked until asked
    expect(page.locator("#identity-documents")).to_contain_text("Guatemala")
    assert person.documents.get(document_type="national_id").issuing_country.code == "GT"


def test_without_javascript_the_form_is_a_page_that_shows_its_errors(browser, live_server,
                                                                      make_user, office,
                                                                      person_data):
    user = make_user(Role.CASEWORKER, office, preferred_language="en")
    person = services.register_person(by=user, office=office, data=person_data())
    context = browser.new_context(base_url=live_server.url, locale="en-US",
                                  java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"/people/{person.pk}/")

        page.get_by_role("link", name="Add an identity document").click()

        expect(page).to_have_url(re.compile(rf"/people/{person.pk}/documents/$"))
        expect(page.get_by_role("heading", name="Add an identity document")).to_be_visible()
        page.get_by_role("button", name="Add document").click()  # no number
        expect(page.locator("#id_document_number_error")).to_have_text("This field is required.")
        page.fill("#id_document_number", "C0771234")
        page.get_by_role("button", name="Add document").click()
        expect(page).to_have_url(re.compile(rf"/people/{person.pk}/$"))
        expect(page.locator("#identity-documents")).to_contain_text("•••• 1234")
        expect(page.locator("#identity-documents")).not_to_contain_text("C0771234")
    finally:
        context.close()
