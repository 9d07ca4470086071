"""The gallery of this process (docs/architecture.md#biometrics).

The decrypted templates and their index live only here, in memory. The first search of a
process builds the gallery from the sealed captures of every office; each later search first
catches up with the captures changed since (new ones, replaced ones, erased people), read
from `FingerprintCapture.changed_at` with an overlap, since a transaction commits after the
time it stamped. A restarted worker builds it again.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from biometrics import engine
from biometrics.models import FingerprintCapture
from cases.crypto import datakeys

# Commits later than the time they stamped are caught by reading this far back again.
OVERLAP = datetime.timedelta(seconds=120)
BATCH = 500


@dataclass
class State:
    # capture id -> its changed_at when applied: what the overlap reads again is skipped.
    applied: dict[uuid.UUID, datetime.datetime] = field(default_factory=dict)
    synced_at: datetime.datetime | None = None
    built_at: datetime.datetime | None = None


_state: State | None = None
_lock = threading.RLock()


def _rows(qs: Any) -> Iterator[tuple[FingerprintCapture, bytes | None, bytes | None]]:
    """Captures with their template and index features opened, in batches whose people's
    keys are unwrapped together."""
    last = None
    while True:
        page = qs.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        batch = list(page[:BATCH])
        if not batch:
            return
        with datakeys.key_scope():
            datakeys.preload([c.person_id for c in batch])
            for capture in batch:
                yield capture, capture.template, capture.features
        last = batch[-1].pk


def _stream(qs: Any) -> Iterator[tuple[FingerprintCapture, bytes | None, bytes | None]]:
    """Every capture of `qs` in one query (a server-side cursor on PostgreSQL), a batch's
    people's keys unwrapped together. Paging by id, as `_rows` does, made PostgreSQL join
    and sort every current capture again for each page of 500: quadratic in a large
    gallery (bench/README.md, "Cold rebuild")."""
    rows = qs.order_by("pk").iterator(chunk_size=BATCH)
    while batch := list(itertools.islice(rows, BATCH)):
        with datakeys.key_scope():
            datakeys.preload([c.person_id for c in batch])
            for capture in batch:
                yield capture, capture.template, capture.features


def _build() -> State:
    """Every current capture into the engine's emptied gallery: the captures are read with
    only the columns needed, and the features sealed at the enrolment spare computing each
    template's cylinders again (docs/architecture.md#biometrics)."""
    state = State()
    now = timezone.now()
    e = engine.engine()
    e.clear()
    qs = (FingerprintCapture.objects
          .filter(replaced_at__isnull=True, person__erased_at__isnull=True)
          .only("pk", "person_id", "finger", "template", "features", "captured_at", "changed_at"))

    def enrolments() -> Iterator[engine.Enrolment]:
        for capture, template, features in _stream(qs):
            state.applied[capture.pk] = capture.changed_at
            if template is not None:
                yield engine.Enrolment(capture.person_id, capture.finger, template, features,
                                       capture.captured_at)

    e.enrol(enrolments())
    state.synced_at = state.built_at = now
    return state


def _catch_up(state: State) -> None:
    since = state.synced_at or timezone.now()
    now = timezone.now()
    e = engine.engine()
    qs = FingerprintCapture.objects.filter(changed_at__gte=since - OVERLAP).select_related("person")
    for capture, template, features in _rows(qs):
        if state.applied.get(capture.pk) == capture.changed_at:
            continue
        state.applied[capture.pk] = capture.changed_at
        if capture.person.erased_at is not None:
            e.remove(capture.person_id)
        elif capture.replaced_at is not None:
            e.remove(capture.person_id, capture.finger, unless_newer=capture.captured_at)
        elif template is not None:
            e.enrol([engine.Enrolment(capture.person_id, capture.finger, template, features,
                                      capture.captured_at)])
    state.synced_at = now


def _current() -> engine.Engine:
    global _state
    if _state is None:
        _state = _build()
    else:
        _catch_up(_state)
    return engine.engine()


def gallery() -> engine.Engine:
    """This process's engine with its gallery current with the database (for a look at it;
    a search goes through `searching`)."""
    with _lock:
        return _current()


@contextlib.contextmanager
def searching() -> Iterator[engine.Engine]:
    """The engine, its gallery current, held for one search: no other thread of the process
    changes the gallery meanwhile."""
    with _lock:
        yield _current()


def built_at() -> datetime.datetime | None:
    return _state.built_at if _state is not None else None


def forget() -> None:
    """Drop the gallery, as a restart does (tests, and a worker told to rebuild)."""
    global _state
    with _lock:
        _state = None
        engine.engine().clear()


def drop_person(person_id: uuid.UUID) -> None:
    """An erased person leaves this process's gallery at once (others catch up)."""
    with _lock:
        if _state is not None:
            engine.engine().remove(person_id)
