"""The decrypted gallery of a worker and its 1:N search (docs/architecture.md#biometrics).

It lives only in the memory of the process that searches; nothing of it is written
anywhere. biometrics/services.py fills it from the sealed captures and keeps it current.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biometrics import index

# People the index puts first, then put in order by their cylinders (index.similarities,
# about 50 ms a finger for 200 people on a quiet core).
SHORTLIST = 200
# Of those, the first whose fingers the exact matcher compares: Bozorth3 costs 1.5 ms a
# comparison on a quiet core (10-20 ms under heavy load). The cylinders' order already
# agrees with exhaustive matching (bench/README.md, "Fingerprints").
RERANK = 10


@dataclass(frozen=True)
class Candidate:
    person: Any
    score: int
    index_score: float


@dataclass(frozen=True)
class Result:
    candidates: list[Candidate]
    gallery_people: int
    rescored: int
    seconds: float


def _described(minutiae: np.ndarray | index.Described) -> index.Described:
    return minutiae if isinstance(minutiae, index.Described) else index.describe(minutiae)


@dataclass
class Gallery:
    people: list[Any] = field(default_factory=list)
    _numbers: dict[Any, int] = field(default_factory=dict)
    fingers: dict[int, index.FingerIndex] = field(default_factory=dict)
    # (person number, finger) -> (template number in that finger's index, template bytes)
    templates: dict[tuple[int, int], tuple[int, bytes]] = field(default_factory=dict)
    # (person number, finger) -> when the capture held was taken, where the caller says
    taken: dict[tuple[int, int], Any] = field(default_factory=dict)

    def number(self, person: Any) -> int:
        if person not in self._numbers:
            self._numbers[person] = len(self.people)
            self.people.append(person)
        return self._numbers[person]

    def add(self, person: Any, finger: int, minutiae: np.ndarray | index.Described,
            template: bytes, *, at: Any = None) -> None:
        """Enrol (or replace) one finger of one person from its minutiae or its index
        features; with `at` (when the capture was taken), not over a capture taken later."""
        n = self.number(person)
        held = self.taken.get((n, finger))
        if at is not None and held is not None and held > at:
            return
        fi = self.fingers.setdefault(finger, index.FingerIndex())
        if (n, finger) in self.templates:
            fi.remove(self.templates[(n, finger)][0])
        number = fi.add(n, _described(minutiae))
        self.templates[(n, finger)] = (number, template)
        if at is not None:
            self.taken[(n, finger)] = at

    def remove_finger(self, person: Any, finger: int, *, unless_newer: Any = None) -> None:
        """Take one finger of one person out; with `unless_newer`, only the capture taken
        then or before (a replaced capture read after its replacement leaves it alone)."""
        n = self._numbers.get(person)
        if n is None or (n, finger) not in self.templates:
            return
        held = self.taken.get((n, finger))
        if unless_newer is not None and held is not None and held > unless_newer:
            return
        number, _template = self.templates.pop((n, finger))
        self.taken.pop((n, finger), None)
        self.fingers[finger].remove(number)

    def add_many(self, finger: int, rows: Sequence[tuple[Any, np.ndarray | index.Described, bytes]], *,
                 merge: bool = True) -> None:
        """Bulk load of one finger position (a worker's start); `merge=False` leaves the hash
        tables to `merge()`, once every chunk is in."""
        fi = self.fingers.setdefault(finger, index.FingerIndex())
        numbers, described = [], []
        for person, minutiae, template in rows:
            n = self.number(person)
            if (n, finger) in self.templates:
                fi.remove(self.templates[(n, finger)][0])
            numbers.append(n)
            described.append(_described(minutiae))
            self.templates[(n, finger)] = (len(fi.owners) + len(numbers) - 1, template)
        fi.add_many(numbers, described, merge=merge)

    def merge(self) -> None:
        for fi in self.fingers.values():
            fi.merge()

    def remove_person(self, person: Any) -> None:
        n = self._numbers.get(person)
        if n is None:
            return
        for finger, fi in self.fingers.items():
            self.taken.pop((n, finger), None)
            entry = self.templates.pop((n, finger), None)
            if entry is not None:
                fi.remove(entry[0])

    def holds(self, person: Any, finger: int) -> bool:
        n = self._numbers.get(person)
        return n is not None and (n, finger) in self.templates

    def enrolled_people(self) -> int:
        return len({n for n, _ in self.templates})

    def nbytes(self) -> int:
        return sum(fi.nbytes() for fi in self.fingers.values())

    def index_scores(self, probe: dict[int, index.Described]) -> np.ndarray:
        """Fused index scores per person number: the sum over the probe's fingers."""
        total = np.zeros(len(self.people), dtype=np.float64)
        for finger, described in probe.items():
            fi = self.fingers.get(finger)
            if fi is not None:
                total += fi.scores(described.keys, len(self.people))
        return total

    def local_scores(self, probe: dict[int, index.Described], people: list[int]) -> np.ndarray:
        """Each person's cylinder similarity to the probe, summed over the probe's fingers."""
        total = np.zeros(len(people), dtype=np.float64)
        for finger, described in probe.items():
            fi = self.fingers.get(finger)
            if fi is None:
                continue
            held = [(i, self.templates[(n, finger)][0]) for i, n in enumerate(people)
                    if (n, finger) in self.templates]
            if held:
                total[[i for i, _t in held]] += fi.similarities(described, [t for _i, t in held])
        return total

    def search(self, probe: dict[int, tuple[np.ndarray, bytes]],
               comparator: Callable[[bytes], Callable[[bytes], int]], *,
               rerank: int = RERANK, shortlist: int = SHORTLIST, exclude: Any = None,
               exhaustive: bool = False) -> Result:
        """Candidates best first: the index's `shortlist` best people, put in order by their
        cylinders, of which the first `rerank` are confirmed with the exact matcher
        (everyone, in a gallery that small); `exhaustive` compares every enrolled person
        instead (for the benchmark's agreement measure)."""
        started = time.perf_counter()
        enrolled = {n for n, _ in self.templates}
        skip = self._numbers.get(exclude) if exclude is not None else None
        if exhaustive:
            short = sorted(enrolled - {skip})
            fused = np.zeros(len(self.people))
        else:
            described = {f: index.describe(m) for f, (m, _) in probe.items()}
            fused = self.index_scores(described)
            if skip is not None:
                fused[skip] = -1
            alive = np.zeros(len(self.people), dtype=bool)
            alive[list(enrolled)] = True
            fused[~alive] = -1
            top = [int(n) for n in np.argsort(-fused, kind="stable")[:max(1, rerank, shortlist)]
                   if fused[n] >= 0]
            local = self.local_scores(described, top)
            short = [top[i] for i in np.argsort(-local, kind="stable")[:max(1, rerank)]]
        scorers = {f: comparator(t) for f, (_, t) in probe.items()}
        candidates = []
        for n in short:
            scores = [scorers[f](self.templates[(n, f)][1]) for f in probe if (n, f) in self.templates]
            if scores:
                candidates.append(Candidate(person=self.people[n], score=max(scores),
                                            index_score=float(fused[n])))
        candidates.sort(key=lambda c: (-c.score, -c.index_score))
        return Result(candidates=candidates, gallery_people=len(enrolled), rescored=len(short),
                      seconds=time.perf_counter() - started)
