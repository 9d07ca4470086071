"""The permission walk through a real server: every URL, every role, own office and other.

The expectations are tests/cases/test_permission_walk.py's table; here each actor logs in
through the login form and every request goes over HTTP with that session's cookies and
CSRF token. GET requests and the POST requests that must be refused (403, 404, 405, or the
login page for anonymous) are walked: those change nothing, so one session and one set of
data serve the whole walk. POST requests that do change data (and would change what the
next request sees) are walked in-process, each rolled back, by the walk itself.
No answer to an actor of one office shows the other office's case reference or person.
"""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from cases import services
from tests.attack.conftest import text_of
from tests.cases.test_permission_walk import (
    ACTORS,
    ANON,
    EXPECTED,
    FOREIGN,
    REFERRED,
    _post_data,
    _relation,
    expected,
    referred,  # noqa: F401  (a fixture)
    scenario_objects,  # noqa: F401  (a fixture)
    share_with_referred,
    walk_url,
    walked_urls,
)

pytestmark = [pytest.mark.attack, pytest.mark.usefixtures("file_root")]

REFUSED = {403, 404, 405}
UNCHANGING = ("login", "logout", "set_language")  # their redirects are not to the login page
# Pages where the other office is told the walk's case reference, and nothing else of it:
# the case is offered to it (scenario_objects), so its supervisor's list of transfers to
# answer names the case; the walk's message thread is sent to it, so its staff's inbox and
# the thread name the case the message is about, as do their dashboard's and their office
# queue's lists of what waits for them from other offices.
TOLD_THE_REFERENCE = {
    "handover_list": {"other_supervisor"},
    "dashboard": {"other_caseworker", "other_supervisor"},
    "office_queue": {"other_caseworker", "other_supervisor"},
    "message_inbox": {"other_caseworker", "other_supervisor"},
    "message_thread": {"other_caseworker", "other_supervisor"},
}


def over_http(actor: str, scenario: str) -> bool:
    """Whether the HTTP walk of `scenario` walks `actor`. The queued case changes what the
    office's caseworkers are to it, and what the other office could be shown of it (a queue
    listed across offices); every other actor has the same relation to it and sees the same
    data in both scenarios, so their answers over HTTP are the assigned walk's, and their
    statuses for the queued case are checked by the walk in-process (test_permission_walk)."""
    if scenario == "assigned":
        return True
    relation = _relation(actor, scenario)
    return relation != _relation(actor, "assigned") or relation in (FOREIGN, REFERRED)


def test_the_queue_walk_over_http_keeps_who_it_changes():
    assert [a for a in ACTORS if over_http(a, "queue")] == [
        "caseworker", "caseworker2", "other_caseworker", "other_supervisor", "referred"]
    assert all(over_http(a, "assigned") for a in ACTORS)


@pytest.mark.parametrize("scenario_objects", ["assigned", "queue"], indirect=True)
def test_walk_over_http(browse, scenario_objects, referred,  # noqa: F811
                        office, other_office, caseworker, supervisor,
                        caseworker2, other_caseworker, person_data):
    scenario, objects = scenario_objects
    theirs = services.register_person(
        by=other_caseworker, office=other_office,
        data=person_data(given_names="Xiomara Itzel", family_names="Quispe Mamani",
                         documents=[]))
    their_case = services.open_case(by=other_caseworker, person=theirs, kind="asylum")
    secrets = {
        "ours": [objects["reference"], "Núñez Pérez", "María José"],
        "theirs": [their_case.reference, "Quispe Mamani", "Xiomara Itzel"],
    }
    login_url = reverse("login")
    mismatches: list[str] = []
    walked = 0
    share_with_referred(referred, objects, supervisor)
    started = time.monotonic()
    for actor in [a for a in ACTORS if over_http(a, scenario)]:
        relation = _relation(actor, scenario)
        session = browse(actor)
        # A referred caseworker of the other office sees both offices' cases.
        hidden = ({FOREIGN: secrets["ours"], REFERRED: []}).get(relation, secrets["theirs"])
        for name, _module in walked_urls():
            url = walk_url(name, objects)
            for method in [m for (n, m) in EXPECTED if n == name]:
                want = expected(name, method, actor, scenario)
                to_login = relation == ANON and want == 302 and name not in UNCHANGING
                if method == "POST" and not (want in REFUSED or to_login):
                    continue
                data = {}
                if method == "POST":
                    data = {k: v for k, v in _post_data(name, office, caseworker2,
                                                        caseworker).items()
                            if isinstance(v, (str, int))}
                answer = session.request(method, url, data)
                walked += 1
                where = f"{actor} {method} {url} ({name})"
                if answer.status != want:
                    mismatches.append(f"{where}: {answer.status}, want {want}")
                elif to_login and not answer.location.startswith(login_url):
                    mismatches.append(f"{where}: sent to {answer.location}, not the login page")
                # A refusal may repeat the path asked for: the asker's own words, not a leak.
                shown = text_of(answer.body).replace(url, "")
                # The office a case is offered to or a message is sent to sees its reference
                # (what it decides on, what the message is about), never the person's name.
                offered = actor in TOLD_THE_REFERENCE.get(name, ())
                mismatches += [f"{where}: shows {s!r} of the other office"
                               for s in hidden if s in shown
                               and not (offered and s == objects["reference"])]

    print(f"walk over HTTP, {scenario} case: {walked} requests, "
          f"{time.monotonic() - started:.0f} s")
    assert walked >= 9 * 60, walked
    assert mismatches == [], f"the {scenario} case:\n" + "\n".join(mismatches)
