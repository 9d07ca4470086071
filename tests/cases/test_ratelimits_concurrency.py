"""Requests of one account at the same moment, on real PostgreSQL connections and a shared
Redis: no more than the budget get through, and the refusal is recorded once
(cases/ratelimits.py counts with Redis' atomic INCR)."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from cases.models import Notification, NotificationKind

pytestmark = pytest.mark.postgres

REQUESTS = 12
LIMIT = 4


def _redis_url() -> str:
    return os.environ.get("AMPARO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def shared_counters(settings):
    """The `ratelimits` cache on Redis, under a prefix of this test's own."""
    import redis

    client = redis.Redis.from_url(_redis_url(), socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"needs Redis at {_redis_url()} ({type(exc).__name__})")
    finally:
        client.close()
    prefix = f"amparo-ratelimit-test-{uuid.uuid4().hex}"
    settings.CACHES = {**settings.CACHES, "ratelimits": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url(),
        "KEY_PREFIX": prefix}}
    yield
    from django.core.cache import caches

    caches["ratelimits"].clear()


def _at_once(calls):
    results: list[object] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=15)
            results[i] = calls[i]()
        except Exception as exc:  # handed back to the test
            results[i] = exc
        finally:
            connection.close()  # this thread's own Django connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a request is stuck"
    return results


def test_requests_at_the_same_moment_get_no_more_than_the_budget(postgres, shared_counters,
                                                                 settings, caseworker,
                                                                 supervisor, case):
    settings.AMPARO_RATELIMIT_VIEWS = f"{LIMIT}/600"
    settings.AMPARO_MAX_SESSIONS = 0  # one account in many browsers at once, none ended
    url = reverse("case_detail", args=[case.pk])
    clients = []
    for _ in range(REQUESTS):
        c = Client()
        c.force_login(caseworker)
        clients.append(c)

    statuses = _at_once([lambda c=c: c.get(url).status_code for c in clients])

    assert sorted(statuses) == [200] * LIMIT + [429] * (REQUESTS - LIMIT)
    assert AuditEvent.objects.filter(action="ratelimit.exceeded").count() == 1
    assert Notification.objects.filter(kind=NotificationKind.RATE_LIMITED,
                                       recipient=supervisor).count() == 1
