from functools import cached_property
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from cases import access, secure_messages, selectors
from cases.models import Role, User


def roles(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if getattr(request, "two_factor_pending", False):
        return {"two_factor_pending": True}  # no menu before the code (cases.middleware)
    held = access.roles_by_office(user)
    return {
        # The page clears itself when the session ends (static/amparo.js).
        "session_idle_seconds": int(settings.AMPARO_SESSION_IDLE_MINUTES * 60),
        "user_roles": sorted(held),
        "is_case_staff": bool(held.get(Role.CASEWORKER) or held.get(Role.SUPERVISOR)),
        "is_supervisor": bool(held.get(Role.SUPERVISOR)),
    }


class Bell:
    """The navbar's unread count, read only if the page shows it (a fragment htmx swaps in
    does not): one statement, after the roles the page read already."""

    def __init__(self, user: User) -> None:
        self.user = user

    @cached_property
    def unread(self) -> selectors.Bounded:
        return selectors.unread_notifications(self.user)

    @cached_property
    def messages(self) -> selectors.Bounded:
        """Unread secure messages (a second statement, for case staff only)."""
        return secure_messages.unread_count(self.user)

    @cached_property
    def total(self) -> selectors.Bounded:
        """What the bell shows: unread notifications and messages, "9+" past nine."""
        n = int(self.unread) + int(self.messages)
        return selectors.bounded(n, selectors.BELL_LIMIT) if not (
            self.unread.more or self.messages.more) else selectors.Bounded(
            selectors.BELL_LIMIT, True)


def notifications(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(request, "two_factor_pending", False):
        return {}
    return {"bell": Bell(user)}
