from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from audit import roles


class Command(BaseCommand):
    help = ("PostgreSQL: give the application's database role what it needs, as the owner of "
            "the tables: SELECT, INSERT, UPDATE, DELETE on the application's tables, only "
            "SELECT and INSERT on the audit tables. Safe to run again (after every migrate).")
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        owner = roles.OWNER_ALIAS if roles.OWNER_ALIAS in settings.DATABASES else "default"
        parser.add_argument("--database", default=owner,
                            help=f"the owner's connection (default: {owner})")
        parser.add_argument("--app-role", default=settings.DATABASES["default"].get("USER") or "",
                            help="the application's role (default: the user of DATABASE_URL)")
        parser.add_argument("--create", action="store_true",
                            help="create the role (LOGIN, no password) if it does not exist")
        parser.add_argument("--sql", action="store_true",
                            help="print the statements instead of running them")

    def handle(self, *args: Any, **opts: Any) -> None:
        connection = connections[opts["database"]]
        app_role = opts["app_role"]
        if not app_role:
            raise CommandError("Name the application's role with --app-role.")
        if connection.vendor != "postgresql":
            raise CommandError("Database roles are for PostgreSQL only.")
        if opts["sql"]:
            for sql in roles.statements(connection, app_role):
                self.stdout.write(f"{sql};")
            return
        try:
            done = roles.apply(connection, app_role, create=opts["create"])
        except roles.RoleError as exc:
            raise CommandError(str(exc)) from exc
        created = any(sql.startswith("CREATE ROLE") for sql in done)
        if created:
            self.stdout.write(f"Created the role {app_role} (no password: set one with "
                              f"ALTER ROLE {app_role} PASSWORD '...', or use certificates).")
        tables = ", ".join(roles.audit_tables())
        self.stdout.write(self.style.SUCCESS(
            f"Granted {app_role} its privileges ({len(done)} statements): the audit tables "
            f"({tables}) SELECT and INSERT only."))
