"""Why a case was shared or unshared is sealed in the grant's history with the key of the
case's principal (cases 0029): not in a raw column, not in a pg_dump, gone when the
principal is erased; reasons written in clear before the migration are sealed by it."""

from __future__ import annotations

import datetime
import os
import subprocess
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from cases import access, services
from cases.crypto import datakeys
from cases.crypto.datakeys import key_scope
from cases.models import CaseUserObjectPermission
from tests.cases.rawsql import read_column

REASON = "Traslado de Yesenia Quiej Xalbal al albergue Tzununá de Cobán"
UNSHARE = "Yesenia Quiej Xalbal ya no necesita la referencia"
History = CaseUserObjectPermission.history.model


def _raw_reasons() -> list[bytes]:
    table = connection.ops.quote_name(History._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(f"SELECT history_change_reason FROM {table}")  # noqa: S608
        return [bytes(r[0]) for r in cur.fetchall() if r[0] is not None]


def test_the_reason_of_a_share_and_of_its_end_is_sealed(supervisor, other_caseworker, case):
    services.grant_case_access(by=supervisor, case=case, user=other_caseworker, reason=REASON)
    services.revoke_case_access(by=supervisor, case=case, user=other_caseworker, reason=UNSHARE)

    # The grant of the case and of each of its parts, each with the reason.
    rows = History.objects.filter(permission__codename="view_case").order_by("history_date")
    assert [(h.history_type, h.history_change_reason) for h in rows] == [
        ("+", REASON), ("-", UNSHARE)]
    assert {h.principal_key for h in History.objects.all()} == {case.principal_id}
    raw = _raw_reasons()
    assert len(raw) == History.objects.count() == 2 * (1 + len(access.PARTS))
    for blob in raw:
        assert b"Quiej" not in blob and b"Tzunun" not in blob
        assert REASON.encode().hex() not in blob.hex()


def test_a_grant_made_without_the_service_is_keyed_to_the_principal(other_caseworker, case):
    from django.contrib.auth.models import Permission
    perm = Permission.objects.get(content_type__app_label="cases", codename="view_case")
    grant = CaseUserObjectPermission(content_object=case, user=other_caseworker, permission=perm)
    grant._change_reason = REASON  # type: ignore[attr-defined]
    grant.save()
    assert grant.principal_key == case.principal_id
    row = History.objects.get()
    assert row.history_change_reason == REASON
    assert b"Quiej" not in read_column(History, row.history_id, "history_change_reason")


def test_erasing_the_principal_shreds_the_reason(supervisor, other_caseworker, case):
    services.grant_case_access(by=supervisor, case=case, user=other_caseworker, reason=REASON)
    services.revoke_case_access(by=supervisor, case=case, user=other_caseworker, reason=UNSHARE)
    case.state = "closed"
    case.closed_at = timezone.now()
    case.save()
    services.erase_person(by=supervisor, person=case.principal, code="request")

    with key_scope():
        assert {h.history_change_reason for h in History.objects.all()} == {None}
    # The rows stay: who shared the case with whom, and when, is still known.
    assert History.objects.filter(user=other_caseworker, history_user=supervisor,
                                  permission__codename="view_case").count() == 2


@pytest.mark.postgres
def test_a_pg_dump_holds_no_reason(postgres, supervisor, other_caseworker, case):
    services.grant_case_access(by=supervisor, case=case, user=other_caseworker, reason=REASON)
    params = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": params.get("PASSWORD") or ""}
    result = subprocess.run(
        ["pg_dump", "--no-owner", "--dbname", params["NAME"],
         "--host", params.get("HOST") or "127.0.0.1", "--port", str(params.get("PORT") or 5432),
         "--username", params.get("USER") or "postgres"],
        capture_output=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode()
    dump = result.stdout.lower()
    # The dump is real: the grant's sealed reason is in it, as hex.
    blob = _raw_reasons()[0]
    assert blob.hex().encode() in dump
    for needle in ("Quiej Xalbal", "Tzununá de Cobán", "Yesenia"):
        assert needle.lower().encode() not in dump
        assert needle.lower().encode().hex().encode() not in dump
        assert needle.encode().hex().encode() not in dump


# --- The migration -------------------------------------------------------------------------------

BEFORE = [("cases", "0028_security_keys")]
NOW = timezone.now()


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before_sealing(transactional_db):
    try:
        yield _migrate(BEFORE)
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.ci_postgresql  # as tests/cases/test_sealing_migrations.py
def test_the_migration_seals_reasons_written_in_clear(before_sealing):
    apps = before_sealing
    office = apps.get_model("cases", "Office").objects.create(
        code="BZ-BMP", name="Refugees Department", country="BZ")
    user = apps.get_model("cases", "User").objects.create(username="clerk")
    other = apps.get_model("cases", "User").objects.create(username="colleague")
    perm = apps.get_model("auth", "Permission").objects.get(
        content_type__app_label="cases", codename="view_case")
    grants = {}
    for name, erased in (("kept", False), ("erased", True)):
        pid = uuid.uuid4()
        datakeys.create_data_key(subject_id=pid)
        person = apps.get_model("cases", "Person").objects.create(
            id=pid, office=office, registered_by=user, sex="female", birth_year=1990,
            created_at=NOW, updated_at=NOW)
        case = apps.get_model("cases", "Case").objects.create(
            id=uuid.uuid4(), reference=f"BZ-BMP-2026-{len(grants) + 1:06}", office=office,
            kind="asylum", principal=person, opened_by=user, opened_at=NOW, updated_at=NOW)
        grant = apps.get_model("cases", "CaseUserObjectPermission").objects.create(
            content_object=case, user=other, permission=perm)
        for kind, reason in (("+", f"{REASON} ({name})"), ("~", None)):
            apps.get_model("cases", "HistoricalCaseUserObjectPermission").objects.create(
                id=grant.id, content_object=case, user=other, permission=perm,
                history_date=NOW - datetime.timedelta(minutes=1 if kind == "+" else 0),
                history_type=kind, history_user=user, history_change_reason=reason)
        if erased:
            datakeys.destroy(subject_id=pid)
        grants[name] = (grant.id, pid)

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    with key_scope():
        kept_id, kept_person = grants["kept"]
        assert CaseUserObjectPermission.objects.get(pk=kept_id).principal_key == kept_person
        rows = History.objects.filter(id=kept_id).order_by("history_date")
        assert [h.history_change_reason for h in rows] == [f"{REASON} (kept)", None]
        erased_id, _ = grants["erased"]
        assert [h.history_change_reason for h in History.objects.filter(id=erased_id)] == [None, None]
    raw = _raw_reasons()
    assert len(raw) == 1  # the erased principal's reason had no key left: cleared
    assert b"Quiej" not in raw[0]
