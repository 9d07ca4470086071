"""Two database roles on PostgreSQL: the owner, which migrations run as, and the application's
role (DATABASE_URL), which may use the application's tables but only INSERT and SELECT the
audit tables, and owns nothing, so it can neither change the log nor switch its triggers off
(README "Database roles", docs/architecture.md#audit).

The linker only inserts (links, checkpoints): no UPDATE on any audit table is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.management.base import CommandError
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

OWNER_ALIAS = "owner"  # DATABASES["owner"], from AMPARO_MIGRATE_DATABASE_URL
READ_ONLY_TABLES = ("django_migrations",)  # written by migrate, as the owner
FORBIDDEN = ("DELETE", "TRUNCATE", "UPDATE", "TRIGGER", "REFERENCES")
# The registers (cases 0032): transfer entries are only added; a breach is added and its
# assessment updated, never deleted. Their triggers refuse the rest whoever asks; the
# application's role is not even granted it.
REGISTER_TABLES = {"cases_transfer": "SELECT, INSERT", "cases_breach": "SELECT, INSERT, UPDATE"}


class RoleError(Exception):
    pass


def audit_tables() -> list[str]:
    return sorted(m._meta.db_table for m in apps.get_app_config("audit").get_models())


def _objects(connection: BaseDatabaseWrapper) -> tuple[str, str, list[tuple[str, str]]]:
    """(database, schema, [(name, relkind)]) of the tables and sequences of the current schema."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), current_schema()")
        database, schema = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname, c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'S') "
            "ORDER BY c.relkind, c.relname")
        return database, schema, list(cursor.fetchall())


def statements(connection: BaseDatabaseWrapper, app_role: str) -> list[str]:
    """The GRANTs that give `app_role` what the application needs, and no more."""
    qn = connection.ops.quote_name
    role = qn(app_role)
    database, schema, objects = _objects(connection)
    audit = set(audit_tables())
    out = [f"GRANT CONNECT ON DATABASE {qn(database)} TO {role}",
           f"GRANT USAGE ON SCHEMA {qn(schema)} TO {role}"]
    for name, kind in objects:
        if kind == "S":
            # nextval for new rows; no UPDATE (setval)
            out += [f"REVOKE ALL ON SEQUENCE {qn(name)} FROM {role}",
                    f"GRANT USAGE, SELECT ON SEQUENCE {qn(name)} TO {role}"]
            continue
        out.append(f"REVOKE ALL ON TABLE {qn(name)} FROM {role}")
        if name in audit:
            out.append(f"GRANT SELECT, INSERT ON TABLE {qn(name)} TO {role}")
        elif name in READ_ONLY_TABLES:
            out.append(f"GRANT SELECT ON TABLE {qn(name)} TO {role}")
        elif name in REGISTER_TABLES:
            out.append(f"GRANT {REGISTER_TABLES[name]} ON TABLE {qn(name)} TO {role}")
        else:
            out.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {qn(name)} TO {role}")
    return out


def _refuse_unsafe(connection: BaseDatabaseWrapper, app_role: str, *, create: bool) -> bool:
    """Raise RoleError if `app_role` cannot be the restricted role; False if it is missing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (current,) = cursor.fetchone()
        if app_role == current:
            raise RoleError(f"{app_role} is the role these grants are made as (the owner): the "
                            "application needs a role of its own.")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [app_role])
        found = cursor.fetchone()
        if found is None:
            if create:
                return False
            raise RoleError(f"The role {app_role} does not exist. Create it (CREATE ROLE "
                            f"{app_role} LOGIN PASSWORD '...') or run this with --create.")
        if found[0]:
            raise RoleError(f"{app_role} is a superuser: it bypasses every privilege.")
        for table in audit_tables():
            cursor.execute(
                "SELECT pg_get_userbyid(c.relowner), pg_has_role(%s, c.relowner, 'MEMBER') "
                "FROM pg_class c WHERE c.oid = to_regclass(%s)", [app_role, table])
            row = cursor.fetchone()
            if row and row[1]:
                raise RoleError(f"{app_role} owns {table}, or is a member of its owner {row[0]}: "
                                "it could switch the audit triggers off.")
    return True


def apply(connection: BaseDatabaseWrapper, app_role: str, *, create: bool = False) -> list[str]:
    """Check `app_role`, create it if asked, and run the grants in one transaction."""
    if connection.vendor != "postgresql":
        raise RoleError("Database roles are for PostgreSQL only.")
    exists = _refuse_unsafe(connection, app_role, create=create)
    done = []
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if not exists:
            sql = (f"CREATE ROLE {connection.ops.quote_name(app_role)} LOGIN NOSUPERUSER "
                   "NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
            cursor.execute(sql)
            done.append(sql)
        for sql in statements(connection, app_role):
            cursor.execute(sql)
            done.append(sql)
    return done


def regrant_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After `migrate --database owner`: the application's role (DATABASE_URL's user) gets
    its grants on whatever the migrations made (post_migrate, once, for the audit app)."""
    if using != OWNER_ALIAS:
        return
    connection = connections[using]
    app_role = connections["default"].settings_dict.get("USER")
    if connection.vendor != "postgresql" or not app_role:
        return
    if app_role == connection.settings_dict.get("USER"):
        return
    try:
        apply(connection, app_role)
    except RoleError as exc:  # the migrations are done; say what is missing, and fail
        raise CommandError(f"Migrated, but the application's role has no grants: {exc}") from exc


@dataclass
class Exposure:
    user: str
    owns: list[str]  # audit tables the user owns (or may act as owner of)
    may: dict[str, list[str]]  # audit table -> forbidden privileges the user holds


def exposure(connection: BaseDatabaseWrapper) -> Exposure:
    """What the connection's user may do to the audit tables beyond INSERT and SELECT."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        user, superuser = cursor.fetchone()
        result = Exposure(user, [], {})
        checks = ", ".join(f"has_table_privilege(c.oid, '{p}')" for p in FORBIDDEN)
        for table in audit_tables():
            # Only constant privilege names go into the text; the table is a parameter.
            cursor.execute(f"SELECT pg_has_role(c.relowner, 'MEMBER'), {checks} "  # noqa: S608
                           "FROM pg_class c WHERE c.oid = to_regclass(%s)", [table])
            row = cursor.fetchone()
            if row is None:
                continue
            if superuser or row[0]:
                result.owns.append(table)
            held = [p for p, has in zip(FORBIDDEN, row[1:], strict=True) if has]
            if held:
                result.may[table] = held
    return result
