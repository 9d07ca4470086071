"""Reading and writing stored columns with plain SQL, past the encrypted fields."""

from __future__ import annotations

from django.db import connection


def _pk(model, pk):
    return model._meta.pk.get_db_prep_value(pk, connection)


def read_column(model, pk, column: str) -> bytes | None:
    table = connection.ops.quote_name(model._meta.db_table)
    col = connection.ops.quote_name(column)
    pk_col = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cur:
        cur.execute(f"SELECT {col} FROM {table} WHERE {pk_col} = %s", [_pk(model, pk)])  # noqa: S608
        value = cur.fetchone()[0]
    return None if value is None else bytes(value)


def write_column(model, pk, column: str, value: bytes | None) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    col = connection.ops.quote_name(column)
    pk_col = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET {col} = %s WHERE {pk_col} = %s", [value, _pk(model, pk)])  # noqa: S608
        assert cur.rowcount == 1


def copy_column(model, *, src_pk, src_column: str, dst_pk, dst_column: str) -> None:
    """UPDATE ... SET dst = (SELECT src ...): the value never leaves the database."""
    table = connection.ops.quote_name(model._meta.db_table)
    pk_col = connection.ops.quote_name(model._meta.pk.column)
    src = connection.ops.quote_name(src_column)
    dst = connection.ops.quote_name(dst_column)
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {table} SET {dst} = (SELECT {src} FROM {table} WHERE {pk_col} = %s) "  # noqa: S608
            f"WHERE {pk_col} = %s",
            [_pk(model, src_pk), _pk(model, dst_pk)],
        )
        assert cur.rowcount == 1
