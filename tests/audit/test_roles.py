"""The application's database role may use the application's tables but only INSERT and
SELECT the audit tables, and owns nothing: it cannot delete, change or empty the log, nor
switch its triggers off. Migrations run as the owner, on an alias of their own."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from audit import roles, verify
from audit.models import AuditEvent, ChainLink, Checkpoint
from audit.services import sign_checkpoint
from cases import events
from cases.models import Office, Role

ROOT = Path(__file__).resolve().parents[2]


def _drop(role: str) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cur.fetchone():
            cur.execute(f'DROP OWNED BY "{role}"')
            cur.execute(f'DROP ROLE "{role}"')


@pytest.fixture
def app_role(postgres) -> Iterator[str]:
    """A role of this test database's own (roles are shared by the whole server)."""
    name = f"{connection.settings_dict['NAME']}_app"[:63]
    _drop(name)
    call_command("db_roles", app_role=name, create=True, database="default", stdout=io.StringIO())
    yield name
    _drop(name)


@contextlib.contextmanager
def django_as(role: str) -> Iterator[None]:
    """Django's own connection, logged in as `role` for the block."""
    connection.close()
    saved = connection.settings_dict["USER"]
    connection.settings_dict["USER"] = role
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["USER"] = saved


def connect_as(role: str) -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(dbname=s["NAME"], host=s.get("HOST") or "127.0.0.1",
                           port=s.get("PORT") or 5432, user=role, autocommit=True)


@pytest.fixture
def logged(postgres):
    for i in range(3):
        with transaction.atomic():
            events.emit("test.touch", object_type="test.thing", object_id=str(i))
    assert sign_checkpoint() is not None
    return AuditEvent.objects.order_by("id").values_list("id", flat=True).first()


@pytest.mark.postgres
@pytest.mark.usefixtures("test_actions")
def test_the_application_works_as_the_restricted_role(app_role, audit_files):
    with django_as(app_role):
        with connection.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone()[0] == app_role
        # It writes events, links them, witnesses and signs the head, and verifies
        for i in range(3):
            with transaction.atomic():
                events.emit("test.touch", object_type="test.thing", object_id=str(i))
        assert sign_checkpoint().position == 3
        assert [line["position"] for line in audit_files.head_lines()] == [1, 2, 3]
        report = verify.verify()
        assert report.ok, report.failure
        # And uses the application's tables as usual
        office = Office.objects.create(code="BZ-BMP", name="x", country="BZ", city="y")
        Office.objects.filter(pk=office.pk).update(name="z")
        Office.objects.filter(pk=office.pk).delete()
        # And the deployment check finds nothing to warn about
        found = roles.exposure(connection)
        assert (found.user, found.owns, found.may) == (app_role, [], {})
        ids = {m.id for m in run_checks(include_deployment_checks=True)}
        assert not ids & {"amparo.W102", "amparo.W103", "amparo.W105"}


REFUSED = [
    "DELETE FROM audit_auditevent",
    "DELETE FROM audit_chainlink WHERE position = 3",
    "DELETE FROM audit_checkpoint",
    "UPDATE audit_chainlink SET hash = repeat('0', 64) WHERE position = 3",
    "UPDATE audit_auditevent SET action = 'x'",
    "UPDATE audit_checkpoint SET hash = 'x'",
    "TRUNCATE audit_auditevent",
    "TRUNCATE audit_chainlink",
    "TRUNCATE audit_checkpoint",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER USER",
    "ALTER TABLE audit_chainlink DISABLE TRIGGER audit_chainlink_append_only",
    "DROP TRIGGER audit_chainlink_append_only ON audit_chainlink",
    "DROP TABLE audit_checkpoint",
    "SET session_replication_role = replica",
    "SELECT setval('audit_auditevent_id_seq', 1)",
    "CREATE TRIGGER t BEFORE INSERT ON audit_chainlink "
    "FOR EACH ROW EXECUTE FUNCTION amparo_audit_append_only()",
]


@pytest.mark.postgres
@pytest.mark.usefixtures("test_actions")
@pytest.mark.parametrize("sql", REFUSED)
def test_the_restricted_role_cannot_change_the_log(app_role, logged, sql):
    before = (list(AuditEvent.objects.values_list("id", "action", "mac")),
              list(ChainLink.objects.values_list("position", "hash")),
              list(Checkpoint.objects.values_list("position", "hash")))
    with connect_as(app_role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(sql)
    after = (list(AuditEvent.objects.values_list("id", "action", "mac")),
             list(ChainLink.objects.values_list("position", "hash")),
             list(Checkpoint.objects.values_list("position", "hash")))
    assert after == before
    assert verify.verify().ok


@pytest.mark.postgres
@pytest.mark.usefixtures("test_actions")
def test_what_the_restricted_role_may_insert_does_not_verify(app_role, logged):
    # INSERT is allowed: a link made up without the chain key is caught
    head = ChainLink.objects.order_by("-position").first()
    with connect_as(app_role) as conn:
        conn.execute("INSERT INTO audit_chainlink (position, event_id, prev_hash, hash, linked_at) "
                     "VALUES (%s, %s, %s, %s, now())", [head.position + 1, 999999, head.hash, "0" * 64])
        assert conn.execute("SELECT count(*) FROM audit_chainlink").fetchone()[0] == 4
    assert verify.verify().failure.reason == "event deleted"


@pytest.mark.postgres
def test_db_roles_refuses_a_role_that_would_not_be_restricted(app_role):
    with pytest.raises(CommandError, match="the application needs a role of its own"):
        call_command("db_roles", app_role=connection.settings_dict["USER"] or "postgres")
    with pytest.raises(CommandError, match="does not exist"):
        call_command("db_roles", app_role="amparo_no_such_role_xyz")
    with connection.cursor() as cur:
        cur.execute(f'ALTER ROLE "{app_role}" SUPERUSER')
    with pytest.raises(CommandError, match="is a superuser"):
        call_command("db_roles", app_role=app_role)
    with connection.cursor() as cur:
        cur.execute(f'ALTER ROLE "{app_role}" NOSUPERUSER')
        cur.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'audit_auditevent'")
        owner = cur.fetchone()[0]
        cur.execute(f'GRANT "{owner}" TO "{app_role}"')
    try:
        with pytest.raises(CommandError, match="member of its owner"):
            call_command("db_roles", app_role=app_role)
    finally:
        with connection.cursor() as cur:
            cur.execute(f'REVOKE "{owner}" FROM "{app_role}"')


@pytest.mark.postgres
def test_db_roles_prints_its_statements(app_role):
    out = io.StringIO()
    call_command("db_roles", app_role=app_role, sql=True, stdout=out)
    lines = out.getvalue().splitlines()
    for table in roles.audit_tables():
        assert f'GRANT SELECT, INSERT ON TABLE "{table}" TO "{app_role}";' in lines
    assert f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "cases_case" TO "{app_role}";' in lines
    assert f'GRANT SELECT ON TABLE "django_migrations" TO "{app_role}";' in lines
    assert not any("TRUNCATE" in line for line in lines)


@pytest.mark.postgres
def test_check_deploy_warns_about_an_owner_or_a_role_that_may_delete(app_role):
    # The test database's user owns everything (and is a superuser here)
    ids = {m.id for m in run_checks(include_deployment_checks=True)}
    assert "amparo.W102" in ids
    # A role given DELETE on an audit table
    with connection.cursor() as cur:
        cur.execute(f'GRANT DELETE, TRUNCATE ON audit_auditevent TO "{app_role}"')
    with django_as(app_role):
        messages = [m for m in run_checks(include_deployment_checks=True)
                    if m.id in ("amparo.W102", "amparo.W103")]
    assert [m.id for m in messages] == ["amparo.W103"]
    assert "audit_auditevent: DELETE, TRUNCATE" in messages[0].msg
    # Not a deployment check: nothing without --deploy
    assert "amparo.W102" not in {m.id for m in run_checks()}


@pytest.mark.django_db
def test_db_roles_is_for_postgresql_only():
    if connection.vendor == "postgresql":
        pytest.skip("the SQLite answer")
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("db_roles", app_role="amparo_app")
    assert not {"amparo.W102", "amparo.W103", "amparo.W105"} & {
        m.id for m in run_checks(include_deployment_checks=True)}


# Migrating as the owner


@pytest.fixture
def fresh_database(postgres) -> Iterator[str]:
    """A new, empty database on the same server, as the alias "owner"."""
    name = f"{connection.settings_dict['NAME']}_fresh"[:63]
    admin = connect_as(connection.settings_dict["USER"] or "postgres")
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    # Made directly, not from settings: the test framework allows such a connection.
    owner = type(connections["default"])({**connection.settings_dict, "NAME": name}, roles.OWNER_ALIAS)
    connections[roles.OWNER_ALIAS] = owner
    try:
        yield name
    finally:
        owner.close()
        del connections[roles.OWNER_ALIAS]
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.mark.postgres
def test_migrate_on_the_owner_alias_uses_no_other_connection_and_grants_the_app_role(
        app_role, fresh_database, monkeypatch):
    # Given the application's role named by DATABASE_URL (the default alias)
    monkeypatch.setitem(connection.settings_dict, "USER", app_role)
    # When every migration runs on the owner's alias
    with CaptureQueriesContext(connection) as default_queries:
        call_command("migrate", database=roles.OWNER_ALIAS, interactive=False, verbosity=0)
    # Then nothing went through the application's connection (data migrations, receivers)
    assert default_queries.captured_queries == []
    # And the application's role got its grants in the new database
    owner = connections[roles.OWNER_ALIAS]
    with owner.cursor() as cur:
        cur.execute("SELECT has_table_privilege(%s, 'audit_chainlink', 'INSERT'), "
                    "has_table_privilege(%s, 'audit_chainlink', 'DELETE'), "
                    "has_table_privilege(%s, 'cases_case', 'UPDATE')", [app_role] * 3)
        assert cur.fetchone() == (True, False, True)
        cur.execute("SELECT count(*) FROM auth_group")  # the role groups, made on this alias
        assert cur.fetchone()[0] == len(Role.values)
        cur.execute(f'DROP OWNED BY "{app_role}"')  # before the database goes


def test_the_migration_url_adds_the_owner_alias(tmp_path):
    # Given the application's and the owner's URLs for one database, then for two
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite3'}",
               AMPARO_MIGRATE_DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite3'}")
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['owner']['NAME'], settings.DATABASES['owner']['TEST']['MIRROR'])")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**env, "DJANGO_SETTINGS_MODULE": "settings.test"}, check=True)
    assert run.stdout.split() == [str(tmp_path / "a.sqlite3"), "default"]
    check = [sys.executable, "manage.py", "check", "--settings=settings.test"]
    same = subprocess.run(check, cwd=ROOT, capture_output=True, text=True, env=env)
    assert "amparo.E103" not in same.stdout + same.stderr
    env["AMPARO_MIGRATE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'b.sqlite3'}"
    other = subprocess.run(check, cwd=ROOT, capture_output=True, text=True, env=env)
    assert other.returncode != 0
    assert "amparo.E103" in other.stderr

