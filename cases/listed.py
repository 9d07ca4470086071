"""Cases as a table lists them, and one case whole, read in one written-out statement
(docs/architecture.md#speed).

The rows are the columns a table of cases shows (cases/_case_table.html) and what its state
label needs, with the office's code and country, the assignee's name and the principal's sealed name
joined: real model instances, so a template, `Case.state_label` and the name's decryption
work on them as on any. Building the same read through the ORM (a select_related query and a
prefetch of the principals) cost more than twice the statement's whole time.

Scoping is not done here: the ids come from a scoped query (`selectors`), as they would for
`Case.objects.filter(pk__in=ids)`.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection
from django.db.models import ForeignKey, Model

from cases import rows
from cases.models import Case, Office, Person, User

CASE_COLUMNS = frozenset({"id", "reference", "kind", "state", "procedure", "office_id", "principal_id",
                          "assigned_to_id", "opened_at"})
# What a caller may add: the one sort key a table does not show.
EXTRA_COLUMNS = frozenset({"updated_at"})
ORDERABLE = frozenset({"opened_at", "reference", "updated_at", "pk"})

_JOINED: tuple[tuple[type[Model], str, frozenset[str]], ...] = (
    (Office, "o", frozenset({"id", "code", "country"})),
    (User, "u", frozenset({"id", "username", "first_name", "last_name"})),
    (Person, "p", frozenset({"id", "given_names", "family_names", "erased_at"})),
)


@functools.cache
def _statement(vendor: str, extra: frozenset[str], order: tuple[str, ...], whole: bool = False,
               lock: bool = False) -> tuple[str, list[rows.Shape]]:
    """The statement (its ids still to be placed) and how to build each row's four models.
    `whole`: every column of each, as `select_related` reads them; `lock`: the case rows only
    locked for update, where the database locks rows."""
    q = connection.ops.quote_name
    base: list[tuple[type[Model], str, frozenset[str]]] = [(Case, "c", CASE_COLUMNS | extra), *_JOINED]
    models = [(m, alias, None if whole else names) for m, alias, names in base]
    shapes = [rows.shape(model, alias, names) for model, alias, names in models]
    select = [column for s in shapes for column in s.select]
    terms = []
    for key in order:
        name = key.lstrip("-")
        if name not in ORDERABLE:
            raise ValueError(f"listed cases are not ordered by {name!r}")
        column = "id" if name == "pk" else name
        terms.append(f"c.{q(column)} {'DESC' if key.startswith('-') else 'ASC'}")
    sql = (f"SELECT {', '.join(select)} FROM {q(Case._meta.db_table)} c"  # noqa: S608 - names from models
           f" JOIN {q(Office._meta.db_table)} o ON o.id = c.office_id"
           f" LEFT JOIN {q(User._meta.db_table)} u ON u.id = c.assigned_to_id"
           f" JOIN {q(Person._meta.db_table)} p ON p.id = c.principal_id"
           " WHERE c.id IN ({ids})" + (f" ORDER BY {', '.join(terms)} LIMIT %s" if terms else ""))
    if lock and connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF c"
    return sql, shapes


def _foreign_key(name: str) -> ForeignKey[Any, Any]:
    field = Case._meta.get_field(name)
    if not isinstance(field, ForeignKey):
        raise TypeError(f"Case.{name} is not a foreign key")
    return field


def _read(ids: list[uuid.UUID], sql: str, shapes: list[rows.Shape], *more: Any) -> list[Case]:
    pk = Case._meta.pk
    params = [pk.get_db_prep_value(i, connection) for i in ids]
    with connection.cursor() as cursor:
        cursor.execute(sql.format(ids=", ".join(["%s"] * len(params))), [*params, *more])
        read = cursor.fetchall()
    office_field, assignee_field, principal_field = (
        _foreign_key(name) for name in ("office", "assigned_to", "principal"))
    case_shape, office_shape, user_shape, person_shape = shapes
    # A page's cases share a few offices and assignees: each is built once (read-only rows).
    built: dict[tuple[str, Any], Any] = {}

    def shared(shape: rows.Shape, values: Iterator[Any]) -> Any:
        part = [next(values) for _ in shape.names]
        key = (shape.alias, part[0])
        if key not in built:
            built[key] = shape.build(iter(part))
        return built[key]

    found: list[Case] = []
    for row in read:
        values = iter(row)
        case = case_shape.build(values)
        office, assignee = shared(office_shape, values), shared(user_shape, values)
        principal = person_shape.build(values)
        office_field.set_cached_value(case, office)
        assignee_field.set_cached_value(case, assignee)
        principal_field.set_cached_value(case, principal)
        found.append(case)
    return found


def listed_cases(ids: Sequence[uuid.UUID], *, order: Sequence[str] = (), limit: int | None = None,
                 columns: Sequence[str] = ()) -> list[Case]:
    """The cases `ids` with their office, assignee and principal as a table shows them, in
    `order` (of ORDERABLE, "-" for descending) up to `limit`; without an order, in the order of
    `ids`. `columns`: more of the case's own (EXTRA_COLUMNS) besides what a table shows."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    extra = frozenset(columns) - CASE_COLUMNS
    if not extra <= EXTRA_COLUMNS:
        raise ValueError(f"listed cases do not read {sorted(extra - EXTRA_COLUMNS)}")
    if order:  # the database orders and cuts
        return _read(ids, *_statement(connection.vendor, extra, tuple(order)),
                     len(ids) if limit is None else limit)
    found = _read(ids, *_statement(connection.vendor, extra, ()))
    at = {pk: n for n, pk in enumerate(ids)}
    found.sort(key=lambda c: at[c.pk])
    return found[:limit] if limit is not None else found


def whole_case(case_id: uuid.UUID, *, lock: bool = False) -> Case | None:
    """The case `case_id` with its whole office, assignee and principal (what
    `select_related` reads), or None. Not scoped: `selectors.get_case` judges it. `lock`: the
    case row (only: not its office, whose every case would wait) locked until the commit, as
    a workflow step reads it."""
    found = _read([case_id], *_statement(connection.vendor, frozenset(), (), whole=True, lock=lock))
    return found[0] if found else None
