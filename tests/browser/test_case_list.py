"""The case list's filters on a phone (390 px): folded behind their button, picked by label,
kept after the list is shown again, and nothing runs off the side."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases import services as case_services
from rsd import services
from tests.browser.conftest import OVERFLOW

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def two_cases(staff, office, person_data):
    """One case with its interview scheduled, one only registered (the Belize procedure)."""
    caseworker = staff["caseworker"]
    today = timezone.localdate()
    made = []
    for given in ("María de los Ángeles", "Josefina"):
        person = case_services.register_person(by=caseworker, office=office, data=person_data(
            given_names=given, family_names="Hernández Villatoro"))
        case = case_services.open_case(by=caseworker, person=person, kind="asylum")
        services.record_application(by=caseworker, case=case, data=services.ApplicationData(
            application_date=today, arrival_date=today - datetime.timedelta(days=3),
            channel="office", claim_summary="Amenazada por una pandilla."))
        made.append(case)
    case = type(made[0]).objects.get(pk=made[0].pk)
    services.schedule_interview(by=caseworker, case=case, place="Belmopan", interviewer=caseworker,
                                when=timezone.now() + datetime.timedelta(days=2))
    return made


def unfold(page, filters):
    """Opens the folded filters and waits for the end of the slide: clicked while it
    slides, a link inside is still clipped and the click can land on the table."""
    page.locator("#filters-toggle").click()
    expect(filters).to_have_class(re.compile(r"(^|\s)show(\s|$)"))


@pytest.mark.parametrize("lang", ["es"])
def test_filtering_by_state_on_a_phone(page, staff, login, two_cases):
    scheduled, registered = two_cases
    page.set_viewport_size({"width": 390, "height": 800})
    login(page, staff["supervisor"])
    page.goto("/cases/?show=all")
    rows = page.locator("table.table-cases tbody tr")
    expect(rows).to_have_count(2)
    filters = page.locator("#case-filters")
    expect(filters).to_be_hidden()  # folded on a phone
    assert page.evaluate(OVERFLOW) <= 1, "the list runs off the side"

    unfold(page, filters)
    expect(page.locator("#id_state")).to_be_visible()
    assert page.evaluate(OVERFLOW) <= 1, "the open filters run off the side"
    # Picked by its label, as people read it, not by its code.
    label = page.locator("#id_state option[value='interview_scheduled']").inner_text()
    page.locator("#id_state").select_option(label=label)
    with page.expect_navigation():
        filters.locator("button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"[?&]state=interview_scheduled(&|$)"))
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".reference")).to_have_text(scheduled.reference)
    expect(page.get_by_text(registered.reference)).to_have_count(0)
    expect(page.locator("#filters-toggle .badge")).to_have_text("1")
    expect(page.locator("#id_state")).to_have_value("interview_scheduled")
    assert page.evaluate(OVERFLOW) <= 1, "the filtered list runs off the side"

    # Clearing brings the other case back.
    unfold(page, filters)
    expect(page.locator("#clear-filters")).to_be_visible()
    with page.expect_navigation():
        page.locator("#clear-filters").click()
    expect(rows).to_have_count(2)
