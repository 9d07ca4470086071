"""Fingerprint budgets (docs/architecture.md#biometrics): extraction time per finger, and
1:N search with the index against exhaustive matching on a gallery of synthetic people
(two fingers each): time per search, penetration, rank-1 agreement, index memory. The index
is measured twice: with the short list searches use (`gallery.RERANK` people) and with 1 %
of the gallery re-ranked, the penetration the budget names.

    .venv/bin/python -m bench.biometrics --people 300 --probes 100
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
    slow, exhaustive_top = [], {}
    for p, probe in probes.items():
        b = g.search(probe, e.comparator, exhaustive=True)
        slow.append(b.seconds)
        exhaustive_top[p] = b.candidates[0].person if b.candidates else None
    print(f"people {args.people}, probes {len(probes)} (2 fingers each)")
    print(f"extraction per finger: median {statistics.median(extraction) * 1000:.0f} ms, "
          f"max {max(extraction) * 1000:.0f} ms")
    print(f"exhaustive search: median {statistics.median(slow) * 1000:.0f} ms; rank-1 correct "
          f"{sum(exhaustive_top[p] == p for p in probes) / len(probes) * 100:.1f} %")
    for rerank in (gallery.RERANK, max(1, args.people // 100)):
        fast, agree, correct, rescored = [], 0, 0, []
        for p, probe in probes.items():
            a = g.search(probe, e.comparator, rerank=rerank)
            fast.append(a.seconds)
            rescored.append(a.rescored)
            top = a.candidates[0].person if a.candidates else None
            agree += top == exhaustive_top[p]
            correct += top == p
        print(f"index, {rerank} re-ranked ({statistics.mean(rescored) / args.people * 100:.2f} %"
              f" of people): median {statistics.median(fast) * 1000:.0f} ms, "
              f"{statistics.median(slow) / statistics.median(fast):.1f} times faster than "
              f"exhaustive; rank-1 the same as exhaustive {agree}/{len(probes)} "
              f"({agree / len(probes) * 100:.1f} %), correct {correct / len(probes) * 100:.1f} %")
    print(f"index memory: {g.nbytes() / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
