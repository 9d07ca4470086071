from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class StaffSession(AbstractBaseSession):
    """A session, stored under the SHA-256 of its key (the cookie's value), never the key
    itself: a copy of this table opens no session (cases/session_store.py;
    docs/architecture.md#sessions).

    Besides Django's data, the columns the "Your sessions" page and the cap read, copied from
    the session's own data at each save (the login, and the activity stamp written at most
    once a minute): whose it is, when it started, when it was last used, the client's address
    and a short browser and system label."""

    session_key = models.CharField("session key hash", max_length=64, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="sessions")
    started_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    agent = models.CharField(max_length=80, blank=True)

    class Meta:
        db_table = "cases_session"
        indexes = [models.Index(fields=["user", "started_at"], name="cases_session_user")]

    @classmethod
    def get_session_store_class(cls) -> Any:
        from cases.session_store import SessionStore

        return SessionStore
