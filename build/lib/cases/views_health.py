"""Readiness and liveness for load balancers and monitoring: no login, no audit event, nothing
about the data. `/health/` answers from one database query (the ceiling the pages are measured
against in bench/); `/health/live/` only says the process answers."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)


def _answer(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@never_cache
@require_safe
def ready(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        log.exception("health check: the database does not answer")
        return _answer(503, "database unavailable\n")
    return _answer(200, "ok\n")


@never_cache
@require_safe
def live(request: HttpRequest) -> HttpResponse:
    return _answer(200, "ok\n")
