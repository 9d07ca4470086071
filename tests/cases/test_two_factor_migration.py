"""The migration to Amparo's own second-factor devices (cases 0044): an app and backup codes set
up before it (in django-otp's tables, in clear) work the same after it, sealed and hashed, and
nothing is left in clear; migrating back gives the app's seed again (backup codes cannot come
back from their hashes)."""

from __future__ import annotations

import time

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django_otp.oath import hotp

from cases import two_factor_secrets
from cases.models import AuthenticatorApp, BackupCode, BackupCodeSet
from tests.cases.rawsql import read_column

# Upgrades of existing data happen on deployments, which run PostgreSQL: CI migrates back
# and forth there (each way takes minutes).
pytestmark = pytest.mark.ci_postgresql

# django-otp's apps named too: their models are then in the historical state.
BEFORE = [("cases", "0044_rate_limit_notifications"), ("otp_totp", "0003_add_timestamps"),
          ("otp_static", "0003_add_timestamps")]
SEED = bytes.fromhex("3132333435363738393031323334353637383930")  # RFC 6238's test seed
CODES = ["aaaabbbb", "ccccdddd", "Eeee-Ffff"]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def before(transactional_db):
    """The schema before the migration; the latest again afterwards."""
    try:
        yield _migrate(BEFORE)
    finally:
        _migrate(_latest())


def _old_factors(apps):
    """As django-otp kept them: an app half a minute after its last code, three backup codes;
    and a second user whose app was never confirmed."""
    User = apps.get_model("cases", "User")
    user, other = User.objects.create(username="lucia"), User.objects.create(username="tomas")
    last_t = int(time.time() // 30) - 1
    apps.get_model("otp_totp", "TOTPDevice").objects.create(
        user=user, name="app", confirmed=True, key=SEED.hex(), last_t=last_t,
        throttling_failure_count=2)
    apps.get_model("otp_totp", "TOTPDevice").objects.create(
        user=other, name="app", confirmed=False, key="ab" * 20)
    static = apps.get_model("otp_static", "StaticDevice").objects.create(
        user=user, name="backup", confirmed=True)
    for token in CODES:
        static.token_set.create(token=token)
    return user.pk, other.pk, last_t


def test_an_upgrade_keeps_every_factor_sealed_and_hashed(before):
    user_id, other_id, last_t = _old_factors(before)

    apps = _migrate(_latest())

    assert not apps.get_model("otp_totp", "TOTPDevice").objects.exists()
    assert not apps.get_model("otp_static", "StaticDevice").objects.exists()
    assert not apps.get_model("otp_static", "StaticToken").objects.exists()
    app = AuthenticatorApp.objects.get(user_id=user_id)
    assert app.confirmed and app.seed == SEED and app.last_t == last_t
    assert app.throttling_failure_count == 2
    stored = read_column(AuthenticatorApp, app.pk, "seed")
    assert SEED not in stored and SEED.hex().encode() not in stored
    assert AuthenticatorApp.objects.get(user_id=other_id, confirmed=False).seed == bytes.fromhex("ab" * 20)
    hashes = list(BackupCode.objects.filter(code_set__user_id=user_id).values_list("hashed", flat=True))
    assert len(hashes) == len(CODES) and not any(c.lower() in h.lower() for c in CODES for h in hashes)

    AuthenticatorApp.objects.filter(pk=app.pk).update(throttling_failure_count=0)
    app.refresh_from_db()
    with transaction.atomic():
        assert not app.verify_token(f"{hotp(SEED, last_t):06d}")  # used before the upgrade
    AuthenticatorApp.objects.filter(pk=app.pk).update(throttling_failure_count=0)
    app.refresh_from_db()
    with transaction.atomic():
        assert app.verify_token(f"{hotp(SEED, int(time.time() // 30)):06d}")
    code_set = BackupCodeSet.objects.get(user_id=user_id)
    with transaction.atomic():
        assert code_set.verify_token("eeeeffff")  # as the code page normalises it
        assert not code_set.verify_token("eeeeffff")  # once


def test_migrating_back_gives_the_seed_again(before):
    user_id, _, last_t = _old_factors(before)
    _migrate(_latest())
    assert two_factor_secrets.code_matches(
        "aaaabbbb", BackupCode.objects.filter(code_set__user_id=user_id).values_list("hashed", flat=True)[0])

    apps = _migrate(BEFORE)

    old = apps.get_model("otp_totp", "TOTPDevice").objects.get(user_id=user_id)
    assert old.key == SEED.hex() and old.last_t == last_t and old.confirmed
    assert apps.get_model("otp_totp", "TOTPDevice").objects.count() == 2
    assert not apps.get_model("otp_static", "StaticToken").objects.exists()
