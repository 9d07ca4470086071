"""Two logins from the same new place at the same moment, on real PostgreSQL connections:
one place row, one notice, one audit event."""

from __future__ import annotations

import psycopg
import pytest

from audit.models import AuditEvent
from cases import login_places
from cases.models import LoginPlace, Notification, NotificationKind
from tests.cases.test_login_places import CHROME_ANDROID, ELSEWHERE, FIREFOX, OFFICE
from tests.races import race

pytestmark = pytest.mark.postgres


def test_two_logins_from_one_new_place_at_once_are_told_once(postgres, caseworker):
    login_places.record(caseworker, address=OFFICE, user_agent=FIREFOX)  # where it started
    key = login_places.place_key(ELSEWHERE, CHROME_ANDROID)

    def place_in_flight(holder: psycopg.Connection) -> None:
        """An uncommitted row for the same place: both logins queue behind it, then it goes."""
        holder.execute("INSERT INTO cases_loginplace (user_id, key, first_seen, last_seen) "
                       "VALUES (%s, %s, now(), now())", [caseworker.pk, key])

    results = race([lambda: login_places.record(caseworker, address=ELSEWHERE,
                                                user_agent=CHROME_ANDROID)] * 2, place_in_flight)

    assert sorted(results) == [False, True], results
    assert LoginPlace.objects.filter(user=caseworker, key=key).count() == 1
    assert Notification.objects.filter(recipient=caseworker,
                                       kind=NotificationKind.NEW_LOGIN_PLACE).count() == 1
    assert AuditEvent.objects.filter(action="login.new_device").count() == 1
