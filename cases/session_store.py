"""Database sessions stored under the hash of their key (docs/architecture.md#sessions).

Django's database backend keeps the cookie's value as the row's key, so a copy of the table
(a backup, a read-only database account) holds every live session. Here the row's key is
the SHA-256 of the cookie's value; the cookie alone opens a session. Session keys are 32
random characters (about 165 bits), so an unsalted hash cannot be reversed or guessed.

Each save also copies into columns what the list of one's sessions and the cap read: the
user, the login time, the last activity stamp (written at most once a minute by
cases.middleware.SessionLifetimeMiddleware) and the client recorded at login."""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.utils import timezone

LOGIN_AT = "_amparo_login_at"  # when the session was opened (Unix seconds)
SEEN_AT = "_amparo_seen_at"  # the last request, written at most once a minute
CLIENT = "_amparo_client"  # {"address": ..., "agent": ...}, recorded at login


def key_hash(session_key: str) -> str:
    """What a session's row is stored under."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def _moment(value: object) -> datetime.datetime | None:
    if not isinstance(value, int | float):
        return None
    return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)


def columns(data: dict[str, Any]) -> dict[str, Any]:
    """The columns a session's data gives its row."""
    user = data.get(SESSION_KEY)
    client = data.get(CLIENT) or {}
    return {
        "user_id": int(user) if isinstance(user, str | int) and str(user).isdigit() else None,
        "started_at": _moment(data.get(LOGIN_AT)),
        "last_seen_at": _moment(data.get(SEEN_AT, data.get(LOGIN_AT))),
        "address": client.get("address") or None,
        "agent": str(client.get("agent", ""))[:80],
    }


class SessionStore(db.SessionStore):
    """Django's database store, keyed by key_hash() of the session key."""

    @classmethod
    def get_model_class(cls) -> Any:
        from cases.models import StaffSession

        return StaffSession

    def _get_session_from_db(self) -> Any:
        if self.session_key is None:
            return None
        found = self.model.objects.filter(
            session_key=key_hash(self.session_key), expire_date__gt=timezone.now()).first()
        if found is None:
            self._session_key = None
        return found

    async def _aget_session_from_db(self) -> Any:
        if self.session_key is None:
            return None
        found = await self.model.objects.filter(
            session_key=key_hash(self.session_key), expire_date__gt=timezone.now()).afirst()
        if found is None:
            self._session_key = None
        return found

    def exists(self, session_key: str) -> bool:
        return bool(self.model.objects.filter(session_key=key_hash(session_key)).exists())

    async def aexists(self, session_key: str) -> bool:
        return bool(await self.model.objects.filter(session_key=key_hash(session_key)).aexists())

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        key = self._get_or_create_session_key()  # type: ignore[attr-defined]  # Django's, unstubbed
        return self.model(session_key=key_hash(key),
                          session_data=self.encode(data), expire_date=self.get_expiry_date(),
                          **columns(data))

    async def acreate_model_instance(self, data: dict[str, Any]) -> Any:
        key = await self._aget_or_create_session_key()  # type: ignore[attr-defined]  # Django's, unstubbed
        return self.model(session_key=key_hash(key),
                          session_data=self.encode(data),
                          expire_date=await self.aget_expiry_date(), **columns(data))

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        if session_key is not None:
            self.model.objects.filter(session_key=key_hash(session_key)).delete()

    async def adelete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        if session_key is not None:
            await self.model.objects.filter(session_key=key_hash(session_key)).adelete()
