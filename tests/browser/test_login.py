import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, TEXT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_stylesheets_and_scripts_load_from_the_server(page):
    static = []
    page.on("response", lambda r: static.append((r.url, r.status)) if "/static/" in r.url else None)

    page.goto("/login/")
    page.wait_for_load_state("networkidle")

    assert any(url.endswith("bootstrap/css/bootstrap.min.css") for url, _ in static), static
    assert [s for s in static if s[1] != 200] == []
    # Bootstrap's own colour for a primary button: the stylesheet is applied, not just fetched.
    button = page.locator("button.btn-primary")
    expect(button).to_have_css("background-color", "rgb(13, 110, 253)")


def test_wrong_password_shows_the_error_and_keeps_the_user_out(page, staff, lang, t):
    page.goto("/login/")
    if lang != "en":
        with page.expect_navigation():
            page.select_option("#language-select", lang)
    expect(page.get_by_role("heading", name=t["Log in"])).to_be_visible()
    page.fill("#id_username", staff["caseworker"].username)
    page.fill("#id_password", "not-the-password")
    page.get_by_role("button", name=t["Log in"]).click()

    expect(page.locator(".alert-danger")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.locator("#id_username")).to_have_value(staff["caseworker"].username)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("caseworker", ["#my-cases", "#queue"], ["#workload", "#audit-summary"]),
        ("supervisor", ["#my-cases", "#queue", "#workload"], ["#audit-summary"]),
        ("auditor", ["#audit-summary", "#audit-chain"], ["#my-cases", "#workload"]),
    ],
)
def test_right_password_lands_on_the_dashboard_of_the_role(page, staff, login, t, role, shown,
                                                           hidden):
    login(page, staff[role])

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("nav")).to_contain_text(t["Dashboard"])
    expect(page.locator("#whoami")).to_have_text(str(staff[role]))
    for selector in shown:
        expect(page.locator(selector)).to_be_visible()
    for selector in hidden:
        expect(page.locator(selector)).to_have_count(0)
    if role == "caseworker":
        expect(page.locator("#my-cases h2")).to_have_text(t["My cases"])
        expect(page.locator("#queue h2")).to_contain_text(t["Unassigned queue"])
        nav = page.locator("nav")
        for label in ("Cases", "People", "Register a person"):
            expect(nav.get_by_role("link", name=t[label], exact=True)).to_be_visible()
    if role == "auditor":
        expect(page.locator("nav")).not_to_contain_text(t["Register a person"])


def test_the_navbar_selector_switches_a_logged_in_user_to_spanish_and_back(page, make_user,
                                                                           office):
    user = make_user("caseworker", office, preferred_language="en")
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    page.goto("/people/")
    expect(page.get_by_role("heading", name="Find a person")).to_be_visible()

    with page.expect_navigation():
        page.select_option("#language-select", "es")

    es = TEXT["es"]
    expect(page).to_have_url(re.compile(r"/people/$"))  # stays on the same page
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name=es["Find a person"])).to_be_visible()
    nav = page.locator("nav")
    for label in ("Dashboard", "Cases", "People", "Register a person"):
        expect(nav.get_by_role("link", name=es[label], exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=es["Search"])).to_be_visible()

    with page.expect_navigation():
        page.select_option("#language-select", "en")
    expect(page.get_by_role("heading", name="Find a person")).to_be_visible()
