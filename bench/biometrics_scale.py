"""1:N search at large gallery sizes (docs/architecture.md#biometrics), in memory.

Growing a synthetic finger takes seconds, so a gallery of 100,000 people cannot be made of
generated fingers. It is made of `--real` generated people (two fingers each, probed with a
second impression) and filler people derived from generated fingers: each filler finger is
a mirrored generated finger (a mirror image is a different ridge pattern for Bozorth3 and for
the cylinders), turned, shifted, with a random 80 % of its minutiae, encoded as an ISO/IEC
19794-2 template. A filler's cylinders are a random 80 % of its base's (cylinders do not
change with rotation and translation; their minutiae's directions turn with the finger), so
fillers of one base collide with each other: a harder crowd for the index than real people,
whose fingers all differ.

    .venv/bin/python -m bench.biometrics_scale --people 100000 --real 20 --bases 40
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import statistics
import struct
import time
from pathlib import Path

import django
import numpy as np


def iso_template(minutiae: np.ndarray, like: bytes) -> bytes:
    """A template of these minutiae (x, y, angle in radians) in the layout of `like`, a
    template the engine wrote: its 22-byte header (the length patched), a 4-byte finger view
    header (the count patched) and 6 bytes per minutia."""
    body = bytearray()
    for x, y, a in minutiae:
        angle = round(float(np.rad2deg(a) % 360) / 1.40625) % 256
        body += struct.pack(">HHBB", (2 << 14) | (int(x) & 0x3FFF), int(y) & 0x3FFF, angle, 3)
    record = bytearray(like[:25]) + bytes([len(minutiae)]) + body
    record[8:12] = struct.pack(">I", len(record))
    return bytes(record)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--real", type=int, default=20)
    parser.add_argument("--bases", type=int, default=40)
    parser.add_argument("--cache", default="var/bench/biometrics-scale.pickle",
                        help="Keeps the generated people's templates for the next run.")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.test")
    django.setup()
    from biometrics import engine, gallery, index, synthetic

    e = engine.engine()
    rng = np.random.default_rng(5)
    started = time.perf_counter()
    real, probes, bases = [], {}, []
    cache = Path(args.cache)
    key = (args.real, args.bases, "described")
    if cache.exists():
        kept = pickle.loads(cache.read_bytes())  # noqa: S301  # our own file
        if kept["key"] == key:
            real, bases = kept["real"], kept["bases"]
    for p in range(0 if real else args.real + args.bases):
        per = {}
        for finger in (1, 2):
            f = synthetic.finger(300_000 * finger + p)
            a = e.extract(synthetic.png(synthetic.impression(f, 1)))
            if p < args.real:
                b = e.extract(synthetic.png(synthetic.impression(f, 2)))
                per[finger] = (a, b)
            else:
                mirrored = a.minutiae.copy()
                mirrored[:, 0] = 352 - mirrored[:, 0]
                mirrored[:, 2] = np.pi - mirrored[:, 2]
                bases.append((finger, mirrored, index.describe(mirrored), a.template))
        if per:
            real.append(per)
    if not cache.exists() or pickle.loads(cache.read_bytes())["key"] != key:  # noqa: S301
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps({"key": key, "real": real, "bases": bases}))
    made = time.perf_counter() - started
    g = gallery.Gallery()
    started = time.perf_counter()
    rows: dict[int, list] = {1: [], 2: []}
    keys_of: dict[int, list] = {1: [], 2: []}
    fillers = args.people - args.real
    by_finger = {f: [b for b in bases if b[0] == f] for f in (1, 2)}
    for n in range(fillers):
        for finger in (1, 2):
            _f, mins, described, like = by_finger[finger][rng.integers(len(by_finger[finger]))]
            keep = rng.random(len(mins)) < 0.8
            turn = rng.uniform(-0.2, 0.2)
            c, s = np.cos(turn), np.sin(turn)
            pts = mins[keep].copy()
            x, y = pts[:, 0] - 176, pts[:, 1] - 208
            pts[:, 0] = np.clip(176 + c * x - s * y + rng.uniform(-15, 15), 0, 351)
            pts[:, 1] = np.clip(208 + s * x + c * y + rng.uniform(-15, 15), 0, 415)
            pts[:, 2] = pts[:, 2] + turn
            rows[finger].append((f"filler-{n}", pts, iso_template(pts, like)))
            kept = described.subset(rng.random(len(described.keys)) < 0.8)
            keys_of[finger].append(index.Described(kept.keys, kept.bits, kept.angles + turn))
    for finger in (1, 2):
        fi = g.fingers.setdefault(finger, index.FingerIndex())
        numbers = []
        for person, _pts, template in rows[finger]:
            n = g.number(person)
            g.templates[(n, finger)] = (len(fi.owners) + len(numbers), template)
            numbers.append(n)
        fi.add_many(numbers, keys_of[finger])
    for p, per in enumerate(real):
        for finger, (a, _b) in per.items():
            g.add(f"real-{p}", finger, a.minutiae, a.template)
        probes[f"real-{p}"] = {f: (b.minutiae, b.template) for f, (_a, b) in per.items()}
    built = time.perf_counter() - started
    times, rescored, correct, indexed = [], [], 0, []
    for person, probe in probes.items():
        t0 = time.perf_counter()
        g.index_scores({f: index.describe(m) for f, (m, _t) in probe.items()})
        indexed.append(time.perf_counter() - t0)
        result = g.search(probe, e.comparator)
        times.append(result.seconds)
        rescored.append(result.rescored)
        correct += bool(result.candidates) and result.candidates[0].person == person
    times.sort()
    load = os.getloadavg()
    print(f"people {g.enrolled_people()} ({args.real} generated, {fillers} fillers from "
          f"{args.bases} generated people mirrored), 2 fingers each; probes {len(probes)}")
    print(f"generation {made:.0f} s; gallery build {built:.1f} s")
    print(f"search: median {statistics.median(times) * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms; "
          f"re-ranked {statistics.mean(rescored):.1f} people "
          f"({statistics.mean(rescored) / g.enrolled_people() * 100:.3f} %)")
    print(f"of which the index (fused scores of everyone): median "
          f"{statistics.median(indexed) * 1000:.0f} ms")
    print(f"rank-1 correct: {correct}/{len(probes)}")
    print(f"index memory {g.nbytes() / 1e6:.0f} MB; process peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
