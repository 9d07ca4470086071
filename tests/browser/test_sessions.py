"""Your sessions in a real browser: the same caseworker logged in on two computers; on one,
"End this session" for the other; the other's next click lands on the login page."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OFFICE_PC = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/120.0.0.0 Safari/537.36")


def log_in(page, user) -> None:
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/$"))


@pytest.mark.parametrize("lang", ["en"])
def test_one_browser_ends_the_others_session(browser, live_server, new_page, staff):
    caseworker = staff["caseworker"]
    office = browser.new_context(base_url=live_server.url, locale="en-US", user_agent=OFFICE_PC,
                                 viewport={"width": 1440, "height": 900})
    try:
        left_open = office.new_page()
        log_in(left_open, caseworker)
        here = new_page()
        violations = csp_violations(here)
        log_in(here, caseworker)

        with here.expect_navigation():
            here.locator("#nav-sessions").click()
        rows = here.locator("#sessions tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.filter(has=here.locator(".badge", has_text="This session"))).to_have_count(1)
        other = rows.filter(has_text="Chrome 120 · Windows 10")
        expect(other).to_have_count(1)
        with here.expect_navigation():
            other.get_by_role("button", name="End this session").click()

        expect(here.locator(".alert-success")).to_contain_text("The session was ended.")
        expect(rows).to_have_count(1)
        with left_open.expect_navigation():
            left_open.get_by_role("link", name="Cases", exact=True).first.click()
        expect(left_open).to_have_url(re.compile(r"/login/\?next=/cases/$"))
        expect(left_open.locator("#id_username")).to_be_visible()
        here.reload()
        expect(here.locator("#sessions tbody tr")).to_have_count(1)  # still logged in here
        assert violations == []
    finally:
        office.close()
