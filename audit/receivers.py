"""Where events come from: cases.events, and Django's login signals."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit import chain
from cases import events


@receiver(events.recorded)
def write_event(sender, *, event: events.Event, **kwargs) -> None:
    chain.record(event)


@receiver(user_logged_in)
def logged_in(sender, request, user, **kwargs) -> None:
    events.emit("auth.login", actor=user)


@receiver(user_logged_out)
def logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        events.emit("auth.logout", actor=user)


@receiver(user_login_failed)
def login_failed(sender, credentials, request=None, **kwargs) -> None:
    locked = bool(getattr(request, "login_locked", False))
    events.emit("auth.lockout" if locked else "auth.login_failed", outcome="denied",
                username=str(credentials.get("username", ""))[:150])
