"""What a system administrator configured, as the workflow reads it: extra non-working days
per country and clock periods per procedure (docs/architecture.md#configuration).

This module reads no database itself: `cases` installs a source at start-up
(`cases.configuration.DatabaseSource`); without one nothing is configured. Each computation
asks the source for its version (one small query) and keeps what it read per version, so a
change saved by any process counts in every other from its next computation. Inside
`pinned()` the version is asked once: a step's clocks and records count with one version.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

Periods = Mapping[str, Mapping[str, tuple[int, str]]]  # {procedure: {clock: (days, unit)}}


@dataclass(frozen=True)
class Snapshot:
    """Everything configured, as of one version (a few dozen rows)."""

    closed_days: Mapping[str, frozenset[datetime.date]] = field(default_factory=dict)  # by country
    periods: Periods = field(default_factory=dict)


class Source(Protocol):
    def version(self) -> str:
        """Changes whenever the configuration changes (and never comes back)."""

    def load(self) -> Snapshot: ...


_source: Source | None = None
_pin: ContextVar[list[str] | None] = ContextVar("amparo_configured_pin", default=None)
_forget: list[Callable[[], None]] = []  # caches of what was read, per version


def use(source: Source | None) -> None:
    """Install the source (None: nothing configured) and forget what was read."""
    global _source
    _source = source
    for forget in _forget:
        forget()


def forget_with(cache_clear: Callable[[], None]) -> None:
    """Have `use` also clear a cache that other modules keep per version."""
    _forget.append(cache_clear)


def version() -> str:
    if _source is None:
        return ""
    pin = _pin.get()
    if pin is None:
        return _source.version()
    if not pin:
        pin.append(_source.version())
    return pin[0]


@contextlib.contextmanager
def pinned() -> Iterator[None]:
    """Within the block the version is read at most once (and only if something needs it)."""
    if _pin.get() is not None:
        yield
        return
    token = _pin.set([])
    try:
        yield
    finally:
        _pin.reset(token)


@lru_cache(maxsize=4)
def _snapshot(version: str) -> Snapshot:
    return _source.load() if _source is not None else Snapshot()


forget_with(_snapshot.cache_clear)


def snapshot(at: str | None = None) -> Snapshot:
    """What is configured now, or `at` a version just read (one small query for the version;
    the rest once per version)."""
    if _source is None:
        return Snapshot()
    return _snapshot(version() if at is None else at)


def closed_days(country: str, year: int, *, at: str | None = None) -> frozenset[datetime.date]:
    """The days configured as non-working in `country` in `year`."""
    return frozenset(d for d in snapshot(at).closed_days.get(country, ()) if d.year == year)


def periods(procedure: str) -> Mapping[str, tuple[int, str]]:
    """The periods configured for `procedure`'s clocks: {clock: (days, unit)}."""
    return snapshot().periods.get(procedure, {})
