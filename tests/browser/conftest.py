"""Playwright (sync API) driving Debian's chromium against pytest-django's live server.

Skips when /usr/bin/chromium is missing (install it with `apt-get install chromium`;
Playwright's own browser download is not used). On failure, a screenshot and the page's
HTML go to test-results/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

# Playwright's sync API keeps an event loop running in this thread; Django refuses ORM calls
# from a thread with a running loop unless told that this is intended.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path(os.environ.get("AMPARO_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RESULTS = Path(settings.BASE_DIR) / "test-results"
PASSWORD = "pw-for-tests-only"  # tests/conftest.py's make_user
# How far a page runs off the side of the window, in pixels (0: it fits).
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def csp_violations(page) -> list[str]:
    """The Content-Security-Policy refusals the page reports from now on (a live list)."""
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found

# The Spanish texts the browser tests rely on.
TEXT = {
    "en": {
        "Log in": "Log in", "Dashboard": "Dashboard", "Cases": "Cases", "People": "People",
        "Register a person": "Register a person", "Find a person": "Find a person",
        "Search": "Search", "My cases": "My cases", "Unassigned queue": "Unassigned queue",
        "Add note": "Add note", "Upload": "Upload", "Open case": "Open case",
        "Register": "Register", "required": "This field is required.",
    },
    "es": {
        "Log in": "Iniciar sesión", "Dashboard": "Panel", "Cases": "Casos", "People": "Personas",
        "Register a person": "Registrar a una persona", "Find a person": "Buscar a una persona",
        "Search": "Buscar", "My cases": "Mis casos", "Unassigned queue": "Casos sin asignar",
        "Add note": "Agregar nota", "Upload": "Subir", "Open case": "Abrir caso",
        "Register": "Registrar", "required": "Este campo es obligatorio.",
    },
}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def _catalogues() -> None:
    """Compile the Spanish catalogue when it is missing or stale (make test does it too)."""
    for po in Path(settings.BASE_DIR, "locale").glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            call_command("compile_catalogs", verbosity=0)
            from django.utils.translation import trans_real

            trans_real._translations = {}
            return


@pytest.fixture(scope="session")
def browser(_catalogues):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def upload_root(settings, tmp_path) -> Path:
    """Sealed uploads of this test go to its own directory (the live server sees it too)."""
    root = tmp_path / "files"
    root.mkdir()
    settings.AMPARO_FILE_ROOT = root
    return root


@pytest.fixture
def new_page(browser, live_server, request):
    """new_page() opens a page in a fresh browser context (its own cookies) on the live server."""
    contexts = []

    def make():
        # A desktop screen: the navbar collapses below 1400 px (phone and laptop tests set
        # their own size).
        context = browser.new_context(base_url=live_server.url, locale="en-US",
                                      accept_downloads=True, viewport={"width": 1440, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        RESULTS.mkdir(exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        for n, context in enumerate(contexts):
            for m, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(RESULTS / f"{stem}-{n}{m}.png"), full_page=True)
                    (RESULTS / f"{stem}-{n}{m}.html").write_text(page.content())
                except Exception as exc:  # the page may be gone; the failure matters more
                    print(f"no screenshot of {page.url}: {exc}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(params=["en", "es"])
def lang(request) -> str:
    return request.param


@pytest.fixture
def t(lang) -> dict[str, str]:
    return TEXT[lang]


@pytest.fixture
def login(lang, t):
    """Log in through the form; in Spanish, switch with the navbar's selector first."""

    def do(page, user) -> None:
        page.goto("/login/")
        if lang != "en":
            with page.expect_navigation():
                page.select_option("#language-select", lang)
        page.get_by_role("heading", name=t["Log in"]).wait_for()
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name=t["Log in"]).click()

    return do


@pytest.fixture
def staff(make_user, office, other_office, lang) -> Iterator[dict]:
    from cases.models import Role

    def make(role, where=office):
        return make_user(role, where, preferred_language=lang)

    yield {
        "caseworker": make(Role.CASEWORKER),
        "caseworker2": make(Role.CASEWORKER),
        "supervisor": make(Role.SUPERVISOR),
        "auditor": make(Role.AUDITOR),
        "other_caseworker": make(Role.CASEWORKER, other_office),
    }
