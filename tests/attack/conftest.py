"""A real server on loopback and real sessions: logged in through the login form over HTTP.

The live server is pytest-django's (as for the browser tests), on the test database.
The login lockout counts every failed login from 127.0.0.1; sqlmap fails many on purpose,
so its limits are raised for these tests (docs/architecture.md#an-attackers-view).
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import pytest

PASSWORD = "pw-for-tests-only"  # tests/conftest.py's make_user


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


@dataclass
class Answer:
    status: int
    location: str
    body: bytes


@dataclass
class Browser:
    """A session of its own (cookies) against the live server; redirects are not followed."""

    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def __post_init__(self) -> None:
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  _NoRedirect())

    def cookie(self, name: str) -> str:
        return next((c.value or "" for c in self.jar if c.name == name), "")

    def request(self, method: str, path: str, data: dict | None = None) -> Answer:
        body = None
        if method == "POST":
            body = urllib.parse.urlencode(
                {**(data or {}), "csrfmiddlewaretoken": self.cookie("csrftoken")},
                doseq=True).encode()
        req = urllib.request.Request(self.base + path, data=body, method=method)  # noqa: S310
        try:
            with self.opener.open(req, timeout=60) as response:
                return Answer(response.status, response.headers.get("Location", ""),
                              response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers.get("Location", ""), error.read())

    def login(self, username: str, password: str = PASSWORD) -> None:
        self.request("GET", "/login/")  # the CSRF cookie
        answer = self.request("POST", "/login/", {"username": username, "password": password})
        assert answer.status == 302, f"login of {username}: {answer.status}"
        assert self.cookie("sessionid"), f"login of {username}: no session cookie"

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


@pytest.fixture
def no_lockout(settings):
    """Failed logins of the attack (sqlmap on the login form) do not lock the suite out."""
    settings.AMPARO_LOGIN_MAX_FAILURES = 10**6
    settings.AMPARO_LOGIN_ADDRESS_MAX_FAILURES = 10**6
    settings.AMPARO_LOGIN_USER_MAX_FAILURES = 10**6


@pytest.fixture
def browse(live_server, no_lockout, request):
    """browse(actor) is a new session over HTTP, logged in as that fixture's user (or not)."""

    def make(actor: str = "anonymous") -> Browser:
        browser = Browser(live_server.url)
        if actor == "anonymous":
            browser.request("GET", "/login/")  # the CSRF cookie
        else:
            browser.login(request.getfixturevalue(actor).username)
        return browser

    return make


def text_of(body: bytes) -> str:
    return re.sub(r"\s+", " ", body.decode("utf-8", "replace"))
