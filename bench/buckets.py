"""Search speed and candidates before and after the planned index buckets.

Times `search_people` (full name, family names, a common surname, sounds-like, document,
date of birth) for a supervisor with the index as it is, then adds an index key generation,
re-indexes everyone with `reindex_people` under the bits planned for `--planned` people and
times the same searches again (docs/architecture.md#blind-index-buckets). Bucket sizes of the
dump are counted as the issue did: distinct values per bucket, from decrypted people.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import time
from collections import defaultdict

import common


def sample(n: int, offices: list[int]) -> list[dict]:
    """People of the offices searched (a search finds no one elsewhere)."""
    from cases.crypto import blind, datakeys
    from cases.models import Person

    ids = list(Person.objects.filter(erased_at__isnull=True, office__in=offices).order_by("?")
               .values_list("pk", flat=True)[:n])
    out = []
    with datakeys.key_scope():
        datakeys.preload(ids)
        for p in Person.objects.filter(pk__in=ids).prefetch_related("documents"):
            docs = [blind.normalize_document(d.number or "") for d in p.documents.all()]
            out.append({"given": p.given_names, "family": p.family_names, "dob": p.date_of_birth,
                        "doc": next((d for d in docs if d), "")})
    return out


def bucket_sizes(people: list[dict]) -> dict[str, dict[str, float]]:
    """Distinct values per occupied bucket in the active generation, for the sampled people."""
    from cases.crypto import blind

    buckets: dict[str, dict[int, set[str]]] = {k: defaultdict(set) for k in ("name", "dob")}
    for p in people:
        for t in blind.name_tokens(p["given"], p["family"]):
            buckets["name"][blind.bidx("name", t)].add(t)
        if p["dob"]:
            buckets["dob"][blind.bidx("dob", p["dob"].isoformat())].add(p["dob"].isoformat())
    return {k: {"buckets": len(v), "median_values": statistics.median(len(s) for s in v.values()),
                "single_value_share": round(sum(len(s) == 1 for s in v.values()) / len(v), 3)}
            for k, v in buckets.items()}


def measure(b: common.Bench, phase: str, user, people: list[dict]) -> None:
    from cases import selectors
    from cases.crypto import datakeys

    with_doc = [p for p in people if p["doc"]]
    with_dob = [p for p in people if p["dob"]]
    searches = [
        ("full name", lambda i: {"name": f"{people[i % len(people)]['given']} "
                                         f"{people[i % len(people)]['family']}"}),
        ("family names", lambda i: {"name": people[i % len(people)]["family"]}),
        ("'García' alone", lambda i: {"name": "García"}),
        ("sounds-like full name", lambda i: {"name": f"{people[i % len(people)]['given']} "
                                                     f"{people[i % len(people)]['family']}",
                                             "sounds_like": True}),
        ("document number", lambda i: {"document": with_doc[i % len(with_doc)]["doc"]}),
        ("date of birth", lambda i: {"date_of_birth": with_dob[i % len(with_dob)]["dob"]}),
    ]
    for label, make in searches:
        def run(i: int, make=make) -> dict:
            with datakeys.key_scope():
                r = selectors.search_people(common.fresh(user), **make(i))
            return {"candidates": r.candidates, "found": len(r.people), "truncated": r.truncated}

        b.measure("buckets", f"{phase}: {label}", run)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--planned", type=int, default=0,
                    help="AMPARO_PLANNED_PEOPLE for the new generation (default: the people held)")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--sample", type=int, default=2000)
    ap.add_argument("--baseline", default="", metavar="TAG",
                    help="also write results/baseline-buckets-<date>-<TAG>.json")
    args = ap.parse_args()
    common.setup_django()
    common.require_data()
    from django.conf import settings
    from django.core.management import call_command

    from cases.crypto import blind, keyring
    from cases.models import Membership, Person, Role

    env = common.environment("cases")
    random.seed(1)
    membership = Membership.objects.filter(role=Role.SUPERVISOR).order_by("pk").first()
    user = membership.user
    people = sample(args.sample, [membership.office_id])
    b = common.Bench(args.reps)
    generation = keyring.provider().active_index
    before_bits = {k: blind.bits(k, generation) for k in blind.KINDS}
    print(f"Before: generation {generation}, bits {before_bits}")
    before_sizes = bucket_sizes(people)
    print(f"  buckets of a {len(people)}-person sample: {before_sizes}")
    measure(b, "before", user, people)

    settings.AMPARO_PLANNED_PEOPLE = args.planned or Person.objects.count()
    call_command("init_keys", "--new-index-key", stdout=io.StringIO())
    keyring.reset()
    t0 = time.perf_counter()
    call_command("reindex_people", "--batch-size", "500", stdout=io.StringIO())
    reindex_s = time.perf_counter() - t0
    call_command("init_keys", "--retire-index-keys", stdout=io.StringIO())  # one walk again
    generation = keyring.provider(fresh=True).active_index
    after_bits = {k: blind.bits(k, generation) for k in blind.KINDS}
    print(f"After: generation {generation}, bits {after_bits} "
          f"(planned {settings.AMPARO_PLANNED_PEOPLE:,} people); reindex_people {reindex_s:.1f} s")
    after_sizes = bucket_sizes(people)
    print(f"  buckets of a {len(people)}-person sample: {after_sizes}")
    measure(b, "after", user, people)
    common.print_table(b.results)
    common.write_results("buckets", {
        "environment": env, "people": Person.objects.count(),
        "planned_people": settings.AMPARO_PLANNED_PEOPLE,
        "before": {"bits": before_bits, "sample_buckets": before_sizes},
        "after": {"bits": after_bits, "sample_buckets": after_sizes,
                  "reindex_seconds": round(reindex_s, 1)},
        "results": b.results}, baseline=bool(args.baseline), tag=args.baseline)


if __name__ == "__main__":
    main()
