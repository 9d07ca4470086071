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
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from biometrics import engine
from biometrics.gallery import Gallery
from biometrics.models import FingerprintCapture
from cases.crypto import datakeys

# Commits later than the time they stamped are caught by reading this far back again.
OVERLAP = datetime.timedelta(seconds=120)
BATCH = 500


@dataclass
class State:
    gallery: Gallery = field(default_factory=Gallery)
    # capture id -> its changed_at when applied: what the overlap reads again is skipped.
    applied: dict[uuid.UUID, datetime.datetime] = field(default_factory=dict)
    synced_at: datetime.datetime | None = None
    built_at: datetime.datetime | None = None


_state: State | None = None
_lock = threading.RLock()


def _rows(qs: Any) -> Any:
    """Captures in batches, their people's keys unwrapped once per batch."""
    last = None
    while True:
        page = qs.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        batch = list(page.select_related("person")[:BATCH])
        if not batch:
            return
        with datakeys.key_scope():
            datakeys.preload([c.person_id for c in batch])
            for capture in batch:
                yield capture, capture.template
        last = batch[-1].pk


def _current(capture: FingerprintCapture) -> bool:
    return capture.replaced_at is None and capture.person.erased_at is None


def _build() -> State:
    state = State()
    now = timezone.now()
    per_finger: dict[int, list[tuple[Any, Any, bytes]]] = defaultdict(list)
    taken: dict[int, list[tuple[Any, datetime.datetime]]] = defaultdict(list)
    e = engine.engine()
    qs = FingerprintCapture.objects.filter(replaced_at__isnull=True, person__erased_at__isnull=True)
    for capture, template in _rows(qs):
        state.applied[capture.pk] = capture.changed_at
        if template is None:
            continue
        minutiae = e.load_template(template).minutiae
        per_finger[capture.finger].append((capture.person_id, minutiae, template))
        taken[capture.finger].append((capture.person_id, capture.captured_at))
    g = state.gallery
    for finger, rows in per_finger.items():
        g.add_many(finger, rows)
        for person, at in taken[finger]:
            g.taken[(g.number(person), finger)] = at
    state.synced_at = state.built_at = now
    return state


def _catch_up(state: State) -> None:
    since = state.synced_at or timezone.now()
    now = timezone.now()
    e = engine.engine()
    qs = FingerprintCapture.objects.filter(changed_at__gte=since - OVERLAP)
    for capture, template in _rows(qs):
        if state.applied.get(capture.pk) == capture.changed_at:
            continue
        state.applied[capture.pk] = capture.changed_at
        if capture.person.erased_at is not None:
            state.gallery.remove_person(capture.person_id)
        elif capture.replaced_at is not None:
            state.gallery.remove_finger(capture.person_id, capture.finger, unless_newer=capture.captured_at)
        elif template is not None:
            state.gallery.add(capture.person_id, capture.finger, e.load_template(template).minutiae,
                              template, at=capture.captured_at)
    state.synced_at = now


def _current_gallery() -> Gallery:
    global _state
    if _state is None:
        _state = _build()
    else:
        _catch_up(_state)
    return _state.gallery


def gallery() -> Gallery:
    """This process's gallery, current with the database (for a look at it; a search goes
    through `searching`)."""
    with _lock:
        return _current_gallery()


@contextlib.contextmanager
def searching() -> Iterator[Gallery]:
    """The gallery, current, held for one search: no other thread of the process changes it
    meanwhile."""
    with _lock:
        yield _current_gallery()


def built_at() -> datetime.datetime | None:
    return _state.built_at if _state is not None else None


def forget() -> None:
    """Drop the gallery, as a restart does (tests, and a worker told to rebuild)."""
    global _state
    with _lock:
        _state = None


def drop_person(person_id: uuid.UUID) -> None:
    """An erased person leaves this process's gallery at once (others catch up)."""
    with _lock:
        if _state is not None:
            _state.gallery.remove_person(person_id)
