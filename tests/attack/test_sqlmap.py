"""sqlmap against every query parameter and form field of a running server, with real sessions.

Each page is attacked as the first role that reaches it (the permission walk's table), logged
in through the login form; its parameters come from tests/test_fuzz.py's discovery (the
view's source and its forms) plus the walk's POST data. A test-only page open to injection
(tests/attack/urls.py) proves that the same options find an injection when there is one.
Options and why: docs/architecture.md#an-attackers-view.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from cases import transfers
from tests.cases.test_permission_walk import (
    EXPECTED,
    _partner,
    _post_data,
    scenario_objects,  # noqa: F401  (a fixture)
    walk_url,
)
from tests.test_fuzz import EXTRA_FIELDS, URLS, _reaching, parameters

pytestmark = [pytest.mark.attack, pytest.mark.usefixtures("file_root")]

SQLMAP = Path(sys.executable).with_name("sqlmap")
# Boolean-blind, error-based and UNION; time-based (T) and stacked queries (S, detected by
# delays too) would wait seconds per payload per parameter. Level and risk 1: the payloads
# that cannot change data. The DBMS is the test database's, so no other engine's payloads.
OPTIONS = ["--batch", "--level=1", "--risk=1", "--technique=B",
           "--drop-set-cookie", "--flush-session", "--disable-coloring", "--timeout=60",
           "--retries=1", "--skip-waf", "--answers=keep testing=Y"]
# Pages whose every accepted POST makes something new and redirects to it: the page after the
# redirect differs each time whatever was sent, so the answer is compared by its status code.
BY_STATUS = {"case_open": ["--ignore-redirects", "--code=302"]}
# Pages whose answer to the attack would end the session it uses, or start another.
OWN_SESSION = {"logout", "login"}



def _parallel() -> int:
    """sqlmap runs at once. Two: while one waits for the server, the other starts, sleeps
    through its stability check or compares pages. On SQLite too: its writers queue behind
    each other (IMMEDIATE transactions, a 20 s timeout), they do not fail."""
    return 2
# sqlmap's verdict; "appears to be ... injectable" alone is a candidate it then checks.
FLAGGED = re.compile(r"identified the following injection point|parameter '[^']+' is vulnerable")
# ... and its last check: a real injection answers the test database's own queries. A page
# whose answers change by themselves (a POST that opens a new case each time) can pass the
# boolean comparison, then fail this one: sqlmap says it cannot tell the database.
UNCONFIRMED = "was not able to fingerprint the back-end database management system"
# Pages that change who sees what (the case's assignee, a request's answer, a membership):
# attacked one after the other at the end, the one that takes the case away last.
LAST = ["subject_request_answer", "duplicate_review", "rsd:coi_retire", "case_take",
        "membership_revoke", "staff_account", "logout", "login", "case_assign"]


def _dbms() -> str:
    return "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"


def sqlmap(url: str, params: list[str], out: Path, *, cookie: str = "",
           data: dict | None = None, extra: list[str] | None = None) -> str:
    """sqlmap's console output for one page; only `params` are attacked."""
    command = [str(SQLMAP), "-u", url, "-p", ",".join(params), f"--output-dir={out}",
               f"--dbms={_dbms()}", *OPTIONS, *(extra or [])]
    if cookie:
        command.append(f"--cookie={cookie}")
    if data is not None:
        command.append("--data=" + urllib.parse.urlencode(data, doseq=True))
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return done.stdout + done.stderr


def _tested(output: str, place: str, param: str) -> bool:
    """sqlmap went through its tests for the parameter (and did not skip it)."""
    return (f"{place} parameter '{param}' does not seem to be injectable" in output
            or f"{place} parameter '{param}' is vulnerable" in output)


def _skip_unless_sqlmap() -> None:
    if not SQLMAP.exists():
        pytest.skip(f"sqlmap is absent ({SQLMAP}): install the test extra (pip install -e .[test])")


def _targets() -> list[tuple[str, str, str, list[str], dict]]:
    """(name, method, actor, parameters, base data) for every page and method with any."""
    out = []
    for name in URLS:
        query, fields = parameters(name)
        for method in [m for (n, m) in EXPECTED if n == name]:
            actors = _reaching(name, method)
            if not actors:
                continue
            names = query if method == "GET" else sorted(
                {*fields, *query, *EXTRA_FIELDS.get(name, [])})
            if names:
                out.append((name, method, actors[0], names, {}))
    return out


def test_the_attack_covers_many_parameters():
    targets = _targets()
    count = sum(len(t[3]) for t in targets)
    # 75 pages (82 with their methods) and 345 parameters when last counted: the attack
    # should only grow.
    assert len({t[0] for t in targets}) >= 70, targets
    assert count >= 320, count
    assert {"caseworker", "supervisor", "auditor", "office_admin"} <= {t[2] for t in targets}


@pytest.mark.parametrize("scenario_objects", ["assigned"], indirect=True)
def test_sqlmap_finds_no_injection(browse, live_server, tmp_path, scenario_objects,  # noqa: F811
                                   office, caseworker, caseworker2, supervisor, auditor,
                                   office_admin, system_admin):
    _skip_unless_sqlmap()
    _scenario, objects = scenario_objects
    sessions: dict[str, str] = {}

    def attack(target) -> tuple[str, str]:
        name, method, actor, names, _base = target
        url = walk_url(name, objects)
        cookie = own_sessions[name] if name in OWN_SESSION else sessions[actor]
        token = dict(p.split("=", 1) for p in cookie.split("; ") if p).get("csrftoken", "")
        if method == "GET":
            values = {**dict.fromkeys(names, "1"), **GET_VALUES.get(name, {})}
            output = sqlmap(live_server.url + url + "?" + urllib.parse.urlencode(values),
                            names, tmp_path / name, cookie=cookie)
        else:
            base = {k: v for k, v in _post_data(name, office, caseworker2, caseworker).items()
                    if isinstance(v, (str, int))}
            data = {**dict.fromkeys(names, "1"), **base, "csrfmiddlewaretoken": token}
            output = sqlmap(live_server.url + url, names, tmp_path / f"{name}-post",
                            cookie=cookie, data=data, extra=BY_STATUS.get(name))
        return f"{actor} {method} {url}", output

    # A query parameter that must name a real object for the page to answer at all.
    entry = transfers.record_transfer(by=supervisor, office=office,
                                      transferred_on=timezone.localdate(), channel="paper",
                                      categories="case file", purpose="Attacked",
                                      to_organisation=_partner(), agreement="MoU-1")
    # Pages whose parameter must name something real for the page to answer at all.
    GET_VALUES = {"transfer_new": {"corrects": str(entry.pk)},
                  "office_queue": {"list": "messages"}, "regional_inquiries": {"list": "sent"}}
    targets = _targets()
    started = time.monotonic()
    for actor in {t[2] for t in targets}:
        sessions[actor] = browse(actor).cookie_header()
    own_sessions = {t[0]: browse(t[2]).cookie_header() for t in targets if t[0] in OWN_SESSION}
    targets.sort(key=lambda t: LAST.index(t[0]) + 1 if t[0] in LAST else 0)
    first = [t for t in targets if t[0] not in LAST]
    with ThreadPoolExecutor(_parallel()) as pool:
        results = list(pool.map(attack, first))
    results += [attack(t) for t in targets[len(first):]]
    problems = []
    for (_name, method, _actor, names, _base), (where, output) in zip(targets, results, strict=True):
        if FLAGGED.search(output) and UNCONFIRMED not in output:
            problems.append(f"{where}: sqlmap found an injection\n{output[-3000:]}")
        place = "GET" if method == "GET" else "POST"
        untested = [p for p in names if not _tested(output, place, p)]
        if untested:
            problems.append(f"{where}: not tested {untested}\n{output[-2000:]}")
    print(f"sqlmap: {len(targets)} pages, {sum(len(t[3]) for t in targets)} parameters, "
          f"{time.monotonic() - started:.0f} s")
    assert problems == [], "\n\n".join(problems)


def test_sqlmap_finds_the_injection_planted_for_the_test(settings, live_server, tmp_path, office,
                                                         browse):
    """The same options find a real injection: else the test above would prove nothing."""
    _skip_unless_sqlmap()
    settings.ROOT_URLCONF = "tests.attack.urls"
    cookie = browse().cookie_header()

    output = sqlmap(f"{live_server.url}/attack-test/injectable/?code=BZ-BMP", ["code"],
                    tmp_path / "planted", cookie=cookie)

    assert FLAGGED.search(output), output[-3000:]
    assert "GET parameter 'code' is vulnerable" in output, output[-3000:]
    assert UNCONFIRMED not in output, output[-3000:]  # confirmed against the database
