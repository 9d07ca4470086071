"""One answer of a security key sent twice at the same moment, on real PostgreSQL
connections: both requests read the challenge from the session before either removes it, so
the key's locked row decides: one is accepted, the other is refused as a replay (not as a
copied key), also for a key that keeps no counter."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from audit.models import AuditEvent
from cases import security_keys
from cases.models import WebAuthnDevice
from cases.session_store import SessionStore
from tests.cases.authenticator import Authenticator
from tests.cases.test_security_keys import add_key, options
from tests.cases.test_two_factor import login
from tests.races import race

pytestmark = pytest.mark.postgres


def _request(user, session_key: str):
    request = RequestFactory().post(reverse("two_factor_key_verify"))
    request.session = SessionStore(session_key)
    request.session.keys()  # read now, as each request did before the other answered
    request.user = user
    return request


@pytest.mark.parametrize("counts", [True, False], ids=["counter", "no_counter"])
def test_one_answer_sent_twice_at_once_is_accepted_once(postgres, caseworker, counts):
    key = Authenticator(counts=counts)
    client = Client()
    login(client, caseworker)
    add_key(client, key)
    client.logout()
    login(client, caseworker)
    answer = key.get(options(client))
    session_key = client.cookies["sessionid"].value
    requests = [_request(caseworker, session_key) for _ in range(2)]
    device = WebAuthnDevice.objects.get(user=caseworker)

    outcomes = race([lambda r=r: security_keys.authenticate(r, credential=answer) for r in requests],
                    lambda holder: holder.execute(
                        "SELECT id FROM cases_webauthndevice WHERE id = %s FOR UPDATE", [device.pk]))

    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    assert sorted((o.ok, o.reason) for o in outcomes) == [(False, "replayed"), (True, "")]
    assert not AuditEvent.objects.filter(action="two_factor.key_cloned").exists()
    assert AuditEvent.objects.filter(action="two_factor.verify", actor=caseworker).count() == 1
    device.refresh_from_db()
    assert device.sign_count == (1 if counts else 0)
