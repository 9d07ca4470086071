"""Security keys in a real browser: Chromium's virtual authenticator (DevTools protocol) plays
the key against the live server on localhost (browsers refuse keys on 127.0.0.1). An auditor
adds a key, logs in again with it, confirms an export with it, removes it; a caseworker of
another account holding a copy of it cannot use it; nothing breaks the CSP on the way."""

import re
import time

import pytest
from playwright.sync_api import expect

from audit.models import AuditEvent
from cases import two_factor
from cases.models import WebAuthnDevice
from cases.session_store import SessionStore
from tests.browser.conftest import PASSWORD, csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AUTHENTICATOR = {"protocol": "ctap2", "transport": "usb", "hasResidentKey": True,
                 "hasUserVerification": True, "isUserVerified": True}


def virtual_key(page) -> tuple[object, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return cdp, found["authenticatorId"]


def log_in(page, user) -> None:
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def log_out(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()


def add_key(page, name: str) -> None:
    page.goto("/two-factor/keys/add/")
    page.fill("#id_name", name)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.locator("#key-add").click()
    expect(page.locator("#security-keys")).to_contain_text(name)


def age_the_code(page, minutes: int) -> None:
    """As if the key had been used `minutes` ago in this browser's session."""
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    session = SessionStore(cookie["value"])
    session[two_factor.VERIFIED_AT] = int(time.time()) - minutes * 60
    session.save()


@pytest.fixture
def on_localhost(live_server):
    assert live_server.url.startswith("http://localhost:"), live_server.url


@pytest.mark.parametrize("lang", ["en"])
def test_an_auditor_adds_a_key_logs_in_and_confirms_an_export_with_it(
        on_localhost, new_page, staff):
    auditor = staff["auditor"]
    page = new_page()
    violations = csp_violations(page)
    cdp, authenticator = virtual_key(page)
    log_in(page, auditor)

    add_key(page, "Blue key")
    device = WebAuthnDevice.objects.get(user=auditor)
    assert device.transports == ["usb"]

    log_out(page)
    log_in(page, auditor)
    expect(page).to_have_url(re.compile(r"/two-factor/verify/\?next=%2F$"))
    expect(page.locator("#verify-form")).to_have_count(0)  # a key, no app: no code form
    with page.expect_navigation():
        page.get_by_role("button", name="Use your security key").click()
    expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()
    device.refresh_from_db()
    assert device.sign_count >= 1 and device.last_used_at is not None

    age_the_code(page, minutes=11)
    page.goto("/audit/export/")
    expect(page.locator("#step-up")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Use your security key").click()
    assert download.value.suggested_filename.endswith(".csv")
    assert AuditEvent.objects.filter(action="two_factor.verify", details__step_up=True,
                                     details__method="security_key").exists()

    page.goto("/two-factor/manage/")
    page.get_by_label("Your password, to remove the key Blue key").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Remove the key Blue key").click()
    expect(page.locator("#no-security-keys")).to_be_visible()
    assert not WebAuthnDevice.objects.filter(user=auditor).exists()
    log_out(page)
    log_in(page, auditor)
    expect(page).to_have_url(re.compile(r"/$"))  # nothing left to ask for
    assert cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    page.wait_for_load_state("networkidle")
    assert violations == []


@pytest.mark.parametrize("lang", ["en"])
def test_a_copy_of_someone_elses_key_does_not_let_a_caseworker_in(on_localhost, new_page, staff):
    owner, other = staff["caseworker"], staff["other_caseworker"]
    page = new_page()
    cdp, authenticator = virtual_key(page)
    log_in(page, owner)
    add_key(page, "Owner's key")
    theirs = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]

    thief = new_page()
    thief_cdp, thief_authenticator = virtual_key(thief)
    log_in(thief, other)
    add_key(thief, "Own key")
    thief_cdp.send("WebAuthn.clearCredentials", {"authenticatorId": thief_authenticator})
    for credential in theirs:
        thief_cdp.send("WebAuthn.addCredential", {"authenticatorId": thief_authenticator,
                                                  "credential": credential})
    log_out(thief)
    log_in(thief, other)
    thief.get_by_role("button", name="Use your security key").click()

    expect(thief.locator("#key-status")).to_contain_text("did not answer")
    expect(thief).to_have_url(re.compile(r"/two-factor/verify/"))
    thief.goto("/")
    expect(thief).to_have_url(re.compile(r"/two-factor/verify/"))
    assert not AuditEvent.objects.filter(action="two_factor.verify", actor=other).exists()
