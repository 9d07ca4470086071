"""Per-user budgets of searches, record views and exports (docs/architecture.md#rate-limits).

Each budget is a fixed window: one counter per user, kind and window in the `ratelimits`
cache, created with `add` and counted with `incr`, both atomic in Redis and in each process's
memory. The one request that counts `limit + 1` is the first refused of its window: it alone
writes the `ratelimit.exceeded` event and tells the office's supervisors, so a script that
keeps knocking leaves one event and one notification per window, not one per request.
Management commands do not pass through here: only pages are limited.
"""

from __future__ import annotations

import datetime
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from cases import access, events, notifications

log = logging.getLogger(__name__)

SEARCHES = "searches"
VIEWS = "views"
EXPORTS = "exports"
KINDS = (SEARCHES, VIEWS, EXPORTS)

# The pages each budget counts, by URL name, and the methods that count (None: every one).
# A search or a list of people or cases; a page or file of one person or case; a file of many.
PAGES: dict[str, tuple[str, frozenset[str] | None]] = {
    "people_search": (SEARCHES, None),
    "case_list": (SEARCHES, None),
    "person_detail": (VIEWS, None),
    "case_detail": (VIEWS, None),
    "document_download": (VIEWS, None),
    "message_attachment": (VIEWS, None),
    "biometrics:photo_image": (VIEWS, None),
    "biometrics:print_image": (VIEWS, None),
    "subject_request_export": (EXPORTS, None),
    "transfer_export": (EXPORTS, None),
    "package_send": (EXPORTS, frozenset({"POST"})),
    "audit_export": (EXPORTS, None),
    "tip:ctdc_export": (EXPORTS, frozenset({"POST"})),
    "stats:export": (EXPORTS, None),
    "stats:rsd_export": (EXPORTS, None),
    "stats:unhcr_export": (EXPORTS, None),
    "stats:report": (EXPORTS, None),
}


@dataclass(frozen=True)
class Budget:
    limit: int
    seconds: int


def parse(kind: str, value: str) -> Budget:
    """"LIMIT/SECONDS" (e.g. "300/600") as a Budget; a clear error for anything else."""
    try:
        limit, seconds = (int(part) for part in value.split("/"))
    except ValueError:
        raise ImproperlyConfigured(
            f"AMPARO_RATELIMIT_{kind.upper()} must be LIMIT/SECONDS, e.g. 300/600; "
            f"it is {value!r}.") from None
    if limit < 1 or seconds < 1:
        raise ImproperlyConfigured(
            f"AMPARO_RATELIMIT_{kind.upper()} needs a limit and a window of at least 1.")
    return Budget(limit, seconds)


def budget(kind: str) -> Budget:
    return parse(kind, str(getattr(settings, f"AMPARO_RATELIMIT_{kind.upper()}")))


@dataclass(frozen=True)
class Count:
    """One request counted: its number in the window, and when the window ends."""

    kind: str
    number: int
    budget: Budget
    ends_at: float

    @property
    def allowed(self) -> bool:
        return self.number <= self.budget.limit

    @property
    def first_refused(self) -> bool:
        return self.number == self.budget.limit + 1

    def retry_after(self, now: float | None = None) -> int:
        return max(1, math.ceil(self.ends_at - (time.time() if now is None else now)))


def count(user_id: int, kind: str, *, now: float | None = None) -> Count:
    """Count one request of `user_id` against the `kind` budget; atomic across processes when
    the `ratelimits` cache is shared (Redis)."""
    b = budget(kind)
    now = time.time() if now is None else now
    window = int(now // b.seconds)
    key = f"{kind}:{user_id}:{b.seconds}:{window}"
    cache = caches["ratelimits"]
    # Kept a window longer than it counts, so it cannot expire between `add` and `incr`.
    cache.add(key, 0, timeout=2 * b.seconds)
    try:
        number = cache.incr(key)
    except ValueError:  # evicted in between (locmem full): count afresh
        cache.add(key, 0, timeout=2 * b.seconds)
        number = cache.incr(key)
    return Count(kind, int(number), b, float((window + 1) * b.seconds))


def _single_office(user: Any) -> int | None:
    offices: set[int] = set().union(*access.roles_by_office(user).values())
    return next(iter(offices)) if len(offices) == 1 else None


@transaction.atomic
def record_exceeded(*, user: Any, counted: Count, page: str) -> None:
    """The first refusal of a window: one audit event, and the supervisors of the user's
    offices told (in the event's transaction)."""
    offices = sorted(set().union(*access.roles_by_office(user).values()))
    events.emit("ratelimit.exceeded", actor=user, outcome="denied",
                office_id=_single_office(user), kind=counted.kind, limit=counted.budget.limit,
                seconds=counted.budget.seconds, view=page, offices=offices)
    notifications.rate_limited(user=user, offices=offices, kind=counted.kind,
                               limit=counted.budget.limit, seconds=counted.budget.seconds)


class RateLimitMiddleware:
    """Counts the pages of `PAGES` for logged-in users; over budget: 429 with Retry-After."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any,
                     kwargs: Any) -> HttpResponse | None:
        user = getattr(request, "user", None)
        match = request.resolver_match
        if user is None or not user.is_authenticated or match is None:
            return None
        page = PAGES.get(match.view_name)
        if page is None or (page[1] is not None and request.method not in page[1]):
            return None
        try:
            counted = count(user.pk, page[0])
        except Exception:  # a shared cache out of reach: the page is served, the view recorded
            log.error("rate-limit counters unavailable; %s not counted", match.view_name,
                      exc_info=True)
            return None
        if counted.allowed:
            return None
        if counted.first_refused:
            try:
                record_exceeded(user=user, counted=counted, page=match.view_name)
            except events.AuditUnavailable:
                return render(request, "audit_unavailable.html", status=503)
        retry = counted.retry_after()
        response = render(request, "429.html", status=429, context={
            "kind": counted.kind, "seconds": retry, "minutes": math.ceil(retry / 60),
            "at": timezone.localtime(timezone.now() + datetime.timedelta(seconds=retry))})
        response["Retry-After"] = str(retry)
        return response
