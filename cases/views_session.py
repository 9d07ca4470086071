"""Whether the session still runs, for a page left open (static/amparo.js): when it has
ended, the page replaces itself with the login page, so that nothing stays on the screen
of an office computer after the idle timeout (docs/architecture.md#sessions)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cases import middleware


@never_cache
@require_GET
def remaining(request: HttpRequest) -> JsonResponse:
    """{"active": true, "remaining": seconds}; 401 without a session. Asking is no activity:
    it does not keep the session open (cases.middleware.SessionLifetimeMiddleware)."""
    if not request.user.is_authenticated:
        return JsonResponse({"active": False}, status=401)
    return JsonResponse({"active": True, "remaining": middleware.session_remaining(request)})
