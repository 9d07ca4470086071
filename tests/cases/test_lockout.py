"""Login lockout: counted per user name from one address, per address and per user name
from every address; lifted by an office administrator or an operator (cases/lockout.py).
The race of parallel attempts is in tests/cases/test_lockout_concurrency.py."""

from __future__ import annotations

import datetime
import io

import pytest
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import lockout, services
from cases.checks import check_lockout
from cases.http import client_address
from cases.models import LoginCounter, Role

PASSWORD = "pw-for-tests-only"  # tests/conftest.py make_user
WRONG = "wrong-password"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AMPARO_LOGIN_MAX_FAILURES = 3
    settings.AMPARO_LOGIN_ADDRESS_MAX_FAILURES = 8
    settings.AMPARO_LOGIN_USER_MAX_FAILURES = 7
    settings.AMPARO_LOGIN_LOCKOUT_MINUTES = 15
    settings.AMPARO_TRUSTED_PROXIES = 0
    return settings


@pytest.fixture
def checks(monkeypatch):
    """How many times a password was really checked (the backend after the lockout's)."""
    calls = []
    real = ModelBackend.authenticate

    def counted(self, request, username=None, password=None, **kwargs):
        if type(self) is ModelBackend:
            calls.append(username)
        return real(self, request, username, password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counted)
    return calls


def login(client, username, password=WRONG, address="10.0.0.1"):
    client.logout()
    return client.post(reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR=address)


def logged_in(response) -> bool:
    return response.status_code == 302


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_failures_lock_the_name_from_that_address_before_the_password_is_checked(
        client, supervisor, checks):
    for _ in range(3):
        assert login(client, supervisor.username).status_code == 200
    assert len(checks) == 3

    response = login(client, supervisor.username, PASSWORD)

    assert not logged_in(response)
    assert len(checks) == 3  # refused without looking at the password
    assert "this account is locked for 15 minutes" in response.content.decode()
    lock = events("login.lock")
    assert len(lock) == 1
    assert (lock[0].actor_username, lock[0].outcome, lock[0].details["scope"]) == (
        supervisor.username, "denied", "user_address")
    assert lock[0].ip == "10.0.0.1"
    refused = events("auth.lockout")
    assert [e.details["scope"] for e in refused] == ["user_address"]
    # More refusals are recorded as such; the lock itself only once.
    login(client, supervisor.username)
    assert len(events("auth.lockout")) == 2 and len(events("login.lock")) == 1


def test_one_address_cannot_lock_a_supervisor_out_of_everywhere(client, supervisor, checks):
    for _ in range(20):
        login(client, supervisor.username, address="203.0.113.9")

    assert len(checks) == 3
    # The supervisor, at their own computer, logs in.
    assert logged_in(login(client, supervisor.username, PASSWORD, address="10.0.0.1"))


def test_failures_from_several_addresses_lock_the_name_everywhere(client, supervisor, checks):
    # 3 + 3 + 1 attempts reach the password check (the limit from every address is 7) ...
    for address in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        for _ in range(3):
            login(client, supervisor.username, address=address)
    assert len(checks) == 7

    # ... then nobody, from anywhere, gets the password checked for this name.
    response = login(client, supervisor.username, PASSWORD, address="10.0.0.1")

    assert not logged_in(response)
    assert len(checks) == 7
    assert "this account is locked" in response.content.decode()
    assert [e.details["scope"] for e in events("login.lock")] == ["user"]


def test_an_address_spraying_many_names_is_stopped(client, caseworker, make_user, checks):
    names = [f"someone{i}" for i in range(12)]
    for name in names:
        login(client, name, address="198.51.100.7")
    assert len(checks) == 8

    response = login(client, caseworker.username, PASSWORD, address="198.51.100.7")

    assert not logged_in(response)
    assert "Too many failed logins from this address" in response.content.decode()
    assert events("login.lock")[-1].details["scope"] == "address"
    # The same account from another address is not affected.
    assert logged_in(login(client, caseworker.username, PASSWORD, address="198.51.100.8"))


def test_user_names_are_counted_whatever_their_case(client, caseworker, checks):
    for name in (caseworker.username.upper(), caseworker.username.title(), caseworker.username):
        login(client, name)

    assert not logged_in(login(client, caseworker.username, PASSWORD))
    assert len(checks) == 3


def test_a_successful_login_clears_the_names_counters_not_the_addresss(client, caseworker):
    for _ in range(2):
        login(client, caseworker.username)
    assert logged_in(login(client, caseworker.username, PASSWORD))

    assert not LoginCounter.objects.filter(username=caseworker.username).exists()
    # The address keeps the two failures, not the successful attempt.
    assert LoginCounter.objects.get(username="", address="10.0.0.1").attempts == 2
    # Two more failures are allowed again, then the right password.
    for _ in range(2):
        login(client, caseworker.username)
    assert logged_in(login(client, caseworker.username, PASSWORD))


def test_the_lock_ends_with_its_window(client, caseworker):
    for _ in range(4):
        login(client, caseworker.username)
    assert not logged_in(login(client, caseworker.username, PASSWORD))

    LoginCounter.objects.update(started=timezone.now() - datetime.timedelta(minutes=15, seconds=1))

    assert logged_in(login(client, caseworker.username, PASSWORD))


def test_the_message_says_how_long_the_lock_still_lasts(client, caseworker):
    for _ in range(3):
        login(client, caseworker.username)
    LoginCounter.objects.update(started=timezone.now() - datetime.timedelta(minutes=11))

    response = login(client, caseworker.username, PASSWORD)

    assert "this account is locked for 4 minutes" in response.content.decode()


def test_names_that_are_no_account_are_counted_the_same(db, client, checks):
    for _ in range(5):
        response = login(client, "nobody-by-this-name")
    assert len(checks) == 3
    assert "this account is locked" in response.content.decode()


# The client's address


def _request(remote="10.0.0.1", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(limits):
    assert client_address(_request("10.0.0.1", "203.0.113.5")) == "10.0.0.1"
    assert client_address(_request("", None)) is None
    assert client_address(_request("not an address")) is None
    assert client_address(_request("::ffff:10.0.0.2")) == "10.0.0.2"


def test_behind_a_trusted_proxy_the_address_it_saw_counts(limits):
    limits.AMPARO_TRUSTED_PROXIES = 1
    assert client_address(_request("10.0.0.1", "203.0.113.5")) == "203.0.113.5"
    # What the client wrote itself, further left, is never used.
    assert client_address(_request("10.0.0.1", "1.2.3.4, 203.0.113.5")) == "203.0.113.5"
    # No header or garbage: the proxy's own address, or none.
    assert client_address(_request("10.0.0.1")) == "10.0.0.1"
    assert client_address(_request("10.0.0.1", "<script>")) is None
    limits.AMPARO_TRUSTED_PROXIES = 2
    assert client_address(_request("10.0.0.1", "1.2.3.4, 203.0.113.5, 10.0.0.9")) == "203.0.113.5"


def test_behind_a_trusted_proxy_each_client_has_its_own_counter(client, caseworker, limits):
    limits.AMPARO_TRUSTED_PROXIES = 1
    for _ in range(4):
        client.post(reverse("login"), {"username": caseworker.username, "password": "x"},
                    REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")

    other = client.post(reverse("login"), {"username": caseworker.username, "password": PASSWORD},
                        REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.6")

    assert logged_in(other)
    assert events("login.lock")[0].ip == "203.0.113.5"


def test_ipv6_addresses_are_counted_by_their_64_network():
    assert lockout.bucket("2001:db8:1:2::1") == lockout.bucket("2001:db8:1:2:ffff::9")
    assert lockout.bucket("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert lockout.bucket("2001:db8:1:3::1") != lockout.bucket("2001:db8:1:2::1")
    assert lockout.bucket(None) == lockout.bucket("garbage") == "unknown"


def test_the_backend_refuses_without_a_request_too(caseworker, checks):
    backend = lockout.LockoutBackend()
    for _ in range(3):
        assert backend.authenticate(None, username=caseworker.username, password="x") is None
    with pytest.raises(PermissionDenied):
        backend.authenticate(None, username=caseworker.username, password=PASSWORD)


# Lifting a lock


def _lock(client, user, address="10.0.0.1"):
    for _ in range(4):
        login(client, user.username, address=address)
    client.logout()


def test_an_office_admin_sees_and_lifts_a_lock(client, office_admin, caseworker):
    _lock(client, caseworker)
    _lock(client, caseworker, address="10.0.0.2")
    client.force_login(office_admin)
    page = client.get(reverse("staff_account", args=[caseworker.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="unlock-form"' in text and "From 10.0.0.1 until" in text
    assert "From 10.0.0.2 until" in text

    response = client.post(reverse("staff_account", args=[caseworker.pk]), {"action": "unlock"})

    assert response.status_code == 302
    assert not LoginCounter.objects.filter(username=caseworker.username).exists()
    event = events("login.unlock")[0]
    assert (event.actor_id, event.object_type, event.object_id) == (
        office_admin.pk, "cases.user", str(caseworker.pk))
    page = client.get(reverse("staff_account", args=[caseworker.pk]))
    assert 'id="unlock-form"' not in page.content.decode()
    assert logged_in(login(client, caseworker.username, PASSWORD))


def test_a_second_click_on_lift_changes_nothing_and_records_nothing(client, office_admin,
                                                                    caseworker):
    _lock(client, caseworker)
    client.force_login(office_admin)
    url = reverse("staff_account", args=[caseworker.pk])

    assert client.post(url, {"action": "unlock"}).status_code == 302
    assert client.post(url, {"action": "unlock"}).status_code == 302

    assert len(events("login.unlock")) == 1


def test_no_lock_section_for_an_account_without_one(client, office_admin, caseworker):
    for _ in range(2):
        login(client, caseworker.username)  # below the limit: not a lock
    client.force_login(office_admin)

    page = client.get(reverse("staff_account", args=[caseworker.pk]))

    assert 'id="unlock-form"' not in page.content.decode()


@pytest.mark.parametrize("who", ["caseworker2", "supervisor", "auditor", "system_admin"])
def test_only_office_admins_lift_locks(client, request, who, caseworker):
    _lock(client, caseworker)
    client.force_login(request.getfixturevalue(who))

    response = client.post(reverse("staff_account", args=[caseworker.pk]), {"action": "unlock"})

    assert response.status_code == 403
    assert lockout.locks_of(caseworker.username)
    assert not events("login.unlock")


def test_the_other_offices_admin_does_not_find_the_account(client, make_user, other_office,
                                                           caseworker):
    _lock(client, caseworker)
    client.force_login(make_user(Role.OFFICE_ADMIN, other_office))

    response = client.post(reverse("staff_account", args=[caseworker.pk]), {"action": "unlock"})

    assert response.status_code == 404
    assert lockout.locks_of(caseworker.username)


def test_an_account_of_two_offices_is_unlocked_by_whoever_administers_both(
        client, office_admin, caseworker, other_office):
    services.grant_membership(by=None, user=caseworker, office=other_office, role=Role.CASEWORKER)
    _lock(client, caseworker)
    client.force_login(office_admin)

    response = client.post(reverse("staff_account", args=[caseworker.pk]), {"action": "unlock"},
                           follow=True)

    assert "offices you do not administer" in response.content.decode()
    assert lockout.locks_of(caseworker.username)


def test_the_operator_lifts_a_lock_by_user_name(client, caseworker):
    _lock(client, caseworker)
    out = io.StringIO()

    call_command("unlock_login", caseworker.username, stdout=out)

    assert "Lifted the login lock of" in out.getvalue()
    assert not lockout.locks_of(caseworker.username)
    event = events("login.unlock")[0]
    assert (event.actor_id, event.object_id, event.details["counters"]) == (
        None, str(caseworker.pk), 2)
    assert logged_in(login(client, caseworker.username, PASSWORD))


def test_the_operator_lifts_the_lock_of_an_address(client, caseworker):
    for i in range(9):
        login(client, f"someone{i}", address="198.51.100.7")
    assert not logged_in(login(client, caseworker.username, PASSWORD, address="198.51.100.7"))

    call_command("unlock_login", address="198.51.100.7", stdout=io.StringIO())

    assert events("login.unlock")[0].details["address"] == "198.51.100.7"
    assert logged_in(login(client, caseworker.username, PASSWORD, address="198.51.100.7"))


@pytest.mark.parametrize("args,kwargs,message", [
    ((), {}, "Give a user name or --address"),
    (("nobody",), {}, "No user 'nobody'"),
    ((), {"address": "not-an-ip"}, "is not an IP address"),
])
def test_the_command_refuses_what_it_cannot_do(db, args, kwargs, message):
    with pytest.raises(CommandError, match=message):
        call_command("unlock_login", *args, stdout=io.StringIO(), **kwargs)
    assert not events("login.unlock")


def test_lockout_settings_are_checked(limits):
    assert check_lockout(None) == []
    limits.AMPARO_LOGIN_USER_MAX_FAILURES = 6  # one address, across two windows, could reach it
    assert [m.id for m in check_lockout(None)] == ["amparo.W031"]
    limits.AMPARO_LOGIN_MAX_FAILURES = 0
    assert [m.id for m in check_lockout(None)] == ["amparo.E030"]
