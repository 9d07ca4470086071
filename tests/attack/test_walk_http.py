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

import pytest
from django.urls import reverse

from cases import services
from tests.attack.conftest import text_of
from tests.cases.test_permission_walk import (
    ACTORS,
    ANON,
    EXPECTED,
    FOREIGN,
    _pattern_kwargs,
    _post_data,
    _relation,
    scenario_objects,  # noqa: F401  (a fixture)
    walked_urls,
)

pytestmark = [pytest.mark.attack, pytest.mark.usefixtures("file_root")]

REFUSED = {403, 404, 405}
UNCHANGING = ("login", "logout", "set_language")  # their redirects are not to the login page


def _want(name: str, method: str, actor: str, scenario: str) -> int:
    want = EXPECTED[(name, method)][_relation(actor, scenario)]
    if isinstance(want, dict):  # by actor, else by scenario
        want = want[actor] if actor in want else want[scenario]
    return want


@pytest.mark.parametrize("scenario_objects", ["assigned", "queue"], indirect=True)
def test_walk_over_http(browse, scenario_objects,  # noqa: F811
                        office, other_office, caseworker,
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
    for actor in ACTORS:
        relation = _relation(actor, scenario)
        session = browse(actor)
        hidden = secrets["ours"] if relation == FOREIGN else secrets["theirs"]
        for name, _module in walked_urls():
            url = reverse(name, kwargs={k: objects[k] for k in _pattern_kwargs(name)})
            for method in [m for (n, m) in EXPECTED if n == name]:
                want = _want(name, method, actor, scenario)
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
                mismatches += [f"{where}: shows {s!r} of the other office"
                               for s in hidden if s in shown]

    assert walked >= 9 * 60, walked
    assert mismatches == [], f"the {scenario} case:\n" + "\n".join(mismatches)
