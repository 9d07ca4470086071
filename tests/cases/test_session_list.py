"""One's open sessions (cases/sessions.py): stored under the hash of their key, listed,
ended one by one or all at once, capped per account; administrators and operators end an
account's sessions, or everyone's."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import update_last_login
from django.contrib.auth.signals import user_logged_in
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from cases import sessions, tasks
from cases.middleware import LOGIN_AT, SEEN_AT
from cases.models import Role, StaffSession, User
from cases.session_store import key_hash
from tests.cases.test_two_factor import login
from tests.races import race

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


def logged_in(user: User, agent: str = FIREFOX, *, minutes_ago: int = 0) -> Client:
    """A browser of its own, logged in through the form; its login moved `minutes_ago` back."""
    client = Client(HTTP_USER_AGENT=agent)
    login(client, user)
    if minutes_ago:
        session = client.session
        session[LOGIN_AT] -= minutes_ago * 60
        session.save()
    return client


def cookie(client: Client) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def session_id(client: Client) -> str:
    return key_hash(cookie(client))


def is_logged_in(client: Client) -> bool:
    return client.get(reverse("dashboard")).status_code == 200


def ended(reason: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="session.end", details__reason=reason))


# --- What is stored --------------------------------------------------------------------------

def test_a_session_is_stored_under_the_hash_of_its_key_with_its_client(caseworker):
    client = logged_in(caseworker)

    row = StaffSession.objects.get(user=caseworker)
    assert row.pk == hashlib.sha256(cookie(client).encode()).hexdigest()
    assert not StaffSession.objects.filter(pk=cookie(client)).exists()
    with connection.cursor() as cursor:  # nowhere in the table, in any column
        cursor.execute("SELECT * FROM cases_session")
        assert cookie(client) not in repr(cursor.fetchall())
    assert (row.address, row.agent) == ("127.0.0.1", "Firefox 128 · Windows 10")
    assert row.started_at is not None and row.last_seen_at == row.started_at


def test_a_cookie_holding_the_stored_hash_opens_nothing(caseworker):
    """A copy of the table (a backup) gives no session: its keys are hashes."""
    victim = logged_in(caseworker)
    thief = Client()
    thief.cookies[django_settings.SESSION_COOKIE_NAME] = session_id(victim)

    assert thief.get(reverse("dashboard")).status_code == 302
    assert is_logged_in(victim)


def test_logging_out_removes_the_row(caseworker):
    client = logged_in(caseworker)
    client.post(reverse("logout"))
    assert not StaffSession.objects.filter(user=caseworker).exists()


def test_a_hostile_user_agent_is_shown_escaped_and_short(caseworker):
    client = logged_in(caseworker, agent="<script>alert(1)</script>" + "x" * 5000)
    page = client.get(reverse("session_list")).content.decode()
    assert "<script>alert(1)" not in page
    assert len(StaffSession.objects.get(user=caseworker).agent) <= 80


# --- Your sessions ---------------------------------------------------------------------------

def test_the_page_lists_my_sessions_marks_this_one_and_shows_nobody_elses(caseworker, caseworker2):
    office_pc = logged_in(caseworker)
    phone = logged_in(caseworker, SAFARI)
    colleague = logged_in(caseworker2)

    page = phone.get(reverse("session_list"))

    assert page.status_code == 200
    listed = page.context["sessions"]
    assert {s.id for s in listed} == {session_id(office_pc), session_id(phone)}
    assert [s.current for s in listed] == [True, False]
    assert listed[0].agent == "Mobile Safari 17 · iOS 17"
    assert session_id(colleague) not in page.content.decode()


def test_ending_another_session_logs_that_browser_out(caseworker):
    office_pc, phone = logged_in(caseworker), logged_in(caseworker, SAFARI)

    response = phone.post(reverse("session_end", args=[session_id(office_pc)]))

    assert response.status_code == 302 and response.url == reverse("session_list")
    assert not is_logged_in(office_pc)
    assert is_logged_in(phone)
    event, = ended(sessions.BY_USER)
    assert (event.actor_id, event.details["ended"], event.outcome) == (caseworker.pk, 1, "ok")


def test_nobody_ends_someone_elses_session(caseworker, supervisor):
    mine = logged_in(caseworker)
    theirs = logged_in(supervisor)

    refused = theirs.post(reverse("session_end", args=[session_id(mine)]))

    assert refused.status_code == 404  # not 403: whether the session exists stays unsaid
    assert is_logged_in(mine)
    denied = AuditEvent.objects.get(action="session.end", outcome="denied")
    assert denied.actor_id == supervisor.pk


def test_the_current_session_and_unknown_ids_are_not_found(caseworker):
    client = logged_in(caseworker)
    assert client.post(reverse("session_end", args=[session_id(client)])).status_code == 404
    assert client.post(reverse("session_end", args=["0" * 64])).status_code == 404
    assert is_logged_in(client)


def test_ending_needs_a_post(caseworker):
    office_pc, phone = logged_in(caseworker), logged_in(caseworker)
    assert phone.get(reverse("session_end", args=[session_id(office_pc)])).status_code == 405
    assert phone.get(reverse("session_end_others")).status_code == 405
    assert is_logged_in(office_pc)


def test_ending_all_other_sessions_keeps_this_one(caseworker, supervisor, settings):
    settings.AMPARO_MAX_SESSIONS = 0
    others = [logged_in(caseworker) for _ in range(3)]
    here = logged_in(caseworker)
    colleague = logged_in(supervisor)

    response = here.post(reverse("session_end_others"))

    assert "3 other sessions were ended." in [str(m) for m in get_messages(response.wsgi_request)]
    assert not any(is_logged_in(c) for c in others)
    assert is_logged_in(here) and is_logged_in(colleague)
    assert ended(sessions.OTHERS)[0].details["ended"] == 3


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    assert client.get(reverse("session_list")).url.startswith(reverse("login"))
    assert client.post(reverse("session_end_others")).url.startswith(reverse("login"))


# --- The cap ---------------------------------------------------------------------------------

def test_a_login_beyond_the_cap_ends_the_oldest_session(caseworker, settings):
    settings.AMPARO_MAX_SESSIONS = 2
    oldest = logged_in(caseworker, minutes_ago=30)
    older = logged_in(caseworker, minutes_ago=20)

    newest = Client(HTTP_USER_AGENT=FIREFOX)
    response = newest.post(reverse("login"), {"username": caseworker.username,
                                              "password": "pw-for-tests-only"}, follow=True)

    assert not is_logged_in(oldest)
    assert is_logged_in(older) and is_logged_in(newest)
    assert StaffSession.objects.filter(user=caseworker).count() == 2
    assert ("You may have 2 sessions open at once: your oldest session was ended."
            in response.content.decode())
    event, = ended(sessions.CAP)
    assert (event.actor_id, event.details["ended"], event.details["cap"]) == (caseworker.pk, 1, 2)


def test_the_cap_counts_per_account_and_zero_means_none(caseworker, caseworker2, settings):
    settings.AMPARO_MAX_SESSIONS = 1
    mine = logged_in(caseworker)
    logged_in(caseworker2)
    assert is_logged_in(mine)  # a colleague's login ends none of mine

    settings.AMPARO_MAX_SESSIONS = 0
    several = [logged_in(caseworker) for _ in range(4)]
    assert all(is_logged_in(c) for c in several)
    assert not ended(sessions.CAP)


def test_the_cap_is_shown_on_the_page(caseworker, settings):
    settings.AMPARO_MAX_SESSIONS = 3
    page = logged_in(caseworker).get(reverse("session_list")).content.decode()
    assert "You may have 3 sessions open at once" in page


@pytest.fixture
def without_last_login():
    """Django's own receiver updates the user's row at login (last_login), which would queue
    the logins on the held row too: without it, only the cap's lock can."""
    user_logged_in.disconnect(dispatch_uid="update_last_login")
    yield
    user_logged_in.connect(update_last_login, dispatch_uid="update_last_login")


@pytest.mark.postgres
def test_two_logins_at_once_keep_to_the_cap(postgres, caseworker, settings, without_last_login):
    settings.AMPARO_MAX_SESSIONS = 2
    first = logged_in(caseworker, minutes_ago=30)
    browsers = [Client(), Client()]

    def log_in(client: Client):
        return lambda: client.post(reverse("login"), {"username": caseworker.username,
                                                      "password": "pw-for-tests-only"}).status_code

    # Both logins wait on the account's row, each before counting the other sessions.
    results = race([log_in(b) for b in browsers], lambda holder: holder.execute(
        "SELECT id FROM cases_user WHERE id = %s FOR UPDATE", [caseworker.pk]))

    assert results == [302, 302]
    assert StaffSession.objects.filter(user=caseworker).count() == 2
    assert not is_logged_in(first)
    assert all(is_logged_in(b) for b in browsers)


# --- Administrators and operators ------------------------------------------------------------

def test_an_office_admin_ends_a_staff_members_sessions_from_the_staff_page(
        office_admin, supervisor):
    theirs = [logged_in(supervisor), logged_in(supervisor, SAFARI)]
    admin = logged_in(office_admin)
    page = admin.get(reverse("staff_account", args=[supervisor.pk]))
    assert "2 sessions open." in page.content.decode()

    response = admin.post(reverse("staff_account", args=[supervisor.pk]), {"action": "end_sessions"})

    assert response.status_code == 302
    assert not any(is_logged_in(c) for c in theirs)
    assert is_logged_in(admin)
    event, = ended(sessions.ADMIN)
    assert (event.actor_id, event.object_id, event.details["ended"]) == (
        office_admin.pk, str(supervisor.pk), 2)
    supervisor.refresh_from_db()
    assert supervisor.check_password("pw-for-tests-only")  # the password stays


def test_a_caseworker_cannot_end_a_supervisors_sessions(caseworker, supervisor):
    theirs = logged_in(supervisor)
    mine = logged_in(caseworker)

    refused = mine.post(reverse("staff_account", args=[supervisor.pk]), {"action": "end_sessions"})

    assert refused.status_code == 403
    assert is_logged_in(theirs)
    assert not ended(sessions.ADMIN)


def test_an_admin_of_another_office_does_not_find_the_account(make_user, other_office, supervisor):
    other_admin = make_user(Role.OFFICE_ADMIN, other_office)
    theirs = logged_in(supervisor)

    refused = logged_in(other_admin).post(reverse("staff_account", args=[supervisor.pk]),
                                          {"action": "end_sessions"})

    assert refused.status_code == 404
    assert is_logged_in(theirs)


def test_an_account_also_in_an_office_one_does_not_administer_is_left_alone(
        office_admin, supervisor, other_office):
    from cases import services
    services.grant_membership(by=None, user=supervisor, office=other_office, role=Role.SUPERVISOR)
    theirs = logged_in(supervisor)

    response = logged_in(office_admin).post(reverse("staff_account", args=[supervisor.pk]),
                                            {"action": "end_sessions"}, follow=True)

    assert "offices you do not administer" in response.content.decode()
    assert is_logged_in(theirs)


def test_the_command_ends_one_accounts_sessions_or_everyones(caseworker, supervisor, settings):
    settings.AMPARO_MAX_SESSIONS = 0
    mine = [logged_in(caseworker), logged_in(caseworker)]
    theirs = logged_in(supervisor)
    out = StringIO()

    call_command("end_sessions", "--user", caseworker.username, stdout=out)

    assert f"Ended 2 sessions of {caseworker.username}." in out.getvalue()
    assert not any(is_logged_in(c) for c in mine) and is_logged_in(theirs)
    assert ended(sessions.COMMAND)[0].details["ended"] == 2

    call_command("end_sessions", "--user", caseworker.username, stdout=out)  # again: none left
    assert f"Ended 0 sessions of {caseworker.username}." in out.getvalue()

    call_command("end_sessions", "--all", stdout=out)
    assert "of every account" in out.getvalue()
    assert not is_logged_in(theirs)
    assert not StaffSession.objects.exists()


def test_the_command_needs_a_known_user_or_all(caseworker):
    with pytest.raises(CommandError, match="No user"):
        call_command("end_sessions", "--user", "nobody-here")
    with pytest.raises(CommandError):
        call_command("end_sessions")


# --- Sessions that ended by expiry -----------------------------------------------------------

def test_an_idle_session_is_neither_listed_nor_counted_and_is_cleared(caseworker, settings):
    settings.AMPARO_MAX_SESSIONS = 2
    forgotten = logged_in(caseworker)
    session = forgotten.session
    session[SEEN_AT] -= (settings.AMPARO_SESSION_IDLE_MINUTES + 1) * 60
    session.save()
    first, second = logged_in(caseworker), logged_in(caseworker)

    assert is_logged_in(first) and is_logged_in(second)  # the idle one did not count
    listed = {s.id for s in second.get(reverse("session_list")).context["sessions"]}
    assert session_id(forgotten) not in listed and len(listed) == 2

    assert tasks.clear_sessions_task.delay().get() == 1
    assert not StaffSession.objects.filter(pk=session_id(forgotten)).exists()
    assert StaffSession.objects.filter(user=caseworker).count() == 2
    assert not is_logged_in(forgotten)
