"""Small-cell protection for every number that leaves the system (docs/architecture.md#statistics).

- Primary suppression: a count above zero and below the threshold is not shown.
- Secondary suppression: where counts add up to a total that is shown or known (a row's
  total, a column over countries), one hidden count alone could be worked out by
  subtraction; another count of the same sum is hidden too, the smallest one, until no sum
  has exactly one hidden member.
- Differences: a table filtered by one more criterion than another (only women, one more
  month) could be subtracted from it; a count whose difference from the wider table's is
  above zero and below the threshold is hidden as well (`hide_differences`), and secondary
  suppression then runs over it like over the primary ones.

Zeros are shown: that nobody is counted reveals no one. The reasons are kept per cell, so
every export says what it hid and why.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.conf import settings

K = TypeVar("K", bound=Hashable)

PRIMARY, SECONDARY, DIFFERENCE = "primary", "secondary", "difference"
MASK = "*"  # how a hidden count is written, as UNHCR's published tables do


def default_threshold() -> int:
    """AMPARO_STATS_THRESHOLD: counts below it are hidden (default 5; 0 or 1: none)."""
    return int(getattr(settings, "AMPARO_STATS_THRESHOLD", 5))


@dataclass(frozen=True)
class Sum(Generic[K]):
    """Counts whose sum is shown or can be known: `parts`, and the cell holding their total
    (None: the total is not a cell of this table but may be known elsewhere)."""

    parts: Sequence[K]
    total: K | None = None


@dataclass
class Protected(Generic[K]):
    values: dict[K, int]
    threshold: int
    hidden: dict[K, str] = field(default_factory=dict)  # cell -> PRIMARY, SECONDARY, DIFFERENCE

    def shown(self, key: K) -> int | str:
        """The count, or MASK where it is hidden."""
        return MASK if key in self.hidden else self.values[key]

    def value(self, key: K) -> int | None:
        return None if key in self.hidden else self.values[key]

    def count(self, reason: str) -> int:
        return sum(1 for r in self.hidden.values() if r == reason)


def protect(values: Mapping[K, int], sums: Iterable[Sum[K]] = (), *, threshold: int,
            extra: Mapping[K, str] | None = None) -> Protected[K]:
    """Hide the small counts of `values` and whatever would reveal them through `sums`.

    `extra`: cells to hide for another reason (e.g. DIFFERENCE) before the secondary pass."""
    out: Protected[K] = Protected(values=dict(values), threshold=threshold)
    if threshold > 1:
        for key, v in out.values.items():
            if 0 < v < threshold:
                out.hidden[key] = PRIMARY
    for key, reason in (extra or {}).items():
        if key in out.values:
            out.hidden.setdefault(key, reason)
    if not out.hidden:
        return out
    groups = [(list(s.parts), s.total) for s in sums]
    changed = True
    while changed:
        changed = False
        for parts, total in groups:
            members = [*parts, *([total] if total is not None else [])]
            members = [m for m in members if m in out.values]
            hidden = [m for m in members if m in out.hidden]
            if len(hidden) != 1:
                continue
            pick = _second(out, parts, total)
            if pick is not None:
                out.hidden[pick] = SECONDARY
                changed = True
    return out


def _second(out: Protected[K], parts: Sequence[K], total: K | None) -> K | None:
    """Which other cell of a sum to hide: the smallest count above zero among the parts,
    else the total, else a zero part (hiding it still leaves two unknowns)."""
    shown = [p for p in parts if p in out.values and p not in out.hidden]
    positive = sorted((p for p in shown if out.values[p] > 0), key=lambda p: out.values[p])
    if positive:
        return positive[0]
    if total is not None and total in out.values and total not in out.hidden:
        return total
    return shown[0] if shown else None


def hide_differences(narrow: Mapping[K, int], wider: Iterable[Mapping[K, int]], *,
                     threshold: int) -> dict[K, str]:
    """The cells of `narrow` (a table with one more filter than each of `wider`) whose
    difference from a wider table's cell is above zero and below the threshold."""
    out: dict[K, str] = {}
    if threshold <= 1:
        return out
    for other in wider:
        for key, v in narrow.items():
            difference = other.get(key, 0) - v
            if 0 < difference < threshold:
                out[key] = DIFFERENCE
    return out
