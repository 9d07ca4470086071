"""One's open sessions: recorded at login, listed, ended one by one or all at once, capped
per account (docs/architecture.md#sessions).

Sessions are rows of `StaffSession` (cases/session_store.py), stored under the hash of their
key; ending a session deletes its row, so the next request with that cookie is anonymous."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import ngettext
from ua_parser import parse

from cases import events
from cases.http import client_address
from cases.models import StaffSession, User
from cases.session_store import CLIENT, key_hash

AGENT_READ = 512  # characters of the User-Agent header parsed: real ones are shorter
# Why a session was ended, as recorded in `session.end`.
BY_USER, OTHERS, CAP, TWO_FACTOR, ADMIN, COMMAND, PASSWORD, DEACTIVATED = (
    "user", "others", "cap", "two_factor", "admin", "command", "password", "deactivated")


def agent_label(user_agent: str) -> str:
    """"Firefox 128 · Windows 10": browser and system with their major versions, or ""."""
    parsed = parse(user_agent[:AGENT_READ])
    parts = []
    for part in (parsed.user_agent, parsed.os):
        if part is not None and part.family and part.family != "Other":
            parts.append(f"{part.family} {part.major}" if part.major else part.family)
    return " · ".join(parts)[:80]


def live() -> Q:
    """Sessions still running: not expired, and for an account's, neither idle nor older than
    the middleware allows (cases.middleware.SessionLifetimeMiddleware ends those at their next
    request; until then their rows stay, and are not listed or counted)."""
    now = timezone.now()
    idle = datetime.timedelta(minutes=settings.AMPARO_SESSION_IDLE_MINUTES)
    lifetime = datetime.timedelta(hours=settings.AMPARO_SESSION_MAX_HOURS)
    return Q(expire_date__gt=now) & (
        Q(user__isnull=True)
        | (Q(last_seen_at__gte=now - idle) & Q(started_at__gte=now - lifetime)))


def clear_dead() -> int:
    """Remove the rows of sessions that ended by expiry without coming back (periodic: the
    task cases.clear_sessions); how many."""
    removed, _ = StaffSession.objects.exclude(live()).delete()
    return int(removed)


def current_id(request: HttpRequest) -> str:
    """The id (key hash) of the request's own session."""
    key = request.session.session_key
    return key_hash(key) if key else ""


@dataclass(frozen=True)
class OpenSession:
    """A row of the "Your sessions" page."""

    id: str
    started_at: datetime.datetime | None
    last_seen_at: datetime.datetime | None
    address: str | None
    agent: str
    current: bool


def open_sessions(request: HttpRequest) -> list[OpenSession]:
    """The user's sessions that have not expired, the current one first, then by last use."""
    here = current_id(request)
    rows = (StaffSession.objects.filter(live(), user=request.user.pk)
            .order_by(F("last_seen_at").desc(nulls_last=True))
            .values_list("session_key", "started_at", "last_seen_at", "address", "agent"))
    found = [OpenSession(*row, current=row[0] == here) for row in rows]
    return sorted(found, key=lambda s: not s.current)


# --- Login and the cap -----------------------------------------------------------------------

def _lock_account(user: User) -> None:
    # Two logins of one account at once: the second waits here and then counts the first.
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


def _end(rows: Any, *, actor: User | None, user: User | None, reason: str, **details: Any) -> int:
    ended, _ = rows.delete()
    if ended:
        events.emit("session.end", actor=actor, obj=user, reason=reason, ended=ended, **details)
    return int(ended)


def logged_in(sender: object, request: HttpRequest, user: User, **kwargs: object) -> None:
    """user_logged_in: the session records its client, and a login beyond AMPARO_MAX_SESSIONS
    ends the account's oldest sessions (the first opened)."""
    session = request.session
    session[CLIENT] = {"address": client_address(request),
                       "agent": agent_label(request.META.get("HTTP_USER_AGENT", ""))}
    cap = settings.AMPARO_MAX_SESSIONS
    with transaction.atomic():
        _lock_account(user)
        session.save()  # the row names its user now: a login beside this one counts it
        if cap <= 0:
            return
        others = (StaffSession.objects.filter(live(), user=user)
                  .exclude(session_key=current_id(request))
                  .order_by(F("started_at").desc(nulls_last=True), "-last_seen_at"))
        oldest = list(others.values_list("session_key", flat=True)[cap - 1:])
        ended = _end(StaffSession.objects.filter(session_key__in=oldest), actor=user, user=user,
                     reason=CAP, cap=cap)
    if ended:
        messages.info(request, ngettext(
            "You may have %(cap)s sessions open at once: your oldest session was ended.",
            "You may have %(cap)s sessions open at once: your %(ended)s oldest sessions were "
            "ended.", ended) % {"cap": cap, "ended": ended}, fail_silently=True)


# --- Ending sessions -------------------------------------------------------------------------

@transaction.atomic
def end_session(request: HttpRequest, *, session_id: str) -> bool:
    """End one of the user's other sessions; False when the user has no such session (the
    current one is ended by logging out)."""
    user: User = request.user  # type: ignore[assignment]
    if not session_id or session_id == current_id(request):
        return False
    return bool(_end(StaffSession.objects.filter(user=user, session_key=session_id),
                     actor=user, user=user, reason=BY_USER))


@transaction.atomic
def end_other_sessions(request: HttpRequest, *, reason: str = OTHERS) -> int:
    """End every session of the user but the current one; how many were ended."""
    user: User = request.user  # type: ignore[assignment]
    return _end(StaffSession.objects.filter(user=user).exclude(session_key=current_id(request)),
                actor=user, user=user, reason=reason)


@transaction.atomic
def end_all_sessions(*, by: User | None, user: User, reason: str) -> int:
    """End every session of `user` (the caller checked that `by` may)."""
    return _end(StaffSession.objects.filter(user=user), actor=by, user=user, reason=reason)


@transaction.atomic
def end_everyone(*, by: User | None, reason: str) -> int:
    """End every session, of every account, and the anonymous ones."""
    return _end(StaffSession.objects.all(), actor=by, user=None, reason=reason, everyone=True)
