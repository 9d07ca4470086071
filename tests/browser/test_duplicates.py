"""A second registration of one person, reported to the supervisor, linked on a phone."""

import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from cases import services
from cases.models import DuplicateStatus, PossibleDuplicate
from tests.browser.conftest import OVERFLOW

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def test_a_hidden_duplicate_reaches_the_supervisor_who_links_it(new_page, staff, login, t, lang,
                                                                  person_data, office):
    first = services.register_person(by=staff["caseworker"], office=office, data=person_data())
    services.open_case(by=staff["caseworker"], person=first, kind="asylum")
    with translation.override(lang):
        told = translation.gettext("Another record of this office may be the same person. A "
                                   "supervisor will review the two records.")
        link = translation.gettext("Same person: link the records")
        card = translation.gettext("Possible duplicates to review")

    page = new_page()
    login(page, staff["caseworker2"])
    page.goto("/people/new/")
    page.fill("#id_given_names", "María José")
    page.fill("#id_family_names", "Núñez Pérez")
    page.fill("#id_date_of_birth", "1990-05-03")
    page.select_option("#id_sex", "female")
    page.get_by_role("button", name=t["Register"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/people/[0-9a-f-]{36}/$"))
    expect(page.locator(".alert").filter(has_text=told)).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Majo")  # nothing of the other record

    phone = new_page()
    phone.set_viewport_size({"width": 390, "height": 800})
    login(phone, staff["supervisor"])
    expect(phone.locator("#card-duplicates")).to_contain_text(card)
    phone.locator("#card-duplicates").click()
    expect(phone.locator(".duplicate-pair")).to_have_count(1)
    assert phone.evaluate(OVERFLOW) <= 1, "the queue runs off the side"
    phone.get_by_role("button", name=link).click()
    expect(phone.locator("#no-duplicates")).to_be_visible()
    assert PossibleDuplicate.objects.get().status == DuplicateStatus.LINKED
