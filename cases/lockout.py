"""Login lockout: attempts are counted before the password is checked
(docs/architecture.md#login-lockout).

Three counters per window of AMPARO_LOGIN_LOCKOUT_MINUTES, each a row of `LoginCounter`
incremented by one statement (INSERT ... ON CONFLICT DO UPDATE ... RETURNING), so that N
attempts at the same moment get N different counts and at most the limit of them reach the
password check:

- a user name from one address (AMPARO_LOGIN_MAX_FAILURES): guessing one account;
- an address, whatever the user name (AMPARO_LOGIN_ADDRESS_MAX_FAILURES): spraying;
- a user name from every address together (AMPARO_LOGIN_USER_MAX_FAILURES): guessing one
  account from many addresses. Only attempts the first two let through count here, so one
  address alone never locks an account for everybody else.

A window starts with its first attempt; a counter over its limit refuses until the window
ends. A successful login clears the user name's counters (not the address's).
"""

from __future__ import annotations

import datetime
import ipaddress
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from cases import events
from cases.http import client_address
from cases.models import LoginCounter, User

USER_ADDRESS, ADDRESS, USER = "user_address", "address", "user"
UNKNOWN_ADDRESS = "unknown"


@dataclass(frozen=True)
class Lock:
    """A refusal: which counter is over its limit, and until when."""

    scope: str
    until: datetime.datetime

    def minutes_left(self) -> int:
        return max(1, math.ceil((self.until - timezone.now()).total_seconds() / 60))


def _window() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.AMPARO_LOGIN_LOCKOUT_MINUTES)


def _name(username: str) -> str:
    return username.casefold()[:150]


def bucket(address: str | None) -> str:
    """What the address counters count by: the IPv4 address, or the IPv6 /64 network (one
    subscriber's whole block, which they can spread their attempts over)."""
    if not address:
        return UNKNOWN_ADDRESS
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return UNKNOWN_ADDRESS
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _limits(name: str, where: str) -> list[tuple[str, str, str, int]]:
    return [
        (USER_ADDRESS, name, where, settings.AMPARO_LOGIN_MAX_FAILURES),
        (ADDRESS, "", where, settings.AMPARO_LOGIN_ADDRESS_MAX_FAILURES),
        (USER, name, "", settings.AMPARO_LOGIN_USER_MAX_FAILURES),
    ]


def _count(username: str, address: str, now: datetime.datetime) -> int:
    """Add one attempt to the counter (a new window if the last one is over); the new count."""
    table = connection.ops.quote_name(LoginCounter._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    expired = connection.ops.adapt_datetimefield_value(now - _window())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (username, address, attempts, started) "  # noqa: S608
            "VALUES (%s, %s, 1, %s) ON CONFLICT (username, address) DO UPDATE SET "
            f"attempts = CASE WHEN {table}.started < %s THEN 1 ELSE {table}.attempts + 1 END, "
            f"started = CASE WHEN {table}.started < %s THEN excluded.started "
            f"ELSE {table}.started END RETURNING attempts",
            [username, address, stamp, expired, expired])
        row = cursor.fetchone()
    return int(row[0])


def reserve(username: str, address: str | None) -> Lock | None:
    """Count this attempt; the lock that refuses it, or None: the password may be checked.

    The first refusal of a window is recorded (`login.lock`); every refusal is a failed
    login in the audit log (`auth.lockout`)."""
    name, where, now = _name(username), bucket(address), timezone.now()
    for scope, key_name, key_address, limit in _limits(name, where):
        attempts = _count(key_name, key_address, now)
        if attempts <= limit:
            continue
        started = LoginCounter.objects.filter(
            username=key_name, address=key_address).values_list("started", flat=True).first()
        lock = Lock(scope, (started or now) + _window())
        if attempts == limit + 1:
            events.emit("login.lock", outcome="denied", username=username[:150], scope=scope,
                        until=lock.until.isoformat(timespec="seconds"))
        return lock
    return None


def reset(username: str, address: str | None) -> None:
    """A successful login: forget the user name's failures (from this address and from every
    address), and windows that are over. The address's own counter keeps its failures but not
    this attempt: an office behind one address is not locked out by its morning logins."""
    name = _name(username)
    LoginCounter.objects.filter(
        Q(username=name, address__in=[bucket(address), ""])
        | Q(started__lt=timezone.now() - _window())).delete()
    LoginCounter.objects.filter(username="", address=bucket(address), attempts__gt=0).update(
        attempts=F("attempts") - 1)


@dataclass(frozen=True)
class ActiveLock:
    address: str  # "" for the lock from every address
    until: datetime.datetime


def locks_of(username: str) -> list[ActiveLock]:
    """The user name's locks in force: from one address each, or from every address."""
    name, since = _name(username), timezone.now() - _window()
    found = []
    for row in LoginCounter.objects.filter(username=name, started__gte=since).order_by("address"):
        limit = (settings.AMPARO_LOGIN_USER_MAX_FAILURES if row.address == ""
                 else settings.AMPARO_LOGIN_MAX_FAILURES)
        if row.attempts > limit:
            found.append(ActiveLock(row.address, row.started + _window()))
    return found


def unlock(*, by: User | None, username: str = "", address: str = "") -> int:
    """Lift the locks of a user name (every counter that names it) or of an address (its
    counter across user names). Recorded (`login.unlock`); how many counters were removed."""
    details: dict[str, Any] = {}
    target = None
    if username:
        rows = LoginCounter.objects.filter(username=_name(username))
        target = User.objects.filter(username=username).first()
        if target is None:
            details["name"] = username[:150]
    else:
        rows = LoginCounter.objects.filter(username="", address=bucket(address))
        details["address"] = bucket(address)
    removed, _ = rows.delete()
    events.emit("login.unlock", actor=by, obj=target, counters=removed, **details)
    return removed


class LockoutBackend(ModelBackend):
    """First in AUTHENTICATION_BACKENDS: counts the attempt and refuses, before any password
    check, when a counter is over its limit; otherwise the next backend checks the password."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if not username:
            return None
        lock = reserve(str(username), client_address(request))
        if lock is not None:
            if request is not None:
                request.login_locked = lock  # type: ignore[attr-defined]  # for the form and the audit receiver
            raise PermissionDenied("locked out")
        return None

    # get_user and the permission methods are ModelBackend's: sessions that name this
    # backend (the first one, e.g. after force_login) still find their user.


def logged_in(sender: object, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """user_logged_in: the right password clears the user name's counters."""
    reset(user.get_username(), client_address(request))
