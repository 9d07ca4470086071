"""The case page's procedure card is kept between views under the fingerprint of the rows it
shows and of who looks (cases/fragments.py, docs/architecture.md#speed): every write shows at
once, whoever made it and however, and nobody is shown a card rendered for someone else.

On SQLite nothing is kept (no row versions) and these tests check the page alone; on
PostgreSQL (DATABASE_URL=postgres://..., as .ci/run does) they go through the cache.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import fragments
from cases import services as case_services
from cases.models import Case, CaseDeadline
from rsd import services
from rsd.forms import FamilyMemberForm
from tests.rsd.conftest import ago, fresh
from tests.rsd.test_views import actions_on_page, case_url


@pytest.fixture(autouse=True)
def _empty_cache():
    caches[fragments.ALIAS].clear()
    yield
    caches[fragments.ALIAS].clear()


def card(client, case: Case) -> str:
    response = client.get(case_url(case))
    assert response.status_code == 200
    html = response.content.decode()
    return html.split('id="procedure"', 1)[1].split('<section id="people">', 1)[0]


def state_of(html: str) -> str:
    found = re.search(r'id="procedure-state">([^<]*)<', html)
    assert found
    return found.group(1)


def steps_shown(html: str) -> int:
    return len(re.findall(r"<tr>\s*<td>\d+</td>", html))


def test_a_step_shows_at_once(client, bz, bz_staff):
    case = bz.at("registered")
    client.force_login(bz_staff.caseworker)
    before = card(client, case)
    assert card(client, case) == before  # a second view: the same card

    bz.schedule(case)

    after = card(client, case)
    assert state_of(after) != state_of(before)
    assert steps_shown(after) == steps_shown(before) + 1
    assert "schedule_interview" in actions_on_page(before)
    assert "schedule_interview" not in actions_on_page(after)


def test_a_record_written_outside_a_step_shows_at_once(client, bz, bz_staff):
    case = bz.at("registered")
    client.force_login(bz_staff.caseworker)
    assert "Quintanilla" not in card(client, case)
    form = FamilyMemberForm({"given_names": "Dulcinea", "family_names": "Quintanilla", "sex": "female",
                             "date_of_birth": "2015-04-01", "relationship": "child"})
    assert form.is_valid(), form.errors

    services.add_family_member(by=bz_staff.caseworker, case=fresh(case), data=form.person_data(),
                               relationship="child", accompanying=True, derivative=True)

    assert "Quintanilla" in card(client, case)


def test_a_row_changed_by_a_bare_update_shows_at_once(client, bz, bz_staff):
    case = bz.at("registered")
    client.force_login(bz_staff.caseworker)
    assert "overdue by 3 days" not in card(client, case)

    CaseDeadline.objects.filter(case=case, met_at__isnull=True).update(due_on=ago(3))

    assert "overdue by 3 days" in card(client, case)


def test_an_assignment_moves_the_actions_to_the_new_caseworker(client, bz, bz_staff):
    case = bz.at("registered")
    case_services.assign_case(by=bz_staff.supervisor, case=fresh(case), assignee=None, reason="Queue")
    client.force_login(bz_staff.caseworker2)
    assert actions_on_page(card(client, case)) == set()  # in the queue: seen, not acted on

    case_services.assign_case(by=bz_staff.supervisor, case=fresh(case), assignee=bz_staff.caseworker2,
                              reason="Workload")

    assert "schedule_interview" in actions_on_page(card(client, case))
    client.force_login(bz_staff.caseworker)
    assert client.get(case_url(case)).status_code == 404


def test_each_user_gets_the_card_of_their_own_rights(client, bz, bz_staff):
    case = bz.at("interviewed")
    bz.submit(case, by=bz_staff.supervisor)  # four-eyes: not approved by who submitted
    client.force_login(bz_staff.supervisor2)
    assert "approve_assessment" in actions_on_page(card(client, case))
    client.force_login(bz_staff.supervisor)  # the same roles in the same office
    assert "approve_assessment" not in actions_on_page(card(client, case))
    client.force_login(bz_staff.caseworker)
    assert "approve_assessment" not in actions_on_page(card(client, case))


def test_a_revoked_grant_shows_nothing_more(client, bz, bz_staff, other_supervisor):
    case = bz.at("registered")
    case_services.grant_case_access(by=bz_staff.supervisor, case=case, user=other_supervisor,
                                    reason="Second opinion")
    client.force_login(other_supervisor)
    assert actions_on_page(card(client, case)) == set()

    case_services.revoke_case_access(by=bz_staff.supervisor, case=case, user=other_supervisor,
                                     reason="Done")

    assert client.get(case_url(case)).status_code == 404


def test_a_language_switch_shows_the_card_in_the_new_language(client, bz, bz_staff):
    case = bz.at("registered")
    client.force_login(bz_staff.caseworker)
    english = card(client, case)
    assert "Steps taken" in english

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    spanish = card(client, case)

    assert "Steps taken" not in spanish
    assert "Trámites realizados" in spanish
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert card(client, case) == english


# --- Through the cache (PostgreSQL) -------------------------------------------------------------

def test_a_second_view_reads_the_card_from_the_cache(postgres, client, bz, bz_staff):
    case = bz.at("registered")
    client.force_login(bz_staff.caseworker)
    first = card(client, case)
    with CaptureQueriesContext(connection) as second:
        again = card(client, case)
    assert again == first
    with CaptureQueriesContext(connection) as unkept:
        caches[fragments.ALIAS].clear()
        assert card(client, case) == first
    # The card's and the panel's reads are replaced by the one fingerprint statement.
    assert len(second) < len(unkept) - 5


def test_the_cache_holds_no_clear_text(postgres, client, bz, bz_staff):
    case = bz.at("registered")
    form = FamilyMemberForm({"given_names": "Xiomara", "family_names": "Quintanilla", "sex": "female",
                             "date_of_birth": "2015-04-01", "relationship": "child"})
    assert form.is_valid(), form.errors
    services.add_family_member(by=bz_staff.caseworker, case=fresh(case), data=form.person_data(),
                               relationship="child", accompanying=True, derivative=True)
    client.force_login(bz_staff.caseworker)
    assert "Quintanilla" in card(client, case)

    cache = caches[fragments.ALIAS]
    stored = [cache.get(k.split(":", 2)[-1]) for k in list(cache._cache)]  # type: ignore[attr-defined]
    assert stored and all(isinstance(blob, bytes) for blob in stored)
    assert not any(b"Quintanilla" in blob for blob in stored)
    assert not any(b"Steps taken" in blob for blob in stored)


def test_a_shared_cache_out_of_reach_still_shows_the_page(postgres, client, bz, bz_staff, settings):
    case = bz.at("registered")
    client.force_login(bz_staff.caseworker)
    expected = card(client, case)
    settings.CACHES = {**settings.CACHES, fragments.ALIAS: {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}}

    assert card(client, case) == expected
    bz.schedule(case)
    assert "schedule_interview" not in actions_on_page(card(client, case))
