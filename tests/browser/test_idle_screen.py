"""A page left open gives way to the login page once the session has ended, so that what it
showed does not stay on an unattended office screen (static/amparo.js)."""

from __future__ import annotations

import re

from tests.browser.conftest import PASSWORD


def test_an_open_page_clears_itself_after_the_idle_timeout(page, settings, caseworker, case):
    settings.AMPARO_SESSION_IDLE_MINUTES = 0.05  # 3 seconds
    page.goto("/login/")
    page.fill("#id_username", caseworker.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    page.goto(f"/cases/{case.pk}/")
    page.get_by_text(case.reference).first.wait_for()

    page.wait_for_url(re.compile(r"/login/\?next="), timeout=15_000)

    assert f"next=%2Fcases%2F{case.pk}%2F" in page.url
    assert case.reference not in page.content()
    page.locator(".alert-info", has_text="0.05").wait_for()  # why, in the staff member's language
