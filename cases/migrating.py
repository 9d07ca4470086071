"""Data migrations that seal columns which were clear (and open them again when migrating
back), in batches, for a live table and its history table alike.

A sealed value is bound to its row and to the column's final name, as the model's field
binds it (cases/crypto/fields.py); history rows are bound to the live table and to the
row they copy. Keys come from the app's key store: a migration that finds rows to seal
needs the key file, as the application does. A row whose person was erased (key
destroyed) has nothing left to seal: its value becomes empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import Field, Model

from cases.crypto import datakeys
from cases.crypto.fields import EncryptedField

BATCH = 2000


@dataclass(frozen=True)
class Sealing:
    """One column: the clear field read, the sealed field written (a new column, renamed
    afterwards) and the field that seals, bound to the live table and the final name."""

    clear: str
    sealed: str
    field: EncryptedField
    empty: Any = None  # the clear value written back for a value that cannot be opened


def pages(model: type[Model], key: str, fields: list[str], size: int = BATCH, *,
          using: str, **filters: Any) -> Iterator[list[dict[str, Any]]]:
    """The rows of `model` as dicts, `size` at a time, in the order of `key` (resumes after
    the last key seen: no offset, no server-side cursor)."""
    last = None
    while True:
        # On the migration's own connection (`migrate --database owner` uses no other).
        qs = model._default_manager.using(using).filter(**filters).order_by(key)
        if last is not None:
            qs = qs.filter(**{f"{key}__gt": last})
        rows = list(qs.values(key, *fields)[:size])
        if not rows:
            return
        yield rows
        last = rows[-1][key]


def destroyed(data_key: type[Model], subjects: set[uuid.UUID], *, using: str) -> set[uuid.UUID]:
    """Which of these subjects' keys were destroyed (their people erased)."""
    return set(data_key._default_manager.using(using)
               .filter(subject_id__in=subjects, destroyed_at__isnull=False)
               .values_list("subject_id", flat=True))


def update(schema_editor: BaseDatabaseSchemaEditor, model: type[Model], key: str,
           rows: list[tuple[Any, dict[str, Any]]]) -> None:
    """UPDATE each row named by its `key` with its values: one statement run many times."""
    if not rows:
        return
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    opts = model._meta

    def field(name: str) -> Field[Any, Any]:
        found = opts.get_field(name)
        if not isinstance(found, Field):
            raise TypeError(f"{model.__name__}.{name} is not a column")
        return found

    key_field = field(key)
    by_columns: dict[tuple[str, ...], list[list[Any]]] = {}
    for pk, values in rows:
        names = tuple(sorted(values))
        params = [field(n).get_db_prep_save(values[n], connection) for n in names]
        params.append(key_field.get_db_prep_value(pk, connection))
        by_columns.setdefault(names, []).append(params)
    with connection.cursor() as cursor:
        for names, params_list in by_columns.items():
            assignments = ", ".join(f"{quote(str(field(n).column))} = %s" for n in names)
            cursor.executemany(
                f"UPDATE {quote(opts.db_table)} SET {assignments} "  # noqa: S608
                f"WHERE {quote(str(key_field.column))} = %s", params_list)


def seal(schema_editor: BaseDatabaseSchemaEditor, model: type[Model], data_key: type[Model], *,
         key: str, subject: str, columns: list[Sealing],
         erased: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
    """Seal `columns` of every row of `model` (a live or a history table) with the key of
    the row's `subject`. A row whose key was destroyed gets no sealed value, and the values
    `erased(row)` gives (the clear values an erasure now clears)."""
    fields = sorted({c.clear for c in columns} | {"id", subject})
    for rows in pages(model, key, fields, using=schema_editor.connection.alias):
        subjects = {r[subject] for r in rows}
        gone = destroyed(data_key, subjects, using=schema_editor.connection.alias)
        out = []
        with datakeys.key_scope():
            datakeys.preload(list(subjects - gone))
            for r in rows:
                values: dict[str, Any]
                if r[subject] in gone:
                    values = {c.sealed: None for c in columns}
                    values.update(erased(r) if erased else {})
                else:
                    values = {c.sealed: c.field.seal_value(r[c.clear], row_id=r["id"],
                                                           subject_id=r[subject])
                              for c in columns}
                out.append((r[key], values))
        update(schema_editor, model, key, out)


def settle(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Check the deferred foreign keys now: PostgreSQL refuses to ALTER a table with checks
    still pending, which a row updated twice in the migration's transaction leaves."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def unseal(schema_editor: BaseDatabaseSchemaEditor, model: type[Model], *, key: str,
           subject: str, columns: list[Sealing]) -> None:
    """The way back: open the sealed columns into the clear ones (`empty` where the key is
    gone)."""
    fields = sorted({c.sealed for c in columns} | {"id", subject})
    for rows in pages(model, key, fields, using=schema_editor.connection.alias):
        out = []
        with datakeys.key_scope():
            datakeys.preload(list({r[subject] for r in rows} - {None}))
            for r in rows:
                values: dict[str, Any] = {}
                for c in columns:
                    blob = r[c.sealed]
                    plain = (c.field.open_value(bytes(blob), row_id=r["id"], subject_id=r[subject])
                             if blob is not None else None)
                    values[c.clear] = c.empty if plain is None else plain
                out.append((r[key], values))
        update(schema_editor, model, key, out)
