"""Real races on PostgreSQL: callers in threads, each with its own connection, released
together while another connection holds the lock they will queue on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from django.db import connection

from cases.crypto.datakeys import key_scope


def connect(autocommit: bool) -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(dbname=s["NAME"], host=s.get("HOST") or "127.0.0.1",
                           port=s.get("PORT") or 5432, user=s.get("USER") or "postgres",
                           password=s.get("PASSWORD") or None, autocommit=autocommit)


def _wait_until_blocked(watcher: psycopg.Connection, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()[0]
        if waiting >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{count} callers never queued on the lock")


def race(calls: list[Callable[[], Any]], hold: Callable[[psycopg.Connection], None]) -> list[Any]:
    """Run calls in threads while `hold` keeps a lock; release once all are waiting.

    Returns each call's result or the exception it raised, in order.
    """
    results: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls) + 1)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=15)
            with key_scope():  # as a request would
                results[i] = call()
        except Exception as exc:  # handed back to the test
            results[i] = exc
        finally:
            connection.close()  # this thread's own Django connection

    holder, watcher = connect(autocommit=False), connect(autocommit=True)
    try:
        hold(holder)
        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for t in threads:
            t.start()
        barrier.wait(timeout=15)
        _wait_until_blocked(watcher, len(calls))
        holder.rollback()  # let go: the callers race from here
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "a caller is stuck"
    finally:
        holder.close()
        watcher.close()
    return results


def race_on_case(case: Any, calls: list[Callable[[], Any]]) -> list[Any]:
    """`race`, queued on the case's row (what every workflow step locks first)."""
    return race(calls, lambda holder: holder.execute(
        "SELECT id FROM cases_case WHERE id = %s FOR UPDATE", [case.pk]))
