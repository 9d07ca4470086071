"""Refused requests as audit events: a 403 for what the user's role or office does not allow
(`handler403`), and a refused CSRF token (`CSRF_FAILURE_VIEW`).

The event names the page by its URL name (never the path, which holds ids, nor the query),
the method and the kind of refusal; nothing the user typed. Only logged-in users are
recorded: anyone else is sent to the login page, where failures have their own events.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.middleware import csrf
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views import defaults

from audit.models import AuditEvent
from cases import access, events

log = logging.getLogger(__name__)


def view_name(request: HttpRequest) -> str:
    """The URL name of the page asked for ("stats:index"), or "" when none matches."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return ""
    return str(match.view_name or "")[:100]


def _office(user: object) -> int | None:
    """The user's office when they belong to one only: the auditors of that office see it."""
    offices: set[int] = set().union(*access.roles_by_office(user).values())  # type: ignore[arg-type]
    return next(iter(offices)) if len(offices) == 1 else None


def _already_recorded() -> bool:
    """Whether this request already wrote a refusal that is still there (not rolled back):
    the page's own event (`case.view` refused, say) says it; a second would be noise."""
    info = events.current_request()
    if info is None or not info.refused:
        return False
    # A form's failed checks or a usage limit are refusals of their own, not of the page.
    return (AuditEvent.objects.filter(pk__in=info.refused)
            .exclude(action__in=("form.invalid", "ratelimit.exceeded")).exists())


def _record(request: HttpRequest, action: str, **details: object) -> HttpResponse | None:
    """Record the refusal; the page "audit unavailable" (503) when it cannot be written."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    try:
        events.record_refusal(action, actor=user, office_id=_office(user),
                              view=view_name(request), method=request.method or "", **details)
    except events.AuditUnavailable as exc:
        log.error("audit log unavailable on a refused request: %s", exc)
        return render(request, "audit_unavailable.html", status=503)
    return None


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: PermissionDenied from any view (a role the user lacks, another office's
    record), recorded as `access.denied` with the kind of refusal (the exception's class)."""
    if not _already_recorded():
        unavailable = _record(request, "access.denied", reason=type(exception).__name__)
        if unavailable is not None:
            return unavailable
    return defaults.permission_denied(request, exception)


# Django's reasons (django.middleware.csrf), as codes: some carry the Referer or Origin.
_CSRF_EXACT = {
    csrf.REASON_NO_CSRF_COOKIE: "no_cookie",
    csrf.REASON_CSRF_TOKEN_MISSING: "token_missing",
    csrf.REASON_NO_REFERER: "no_referer",
    csrf.REASON_MALFORMED_REFERER: "malformed_referer",
    csrf.REASON_INSECURE_REFERER: "insecure_referer",
}


def csrf_reason(reason: str) -> str:
    """A code for Django's CSRF failure reason; never the reason's text (a Referer, an
    Origin) nor a token."""
    if reason in _CSRF_EXACT:
        return _CSRF_EXACT[reason]
    if reason.startswith("Origin checking failed"):
        return "bad_origin"
    if reason.startswith("Referer checking failed"):
        return "bad_referer"
    if reason.endswith(f"{csrf.REASON_INCORRECT_LENGTH}."):
        return "token_length"
    if reason.endswith(f"{csrf.REASON_INVALID_CHARACTERS}."):
        return "token_characters"
    if reason.startswith("CSRF token from") and reason.endswith("incorrect."):
        return "token_incorrect"
    return "other"


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the refused token is recorded as `csrf.refuse` with the reason's
    code, and the usual 403 page is shown."""
    unavailable = _record(request, "csrf.refuse", reason=csrf_reason(reason))
    if unavailable is not None:
        return unavailable
    return render(request, "403.html", status=403)
