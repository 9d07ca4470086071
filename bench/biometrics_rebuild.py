"""A worker's cold gallery rebuild from the database (docs/architecture.md#biometrics): the
sealed captures of every enrolled person read, opened and indexed, as a restarted worker
does before its first search. On the bench database (bench/generate.py first).

    .venv/bin/python bench/biometrics_rebuild.py --enrol 10000      # two fingers each, once
    .venv/bin/python bench/biometrics_rebuild.py                    # time a cold rebuild
    .venv/bin/python bench/biometrics_rebuild.py --profile var/bench/rebuild.prof

`--enrol N` gives the first N people of the database (in id order) two captured fingers
each, made as bench/biometrics_scale.py makes its fillers (a generated finger mirrored,
turned, shifted, 80 % of its minutiae), sealed with each person's key; with `--features`
their index features are sealed beside them as an enrolment does. The rebuild runs in a
process of its own, so the peak RSS printed is the rebuild's.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

common.setup_django()

from django.db import transaction  # noqa: E402

from biometrics import engine, synthetic, worker  # noqa: E402
from biometrics.models import FingerprintCapture  # noqa: E402
from cases.crypto import datakeys  # noqa: E402
from cases.models import Person, User  # noqa: E402

sys.path.insert(0, str(common.ROOT))
from bench.biometrics_scale import iso_template  # noqa: E402

BASES = 12
BATCH = 1000


def bases() -> dict[int, list[tuple[np.ndarray, bytes]]]:
    e = engine.engine()
    out: dict[int, list[tuple[np.ndarray, bytes]]] = {1: [], 2: []}
    for p in range(BASES):
        for finger in (1, 2):
            x = e.extract(synthetic.png(synthetic.impression(synthetic.finger(300_000 * finger + p), 1)))
            mirrored = x.minutiae.copy()
            mirrored[:, 0] = 352 - mirrored[:, 0]
            mirrored[:, 2] = np.pi - mirrored[:, 2]
            out[finger].append((mirrored, x.template))
    return out


def enrol(people: int, *, features: bool) -> None:
    from biometrics import services

    rng = np.random.default_rng(7)
    made = bases()
    operator = User.objects.order_by("pk").first()
    ids = list(Person.objects.order_by("pk").values_list("pk", flat=True)[:people])
    have = set(FingerprintCapture.objects.values_list("person_id", flat=True))
    ids = [p for p in ids if p not in have]
    started = time.perf_counter()
    for i in range(0, len(ids), BATCH):
        batch = ids[i:i + BATCH]
        rows = []
        with datakeys.key_scope(), transaction.atomic():
            datakeys.preload(batch)
            for person in batch:
                for finger in (1, 2):
                    mins, like = made[finger][rng.integers(len(made[finger]))]
                    keep = rng.random(len(mins)) < 0.8
                    turn = rng.uniform(-0.2, 0.2)
                    c, s = np.cos(turn), np.sin(turn)
                    pts = mins[keep].copy()
                    x, y = pts[:, 0] - 176, pts[:, 1] - 208
                    pts[:, 0] = np.clip(176 + c * x - s * y + rng.uniform(-15, 15), 0, 351)
                    pts[:, 1] = np.clip(208 + s * x + c * y + rng.uniform(-15, 15), 0, 415)
                    pts[:, 2] = pts[:, 2] + turn
                    capture = FingerprintCapture(person_id=person, finger=finger,
                                                 template=iso_template(pts, like),
                                                 source="template", consent="given",
                                                 operator=operator)
                    if features:
                        services.seal_features(capture)
                    rows.append(capture)
            FingerprintCapture.objects.bulk_create(rows)
        print(f"enrolled {i + len(batch):,} people ({time.perf_counter() - started:.0f} s)", flush=True)


def rebuild(profile: str | None) -> None:
    current = FingerprintCapture.objects.filter(replaced_at__isnull=True)
    people = current.values("person_id").distinct().count()
    fingers = current.count()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worker.forget()
    profiler = cProfile.Profile() if profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    g = worker.gallery()
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    load = os.getloadavg()
    held = getattr(g, "gallery", g)  # the engine's gallery (a Gallery before the interface had one)
    print(f"people {people:,} with {fingers:,} current fingers; in the gallery "
          f"{held.enrolled_people():,} people, {len(held.templates):,} fingers")
    # 100,000 people of two fingers: 200,000 fingers.
    print(f"cold rebuild {seconds:.1f} s ({seconds / max(fingers, 1) * 1000:.2f} ms a finger); "
          f"100,000 people of two fingers at that rate: {seconds / max(fingers, 1) * 200_000 / 60:.1f} min")
    print(f"CPU time of the process {cpu:.1f} s ({cpu / max(fingers, 1) * 1000:.2f} ms a finger; "
          f"100,000 people: {cpu / max(fingers, 1) * 200_000 / 60:.1f} min)")
    print(f"index memory {held.nbytes() / 1e6:.0f} MB; peak RSS {rss_before / 1e3:.0f} MB before, "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB after")
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrol", type=int, default=0)
    parser.add_argument("--features", action="store_true",
                        help="With --enrol: seal each capture's index features too.")
    parser.add_argument("--profile", help="Write the rebuild's cProfile statistics here.")
    args = parser.parse_args()
    if args.enrol:
        enrol(args.enrol, features=args.features)
        return
    rebuild(args.profile)


if __name__ == "__main__":
    main()
