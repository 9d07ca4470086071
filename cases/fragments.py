"""Rendered page fragments kept between requests, under a key made of the data they show
(docs/architecture.md#speed).

Nothing is invalidated by hand: the key holds a fingerprint of every row the fragment was
built from (each row's id and PostgreSQL's `xmin`, which changes with every insert, update
and delete, whatever wrote it: a service, a queryset `update()`, raw SQL, a migration), read
in one statement, together with who looks (the user, their roles in the office), the
language and the day. A write makes a new key; the old entry is never asked for again and
expires. The fragments hold personal data: they are sealed with the data key of the
person they are about, so an entry is unreadable once that key is destroyed (erasure), and
the cache holds no clear text. Without PostgreSQL (SQLite in development) nothing is kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils.safestring import SafeString, mark_safe

from cases.crypto import datakeys, envelope

log = logging.getLogger(__name__)

ALIAS = "fragments"


def fingerprint_sql(sources: Iterable[QuerySet[Any]]) -> tuple[str, list[Any]]:
    """One statement giving a fingerprint of the rows `sources` select: each row's id and
    row version (`xmin`), aggregated in order, hashed. PostgreSQL only."""
    quote = connection.ops.quote_name
    parts, params = [], []
    for qs in sources:
        # Names from the models' own metadata, values as parameters.
        meta = qs.model._meta
        table, pk = quote(meta.db_table), quote(meta.pk.column)
        row = RawSQL(f"{table}.{pk}::text || ':' || {table}.xmin::text", [])  # noqa: S611
        sql, p = qs.order_by().annotate(_row=row).values_list("_row").query.sql_with_params()
        parts.append(f"coalesce((SELECT string_agg(s.r, ',' ORDER BY s.r) FROM ({sql}) s(r)), '')")  # noqa: S608
        params.extend(p)
    return f"SELECT md5(concat_ws('|', {', '.join(parts)}))", params


def data_version(sql: str, params: list[Any]) -> str | None:
    """The fingerprint (`fingerprint_sql`), or None where the database keeps no row versions
    (then nothing is cached)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return str(cursor.fetchone()[0])


def _key(name: str, parts: list[Any]) -> str:
    digest = hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()
    return f"{name}:{digest}"


def cached(name: str, *, subject_id: uuid.UUID, version: str | None, key_parts: list[Any],
           render: Callable[[], str]) -> SafeString:
    """The fragment `name` for this version of its data and these key parts, rendered by
    `render` (autoescaped template output) when not kept; sealed with `subject_id`'s data
    key in the cache."""
    if version is None:
        return mark_safe(render())  # noqa: S308  # a template's own output
    key = _key(name, [version, *key_parts])
    aad = envelope.aad_for("fragment", name, key)
    cache = caches[ALIAS]
    try:
        blob = cache.get(key)
    except Exception:  # a shared cache out of reach: the page is rendered as without one
        log.warning("fragment cache unavailable; %s rendered", name, exc_info=True)
        return mark_safe(render())  # noqa: S308
    try:
        key_id, dek = datakeys.key_for_subject(subject_id)
    except (datakeys.KeyDestroyed, datakeys.UnknownKey):  # erased, or no key: keep nothing
        return mark_safe(render())  # noqa: S308
    if blob is not None:
        try:
            # Sealed by this module from a template's output: authenticated, then trusted.
            return mark_safe(envelope.open_sealed(key=dek, blob=blob, aad=aad).decode())  # noqa: S308
        except envelope.DecryptionError:
            log.warning("fragment %s did not open; rendered again", name)
    html = render()
    try:
        cache.set(key, envelope.seal(key=dek, key_id=key_id, plaintext=html.encode(), aad=aad),
                  settings.AMPARO_FRAGMENT_SECONDS)
    except Exception:
        log.warning("fragment cache unavailable; %s not kept", name, exc_info=True)
    return mark_safe(html)  # noqa: S308
