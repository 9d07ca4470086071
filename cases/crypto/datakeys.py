"""Per-person data keys, wrapped by a KEK; cache, rotation and destruction.

A leaf: where wrapped keys are stored is a `KeyStore` the app installs at start-up
(`cases.keystore`), so this package knows no model and no database.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidTag

from cases.crypto import keyring


class StoredKey(Protocol):
    """A data key as stored: wrapped by the KEK `kek_id`."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def subject_id(self) -> uuid.UUID: ...
    @property
    def kek_id(self) -> str: ...
    @property
    def wrapped(self) -> bytes | memoryview: ...
    @property
    def destroyed_at(self) -> datetime.datetime | None: ...


@dataclass
class Rotation:
    """What one batch of a rotation did. `last`: the last key it looked at (the next batch
    starts after it), None when none was left."""

    rewrapped: int = 0
    skipped: list[uuid.UUID] = field(default_factory=list)  # keys that cannot be unwrapped
    last: uuid.UUID | None = None

    @property
    def looked_at(self) -> int:
        return self.rewrapped + len(self.skipped)


class KeyStore(Protocol):
    def add(self, *, key_id: uuid.UUID, subject_id: uuid.UUID, kek_id: str, wrapped: bytes) -> None: ...

    def get(self, subject_id: uuid.UUID) -> StoredKey | None: ...

    def live(self, subject_ids: Iterable[uuid.UUID]) -> Iterable[StoredKey]:
        """The keys of these subjects that were not destroyed."""
        ...

    def shred(self, subject_id: uuid.UUID) -> bool:
        """Overwrite the wrapped key for good; False if there is none or it is gone already."""
        ...

    def rewrap(self, *, batch_size: int, kek_id: str, wrap: Callable[[StoredKey], bytes | None],
               after: uuid.UUID | None = None) -> Rotation:
        """Re-wrap, in key id order after `after`, up to batch_size live keys not under
        `kek_id` with `wrap`; a key `wrap` gives None for is left as it is (skipped)."""
        ...


_store: KeyStore | None = None


def use_store(store: KeyStore) -> None:
    global _store
    _store = store


def _keys() -> KeyStore:
    if _store is None:
        raise keyring.KeyringError("No key store is installed: the cases app is not ready.")
    return _store


class KeyDestroyed(Exception):
    """The data key was destroyed: the data it protected is erased."""


class UnknownKey(Exception):
    pass


_cache: contextvars.ContextVar[dict[uuid.UUID, tuple[uuid.UUID, bytes]] | None] = (
    contextvars.ContextVar("amparo_key_cache", default=None)
)


@contextlib.contextmanager
def key_scope() -> Iterator[None]:
    """Keep unwrapped keys in memory for one request or task only."""
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def wrap_aad(key_id: uuid.UUID, subject_id: uuid.UUID) -> bytes:
    """What a wrapped key is bound to: its own id and its subject."""
    return f"amparo|datakey|{key_id}|{subject_id}".encode()


def remember(subject_id: uuid.UUID, key_id: uuid.UUID, dek: bytes) -> None:
    """Keep an unwrapped key for the rest of the current key scope (if any)."""
    cache = _cache.get()
    if cache is not None:
        cache[subject_id] = (key_id, dek)


def create_data_key(*, subject_id: uuid.UUID) -> tuple[uuid.UUID, bytes]:
    """Create and store a new data key for a subject; return (key id, key)."""
    prov = keyring.provider(fresh=True)
    dek = os.urandom(32)
    key_id = uuid.uuid4()
    wrapped = prov.wrap(kek_id=prov.active_kek_id, dek=dek, aad=wrap_aad(key_id, subject_id))
    _keys().add(key_id=key_id, subject_id=subject_id, kek_id=prov.active_kek_id, wrapped=wrapped)
    remember(subject_id, key_id, dek)
    return key_id, dek


def unwrap(dk: StoredKey) -> bytes:
    if dk.destroyed_at is not None:
        raise KeyDestroyed(f"data key {dk.id} was destroyed on {dk.destroyed_at:%Y-%m-%d}")
    prov = keyring.provider()
    try:
        return _unwrap_with(prov, dk)
    except keyring.KeyringError:
        # Perhaps re-wrapped under a KEK added since the key file was last looked at.
        newer = keyring.provider(fresh=True)
        if newer is prov:
            raise
        return _unwrap_with(newer, dk)


def _unwrap_with(prov: keyring.KekProvider, dk: StoredKey) -> bytes:
    try:
        return prov.unwrap(
            kek_id=dk.kek_id, wrapped=bytes(dk.wrapped), aad=wrap_aad(dk.id, dk.subject_id)
        )
    except InvalidTag as exc:
        raise keyring.KeyringError(
            f"KEK {dk.kek_id!r} cannot unwrap data key {dk.id}: the key file is not the one "
            "these data were written with."
        ) from exc


def key_for_subject(subject_id: uuid.UUID) -> tuple[uuid.UUID, bytes]:
    cache = _cache.get()
    if cache is not None and subject_id in cache:
        return cache[subject_id]
    dk = _keys().get(subject_id)
    if dk is None:
        raise UnknownKey(f"no data key for subject {subject_id}")
    result = (dk.id, unwrap(dk))
    if cache is not None:
        cache[subject_id] = result
    return result


def preload(subject_ids: list[uuid.UUID]) -> None:
    """Unwrap many keys with one query (lists of people)."""
    cache = _cache.get()
    if cache is None:
        return
    missing = [s for s in set(subject_ids) if s not in cache]
    for dk in _keys().live(missing):
        cache[dk.subject_id] = (dk.id, unwrap(dk))


def destroy(*, subject_id: uuid.UUID) -> bool:
    """Crypto-shred: overwrite the wrapped key. Returns False if already destroyed."""
    done = _keys().shred(subject_id)
    cache = _cache.get()
    if cache is not None:
        cache.pop(subject_id, None)
    return done


def rotate_batch(*, batch_size: int = 500, after: uuid.UUID | None = None) -> Rotation:
    """Re-wrap up to batch_size data keys not yet under the active KEK, in key id order after
    `after`. A key that cannot be unwrapped (its KEK is gone, its bytes are damaged) is
    skipped and named in the result, so a rotation always gets past it."""
    prov = keyring.provider(fresh=True)

    def rewrap(dk: StoredKey) -> bytes | None:
        try:
            dek = unwrap(dk)
        except (keyring.KeyringError, InvalidTag, ValueError):  # ValueError: a cut-off key
            return None
        return prov.wrap(kek_id=prov.active_kek_id, dek=dek, aad=wrap_aad(dk.id, dk.subject_id))

    return _keys().rewrap(batch_size=batch_size, kek_id=prov.active_kek_id, wrap=rewrap,
                          after=after)
