"""Session lifetime (idle and absolute), sessions ended by a password change or a
deactivation, and Argon2 password hashing."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from cases.middleware import LOGIN_AT, SEEN_AT, SEEN_EVERY
from cases.models import StaffSession
from settings import base


def _shift(client: Client, **seconds_ago: int) -> None:
    """Move the session's clocks into the past."""
    session = client.session
    for key, ago in seconds_ago.items():
        session[{"login": LOGIN_AT, "seen": SEEN_AT}[key]] -= ago
    session.save()


def test_a_session_idle_longer_than_the_limit_ends(client, caseworker, settings):
    settings.AMPARO_SESSION_IDLE_MINUTES = 30
    client.force_login(caseworker)
    assert client.get(reverse("case_list")).status_code == 200
    _shift(client, seen=31 * 60, login=31 * 60)

    response = client.get(reverse("case_list") + "?show=queue")

    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=%2Fcases%2F%3Fshow%3Dqueue"
    told = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "after 30 minutes without activity" in told
    assert client.get(reverse("case_list")).status_code == 302  # still logged out
    expired = AuditEvent.objects.get(action="session.expire")
    assert expired.actor_id == caseworker.pk and expired.details["reason"] == "idle"


def test_activity_keeps_a_session_until_its_absolute_limit(client, caseworker, settings):
    settings.AMPARO_SESSION_MAX_HOURS = 10
    client.force_login(caseworker)
    _shift(client, login=9 * 3600, seen=20 * 60)  # busy all day, 20 minutes since the last click
    assert client.get(reverse("dashboard")).status_code == 200

    _shift(client, login=3600 + 60)  # now past ten hours since the login
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert AuditEvent.objects.get(action="session.expire").details["reason"] == "lifetime"


def test_the_activity_stamp_is_written_once_a_minute_not_on_every_request(client, caseworker):
    client.force_login(caseworker)
    first = client.session[SEEN_AT]
    client.get(reverse("dashboard"))
    assert client.session[SEEN_AT] == first

    _shift(client, seen=SEEN_EVERY)
    client.get(reverse("dashboard"))
    assert client.session[SEEN_AT] >= first


def test_an_htmx_request_of_an_ended_session_is_sent_to_the_login_page(client, caseworker):
    client.force_login(caseworker)
    _shift(client, seen=24 * 3600, login=24 * 3600)

    response = client.get(reverse("notification_list"), headers={"HX-Request": "true"})

    assert response.status_code == 204 and response["HX-Redirect"] == reverse("login")


def test_a_new_password_set_by_the_office_admin_ends_the_staff_members_sessions(
        office_admin, caseworker2):
    theirs, admin = Client(), Client()
    theirs.force_login(caseworker2)
    assert theirs.get(reverse("dashboard")).status_code == 200
    admin.force_login(office_admin)

    admin.post(reverse("staff_account", args=[caseworker2.pk]),
               {"action": "password", "password": "temporal-para-lunes-2026"})

    assert not StaffSession.objects.filter(user=caseworker2).exists()  # gone from the list too
    assert theirs.get(reverse("dashboard")).status_code == 302


def test_deactivating_an_account_ends_its_sessions(office_admin, caseworker2):
    theirs, admin = Client(), Client()
    theirs.force_login(caseworker2)
    admin.force_login(office_admin)

    admin.post(reverse("staff_account", args=[caseworker2.pk]),
               {"action": "deactivate", "reason": "Left the office"})

    assert not StaffSession.objects.filter(user=caseworker2).exists()
    assert AuditEvent.objects.get(action="session.end").details == {"reason": "deactivated", "ended": 1}
    assert theirs.get(reverse("dashboard")).status_code == 302


def test_changing_one_s_own_password_ends_one_s_other_sessions(caseworker):
    here, elsewhere = Client(), Client()
    for client in (here, elsewhere):
        client.force_login(caseworker)
        assert client.get(reverse("dashboard")).status_code == 200

    changed = here.post(reverse("password_change"), {
        "old_password": "pw-for-tests-only", "new_password1": "otra-clave-larga-2026",
        "new_password2": "otra-clave-larga-2026"})

    assert changed.status_code == 302
    assert here.get(reverse("dashboard")).status_code == 200  # the session that changed it
    assert elsewhere.get(reverse("dashboard")).status_code == 302  # every other one ends
    assert StaffSession.objects.filter(user=caseworker).count() == 1


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS


def test_passwords_are_hashed_with_argon2_and_older_hashes_upgraded_at_login(
        production_hashers, client, caseworker):
    caseworker.set_password("una-clave-bastante-larga")
    caseworker.save()
    assert caseworker.password.startswith("argon2$argon2id$")

    caseworker.password = make_password("otra-clave-bastante-larga", hasher="pbkdf2_sha256")
    caseworker.save()
    assert client.post(reverse("login"), {"username": caseworker.username,
                                          "password": "otra-clave-bastante-larga"}).status_code == 302
    caseworker.refresh_from_db()
    assert caseworker.password.startswith("argon2$argon2id$")


# A page left open asks whether its session still runs (static/amparo.js).


def test_the_page_learns_how_long_its_session_has_left_without_keeping_it_open(
        client, caseworker, settings):
    settings.AMPARO_SESSION_IDLE_MINUTES = 30
    client.force_login(caseworker)
    page = client.get(reverse("dashboard")).content.decode()
    assert 'data-idle-seconds="1800"' in page and reverse("session_remaining") in page
    _shift(client, seen=20 * 60, login=20 * 60)
    seen = client.session[SEEN_AT]

    answer = client.get(reverse("session_remaining"))

    assert answer.json()["active"] is True
    assert 10 * 60 - 2 <= answer.json()["remaining"] <= 10 * 60
    assert client.session[SEEN_AT] == seen  # asking is no activity
    assert "no-store" in answer["Cache-Control"]
    _shift(client, seen=11 * 60)
    ended = client.get(reverse("session_remaining"))
    assert ended.status_code == 302 and ended.url.startswith(reverse("login"))
    assert AuditEvent.objects.get(action="session.expire").details["reason"] == "idle"


def test_without_a_session_the_question_is_answered_no(client):
    answer = client.get(reverse("session_remaining"))
    assert (answer.status_code, answer.json()) == (401, {"active": False})
    assert "data-session-url" not in client.get(reverse("login")).content.decode()
