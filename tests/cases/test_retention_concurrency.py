"""Two retention runs at the same moment, on real PostgreSQL connections: each person is
erased once (cases/retention.py locks the person's row and looks again)."""

from __future__ import annotations

import datetime

import pytest

from audit.models import AuditEvent
from cases import retention, services
from cases.models import Person, RetentionRule
from tests.races import race

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("file_root")]


def test_two_runs_at_once_erase_each_person_once(postgres, default_rules, caseworker, office, person_data):
    RetentionRule.objects.exclude(record_type="person.no_case").update(enabled=False)
    RetentionRule.objects.filter(record_type="person.no_case").update(years=1, destructive=True)
    people = [services.register_person(by=caseworker, office=office,
                                       data=person_data(given_names=f"Persona {n}"))
              for n in range(6)]
    long_ago = datetime.datetime(2020, 1, 1, 12, tzinfo=datetime.UTC)
    Person.objects.filter(pk__in=[p.pk for p in people]).update(updated_at=long_ago)
    first = min(p.pk for p in people)
    today = datetime.date(2026, 6, 15)

    runs = race([lambda: retention.run(today=today), lambda: retention.run(today=today)],
                lambda holder: holder.execute(
                    "SELECT id FROM cases_person WHERE id = %s FOR UPDATE", [first]))

    assert not any(isinstance(r, Exception) for r in runs), runs
    assert sum(r.done for r in runs) == 6 and sum(r.failed for r in runs) == 0
    assert Person.objects.filter(erased_at__isnull=False).count() == 6
    for p in people:
        assert AuditEvent.objects.filter(action="person.erase", object_id=str(p.pk)).count() == 1
