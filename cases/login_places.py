"""A login from a browser and network the account has not used lately is told to its owner
(docs/architecture.md#new-browser-or-place-notices; V8.2.4, V8.4.2).

What is kept per account is a keyed hash (HMAC with a key derived from DJANGO_SECRET_KEY) of
the address's network (IPv4 /24, IPv6 /48) and the browser and system family, with when it
was first and last seen: never the address or the user agent themselves, so the table tells
nothing of where staff work from without the server's key.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from cases import events, notifications
from cases.http import client_address
from cases.models import LoginPlace, NotificationKind, User

# Most specific first: Edge and Opera say "Chrome" too, Chrome says "Safari".
_BROWSERS = (("Edg", "Edge"), ("OPR", "Opera"), ("Firefox", "Firefox"), ("Chrome", "Chrome"),
             ("Chromium", "Chrome"), ("Safari", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def browser_family(user_agent: str) -> str:
    """"Firefox, Windows": the browser and the system (names the same in every language), no
    version (which changes with every update and would make every month a new browser)."""
    browser = next((name for token, name in _BROWSERS if re.search(rf"\b{token}/", user_agent)),
                   "")
    system = next((name for token, name in _SYSTEMS if token in user_agent), "")
    if browser and system:
        return f"{browser}, {system}"
    return browser or system or "unknown"


def network(address: str | None) -> str:
    """The address's network: an office's or a provider's block changes less than its hosts."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    prefix = 24 if isinstance(ip, ipaddress.IPv4Address) else 48
    return str(ipaddress.ip_network((ip, prefix), strict=False))


def place_key(address: str | None, user_agent: str) -> str:
    return salted_hmac("amparo.login_places", f"{network(address)}|{browser_family(user_agent)}",
                       algorithm="sha256").hexdigest()


def _window() -> datetime.timedelta:
    return datetime.timedelta(days=settings.AMPARO_LOGIN_PLACE_DAYS)


@transaction.atomic
def record(user: User, *, address: str | None, user_agent: str) -> bool:
    """Note the login's place; True when it is new for the account (not seen in the last
    AMPARO_LOGIN_PLACE_DAYS). An account's very first place is where it starts: recorded,
    neither audited as new nor told. A new one is audited (`login.new_device`) and told to the
    user in the application and, when they have an email address, by email."""
    now = timezone.now()
    key = place_key(address, user_agent)
    known = LoginPlace.objects.filter(user=user).exclude(last_seen__lt=now - _window())
    first_ever = not known.exists()
    try:
        with transaction.atomic():
            place, created = LoginPlace.objects.get_or_create(
                user=user, key=key, defaults={"first_seen": now, "last_seen": now})
    except IntegrityError:  # the same place logging in twice at once: one row, one notice
        return False
    is_new = created or place.last_seen < now - _window()
    if not created:
        LoginPlace.objects.filter(pk=place.pk).update(last_seen=now)
    # Places not seen for the whole window are forgotten: the table stays small.
    LoginPlace.objects.filter(user=user, last_seen__lt=now - _window()).delete()
    if not is_new or first_ever:
        return False
    family = browser_family(user_agent)
    events.emit("login.new_device", actor=user, obj=user, browser=family)
    notifications.tell_account(user, NotificationKind.NEW_LOGIN_PLACE,
                               {"browser": family, "when": now.isoformat(timespec="minutes")})
    return True


def logged_in(sender: object, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """user_logged_in: note where from."""
    if request is None:
        return
    record(user, address=client_address(request),
           user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:512])

