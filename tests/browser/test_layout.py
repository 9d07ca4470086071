"""Screens on a phone (390 px) and a laptop (1280 px), in Spanish: nothing runs off the side,
and the navbar folds behind its menu button."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from cases import services as case_services
from rsd import services
from tests.browser.conftest import OVERFLOW

WIDTHS = [390, 1280]


@pytest.fixture
def registered_case(staff, office, person_data):
    caseworker = staff["caseworker"]
    person = case_services.register_person(by=caseworker, office=office, data=person_data(
        given_names="María de los Ángeles", family_names="Hernández Villatoro"))
    case = case_services.open_case(by=caseworker, person=person, kind="asylum")
    today = timezone.localdate()
    services.record_application(by=caseworker, case=case, data=services.ApplicationData(
        application_date=today, arrival_date=today - datetime.timedelta(days=3), channel="office",
        claim_summary="Amenazada por una pandilla."))
    return case


@pytest.mark.parametrize("lang", ["es"])
@pytest.mark.parametrize("width", WIDTHS)
def test_the_dashboard_case_page_and_a_step_form_fit_the_screen(page, staff, login, t, width,
                                                               registered_case):
    page.set_viewport_size({"width": width, "height": 800})
    login(page, staff["caseworker"])
    pages = {
        "dashboard": reverse("dashboard"),
        "case": reverse("case_detail", args=[registered_case.pk]),
        "step": reverse("rsd:step", kwargs={"case_id": registered_case.pk,
                                            "name": "schedule_interview"}),
    }
    for name, url in pages.items():
        page.goto(url)
        expect(page.locator("main")).to_be_visible()
        assert page.evaluate(OVERFLOW) <= 1, f"{name} at {width} px runs off the side"
    page.goto(pages["case"])
    reference = page.locator("#case-reference")
    height = reference.evaluate("e => e.getBoundingClientRect().height")
    line = reference.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    assert height < 2 * line + 1, "the reference wraps"


@pytest.mark.parametrize("lang", ["es"])
def test_on_a_phone_the_navbar_folds_behind_the_menu_button(page, staff, login, t):
    page.set_viewport_size({"width": 390, "height": 800})
    login(page, staff["caseworker"])
    cases_link = page.locator("nav").get_by_role("link", name=t["Cases"], exact=True)
    expect(cases_link).to_be_hidden()
    expect(page.locator("#language-select")).to_be_visible()
    page.get_by_role("button", name="Menú").click()
    expect(cases_link).to_be_visible()
    cases_link.click()
    expect(page).to_have_url(f"{page.url.split('/cases')[0].rstrip('/')}/cases/")
