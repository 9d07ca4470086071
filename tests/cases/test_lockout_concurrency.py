"""Forty wrong passwords at the same moment, on real PostgreSQL connections: at most the
limit of them reach the password check (cases/lockout.py counts before checking)."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend
from django.test import RequestFactory

from audit.models import AuditEvent
from cases.models import LoginCounter
from tests.races import race

pytestmark = pytest.mark.postgres

ATTEMPTS = 40


@pytest.fixture
def checks(monkeypatch):
    """Names whose password was really checked (by the backend after the lockout's)."""
    calls: list[str] = []
    lock = threading.Lock()
    real = ModelBackend.authenticate

    def counted(self, request, username=None, password=None, **kwargs):
        if type(self) is ModelBackend:
            with lock:
                calls.append(username)
        return real(self, request, username, password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counted)
    return calls


def _attempt(username: str, address: str):
    request = RequestFactory().post("/login/", REMOTE_ADDR=address)
    return lambda: authenticate(request, username=username, password="wrong-password")


def _counter_in_flight(username: str, address: str):
    """An uncommitted counter row: every attempt queues behind it, then it vanishes."""
    def hold(holder: psycopg.Connection) -> None:
        holder.execute("INSERT INTO cases_logincounter (username, address, attempts, started) "
                       "VALUES (%s, %s, 0, now())", [username, address])
    return hold


def _count(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def test_forty_wrong_passwords_from_one_address_get_five_checks(postgres, supervisor, checks,
                                                                 settings):
    assert settings.AMPARO_LOGIN_MAX_FAILURES == 5
    name = supervisor.username

    results = race([_attempt(name, "203.0.113.7") for _ in range(ATTEMPTS)],
                   _counter_in_flight(name, "203.0.113.7"))

    assert all(r is None for r in results), results
    assert len(checks) == 5
    assert LoginCounter.objects.get(username=name, address="203.0.113.7").attempts == ATTEMPTS
    assert _count("auth.login_failed") == 5
    assert _count("auth.lockout") == ATTEMPTS - 5
    lock = AuditEvent.objects.get(action="login.lock")
    assert (lock.actor_username, lock.details["scope"]) == (name, "user_address")
    # Only the five checked attempts count towards the name's lock from every address.
    assert LoginCounter.objects.get(username=name, address="").attempts == 5


def test_forty_wrong_passwords_from_forty_addresses_get_fifteen_checks(postgres, supervisor,
                                                                       checks, settings):
    assert settings.AMPARO_LOGIN_USER_MAX_FAILURES == 15
    name = supervisor.username

    results = race([_attempt(name, f"203.0.113.{i}") for i in range(1, ATTEMPTS + 1)],
                   _counter_in_flight(name, ""))

    assert all(r is None for r in results), results
    assert len(checks) == 15
    assert _count("auth.login_failed") == 15
    assert _count("auth.lockout") == ATTEMPTS - 15
    assert list(AuditEvent.objects.filter(action="login.lock")
                .values_list("details__scope", flat=True)) == ["user"]
