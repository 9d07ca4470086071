import datetime
import re

import pytest
from playwright.sync_api import expect

from cases import services
from cases.models import Person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def field(page, field_id: str):
    """The block of one form field: its label, input and the error beside it."""
    return page.locator(".form-field", has=page.locator(f"#{field_id}"))


def test_registration_shows_errors_beside_the_fields_then_saves(page, staff, login, t):
    login(page, staff["caseworker"])
    page.locator("nav").get_by_role("link", name=t["Register a person"]).click()
    expect(page.get_by_role("heading", name=t["Register a person"])).to_be_visible()

    # Half-filled: no family names, a phone number that is no phone number.
    page.fill("#id_given_names", "Yesenia Marisol")
    page.fill("#id_phone", "12")
    page.get_by_role("button", name=t["Register"], exact=True).click()

    family = field(page, "id_family_names")
    expect(family.locator(".invalid-feedback")).to_have_text(t["required"])
    expect(page.locator("#id_family_names")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_family_names")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(field(page, "id_phone").locator(".invalid-feedback")).to_be_visible()
    for valid in ("id_office", "id_given_names", "id_sex"):
        expect(field(page, valid).locator(".invalid-feedback")).to_have_count(0)
    expect(page.locator("#id_given_names")).to_have_value("Yesenia Marisol")  # nothing lost
    expect(page.locator("#person-form .alert-danger")).to_be_visible()
    assert Person.objects.count() == 0

    page.fill("#id_family_names", "Alvarado Núñez")
    page.fill("#id_phone", "+501 622 1234")
    page.fill("#id_date_of_birth", "1994-02-11")
    page.select_option("#id_sex", "female")
    page.select_option("#id_nationalities", ["HN"])
    page.select_option("#id_languages", ["es", "en"])
    page.select_option("#id_document_type", "passport")
    page.fill("#id_document_number", "F4412098")
    page.select_option("#id_document_country", "HN")
    page.get_by_label(re.compile("woman at risk|mujer en riesgo", re.I)).check()
    page.get_by_role("button", name=t["Register"], exact=True).click()

    expect(page).to_have_url(re.compile(r"/people/[0-9a-f-]{36}/$"))
    expect(page.locator("#person-name")).to_have_text("Yesenia Marisol Alvarado Núñez")
    expect(page.locator("#identity-documents")).to_contain_text("•••• 2098")  # masked until asked
    person = Person.objects.get()
    assert page.url.endswith(f"/people/{person.pk}/")
    assert person.office == staff["caseworker"].memberships.get().office
    assert person.phone == "+5016221234"
    assert person.date_of_birth == datetime.date(1994, 2, 11)
    assert person.specific_needs == ["woman_at_risk"]
    assert person.documents.get().number == "F4412098"


@pytest.fixture
def registered(staff, office, person_data):
    clerk = staff["caseworker"]
    return {
        "majo": services.register_person(by=clerk, office=office, data=person_data()),
        "other": services.register_person(by=clerk, office=office, data=person_data(
            given_names="Kevin Alexander", family_names="Martínez López",
            date_of_birth=datetime.date(2001, 11, 30), aliases=[],
            documents=[services.IdentityDocumentData("national_id", "0801-2001-04471", "HN")],
        )),
        "namesake": services.register_person(by=clerk, office=office, data=person_data(
            given_names="José", family_names="Núñez Pérez",
            date_of_birth=datetime.date(1990, 5, 3), aliases=[], documents=[],
        )),
    }


def search(page, t, *, name="", document="", dob=""):
    page.goto("/people/")
    expect(page.get_by_role("heading", name=t["Find a person"])).to_be_visible()
    page.fill("#id_name", name)
    page.fill("#id_document", document)
    page.fill("#id_date_of_birth", dob)
    page.get_by_role("button", name=t["Search"], exact=True).click()
    page.locator("#results-heading").wait_for()
    return page.locator("#people tbody tr")


def test_search_by_name_document_and_date_of_birth(page, staff, registered, login, t):
    login(page, staff["caseworker"])
    page.locator("nav").get_by_role("link", name=t["People"], exact=True).click()
    expect(page.get_by_role("heading", name=t["Find a person"])).to_be_visible()

    rows = search(page, t, name="nunez perez")  # no accents, any case
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="María José Núñez Pérez")).to_have_count(1)
    expect(rows.filter(has_text="José Núñez Pérez")).to_have_count(2)

    rows = search(page, t, document="0801 2001 04471")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Kevin Alexander Martínez López")
    rows.first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(f"/people/{registered['other'].pk}/$"))

    rows = search(page, t, dob="1990-05-03")
    expect(rows).to_have_count(2)
    expect(rows).not_to_contain_text(["Kevin"])

    rows = search(page, t, name="María", dob="1990-05-03")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link")).to_have_attribute(
        "href", f"/people/{registered['majo'].pk}/"
    )

    rows = search(page, t, document="A999999")
    expect(rows).to_have_count(0)
    # The search terms were posted, never put in the address.
    assert "A999999" not in page.url


def test_people_of_another_office_are_not_found(page, staff, registered, login, t):
    login(page, staff["other_caseworker"])
    rows = search(page, t, name="nunez")
    expect(rows).to_have_count(0)
    response = page.goto(f"/people/{registered['majo'].pk}/")
    assert response.status == 404
