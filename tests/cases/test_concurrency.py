"""Two writers at the same moment, on real PostgreSQL connections (row locks do not exist
in SQLite, so these tests skip there).

A third connection holds the contested lock until every writer is queued behind it (seen
in pg_stat_activity), then lets go: the writers then really race, every run.
"""

from __future__ import annotations

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases import services
from cases.models import Case
from tests.races import race as _race

pytestmark = pytest.mark.postgres


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
