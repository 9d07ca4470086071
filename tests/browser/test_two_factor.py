"""Two-factor authentication in a real browser: a supervisor sets up an app at the first login
(the code computed here from the key on the page, as an app would), keeps the backup codes and
reaches the dashboard; nothing breaks the Content-Security-Policy on the way."""

import base64
import re

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("lang", ["en"])
def test_a_supervisor_sets_up_an_app_at_the_first_login(new_page, settings, staff, login, t):
    settings.AMPARO_REQUIRE_2FA = True
    page = new_page()
    violations = csp_violations(page)

    login(page, staff["supervisor"])

    expect(page).to_have_url(re.compile(r"/two-factor/enrol/\?next=%2F$"))
    expect(page.locator("#qr svg.qr-code")).to_be_visible()
    expect(page.locator("#main-nav")).not_to_contain_text(t["Cases"])  # no menu before the code
    secret = page.locator("#secret").inner_text().replace(" ", "")
    code = f"{totp(base64.b32decode(secret)):06d}"
    page.fill("#id_code", code)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm").click()

    expect(page.locator("#enrolled")).to_be_visible()
    expect(page.locator("#backup-codes li")).to_have_count(10)
    with page.expect_navigation():
        page.locator("#continue").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#workload")).to_be_visible()
    expect(page.locator("nav")).to_contain_text(t["Cases"])
    page.wait_for_load_state("networkidle")
    assert violations == []
