"""Where data keys are stored: the DataKey table (installed into `cases.crypto.datakeys` when
the app starts)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cases import rows
from cases.crypto import datakeys
from cases.crypto.datakeys import Rotation, StoredKey
from cases.models import DataKey

# Office keys are data keys whose subject is derived from the office's id (a UUID of version
# 5, which no person's random id can be): what an office writes about a person that must
# outlive the person's key, such as the note on an erasure (docs/architecture.md#encryption).
OFFICE_KEYS = uuid.UUID("6f1f0b1e-4c55-4a36-9d1e-0a6d2b7c9e41")


def office_subject(office_id: int) -> uuid.UUID:
    """The subject id of an office's data key: the same for the office, always."""
    return uuid.uuid5(OFFICE_KEYS, f"office:{office_id}")


def ensure_office_key(office_id: int) -> uuid.UUID:
    """The office's key subject, its data key created the first time it is needed."""
    return ensure_key(office_subject(office_id))


def ensure_key(subject: uuid.UUID) -> uuid.UUID:
    """A deployment's own data key (an office's, the two-factor seeds'), created the first
    time it is needed; `subject` returned."""
    try:
        datakeys.key_for_subject(subject)
    except datakeys.UnknownKey:
        try:
            with transaction.atomic():
                datakeys.create_data_key(subject_id=subject)
        except IntegrityError:  # created by another transaction meanwhile
            datakeys.key_for_subject(subject)
    return subject


@functools.cache
def _data_key() -> tuple[str, rows.Shape]:
    """The written-out read of a subject's key, and how to build its row (cases.rows)."""
    key = rows.shape(DataKey, "k")
    sql = (f"SELECT {', '.join(key.select)} FROM {connection.ops.quote_name(DataKey._meta.db_table)} k"  # noqa: S608 - names from models
           " WHERE k.subject_id = %s ORDER BY k.id LIMIT 1")
    return sql, key


class ModelKeyStore:
    def add(self, *, key_id: uuid.UUID, subject_id: uuid.UUID, kek_id: str, wrapped: bytes) -> None:
        DataKey.objects.create(id=key_id, subject_id=subject_id, kek_id=kek_id, wrapped=wrapped)

    def get(self, subject_id: uuid.UUID) -> DataKey | None:
        # Written out: nearly every request opens one subject's key.
        sql, key = _data_key()
        subject = DataKey._meta.get_field("subject_id").get_db_prep_value(subject_id, connection)
        with connection.cursor() as cursor:
            cursor.execute(sql, [subject])
            row = cursor.fetchone()
        return None if row is None else key.build(iter(row))

    def live(self, subject_ids: Iterable[uuid.UUID]) -> Iterable[DataKey]:
        return DataKey.objects.filter(subject_id__in=list(subject_ids), destroyed_at__isnull=True)

    def shred(self, subject_id: uuid.UUID) -> bool:
        with transaction.atomic():
            dk = DataKey.objects.select_for_update().filter(subject_id=subject_id).first()
            if dk is None or dk.destroyed_at is not None:
                return False
            dk.wrapped = b""
            dk.destroyed_at = timezone.now()
            dk.save(update_fields=["wrapped", "destroyed_at"])
        return True

    def rewrap(self, *, batch_size: int, kek_id: str, wrap: Callable[[StoredKey], bytes | None],
               after: uuid.UUID | None = None) -> Rotation:
        with transaction.atomic():
            todo = DataKey.objects.select_for_update(skip_locked=True).filter(
                destroyed_at__isnull=True).exclude(kek_id=kek_id)
            if after is not None:
                todo = todo.filter(pk__gt=after)
            rows = list(todo.order_by("pk")[:batch_size])
            now = DataKey._meta.get_field("rotated_at").get_db_prep_value(timezone.now(), connection)
            done = Rotation(last=rows[-1].pk if rows else None)
            params = []
            for dk in rows:
                wrapped = wrap(dk)
                if wrapped is None:
                    done.skipped.append(dk.pk)
                    continue
                params.append((wrapped, kek_id, now,
                               DataKey._meta.pk.get_db_prep_value(dk.pk, connection)))
            done.rewrapped = len(params)
            # One statement run many times: bulk_update's CASE expressions were 8x slower here.
            table = connection.ops.quote_name(DataKey._meta.db_table)
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET wrapped = %s, kek_id = %s, rotated_at = %s "  # noqa: S608
                    "WHERE id = %s", params)
        return done
