"""Whose numbers a user may read: the offices where they supervise or analyse."""

from __future__ import annotations

from django.db.models import QuerySet

from cases import access
from cases.models import Office, Role, User

# The roles that read statistics; analysts read nothing else of the cases.
STATS_ROLES: tuple[str, ...] = (Role.SUPERVISOR, Role.ANALYST)


def stats_offices(user: User) -> QuerySet[Office]:
    return Office.objects.filter(pk__in=access.offices_where(user, *STATS_ROLES), is_active=True)


def may_read(user: User) -> bool:
    return access.has_role(user, *STATS_ROLES)


# Decision consistency is read by the caseworkers as well: their own rates and the office's.
CONSISTENCY_ROLES: tuple[str, ...] = (Role.SUPERVISOR, Role.ANALYST, Role.CASEWORKER)


def consistency_offices(user: User) -> QuerySet[Office]:
    return Office.objects.filter(pk__in=access.offices_where(user, *CONSISTENCY_ROLES),
                                 is_active=True)


def consistency_view(user: User, office_id: int) -> str | None:
    """How `user` sees an office's decision consistency: every name (its supervisors),
    numbered staff (its analysts), their own rows (its caseworkers), or not at all."""
    from stats import consistency

    roles = access.roles_in(user, office_id)
    if Role.SUPERVISOR in roles:
        return consistency.NAMED
    if Role.ANALYST in roles:
        return consistency.NUMBERED
    if Role.CASEWORKER in roles:
        return consistency.OWN
    return None
