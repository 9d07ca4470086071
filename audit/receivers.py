"""Where events come from: cases.events, and Django's login signals."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from audit import chain
from cases import events
from cases.lockout import Lock
from cases.models import User


@receiver(events.recorded)
def write_event(sender: object, *, event: events.Event, **kwargs: Any) -> None:
    row = chain.record(event)
    info = events.current_request()
    if info is not None and event.outcome == "denied":
        info.refused.append(row.pk)  # audit.refusals: one refusal is enough per request


@receiver(user_logged_in)
def logged_in(sender: object, request: HttpRequest, user: User, **kwargs: Any) -> None:
    events.emit("auth.login", actor=user)


@receiver(user_logged_out)
def logged_out(sender: object, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        events.emit("auth.logout", actor=user)


@receiver(user_login_failed)
def login_failed(sender: object, credentials: dict[str, Any], request: HttpRequest | None = None,
                 **kwargs: Any) -> None:
    lock: Lock | None = getattr(request, "login_locked", None)  # set by cases.lockout
    username = str(credentials.get("username", ""))[:150]
    if lock is not None:
        events.emit("auth.lockout", outcome="denied", username=username, scope=lock.scope)
    else:
        events.emit("auth.login_failed", outcome="denied", username=username)
