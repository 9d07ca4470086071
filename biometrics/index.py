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


# Index features kept sealed beside each capture (docs/architecture.md#biometrics): a
# version (bumped whenever the cylinders or the keys would come out differently), the
# cylinder count, then the keys, the packed cylinders and their directions, little-endian.
FEATURES_VERSION = 1
_HEADER = np.dtype([("version", "<u2"), ("count", "<u4")])
_PER_CYLINDER = TABLES * 4 + 5 * 8 + 4


def pack(described: Described) -> bytes:
    """A template's index features as bytes, to be sealed with the person's key."""
    header = np.array([(FEATURES_VERSION, len(described.keys))], dtype=_HEADER)
    return b"".join((header.tobytes(), described.keys.astype("<u4").tobytes(),
                     described.bits.astype("<u8").tobytes(), described.angles.astype("<f4").tobytes()))


def unpack(data: bytes | None) -> Described | None:
    """The index features `pack` wrote; None for none, another version or a wrong length
    (the caller then describes the template again)."""
    if not data or len(data) < _HEADER.itemsize:
        return None
    header = np.frombuffer(data, dtype=_HEADER, count=1)[0]
    m = int(header["count"])
    if int(header["version"]) != FEATURES_VERSION or len(data) != _HEADER.itemsize + m * _PER_CYLINDER:
        return None
    at = _HEADER.itemsize
    keys_ = np.frombuffer(data, dtype="<u4", count=m * TABLES, offset=at).reshape(m, TABLES)
    at += keys_.nbytes
    bits = np.frombuffer(data, dtype="<u8", count=m * 5, offset=at).reshape(m, 5)
    angles = np.frombuffer(data, dtype="<f4", count=m, offset=at + bits.nbytes)
    return Described(keys_.astype(np.uint32), bits.astype(np.uint64), angles.astype(np.float32))


@dataclass
class _Tables:
    """Per hash table, its keys sorted and the template number of each (sparse keys left
    out), one array each: a table is built, or merged, alone."""

    keys: list[np.ndarray]  # TABLES arrays of uint32
    owners: list[np.ndarray]  # TABLES arrays of uint32

    @classmethod
    def build(cls, columns: list[list[np.ndarray]], owners: list[np.ndarray]) -> _Tables:
        """The tables of keys gathered a chunk at a time, each table's column apart
        (`columns[h]`, with `owners` the template of each key). Each table's columns are
        let go once it is built, so the peak is the tables plus one column, not every key
        held twice."""
        who_all = np.concatenate(owners) if owners else np.zeros(0, dtype=np.uint32)
        rows_k, rows_o = [], []
        for h in range(TABLES):
            column = np.concatenate(columns[h]) if columns[h] else np.zeros(0, dtype=np.uint32)
            columns[h] = []
            keep = column != 0
            column, who = column[keep], who_all[keep]
            order = np.argsort(column, kind="stable")
            rows_k.append(column[order])
            rows_o.append(who[order])
            del column, who, order, keep
        return cls(keys=rows_k, owners=rows_o)

    def hits(self, probe: np.ndarray, templates: int) -> np.ndarray:
        """Collisions per template of a probe's keys ((m, 32) uint32)."""
        total = np.zeros(templates, dtype=np.int64)
        for h in range(TABLES):
            table = self.keys[h]
            if not len(table):
                continue
            wanted = probe[:, h]
            wanted = wanted[wanted != 0]
            lo = np.searchsorted(table, wanted, "left")
            hi = np.searchsorted(table, wanted, "right")
            counts = hi - lo
            n = int(counts.sum())
            if not n:
                continue
            starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
            positions = starts + np.arange(n)
            total += np.bincount(self.owners[h][positions], minlength=templates)[:templates]
        return total

    def nbytes(self) -> int:
        return sum(k.nbytes for k in self.keys) + sum(o.nbytes for o in self.owners)


class _Pending:
    """Keys not yet in the large tables, kept per table column."""

    def __init__(self) -> None:
        self.columns: list[list[np.ndarray]] = [[] for _ in range(TABLES)]
        self.owners: list[np.ndarray] = []
        self.templates = 0

    def add(self, keys_: np.ndarray, owners: np.ndarray, templates: int) -> None:
        for h in range(TABLES):
            self.columns[h].append(np.ascontiguousarray(keys_[:, h]))
        self.owners.append(owners.astype(np.uint32))
        self.templates += templates

    def nbytes(self) -> int:
        return sum(c.nbytes for col in self.columns for c in col) + sum(o.nbytes for o in self.owners)


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
    _pending: _Pending = field(default_factory=_Pending)
    _recent: _Tables | None = None

    def add(self, person: int, template: Described) -> int:
        number = len(self.owners)
        self._append(person, template)
        self._pending.add(template.keys, np.full(len(template.keys), number, dtype=np.uint32), 1)
        self._recent = None
        if self._pending.templates > max(64, len(self.owners) // 20):
            self.merge()
        return number

    def _append(self, person: int, template: Described) -> None:
        self.owners.append(person)
        self.sizes.append(len(template.keys))
        self.alive.append(True)
        self.described.append(template.without_keys())

    def remove(self, template: int) -> None:
        self.alive[template] = False
        self.described[template] = None

    def add_many(self, people: list[int], templates: list[Described], *, merge: bool = True) -> None:
        """Bulk load: the templates' keys go in as one chunk; `merge=False` leaves the
        tables to build until `merge()` (a worker's start adds many chunks first)."""
        start = len(self.owners)
        for person, t in zip(people, templates, strict=True):
            self._append(person, t)
        if templates:
            counts = [len(t.keys) for t in templates]
            self._pending.add(np.concatenate([t.keys for t in templates]).reshape(-1, TABLES),
                              np.repeat(np.arange(start, start + len(counts), dtype=np.uint32), counts),
                              len(templates))
        self._recent = None
        if merge:
            self.merge()

    def similarities(self, probe: Described, templates: list[int]) -> np.ndarray:
        """`similarities` of the probe against these templates of the index (0 if removed)."""
        return similarities(probe, [self.described[t] or _EMPTY for t in templates])

    def merge(self) -> None:
        if self._pending.templates:
            new = _Tables.build(self._pending.columns, self._pending.owners)
            self._main = new if self._main is None else _merge(self._main, new)
        self._main_count = len(self.owners)
        self._pending = _Pending()
        self._recent = None

    def scores(self, probe_keys: np.ndarray, people: int) -> np.ndarray:
        """Per person, this finger's index score against the probe's keys."""
        templates = len(self.owners)
        hits = np.zeros(templates, dtype=np.int64)
        if self._main is not None:
            hits += self._main.hits(probe_keys, templates)
        if self._pending.templates:
            if self._recent is None:
                # Built from copies: the pending columns stay for the next merge.
                self._recent = _Tables.build([list(c) for c in self._pending.columns],
                                             list(self._pending.owners))
            hits += self._recent.hits(probe_keys, templates)
        sizes = np.asarray(self.sizes, dtype=np.float64)
        score = hits / np.sqrt(np.maximum(sizes, 1) * max(len(probe_keys), 1))
        score[~np.asarray(self.alive, dtype=bool)] = 0
        out = np.zeros(people, dtype=np.float64)
        np.maximum.at(out, np.asarray(self.owners, dtype=np.int64), score)
        return out

    def nbytes(self) -> int:
        size = sum(t.nbytes() for t in (self._main, self._recent) if t is not None)
        size += sum(d.bits.nbytes + d.angles.nbytes for d in self.described if d is not None)
        return size + self._pending.nbytes()


def _merge(a: _Tables, b: _Tables) -> _Tables:
    """Two sorted table sets into one, table by table."""
    rows_k, rows_o = [], []
    for h in range(TABLES):
        keys_ = np.concatenate([a.keys[h], b.keys[h]])
        owners_ = np.concatenate([a.owners[h], b.owners[h]])
        order = np.argsort(keys_, kind="stable")
        rows_k.append(keys_[order])
        rows_o.append(owners_[order])
    return _Tables(keys=rows_k, owners=rows_o)
