"""The Content-Security-Policy in a real browser: the pages break none of it, and an injected
inline handler does not run."""

import pytest

from tests.browser.conftest import csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("lang", ["en"])
def test_the_pages_keep_to_the_policy_and_an_injected_handler_is_blocked(new_page, staff, login, t, case):
    page = new_page()
    violations = csp_violations(page)
    login(page, staff["supervisor"])
    for url in ["/", "/cases/", f"/cases/{case.pk}/", "/people/new/", "/imports/",
                f"/people/{case.principal_id}/", "/notifications/", "/people/duplicates/"]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
    assert violations == []

    page.set_viewport_size({"width": 390, "height": 800})  # the menu button: Bootstrap's script
    page.locator(".navbar-toggler").click()
    with page.expect_navigation():
        page.select_option("#language-select", "es")  # amparo.js submits the form
    assert page.locator("html").get_attribute("lang") == "es"
    assert violations == []

    page.evaluate("""() => { const d = document.createElement('div');
        d.innerHTML = '<img src="/static/amparo.css?x" onerror="window.injected = 1">';
        document.body.appendChild(d); }""")
    page.wait_for_timeout(300)
    assert page.evaluate("window.injected") is None
    assert any("inline event handler" in v for v in violations)


@pytest.mark.parametrize("lang", ["en"])
def test_the_import_progress_bar_is_drawn_without_inline_style(new_page, staff, login, t, office):
    from cases.models import ImportJob, ImportStatus

    job = ImportJob.objects.create(office=office, created_by=staff["supervisor"],
                                   status=ImportStatus.VALIDATING, total=200, processed=50)
    page = new_page()
    violations = csp_violations(page)
    login(page, staff["supervisor"])
    page.goto(f"/imports/{job.pk}/")
    bar = page.locator(".progress-bar")
    ratio = bar.evaluate("e => e.getBoundingClientRect().width"
                         " / e.parentElement.getBoundingClientRect().width")
    assert 0.2 < ratio < 0.3
    assert violations == []
