import logging
import re
import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth, messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from cases import events, passwords, two_factor
from cases.crypto.datakeys import key_scope
from cases.crypto.envelope import DecryptionError
from cases.http import client_address
from cases.session_store import LOGIN_AT as LOGIN_AT
from cases.session_store import SEEN_AT as SEEN_AT

log = logging.getLogger(__name__)
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")


ALLOWED_METHODS = ("GET", "HEAD", "POST")


class MethodMiddleware:
    """Only the methods the pages use: a TRACE, PUT or DELETE would otherwise reach a view
    written for GET and be answered as one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ALLOWED_METHODS:
            return HttpResponseNotAllowed(ALLOWED_METHODS)
        return self.get_response(request)


class KeyScopeMiddleware:
    """Unwrapped data keys live for one request only; failed integrity checks get a clear page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A proxy's request id is kept for correlation, but only as plain letters and digits.
        request_id = _SAFE_ID.sub("", request.headers.get("X-Request-ID", ""))[:64]
        request_id = request_id or events.new_request_id()
        token = events.set_request(events.RequestInfo(
            request_id, client_address(request), user=getattr(request, "user", None)))
        try:
            with key_scope():
                response = self.get_response(request)
            try:
                # Refusals kept back while a transaction was open, now outside it.
                events.flush_refusals()
            except events.AuditUnavailable as exc:
                log.error("audit log unavailable on %s: %s", request.path, exc)
                response = render(request, "audit_unavailable.html", status=503)
        finally:
            events.reset_request(token)
        response["X-Request-ID"] = request_id
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Shared office computers: nothing a staff member saw stays in the browser cache.
            response["Cache-Control"] = "no-store"
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, events.AuditUnavailable):
            # Fail closed: what could not be recorded is neither shown nor changed.
            log.error("audit log unavailable on %s: %s", request.path, exception)
            return render(request, "audit_unavailable.html", status=503)
        if not isinstance(exception, DecryptionError):
            return None
        # The path holds only ids; the exception names table and column, never a value.
        log.error("integrity check failed on %s: %s", request.path, exception)
        return render(request, "integrity_error.html", status=500)


class PasswordChangeRequiredMiddleware:
    """A password someone else chose (new account, reset) is replaced before anything else,
    and ends the session once it expired (docs/architecture.md#passwords)."""

    ALLOWED = ("password_change", "logout", "set_language")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and passwords.temporary_expired(user):
            # Logged in before it expired (or through the administration site's login form):
            # the session ends as the login would have been refused.
            passwords.refuse_expired(user)
            auth.logout(request)
            messages.error(request, passwords.expired_message())
            return redirect("login")
        if (user is not None and user.is_authenticated
                and getattr(user, "must_change_password", False)
                and request.path not in {reverse(name) for name in self.ALLOWED}
                and not request.path.startswith(("/static/", "/health/"))):
            return redirect("password_change")
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """Who needs a second factor (docs/architecture.md#two-factor-authentication) enters a
    code, or sets up an app, before anything else; htmx requests get an HX-Redirect."""

    ALLOWED = ("logout", "set_language")
    PREFIXES = ("/two-factor/", "/static/", "/health/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and two_factor.pending(request):
            # The password only when it must change first (a temporary one): someone who knows
            # only the password may not replace it without the code.
            if not (request.path.startswith(self.PREFIXES)
                    or request.path in {reverse(name) for name in self.ALLOWED}
                    or (getattr(user, "must_change_password", False)
                        and request.path == reverse("password_change"))):
                return two_factor.to_verify(
                    request, request.get_full_path() if request.method == "GET" else "")
            request.two_factor_pending = True  # type: ignore[attr-defined]  # the top bar shows no menu
        return self.get_response(request)


SEEN_EVERY = 60


def session_opened(sender: object, request: HttpRequest, **kwargs: object) -> None:
    """user_logged_in: the session's clocks start."""
    now = int(time.time())
    request.session[LOGIN_AT] = now
    request.session[SEEN_AT] = now


class SessionLifetimeMiddleware:
    """Ends a session after AMPARO_SESSION_IDLE_MINUTES without a request and, whatever the
    activity, AMPARO_SESSION_MAX_HOURS after the login (docs/architecture.md#sessions)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        session = request.session
        now = int(time.time())
        opened = session.get(LOGIN_AT, now)
        seen = session.get(SEEN_AT, opened)
        idle = int(settings.AMPARO_SESSION_IDLE_MINUTES * 60)
        if now - opened > settings.AMPARO_SESSION_MAX_HOURS * 3600:
            return self._end(request, "lifetime", _(
                "Your session reached its time limit. Please log in again."))
        if now - seen > idle:
            return self._end(request, "idle", _(
                "You were logged out after %(minutes)s minutes without activity.")
                % {"minutes": settings.AMPARO_SESSION_IDLE_MINUTES})
        if LOGIN_AT not in session:
            session[LOGIN_AT] = opened  # a session opened before these clocks existed
        # The page's own question whether the session still runs is no activity.
        if now - seen >= SEEN_EVERY and request.path != reverse("session_remaining"):
            session[SEEN_AT] = now  # one session write a minute at most, not one per request
        return self.get_response(request)

    @staticmethod
    def _end(request: HttpRequest, why: str, message: str) -> HttpResponse:
        events.emit("session.expire", actor=request.user, reason=why)
        auth.logout(request)
        messages.info(request, message)
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("login")
            return response
        query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
        return redirect(f"{reverse('login')}?{query}" if query else reverse("login"))


def session_remaining(request: HttpRequest) -> int:
    """Seconds until the session ends, by idleness or lifetime, as the middleware counts."""
    session = request.session
    now = int(time.time())
    opened = session.get(LOGIN_AT, now)
    seen = session.get(SEEN_AT, opened)
    ends = min(seen + int(settings.AMPARO_SESSION_IDLE_MINUTES * 60),
               opened + settings.AMPARO_SESSION_MAX_HOURS * 3600)
    return max(0, int(ends) - now)
