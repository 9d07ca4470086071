"""Two enrolments of one finger at once, two searches raising the same pair, and one search
run twice at once, on PostgreSQL (tests/races.py)."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from biometrics import engine, services, tasks, worker
from biometrics.models import FingerprintCapture, SearchStatus
from cases import services as case_services
from cases.models import PossibleDuplicate
from tests.biometrics.prints import impression
from tests.races import race

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("file_root")]

A = 11


def _person(by, office, person_data, name):
    return case_services.register_person(by=by, office=office, data=person_data(
        given_names=name, family_names="Prueba", documents=[]))


def _lock_person(person):
    return lambda holder: holder.execute("SELECT id FROM cases_person WHERE id = %s FOR UPDATE",
                                         [person.pk])


def test_one_finger_enrolled_twice_at_once_keeps_one_current_capture(postgres, caseworker,
                                                                      office, person_data):
    person = _person(caseworker, office, person_data, "Ana")
    engine.engine().extract(impression(A, 1))  # the engine loaded before the race

    outcomes = race([lambda n=n: services.enrol_finger(by=caseworker, person=person, finger=1,
                                                       data=impression(A, n), dedupe=False)
                     for n in (1, 2)], _lock_person(person))

    assert all(isinstance(o, FingerprintCapture) for o in outcomes), outcomes
    assert FingerprintCapture.objects.filter(person=person, replaced_at__isnull=True).count() == 1
    assert FingerprintCapture.objects.filter(person=person).count() == 2


def test_two_searches_of_one_enrolment_raise_one_pair(postgres, caseworker, office, person_data):
    worker.forget()
    first = _person(caseworker, office, person_data, "Ana")
    services.enrol_finger(by=caseworker, person=first, finger=1, data=impression(A, 1), dedupe=False)
    again = _person(caseworker, office, person_data, "Carmen")
    capture = services.enrol_finger(by=caseworker, person=again, finger=1, data=impression(A, 2),
                                    dedupe=False)
    worker.gallery()  # built before the race

    # Both searches find no pair yet, then queue on writing it.
    outcomes = race([lambda: services.dedupe(capture.pk) for _ in range(2)], lambda holder: holder.execute(
        "LOCK TABLE cases_possibleduplicate IN EXCLUSIVE MODE"))

    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    assert PossibleDuplicate.objects.filter(person=again, other=first).count() == 1
    assert sum(f.pair is not None for o in outcomes for f in o) == 1
    worker.forget()


def test_a_search_delivered_twice_at_once_is_written_and_audited_once(postgres, caseworker,
                                                                      office, person_data,
                                                                      monkeypatch):
    worker.forget()
    person = _person(caseworker, office, person_data, "Ana")
    services.enrol_finger(by=caseworker, person=person, finger=1, data=impression(A, 1), dedupe=False)
    # The message waits in the broker: the two deliveries below are the worker's.
    monkeypatch.setattr(tasks.search_task, "delay", lambda search_id: None)
    queued = services.queue_search(by=caseworker, images={1: impression(A, 2)})
    worker.gallery()  # built before the race

    # Both runs search, then queue on writing the result.
    outcomes = race([lambda: services.run_search(queued.pk) for _ in range(2)], lambda holder: holder.execute(
        "SELECT id FROM biometrics_fingerprintsearch WHERE id = %s FOR UPDATE", [queued.pk]))

    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    assert sorted(o is None for o in outcomes) == [False, True]
    queued.refresh_from_db()
    assert queued.status == SearchStatus.DONE and queued.probe is None
    assert queued.candidates[0]["person"] == str(person.pk)
    assert AuditEvent.objects.filter(action="biometrics.search").count() == 1
    worker.forget()
