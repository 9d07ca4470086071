"""Fingerprint budgets (docs/architecture.md#biometrics): extraction time per finger, and
1:N search with the index against exhaustive matching on a gallery of synthetic people
(two fingers each): time per search, penetration, rank-1 agreement, index memory.

    .venv/bin/python -m bench.biometrics --people 200 --probes 40
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--probes", type=int, default=40)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.test")
    django.setup()
    from biometrics import engine, gallery, synthetic

    e = engine.engine()
    g = gallery.Gallery()
    extraction, probes = [], {}
    for p in range(args.people):
        probe = {}
        for finger in (1, 2):
            f = synthetic.finger(100_000 * finger + p)
            images = [synthetic.png(synthetic.impression(f, i)) for i in (1, 2)]
            started = time.perf_counter()
            enrolled = e.extract(images[0])
            extraction.append(time.perf_counter() - started)
            g.add(p, finger, enrolled.minutiae, enrolled.template)
            if p < args.probes:
                x = e.extract(images[1])
                probe[finger] = (x.minutiae, x.template)
        if probe:
            probes[p] = probe
    fast, slow, agree, correct, rescored = [], [], 0, 0, []
    for p, probe in probes.items():
        a = g.search(probe, e.comparator)
        b = g.search(probe, e.comparator, exhaustive=True)
        fast.append(a.seconds)
        slow.append(b.seconds)
        rescored.append(a.rescored)
        top_a = a.candidates[0].person if a.candidates else None
        top_b = b.candidates[0].person if b.candidates else None
        agree += top_a == top_b
        correct += top_a == p
    print(f"people {args.people}, probes {len(probes)} (2 fingers each)")
    print(f"extraction per finger: median {statistics.median(extraction) * 1000:.0f} ms, "
          f"max {max(extraction) * 1000:.0f} ms")
    print(f"search with index: median {statistics.median(fast) * 1000:.0f} ms; exhaustive: "
          f"median {statistics.median(slow) * 1000:.0f} ms; ratio "
          f"{statistics.median(slow) / statistics.median(fast):.1f}")
    print(f"penetration: {statistics.mean(rescored) / args.people * 100:.2f} % re-ranked")
    print(f"rank-1 agreement with exhaustive: {agree / len(probes) * 100:.1f} %; "
          f"rank-1 correct: {correct / len(probes) * 100:.1f} %")
    print(f"index memory: {g.nbytes() / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
