"""Lock an account name out after repeated failed logins (counted from the audit log)."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AuditEvent


def failures_since(username: str, since: datetime.datetime) -> int:
    """Failed logins of this user name since `since` and since its last successful login."""
    last_ok = AuditEvent.objects.filter(
        action="auth.login", actor_username=username, at__gte=since
    ).order_by("-at").values_list("at", flat=True).first()
    return AuditEvent.objects.filter(
        action="auth.login_failed", actor_username=username, at__gte=last_ok or since).count()


class LockoutBackend(ModelBackend):
    """First in AUTHENTICATION_BACKENDS: refuses, before any password check, a user name
    with AMPARO_LOGIN_MAX_FAILURES failures in the last AMPARO_LOGIN_LOCKOUT_MINUTES."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> None:
        if not username:
            return None
        window = datetime.timedelta(minutes=settings.AMPARO_LOGIN_LOCKOUT_MINUTES)
        if failures_since(username, timezone.now() - window) >= settings.AMPARO_LOGIN_MAX_FAILURES:
            if request is not None:
                request.login_locked = True  # type: ignore[attr-defined]  # a flag for receivers.login_failed
            raise PermissionDenied("locked out")
        return None  # the password is checked by the next backend

    # get_user and the permission methods are ModelBackend's: sessions that name this
    # backend (the first one, e.g. after force_login) still find their user.
