"""Two writers at the same moment, on real PostgreSQL connections (row locks do not exist
in SQLite, so these tests skip there).

A third connection holds the contested lock until every writer is queued behind it (seen
in pg_stat_activity), then lets go: the writers then really race, every run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from cases import services
from cases.models import Case

pytestmark = pytest.mark.postgres


def _connect(autocommit: bool) -> psycopg.Connection:
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
    raise AssertionError(f"{count} writers never queued on the lock")


def _race(calls: list[Callable[[], Any]], hold: Callable[[psycopg.Connection], None]) -> list:
    """Run calls in threads while `hold` keeps a lock; release once all are waiting.

    Returns each call's result or the exception it raised, in order.
    """
    results: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls) + 1)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=15)
            results[i] = call()
        except Exception as exc:  # handed back to the test
            results[i] = exc
        finally:
            connection.close()  # this thread's own Django connection

    holder, watcher = _connect(autocommit=False), _connect(autocommit=True)
    try:
        hold(holder)
        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for t in threads:
            t.start()
        barrier.wait(timeout=15)
        _wait_until_blocked(watcher, len(calls))
        holder.rollback()  # let go: the writers race from here
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "a writer is stuck"
    finally:
        holder.close()
        watcher.close()
    return results


@pytest.fixture
def people(postgres, caseworker, office, person_data):
    return [
        services.register_person(by=caseworker, office=office,
                                 data=person_data(given_names=f"Persona {i}"))
        for i in range(8)
    ]


def test_cases_opened_at_the_same_moment_get_distinct_consecutive_references(
    postgres, office, caseworker, caseworker2, people
):
    year = timezone.localdate().year
    prefix = f"{office.code}-{year}-"

    def first_counter_in_flight(holder: psycopg.Connection) -> None:
        # An uncommitted counter row: both writers block creating it, then it vanishes.
        holder.execute(
            "INSERT INTO cases_referencecounter (office_id, year, last) VALUES (%s, %s, 0)",
            [office.pk, year],
        )

    first = _race(
        [lambda p=p, u=u: services.open_case(by=u, person=p, kind="asylum")
         for p, u in [(people[0], caseworker), (people[1], caseworker2)]],
        first_counter_in_flight,
    )

    assert all(isinstance(r, Case) for r in first), first
    assert sorted(r.reference for r in first) == [f"{prefix}000001", f"{prefix}000002"]

    def counter_locked(holder: psycopg.Connection) -> None:
        holder.execute(
            "SELECT last FROM cases_referencecounter WHERE office_id = %s AND year = %s "
            "FOR UPDATE", [office.pk, year],
        )

    more = _race(
        [lambda p=p: services.open_case(by=caseworker, person=p, kind="trafficking")
         for p in people[2:]],
        counter_locked,
    )

    assert all(isinstance(r, Case) for r in more), more
    assert sorted(r.reference for r in more) == [f"{prefix}{n:06d}" for n in range(3, 9)]
    assert Case.objects.filter(office=office).count() == 8


def test_two_caseworkers_taking_the_same_case_one_wins(postgres, caseworker, caseworker2, people):
    case = services.open_case(by=caseworker, person=people[0], kind="asylum", assign_to_me=False)

    def case_locked(holder: psycopg.Connection) -> None:
        holder.execute("SELECT id FROM cases_case WHERE id = %s FOR UPDATE", [case.pk])

    results = _race(
        [lambda u=u: services.take_case(by=u, case=case) for u in (caseworker, caseworker2)],
        case_locked,
    )

    winners = [r for r in results if isinstance(r, Case)]
    losers = [r for r in results if isinstance(r, ValidationError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].messages == ["Someone else took this case a moment ago."]
    assert Case.objects.get(pk=case.pk).assigned_to == winners[0].assigned_to
    assert case.history.count() == 2  # opened, taken once
