"""Model instances from the rows of written-out statements (docs/architecture.md#speed).

A statement every request runs is written out where the ORM took longer to build it than the
database to answer. Its rows become the same instances the ORM would give: each column goes
through the converters the ORM applies (SQLite's text dates and UUIDs, say) and the instance
is made by `Model.from_db`, so sealed fields, choices and relations behave as on any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model

Converter = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class Shape:
    """How to read one model's columns out of a row: selected as `alias.column`."""

    model: type[Model]
    alias: str
    names: tuple[str, ...]  # attribute names, in the model's order (Model.from_db's)
    columns: tuple[tuple[Any, tuple[Converter, ...]], ...]  # each column's expression, converters

    @property
    def select(self) -> list[str]:
        q = connection.ops.quote_name
        return [f"{self.alias}.{q(str(col.target.column))}" for col, _c in self.columns]

    def build(self, values: Iterator[Any]) -> Any:
        """The instance from the next values of a row; None for a LEFT JOIN that found none."""
        read = []
        for col, converters in self.columns:
            value = next(values)
            for convert in converters:
                value = convert(value, col, connection)
            read.append(value)
        return None if read[0] is None else self.model.from_db(connection.alias, list(self.names), read)


def shape(model: type[Model], alias: str, names: frozenset[str] | None = None) -> Shape:
    """`names` (attribute names) of `model`, or every column; the primary key first in the
    model's order, so a missing joined row reads as None."""
    fields = [f for f in model._meta.concrete_fields if names is None or f.attname in names]
    if not fields or not fields[0].primary_key:
        raise ValueError(f"{model.__name__}: read its primary key first")
    columns = []
    for f in fields:
        col = f.get_col(alias)
        columns.append((col, (*connection.ops.get_db_converters(col), *f.get_db_converters(connection))))
    return Shape(model, alias, tuple(f.attname for f in fields), tuple(columns))
