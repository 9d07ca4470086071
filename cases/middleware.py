import logging

from django.shortcuts import render

from cases.crypto.datakeys import key_scope
from cases.crypto.envelope import DecryptionError

log = logging.getLogger(__name__)


class KeyScopeMiddleware:
    """Unwrapped data keys live for one request only; failed integrity checks get a clear page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with key_scope():
            response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Shared office computers: nothing a staff member saw stays in the browser cache.
            response["Cache-Control"] = "no-store"
        return response

    def process_exception(self, request, exception):
        if not isinstance(exception, DecryptionError):
            return None
        # The path holds only ids; the exception names table and column, never a value.
        log.error("integrity check failed on %s: %s", request.path, exception)
        return render(request, "integrity_error.html", status=500)
