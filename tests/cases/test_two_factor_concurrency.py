"""One code sent twice at the same moment, on real PostgreSQL connections: a backup code, or a
code from the app. The device's row, locked while the code is checked, decides: one request is
accepted, the other refused, and a backup code is used up once."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from django.urls import reverse

from audit.models import AuditEvent
from cases import two_factor
from cases.models import AuthenticatorApp, BackupCode, BackupCodeSet
from tests.cases.test_two_factor import BACKUP, code, enrol, login
from tests.races import race

pytestmark = pytest.mark.postgres


def _request(user, session_key: str):
    request = RequestFactory().post(reverse("two_factor_verify"))
    request.session = SessionStore(session_key)
    request.session.keys()  # read now, as each request did before the other checked its code
    request.user = user
    return request


@pytest.mark.parametrize("method", ["backup_code", "app"])
def test_one_code_sent_twice_at_once_is_accepted_once(postgres, supervisor, method):
    device = enrol(supervisor)
    value = BACKUP[0] if method == "backup_code" else code(device)
    locked = (BackupCodeSet.objects.get(user=supervisor) if method == "backup_code" else device)
    client = Client()
    login(client, supervisor)
    session_key = client.cookies["sessionid"].value
    requests = [_request(supervisor, session_key) for _ in range(2)]

    outcomes = race([lambda r=r: two_factor.verify(r, value) for r in requests],
                    lambda holder: holder.execute(
                        f"SELECT id FROM {locked._meta.db_table} WHERE id = %s FOR UPDATE",  # noqa: S608
                        [locked.pk]))

    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    assert sorted(o.ok for o in outcomes) == [False, True]
    assert AuditEvent.objects.filter(action="two_factor.verify", actor=supervisor).count() == 1
    assert AuditEvent.objects.get(action="two_factor.fail").details["reason"] == "wrong_code"
    left = BackupCode.objects.filter(code_set__user=supervisor).count()
    assert left == (len(BACKUP) - 1 if method == "backup_code" else len(BACKUP))
    if method == "app":
        assert AuthenticatorApp.objects.get(pk=device.pk).last_t >= 0
