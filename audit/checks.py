from collections.abc import Sequence

from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections

from audit import roles, signing

ROLES_HINT = ("Run the application as a role that may only INSERT and SELECT the audit tables: "
              "'python manage.py db_roles' as the owner (README, \"Database roles\").")


@register(Tags.security)
def check_audit_key(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    try:
        signing.private_key()
    except (ImproperlyConfigured, ValueError) as exc:
        return [Error(str(exc), hint="Development: 'python manage.py init_audit_key'.",
                      id="amparo.E101")]
    return []


@register(Tags.security, deploy=True)
def check_retention(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    from django.conf import settings

    if settings.AMPARO_AUDIT_RETENTION_YEARS < 6:
        return [Warning(
            f"AMPARO_AUDIT_RETENTION_YEARS is {settings.AMPARO_AUDIT_RETENTION_YEARS}; audit "
            "records are to be kept at least 6 years.", id="amparo.W101")]
    return []


@register(Tags.security)
def check_linker(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    from django.conf import settings

    mode = getattr(settings, "AMPARO_AUDIT_LINKER", "inline")
    if mode not in ("inline", "background"):
        return [Error(f"AMPARO_AUDIT_LINKER is {mode!r}.",
                      hint="Use 'inline' (link after each commit; no broker) or 'background' (the "
                      "audit.link task under celery beat links every AMPARO_AUDIT_LINK_SECONDS).",
                      id="amparo.E102")]
    return []


@register(Tags.security)
def check_periods(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    from django.conf import settings

    max_age = settings.AMPARO_AUDIT_CHECKPOINT_MAX_AGE
    if max_age and max_age <= settings.AMPARO_CHECKPOINT_SECONDS:
        return [Warning(
            f"AMPARO_AUDIT_CHECKPOINT_MAX_AGE ({max_age} s) is not longer than "
            f"AMPARO_CHECKPOINT_SECONDS ({settings.AMPARO_CHECKPOINT_SECONDS} s): verify_audit "
            "will fail between two checkpoints.",
            hint="Leave a few minutes more than the checkpoint period (the default).",
            id="amparo.W104")]
    return []


@register(Tags.security)
def check_owner_alias(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    from django.conf import settings

    owner = settings.DATABASES.get(roles.OWNER_ALIAS)
    if owner is None:
        return []
    app = settings.DATABASES["default"]
    where = ("ENGINE", "NAME", "HOST", "PORT")
    if [owner.get(k) or "" for k in where] != [app.get(k) or "" for k in where]:
        return [Error("AMPARO_MIGRATE_DATABASE_URL names another database than DATABASE_URL.",
                      hint="Both name the same database: the owner's role and the "
                      "application's.", id="amparo.E103")]
    return []


@register(Tags.security, Tags.database, deploy=True)
def check_database_role(app_configs: object, databases: Sequence[str] | None = None,
                        **kwargs: object) -> list[CheckMessage]:
    """The application's database user must not own, or be able to empty, the audit tables."""
    connection = connections["default"]
    if connection.vendor != "postgresql" or (databases is not None and "default" not in databases):
        return []
    try:
        found = roles.exposure(connection)
    except DatabaseError as exc:
        return [Warning(f"Could not read the database user's privileges: {exc}",
                        id="amparo.W105")]
    out: list[CheckMessage] = []
    if found.owns:
        out.append(Warning(
            f"The application's database user {found.user} owns the audit tables "
            f"({', '.join(found.owns)}), is a superuser or a member of their owner: it can "
            "switch their append-only triggers off and delete events.",
            hint=ROLES_HINT, id="amparo.W102"))
    elif found.may:
        held = "; ".join(f"{t}: {', '.join(p)}" for t, p in found.may.items())
        out.append(Warning(
            f"The application's database user {found.user} holds privileges on the audit "
            f"tables beyond INSERT and SELECT ({held}).", hint=ROLES_HINT, id="amparo.W103"))
    return out
