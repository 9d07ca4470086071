"""Who holds which role where, and who may act on a case (docs/architecture.md#access-and-scoping).

The one answer to both questions; scoping of reads builds on it (`cases.selectors`), and so do
the workflow engine's refusals and every "may change" check of the pages. Roles are held per
office through memberships. A role acts on every case of its office, except the roles that act
only on cases assigned to the user (caseworkers); apps that add roles say which kind they are
with `acts_on_assigned_cases`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from cases.models import (
    CaseGroupObjectPermission,
    CaseUserObjectPermission,
    Membership,
    Office,
    Role,
    User,
)

# The roles that work on cases at all (case pages, registration, the office queue).
CASE_ROLES: tuple[str, ...] = (Role.CASEWORKER, Role.SUPERVISOR)

_assigned_only: set[str] = {Role.CASEWORKER}

# The parts of a case a share may open, beyond who the person is and where the case stands,
# and the object permission that opens each (docs/architecture.md#shares-and-referrals).
PARTS: dict[str, str] = {"procedure": "view_case_procedure", "records": "view_case_records",
                         "notes": "view_case_notes", "documents": "view_case_documents"}
ALL_PARTS: frozenset[str] = frozenset(PARTS)


class CaseLike(Protocol):
    """What access needs of a case: its office and its assignee."""

    office_id: int
    assigned_to_id: int | None


def acts_on_assigned_cases(role: str) -> None:
    """Declare that `role` acts only on the cases assigned to the user holding it."""
    _assigned_only.add(role)


def acts_only_when_assigned(role: str) -> bool:
    return role in _assigned_only


def roles_by_office(user: User) -> dict[str, set[int]]:
    """{role: {office ids}}, read once per request and kept on the user object."""
    if not user.is_authenticated or not user.is_active:
        return {}
    cached: dict[str, set[int]] | None = user.__dict__.get("_amparo_roles")
    if cached is None:
        cached = {}
        # Every request reads this: written out, not built by the ORM each time.
        membership, office = Membership._meta.db_table, Office._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT m.role, m.office_id FROM {membership} m"  # noqa: S608 - names from models
                           f" JOIN {office} o ON o.id = m.office_id"
                           " WHERE m.user_id = %s AND o.is_active", [user.pk])
            for role, office_id in cursor.fetchall():
                cached.setdefault(role, set()).add(office_id)
        user.__dict__["_amparo_roles"] = cached
    return cached


def as_uuid(value: Any) -> Any:
    """A UUID column's value as a written-out statement reads it (SQLite gives its hex);
    None stays None."""
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(value)


def granted_case_ids(user: User) -> frozenset[uuid.UUID]:
    """Cases explicitly shared with this user (few), read once per request like the roles.

    Grants to the role groups are ignored: a role group spans every office, so such a grant
    would open the case everywhere."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached: frozenset[uuid.UUID] | None = user.__dict__.get("_amparo_grants")
    if cached is None:
        # granted_case_queries written out as one statement: every request reads it.
        direct, via_group, permission, group = (
            CaseUserObjectPermission._meta.db_table, CaseGroupObjectPermission._meta.db_table,
            Permission._meta.db_table, Group._meta.db_table)
        members = User.groups.through._meta.db_table
        roles = sorted(Role.values)
        sql = (f"SELECT g.content_object_id FROM {direct} g"  # noqa: S608 - names from models
               f" JOIN {permission} p ON p.id = g.permission_id"
               " WHERE g.user_id = %s AND p.codename = 'view_case'"
               " AND (g.expires_at IS NULL OR g.expires_at > %s)"
               f" UNION SELECT g.content_object_id FROM {via_group} g"
               f" JOIN {permission} p ON p.id = g.permission_id"
               f" JOIN {members} ug ON ug.group_id = g.group_id"
               f" JOIN {group} r ON r.id = g.group_id"
               " WHERE ug.user_id = %s AND p.codename = 'view_case'"
               f" AND r.name NOT IN ({', '.join(['%s'] * len(roles))})")
        with connection.cursor() as cursor:
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            cursor.execute(sql, [user.pk, now, user.pk, *roles])
            cached = frozenset(as_uuid(pk) for (pk,) in cursor.fetchall())
        user.__dict__["_amparo_grants"] = cached
    return cached


def sees_case(user: User, case_id: Any, office_id: int, assigned_to_id: int | None) -> bool:
    """Whether `selectors.visible_cases(user)` holds this case, for a row read already with
    its office and assignee: the same rule, decided here (the grants are read only when the
    office roles do not decide)."""
    if office_id in offices_where(user, Role.SUPERVISOR):
        return True
    if office_id in offices_where(user, Role.CASEWORKER) and assigned_to_id in (None, user.pk):
        return True
    return case_id in granted_case_ids(user)


def sees_handover(user: User, from_office_id: int, to_office_id: int) -> bool:
    """Whether `user` sees a transfer between these offices (`handovers.visible`): they
    supervise one of them."""
    supervised = offices_where(user, Role.SUPERVISOR)
    return from_office_id in supervised or to_office_id in supervised


def granted_case_queries(user: User) -> tuple[QuerySet[Any, uuid.UUID], QuerySet[Any, uuid.UUID]]:
    """The ids of the cases granted to this user directly and through their groups, as
    queries not yet run (for a subquery: `granted_case_ids` reads them once instead)."""
    direct = CaseUserObjectPermission.objects.filter(
        unexpired(), user=user, permission__codename="view_case"
    ).values_list("content_object_id", flat=True)
    via_group = CaseGroupObjectPermission.objects.filter(
        group__user=user, permission__codename="view_case"
    ).exclude(group__name__in=Role.values).values_list("content_object_id", flat=True)
    return direct, via_group


def unexpired() -> Q:
    """Grants that have not ended: a share's end takes effect at once, before the periodic
    task removes it."""
    return Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())


class CaseWithId(CaseLike, Protocol):
    pk: Any


def case_parts(user: User, case: CaseWithId) -> frozenset[str]:
    """The parts of `case` that `user` sees: all of them for who works on it in its office
    (as `selectors.visible_cases` scopes them), the parts a share opened for anyone else."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if case.office_id in offices_where(user, Role.SUPERVISOR) or (
        case.office_id in offices_where(user, Role.CASEWORKER)
        and case.assigned_to_id in (None, user.pk)
    ):
        return ALL_PARTS
    return shared_parts(user, case)


def shared_parts(user: User, case: CaseWithId) -> frozenset[str]:
    """The parts of `case` shared with `user` and not ended; read once per request and case."""
    cache: dict[Any, frozenset[str]] = user.__dict__.setdefault("_amparo_parts", {})
    if case.pk not in cache:
        codenames = set(CaseUserObjectPermission.objects.filter(
            unexpired(), user=user, content_object_id=case.pk,
            permission__codename__in=PARTS.values()).values_list("permission__codename", flat=True))
        codenames |= set(CaseGroupObjectPermission.objects.filter(
            group__user=user, content_object_id=case.pk, permission__codename__in=PARTS.values()
        ).exclude(group__name__in=Role.values).values_list("permission__codename", flat=True))
        cache[case.pk] = frozenset(part for part, codename in PARTS.items() if codename in codenames)
    return cache[case.pk]


def sees_part(user: User, case: CaseWithId, part: str) -> bool:
    return part in case_parts(user, case)


def reads_records(user: User, case: CaseWithId) -> bool:
    """Whether the procedure's records (claim narrative, interview records, assessments)
    are shown: to who works on the case, and to a share that opened them; not to a colleague
    who sees the case waiting in the office's queue."""
    return can_edit_case(user, case) or (
        not roles_in(user, case.office_id) and "records" in shared_parts(user, case))


def grants_known(user: User) -> bool:
    """Whether this request has read the user's grants already."""
    return "_amparo_grants" in user.__dict__


def forget(user: User) -> None:
    """Drop what was read for this user (after their memberships or grants changed)."""
    user.__dict__.pop("_amparo_roles", None)
    user.__dict__.pop("_amparo_grants", None)
    user.__dict__.pop("_amparo_parts", None)


def offices_where(user: User, *roles: str) -> set[int]:
    held = roles_by_office(user)
    return set().union(*(held.get(r, set()) for r in roles)) if roles else set()


def has_role(user: User, *roles: str) -> bool:
    return bool(offices_where(user, *roles))


def roles_in(user: User, office_id: int) -> set[str]:
    """The roles `user` holds in this office."""
    return {r for r, offices in roles_by_office(user).items() if office_id in offices}


def acting_roles(user: User, case: CaseLike, roles: Iterable[str]) -> set[str]:
    """Which of `roles` let `user` act on `case`: held in the case's office, and for roles that
    act only on assigned cases, the case is assigned to the user."""
    held = roles_in(user, case.office_id)
    return {r for r in roles if r in held
            and (not acts_only_when_assigned(r) or case.assigned_to_id == user.pk)}


def may_act(user: User, case: CaseLike, roles: Iterable[str] = CASE_ROLES) -> bool:
    """May `user` act on `case` in one of `roles` (by default: change the case at all)?"""
    return bool(acting_roles(user, case, roles))


def can_edit_case(user: User, case: CaseLike) -> bool:
    return may_act(user, case, CASE_ROLES)


def can_assign(user: User, case: CaseLike) -> bool:
    return case.office_id in offices_where(user, Role.SUPERVISOR)


def can_take(user: User, case: CaseLike) -> bool:
    return case.assigned_to_id is None and case.office_id in offices_where(user, Role.CASEWORKER)
