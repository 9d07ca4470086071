"""The bell: a case assigned by a supervisor shows as an unread notification; clicking the
bell lists it, opening it goes to the case and the count is gone. On a phone the bell stays
in the top bar, outside the folded menu."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from cases import services
from cases.models import Notification
from tests.browser.conftest import OVERFLOW

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def assigned_case(staff, office, person_data):
    person = services.register_person(by=staff["supervisor"], office=office, data=person_data())
    case = services.open_case(by=staff["supervisor"], person=person, kind="asylum",
                              assign_to_me=False)
    services.assign_case(by=staff["supervisor"], case=case, assignee=staff["caseworker"],
                         reason="Workload")
    return case


@pytest.mark.parametrize("width", [390, 1440])
def test_click_the_bell_and_open_the_case(page, staff, login, assigned_case, width):
    page.set_viewport_size({"width": width, "height": 800})
    login(page, staff["caseworker"])

    bell = page.locator("#bell")
    expect(bell).to_be_visible()  # also on a phone, without opening the menu
    expect(page.locator("#bell-count")).to_have_text("1")
    bell.click()

    expect(page).to_have_url(re.compile(r"/notifications/$"))
    item = page.locator("#notifications li").first
    expect(item).to_contain_text(assigned_case.reference)
    expect(item).to_have_attribute("data-unread", "1")
    assert item.evaluate("e => Number(getComputedStyle(e).fontWeight)") >= 700  # unread: bold
    assert page.evaluate(OVERFLOW) <= 1, f"the list at {width} px runs off the side"

    item.get_by_role("link").click()

    expect(page).to_have_url(re.compile(rf"/cases/{assigned_case.pk}/$"))
    expect(page.locator("#case-reference")).to_contain_text(assigned_case.reference)
    expect(page.locator("#bell-count")).to_have_count(0)
    assert Notification.objects.get().read_at is not None
