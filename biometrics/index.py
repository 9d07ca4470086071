"""The 1:N index: Minutia Cylinder-Code with locality-sensitive hashing
(docs/architecture.md#biometrics; Cappelli, Ferrara, Maltoni, IEEE TPAMI 2010 and 2011).

Each minutia becomes a 312-bit cylinder describing its neighbourhood (8 x 8 spatial cells
inside a 70-px radius, 52 of them, times 6 directional sections), invariant to translation
and rotation. 32 hash functions each sample 24 of the bits; one index per finger position
keeps, per hash table, the keys sorted with the template each came from, so that a probe's
keys find their collisions with `searchsorted` and `bincount`, with no Python loop per
gallery template. A template's score is the number of collisions over the geometric mean
of the two cylinder counts; scores fuse per person by summing over the probe's fingers.

The index's best people are then put in order by the cylinders themselves (`similarities`:
MCC's local similarity sort on the bit cylinders, vectorised over every shortlisted
template), which the exact matcher confirms for the first few.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

RADIUS = 70.0
CELLS = 8
SECTIONS = 6
SIGMA_S = 28.0 / 3.0
SIGMA_D = 2.0 * np.pi / 9.0
MU = 0.003  # lower than the paper's 0.01: denser cylinders hash better here (docs)
TABLES = 32
BITS_PER_KEY = 24
MIN_KEY_BITS = 4  # keys with fewer 1-bits say little and collide with everything
MIN_NEIGHBOURS = 3
# Local similarity sort: the mean of a template pair's this many most similar cylinder pairs.
LSS_PAIRS = 12
# Cylinder pairs whose minutiae turn more than this apart are not compared (MCC's limit).
MAX_TURN = np.pi / 2

_step = 2 * RADIUS / CELLS
_centres = np.array([((i + 0.5) * _step - RADIUS, (j + 0.5) * _step - RADIUS)
                     for j in range(CELLS) for i in range(CELLS)])
CELL_OFFSETS = _centres[np.hypot(_centres[:, 0], _centres[:, 1]) <= RADIUS]  # (52, 2)
BITS = len(CELL_OFFSETS) * SECTIONS  # 312
_SECTION_CENTRES = -np.pi + (np.arange(SECTIONS) + 0.5) * 2 * np.pi / SECTIONS
_SAMPLES = np.random.default_rng(312).permuted(
    np.tile(np.arange(BITS), (TABLES, 1)), axis=1)[:, :BITS_PER_KEY]  # (32, 24) fixed forever
_WEIGHTS = (1 << np.arange(BITS_PER_KEY, dtype=np.uint32)).astype(np.uint32)


def _wrap(a: np.ndarray) -> np.ndarray:
    return np.asarray((a + np.pi) % (2 * np.pi) - np.pi)


def cylinders(minutiae: np.ndarray) -> np.ndarray:
    """The valid cylinders of a template's minutiae ((n, 3): x, y, angle) as (m, 312) bools."""
    return _cylinders(minutiae)[0]


def _cylinders(minutiae: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The valid cylinders, and the direction of the minutia each belongs to."""
    pts = np.asarray(minutiae, dtype=np.float64).reshape(-1, 3)
    if len(pts) == 0:
        return np.zeros((0, BITS), dtype=bool), np.zeros(0, dtype=np.float32)
    xy, theta = pts[:, :2], pts[:, 2]
    cos, sin = np.cos(theta), np.sin(theta)
    # cell centres of every minutia's cylinder, rotated to its direction: (n, 52, 2)
    ox, oy = CELL_OFFSETS[:, 0], CELL_OFFSETS[:, 1]
    cx = xy[:, 0, None] + cos[:, None] * ox - sin[:, None] * oy
    cy = xy[:, 1, None] + sin[:, None] * ox + cos[:, None] * oy
    dist_mt = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])  # (n, n)
    near = (dist_mt <= RADIUS + 3 * SIGMA_S) & ~np.eye(len(pts), dtype=bool)
    dx = cx[:, :, None] - xy[None, None, :, 0]
    dy = cy[:, :, None] - xy[None, None, :, 1]
    spatial = np.exp(-(dx ** 2 + dy ** 2) / (2 * SIGMA_S ** 2)) / (SIGMA_S * np.sqrt(2 * np.pi))
    spatial *= near[:, None, :]  # (n, 52, n)
    dtheta = _wrap(theta[None, :] - theta[:, None])  # (n, n)
    width = 2 * np.pi / SECTIONS
    diff = _wrap(dtheta[:, :, None] - _SECTION_CENTRES[None, None, :])
    directional = np.exp(-diff ** 2 / (2 * SIGMA_D ** 2)) / (SIGMA_D * np.sqrt(2 * np.pi)) * width
    values = np.einsum("mct,mtk->mck", spatial, directional)  # (n, 52, 6)
    valid = (near & (dist_mt <= RADIUS)).sum(axis=1) >= MIN_NEIGHBOURS
    return (np.asarray((values > MU).reshape(len(pts), BITS)[valid]),
            theta[valid].astype(np.float32))


@dataclass(frozen=True)
class Described:
    """What the index keeps of one template: its cylinders' hash keys ((m, 32) uint32), the
    cylinders packed into five 64-bit words each ((m, 5) uint64) and their minutiae's
    directions ((m,) float32)."""

    keys: np.ndarray
    bits: np.ndarray
    angles: np.ndarray

    def subset(self, keep: np.ndarray) -> Described:
        return Described(self.keys[keep], self.bits[keep], self.angles[keep])

    def without_keys(self) -> Described:
        """What the index keeps beside its tables (the keys are in the tables already)."""
        return Described(_NO_KEYS, self.bits, self.angles)


_NO_KEYS = np.zeros((0, TABLES), dtype=np.uint32)
_EMPTY = Described(_NO_KEYS, np.zeros((0, 5), dtype=np.uint64), np.zeros(0, dtype=np.float32))


def describe(minutiae: np.ndarray) -> Described:
    cyls, angles = _cylinders(minutiae)
    packed = np.zeros((len(cyls), 40), dtype=np.uint8)
    packed[:, :39] = np.packbits(cyls, axis=1)
    return Described(keys(cyls), packed.view(np.uint64), angles)


def similarities(probe: Described, templates: list[Described]) -> np.ndarray:
    """MCC's local similarity sort of the probe against each template: every pair of
    cylinders compares as 1 - sqrt(|a xor b|) / (sqrt(|a|) + sqrt(|b|)) (0 when their
    minutiae turn more than MAX_TURN apart), and a template scores the mean of its
    LSS_PAIRS best pairs."""
    out = np.zeros(len(templates), dtype=np.float64)
    counts = np.array([len(t.bits) for t in templates], dtype=np.int64)
    if len(probe.bits) == 0 or not counts.sum():
        return out
    bits = np.concatenate([t.bits for t in templates])
    angles = np.concatenate([t.angles for t in templates])
    # |a xor b| = |a| + |b| - 2 |a and b|, the last for every pair in one matrix product.
    mine = np.unpackbits(probe.bits.view(np.uint8), axis=1).astype(np.float32)
    theirs = np.unpackbits(bits.view(np.uint8), axis=1).astype(np.float32)
    mine_n, theirs_n = mine.sum(axis=1), theirs.sum(axis=1)
    differ = np.maximum(mine_n[:, None] + theirs_n[None, :] - 2 * (mine @ theirs.T), 0)
    pair = 1 - np.sqrt(differ) / np.maximum(np.sqrt(mine_n)[:, None] + np.sqrt(theirs_n)[None, :],
                                            1e-6)
    turn = np.abs(_wrap(probe.angles[:, None] - angles[None, :]))
    pair[turn > MAX_TURN] = 0
    # Each template's pairs side by side (padded with -1), then its best LSS_PAIRS at once.
    n, a, width = len(templates), len(probe.bits), int(counts.max())
    padded = np.full((a, n, width), -1.0, dtype=np.float32)
    padded[:, np.repeat(np.arange(n), counts),
           np.arange(len(bits)) - np.repeat(np.cumsum(counts) - counts, counts)] = pair
    flat = padded.transpose(1, 0, 2).reshape(n, a * width)
    k = min(LSS_PAIRS, a * width)
    best = np.partition(flat, a * width - k, axis=1)[:, a * width - k:]
    out[:] = np.maximum(best, 0).sum(axis=1) / np.maximum(np.minimum(k, counts * a), 1)
    return out


def keys(cyls: np.ndarray) -> np.ndarray:
    """The 32 hash keys of each cylinder, (m, 32) uint32; 0 marks a key too sparse to use."""
    sampled = cyls[:, _SAMPLES]  # (m, 32, 24)
    out = (sampled.astype(np.uint32) * _WEIGHTS).sum(axis=2, dtype=np.uint32)
    out[sampled.sum(axis=2) < MIN_KEY_BITS] = 0
    return np.asarray(out)


@dataclass
class _Tables:
    """Sorted keys and their template numbers, one row per hash table."""

    keys: np.ndarray  # (32, k) uint32
    owners: np.ndarray  # (32, k) uint32

    @classmethod
    def build(cls, all_keys: np.ndarray, owners: np.ndarray) -> _Tables:
        rows_k, rows_o = [], []
        for h in range(TABLES):
            column = all_keys[:, h]
            keep = column != 0
            column, who = column[keep], owners[keep]
            order = np.argsort(column, kind="stable")
            rows_k.append(column[order])
            rows_o.append(who[order])
        width = max((len(r) for r in rows_k), default=0)
        k = np.zeros((TABLES, width), dtype=np.uint32)
        o = np.full((TABLES, width), np.iinfo(np.uint32).max, dtype=np.uint32)
        ends = np.zeros(TABLES, dtype=np.int64)
        for h in range(TABLES):
            n = len(rows_k[h])
            k[h, :n], o[h, :n], ends[h] = rows_k[h], rows_o[h], n
            k[h, n:] = np.iinfo(np.uint32).max  # padding sorts last, never matches a real key
        return cls(keys=k, owners=o)

    def hits(self, probe: np.ndarray, templates: int) -> np.ndarray:
        """Collisions per template of a probe's keys ((m, 32) uint32)."""
        total = np.zeros(templates, dtype=np.int64)
        if self.keys.shape[1] == 0:
            return total
        for h in range(TABLES):
            wanted = probe[:, h]
            wanted = wanted[wanted != 0]
            lo = np.searchsorted(self.keys[h], wanted, "left")
            hi = np.searchsorted(self.keys[h], wanted, "right")
            counts = hi - lo
            n = int(counts.sum())
            if not n:
                continue
            starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
            positions = starts + np.arange(n)
            total += np.bincount(self.owners[h][positions], minlength=templates)[:templates]
        return total


@dataclass
class FingerIndex:
    """The index of one finger position: a large sorted part and a small recent part, merged
    when the recent part grows past a twentieth of the whole."""

    owners: list[int] = field(default_factory=list)  # template -> person number
    sizes: list[int] = field(default_factory=list)  # template -> cylinder count
    alive: list[bool] = field(default_factory=list)
    described: list[Described | None] = field(default_factory=list)  # None once removed
    _main: _Tables | None = None
    _main_count: int = 0
    _recent_keys: list[np.ndarray] = field(default_factory=list)
    _recent: _Tables | None = None

    def add(self, person: int, template: Described) -> int:
        number = len(self.owners)
        self.owners.append(person)
        self.sizes.append(len(template.keys))
        self.alive.append(True)
        self.described.append(template.without_keys())
        self._recent_keys.append(template.keys)
        self._recent = None
        if len(self._recent_keys) > max(64, len(self.owners) // 20):
            self.merge()
        return number

    def remove(self, template: int) -> None:
        self.alive[template] = False
        self.described[template] = None

    def add_many(self, people: list[int], templates: list[Described]) -> None:
        for person, t in zip(people, templates, strict=True):
            self.owners.append(person)
            self.sizes.append(len(t.keys))
            self.alive.append(True)
            self.described.append(t.without_keys())
            self._recent_keys.append(t.keys)
        self.merge()

    def similarities(self, probe: Described, templates: list[int]) -> np.ndarray:
        """`similarities` of the probe against these templates of the index (0 if removed)."""
        return similarities(probe, [self.described[t] or _EMPTY for t in templates])

    def merge(self) -> None:
        parts_k, parts_o = [], []
        start = self._main_count
        if self._recent_keys:
            counts = [len(k) for k in self._recent_keys]
            parts_k.append(np.concatenate(self._recent_keys).reshape(-1, TABLES))
            parts_o.append(np.repeat(np.arange(start, start + len(counts), dtype=np.uint32), counts))
        new = _Tables.build(parts_k[0], parts_o[0]) if parts_k else None
        if self._main is None:
            self._main = new
        elif new is not None:
            self._main = _merge(self._main, new)
        self._main_count = len(self.owners)
        self._recent_keys = []
        self._recent = None

    def scores(self, probe_keys: np.ndarray, people: int) -> np.ndarray:
        """Per person, this finger's index score against the probe's keys."""
        templates = len(self.owners)
        hits = np.zeros(templates, dtype=np.int64)
        if self._main is not None:
            hits += self._main.hits(probe_keys, templates)
        if self._recent_keys:
            if self._recent is None:
                counts = [len(k) for k in self._recent_keys]
                self._recent = _Tables.build(
                    np.concatenate(self._recent_keys).reshape(-1, TABLES),
                    np.repeat(np.arange(self._main_count, templates, dtype=np.uint32), counts))
            hits += self._recent.hits(probe_keys, templates)
        sizes = np.asarray(self.sizes, dtype=np.float64)
        score = hits / np.sqrt(np.maximum(sizes, 1) * max(len(probe_keys), 1))
        score[~np.asarray(self.alive, dtype=bool)] = 0
        out = np.zeros(people, dtype=np.float64)
        np.maximum.at(out, np.asarray(self.owners, dtype=np.int64), score)
        return out

    def nbytes(self) -> int:
        size = 0
        for t in (self._main, self._recent):
            if t is not None:
                size += t.keys.nbytes + t.owners.nbytes
        size += sum(d.bits.nbytes + d.angles.nbytes for d in self.described if d is not None)
        return size + sum(k.nbytes for k in self._recent_keys)


def _merge(a: _Tables, b: _Tables) -> _Tables:
    """Two sorted table sets into one, table by table (a linear merge through numpy)."""
    big = np.iinfo(np.uint32).max
    rows_k, rows_o = [], []
    for h in range(TABLES):
        ka, oa = a.keys[h], a.owners[h]
        kb, ob = b.keys[h], b.owners[h]
        na, nb = int((oa != big).sum()), int((ob != big).sum())
        keys_ = np.concatenate([ka[:na], kb[:nb]])
        owners_ = np.concatenate([oa[:na], ob[:nb]])
        order = np.argsort(keys_, kind="stable")
        rows_k.append(keys_[order])
        rows_o.append(owners_[order])
    width = max(len(r) for r in rows_k)
    k = np.full((TABLES, width), big, dtype=np.uint32)
    o = np.full((TABLES, width), big, dtype=np.uint32)
    for h in range(TABLES):
        k[h, : len(rows_k[h])], o[h, : len(rows_o[h])] = rows_k[h], rows_o[h]
    return _Tables(keys=k, owners=o)
