"""Types and helpers for views."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django_htmx.middleware import HtmxDetails

from cases.models import User


class AuthedRequest(HttpRequest):
    """The request of a view behind login_required (or a role decorator): its user is a User."""

    user: User  # narrower than HttpRequest's user: login_required ensures it


class HtmxRequest(AuthedRequest):
    """Through django-htmx's middleware, which tells htmx's requests apart."""

    htmx: HtmxDetails


def _ip(value: str) -> str | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def client_address(request: HttpRequest | None) -> str | None:
    """The client's IP address, or None when it is not known.

    REMOTE_ADDR, unless AMPARO_TRUSTED_PROXIES says that n reverse proxies in front each
    append the address they saw to X-Forwarded-For: then the n-th entry from the right, the
    address the outermost trusted proxy saw. Entries further left are whatever the client
    sent and are never used."""
    if request is None:
        return None
    proxies = getattr(settings, "AMPARO_TRUSTED_PROXIES", 0)
    if proxies > 0:
        hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            return _ip(hops[-proxies])
    return _ip(str(request.META.get("REMOTE_ADDR") or ""))


# What a served file may do when a browser shows it: nothing (no script, no plugin, no
# request to anywhere); an image may show itself.
FILE_POLICY = "sandbox; default-src 'none'; img-src 'self'"


def protect_file(response: HttpResponseBase) -> HttpResponseBase:
    """Headers for an uploaded or generated file (document, letter, COI report): sandboxed,
    its type never guessed by the browser, and not kept in the browser's cache."""
    response["Content-Security-Policy"] = FILE_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
