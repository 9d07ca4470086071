"""Measure Amparo's hot paths on the bench database filled by bench/generate.py.

    .venv/bin/python bench/run.py                 # everything, about 5 minutes at 100k
    .venv/bin/python bench/run.py --only search   # one group: register, search, dashboard,
                                                  # detail, views, rotate, explain

Each operation runs a few warm-up times, then --reps times (scaled per operation) timed with
time.perf_counter; the table shows median and p95 in milliseconds, the queries one run
issues, and the peak of Python allocations in one extra run under tracemalloc. Every run
of an operation starts a fresh key scope and re-reads the user's memberships, as a request
does. Results go to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from common import Bench, fresh

common.setup_django()

from django.core.management import call_command  # noqa: E402
from django.core.paginator import Paginator  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases import access, selectors, services  # noqa: E402
from cases.crypto import blind, datakeys, keyring  # noqa: E402
from cases.models import (  # noqa: E402
    Case,
    CaseParticipant,
    DataKey,
    IdentityDocument,
    Office,
    Person,
    PersonIndex,
    Role,
    User,
)

GROUPS = ["register", "search", "dashboard", "detail", "views", "rotate", "explain"]


class Data:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.office = Office.objects.get(code=common.BIG_OFFICE)
        self.supervisor = User.objects.get(username=f"bench-sup-{common.BIG_OFFICE.lower()}-1")
        top = (Case.objects.filter(office=self.office, assigned_to__isnull=False)
               .values("assigned_to").annotate(n=Count("pk")).order_by("-n").first())
        self.caseworker = User.objects.get(pk=top["assigned_to"])
        ids = list(Person.objects.filter(office=self.office, erased_at__isnull=True)
                   .order_by("pk").values_list("pk", flat=True))
        self.rng.shuffle(ids)
        self.person_ids = ids[:400]
        self.targets = []
        with datakeys.key_scope():
            datakeys.preload(self.person_ids[:200])
            for p in Person.objects.filter(pk__in=self.person_ids[:200]).prefetch_related(
                    "documents"):
                self.targets.append({
                    "id": p.pk, "given": p.given_names, "family": p.family_names,
                    "dob": p.date_of_birth,
                    "docs": [d.number for d in p.documents.all()],
                })
        cw_ids = list(selectors.visible_people(self.caseworker).order_by("pk")
                      .values_list("pk", flat=True))
        self.rng.shuffle(cw_ids)
        self.cw_person_ids = cw_ids[:400]
        self.targets.sort(key=lambda t: str(t["id"]))
        self.rng.shuffle(self.targets)
        self.with_docs = [t for t in self.targets if t["docs"]]
        self.with_dob = [t for t in self.targets if t["dob"]]

    def counts(self) -> dict:
        return {
            "people": Person.objects.count(),
            "cases": Case.objects.count(),
            "participants": CaseParticipant.objects.count(),
            "identity_documents": IdentityDocument.objects.count(),
            "index_entries": PersonIndex.objects.count(),
            "data_keys": DataKey.objects.count(),
            "big_office": self.office.code,
            "big_office_people": Person.objects.filter(office=self.office).count(),
            "big_office_cases": Case.objects.filter(office=self.office).count(),
            "big_office_unassigned": Case.objects.filter(
                office=self.office, assigned_to__isnull=True).count(),
            "caseworker": self.caseworker.username,
            "caseworker_assigned": Case.objects.filter(assigned_to=self.caseworker).count(),
            "supervisor": self.supervisor.username,
        }


_RESPELL = [("z", "s"), ("ce", "se"), ("ci", "si"), ("v", "b"), ("ll", "y"), ("qu", "k"),
            ("s", "z"), ("b", "v"), ("y", "ll")]


def respell(name: str) -> str:
    """A spelling that sounds the same to blind.phonetic (González -> Gonsales)."""
    out = []
    for token in name.split():
        t = blind.fold(token)
        for a, b in _RESPELL:
            if a in t:
                candidate = t.replace(a, b, 1)
                if blind.phonetic(candidate) == blind.phonetic(t):
                    t = candidate
                    break
        out.append(t.capitalize())
    return " ".join(out)


# Groups ---------------------------------------------------------------------------------

def bench_register(b: Bench, d: Data) -> None:
    import generate  # the generator's name and document pools

    print("register_person / open_case (committed, then removed again)")
    rng = random.Random(7)
    names = generate.NameMaker(7, rng)
    made: list = []
    cases: list = []

    def person_data(i: int) -> services.PersonData:
        loc = names.locale()
        sex = rng.choice(["female", "male"])
        given, family = names.person(loc, sex, None)
        dtype, number, country = names.document("HN")
        dob = datetime.date(1970, 1, 1) + datetime.timedelta(days=rng.randrange(0, 18000))
        return services.PersonData(
            given_names=given, family_names=family, sex=sex, date_of_birth=dob,
            aliases=[names.alias(given, family)], nationalities=["HN"], languages=["es"],
            phone=names.phone("MX"), email=names.email(given, family),
            address=names.address(loc), specific_needs=["woman_at_risk"],
            documents=[services.IdentityDocumentData(dtype, number, country)],
        )

    cw = d.caseworker

    def register(i: int) -> None:
        data = person_data(i)
        with datakeys.key_scope():
            made.append(services.register_person(by=fresh(cw), office=d.office, data=data))

    b.measure("register", "register_person (caseworker)", register, reps=2,
              note="new data key, 7 sealed fields, 1 document, ~10 index rows, history rows")

    it = iter(list(made))

    def open_case(i: int) -> None:
        person = next(it)
        with datakeys.key_scope():
            cases.append(services.open_case(by=fresh(cw), person=person, kind="asylum"))

    b.measure("register", "open_case (caseworker)", open_case, reps=1,
              note="locks the office's reference counter")

    # Remove what was registered so that re-runs measure the same database.
    pids = [p.pk for p in made]
    case_ids = [c.pk for c in cases]
    CaseParticipant.objects.filter(case_id__in=case_ids).delete()
    Case.objects.filter(pk__in=case_ids).delete()
    Person.objects.filter(pk__in=pids).delete()
    for model in (Case, CaseParticipant):
        model.history.filter(id__in=case_ids).delete() if model is Case else \
            model.history.filter(case_id__in=case_ids).delete()
    Person.history.filter(id__in=pids).delete()
    IdentityDocument.history.filter(person_id__in=pids).delete()
    DataKey.objects.filter(subject_id__in=pids).delete()


def _scan_baseline(user, label: str, sample: int = 2000) -> dict:
    """The cost of searching without blind indexes: decrypt every person the user may see
    and compare names in Python. Timed on a sample of `sample` visible people (newest first)
    and extrapolated to all of them; the query that lists them is timed in full."""
    t0 = time.perf_counter()
    ids = list(selectors.visible_people(fresh(user)).filter(erased_at__isnull=True)
               .values_list("pk", flat=True))
    t_scope = time.perf_counter() - t0
    wanted = blind.name_tokens("García")
    t0 = time.perf_counter()
    with datakeys.key_scope():
        people = list(Person.objects.filter(pk__in=ids[:sample]))
        datakeys.preload([p.pk for p in people])
        hits = sum(1 for p in people if wanted <= blind.name_tokens(
            p.given_names or "", p.family_names or "", *(p.aliases or [])))
    t_sample = time.perf_counter() - t0
    per_person = t_sample / max(1, len(people))
    total_ms = (t_scope + per_person * len(ids)) * 1000
    print(f"  {label}: decrypt-and-scan of {len(ids):,} visible people ~ {total_ms:,.0f} ms "
          f"(listing {t_scope * 1000:.0f} ms + {per_person * 1e6:.0f} us per person, timed on "
          f"{len(people):,}; {hits} García in the sample)")
    return {"group": "search", "name": f"{label}: decrypt-and-scan baseline (extrapolated)",
            "reps": 1, "median_ms": round(total_ms, 1), "p95_ms": None,
            "visible_people": len(ids), "sample": len(people),
            "us_per_person": round(per_person * 1e6, 1), "listing_ms": round(t_scope * 1000, 1),
            "note": f"timed on {len(people):,} people, extrapolated to {len(ids):,}"}


def bench_search(b: Bench, d: Data) -> None:
    print("search_people (budget: p95 <= 20 ms full name, document, date of birth; "
          "<= 40 ms commonest surname alone)")
    t = d.targets
    with datakeys.key_scope():
        datakeys.preload(d.cw_person_ids[:100])
        cw_names = [f"{p.given_names} {p.family_names}"
                    for p in Person.objects.filter(pk__in=d.cw_person_ids[:100])]
    searches = [
        ("full name", lambda i, t=t: {"name": f"{t[i % len(t)]['given']} "
                                              f"{t[i % len(t)]['family']}"}),
        ("family names only", lambda i: {"name": t[i % len(t)]["family"]}),
        ("'María García' (common)", lambda i: {"name": "María García"}),
        ("'García' alone", lambda i: {"name": "García"}),
        ("'Hernández' alone (commonest surname)", lambda i: {"name": "Hernández"}),
        ("'Hernández' + year of birth", lambda i: {"name": "Hernández",
                                                   "birth_year": 1960 + i % 45}),
        ("'Hernández' + sex", lambda i: {"name": "Hernández", "sex": ("female", "male")[i % 2]}),
        ("sounds-like, respelled full name",
         lambda i: {"name": respell(f"{t[i % len(t)]['given']} {t[i % len(t)]['family']}"),
                    "sounds_like": True}),
        ("sounds-like, 'Maria Garsia' (common)",
         lambda i: {"name": "Maria Garsia", "sounds_like": True}),
        ("document number",
         lambda i: {"document": d.with_docs[i % len(d.with_docs)]["docs"][0]}),
        ("date of birth", lambda i: {"date_of_birth": d.with_dob[i % len(d.with_dob)]["dob"]}),
        ("date of birth + family names",
         lambda i: {"date_of_birth": d.with_dob[i % len(d.with_dob)]["dob"],
                    "name": d.with_dob[i % len(d.with_dob)]["family"]}),
    ]
    medians: dict[str, dict[str, float]] = {}
    for role, user in (("caseworker", d.caseworker), ("supervisor", d.supervisor)):
        for label, make in searches:
            def run(i: int, make=make, user=user) -> dict:
                with datakeys.key_scope():
                    r = selectors.search_people(fresh(user), **make(i))
                return {"candidates": r.candidates, "found": len(r.people),
                        "truncated": r.truncated}

            row = b.measure("search", f"{role}: {label}", run, reps=1)
            medians.setdefault(role, {})[label] = row["median_ms"]
        # The people the caseworker sees (most of the random MX-CDMX people are not theirs).
        if role == "caseworker":
            def own(i: int, user=user) -> dict:
                with datakeys.key_scope():
                    r = selectors.search_people(fresh(user), name=cw_names[i % len(cw_names)])
                return {"candidates": r.candidates, "found": len(r.people),
                        "truncated": r.truncated}

            row = b.measure("search", f"{role}: full name of someone they see", own, reps=1)
    for role, user in (("caseworker", d.caseworker), ("supervisor", d.supervisor)):
        base = _scan_baseline(user, role)
        for label in ("full name", "document number", "date of birth",
                      "'Hernández' alone (commonest surname)"):
            base[f"x_faster_{label}"] = round(base["median_ms"] / medians[role][label])
        print("    " + ", ".join(f"{k[9:]}: {v:,}x" for k, v in base.items()
                                 if k.startswith("x_faster_")))
        b.results.append(base)


def _names(cases) -> None:
    for c in cases:
        str(c.principal)


def bench_dashboard(b: Bench, d: Data) -> None:
    print("dashboard and case list (the queries and decryption the views do)")
    for role, user in (("caseworker", d.caseworker), ("supervisor", d.supervisor)):
        def my_cases(i: int, user=user) -> None:
            with datakeys.key_scope():
                _names(list(selectors.my_cases(fresh(user))[:15]))

        def queue_count(i: int, user=user) -> dict:
            return {"count": selectors.unassigned_queue(fresh(user)).count()}

        def queue_list(i: int, user=user) -> None:
            with datakeys.key_scope():
                _names(list(selectors.unassigned_queue(fresh(user))[:15]))

        b.measure("dashboard", f"{role}: my cases, first 15 + names", my_cases, reps=2,
                  note="principal names decrypted as the dashboard template does")
        b.measure("dashboard", f"{role}: unassigned queue count", queue_count, reps=2)
        b.measure("dashboard", f"{role}: unassigned queue, first 15 + names", queue_list,
                  reps=2)

    sup = d.supervisor

    def workload(i: int) -> None:
        held = access.roles_by_office(fresh(sup))
        list(selectors.visible_cases(sup).filter(office__in=held[Role.SUPERVISOR])
             .values("assigned_to__username", "assigned_to__first_name",
                     "assigned_to__last_name").annotate(n=Count("pk")).order_by("-n"))

    b.measure("dashboard", "supervisor: workload per assignee", workload, reps=1)

    for role, user, show in (("supervisor", sup, "all"), ("caseworker", d.caseworker, "mine"),
                             ("caseworker", d.caseworker, "queue")):
        def case_list(i: int, user=user, show=show) -> dict:
            with datakeys.key_scope():
                u = fresh(user)
                qs = {"all": selectors.visible_cases, "mine": selectors.my_cases,
                      "queue": selectors.unassigned_queue}[show](u)
                page = Paginator(qs.order_by("-opened_at"), 50).get_page(1)
                datakeys.preload([c.principal_id for c in page])
                _names(page)
                return {"total": page.paginator.count}

        b.measure("dashboard", f"{role}: case list ?show={show}, page 1 of 50", case_list,
                  reps=1, note="count + page + key preload + names")


def bench_detail(b: Bench, d: Data) -> None:
    print("person detail read")
    ids = d.person_ids
    for role, user, ids in (("caseworker", d.caseworker, d.cw_person_ids),
                            ("supervisor", d.supervisor, d.person_ids)):
        def detail(i: int, user=user, ids=ids) -> dict:
            with datakeys.key_scope():
                u = fresh(user)
                p = selectors.get_person(u, ids[i % len(ids)])
                fields = [p.given_names, p.family_names, p.aliases, p.date_of_birth, p.phone,
                          p.email, p.address, str(p)]
                numbers = [doc.number for doc in p.documents.all()]
                cases = list(selectors.visible_cases(u).filter(participants__person=p))
                selectors.can_edit_person(u, p)
                return {"sealed_values": len(fields) - 1 + len(numbers), "cases": len(cases)}

        b.measure("detail", f"{role}: person detail (fields + documents + cases)", detail,
                  reps=2, note="get_person, 7 fields + document numbers, cases, can_edit")

    def decrypt_only(i: int) -> None:
        with datakeys.key_scope():
            p = Person.objects.get(pk=d.person_ids[i % len(d.person_ids)])
            values = [p.given_names, p.family_names, p.aliases, p.date_of_birth, p.phone,
                      p.email, p.address]
            values += [doc.number for doc in p.documents.all()]

    b.measure("detail", "person fetch + unwrap + decrypt only (no scoping)", decrypt_only,
              reps=2)


def bench_views(b: Bench, d: Data) -> None:
    print("whole views through the test client (middleware, templates, DEBUG off)")
    t = d.targets
    for role, user, ids in (("caseworker", d.caseworker, d.cw_person_ids),
                            ("supervisor", d.supervisor, d.person_ids)):
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        pages = [
            ("GET dashboard", lambda i: ("/", None)),
            ("GET case list ?show=all", lambda i: ("/cases/?show=all", None)),
            ("POST people search, full name",  # the search form posts
             lambda i: ("/people/", {"name": f"{t[i % len(t)]['given']} "
                                              f"{t[i % len(t)]['family']}"})),
            ("GET people search page (newest 20 people)", lambda i: ("/people/", None)),
            ("GET person detail", lambda i, ids=ids: (f"/people/{ids[i % len(ids)]}/", None)),
        ]
        for label, request in pages:
            def fetch(i: int, client=client, request=request) -> dict:
                url, form = request(i)
                r = client.get(url) if form is None else client.post(url, form)
                return {"status_200": r.status_code == 200}

            b.measure("views", f"{role}: {label}", fetch, reps=1)


def _rotate(batch_size: int, max_batches: int | None = None) -> tuple[int, list[float]]:
    done, times, after = 0, [], None
    while max_batches is None or len(times) < max_batches:
        t0 = time.perf_counter()
        batch = datakeys.rotate_batch(batch_size=batch_size, after=after)
        if batch.last is None:
            break
        times.append(time.perf_counter() - t0)
        done += batch.rewrapped
        after = batch.last
    return done, times


def bench_rotate(b: Bench, d: Data, batch_size: int) -> None:
    """Re-wrap every data key of a copy of the bench database under a new KEK.

    First 10,000 keys each with batches of 100 and of 2,000 (to show how the batch size
    matters), then the rest with --rotate-batch, the command's default of 500.
    """
    print("rotate_kek on a copy of the database")
    source = connection.settings_dict["NAME"]
    copy = f"{source}_rotate"
    connections.close_all()
    t0 = time.perf_counter()
    with common.pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
    t_copy = time.perf_counter() - t0
    call_command("init_keys", new_kek=True)  # new active KEK in the bench key file
    keyring.reset()
    prov = keyring.provider()
    new_kek = prov.active_kek_id
    connection.settings_dict["NAME"] = copy
    try:
        todo = DataKey.objects.filter(destroyed_at__isnull=True).exclude(kek_id=new_kek).count()
        # The cryptography alone: unwrap with the old KEK, wrap with the new one.
        sample = list(DataKey.objects.order_by("pk")[:2000])
        t0 = time.perf_counter()
        for dk in sample:
            prov.wrap(kek_id=new_kek, dek=datakeys.unwrap(dk),
                      aad=datakeys.wrap_aad(dk.id, dk.subject_id))
        crypto_per_key = (time.perf_counter() - t0) / len(sample)
        runs = []
        for size in (100, 2000):
            n_batches = max(1, min(10_000, todo // 4) // size)
            t0 = time.perf_counter()
            done, times = _rotate(size, n_batches)
            runs.append((size, done, time.perf_counter() - t0, times))
        t0 = time.perf_counter()
        done, times = _rotate(batch_size)
        runs.append((batch_size, done, time.perf_counter() - t0, times))
        left = DataKey.objects.exclude(kek_id=new_kek).filter(destroyed_at__isnull=True).count()
        with datakeys.key_scope():  # the re-wrapped keys still open the data
            readable = all(bool(p.given_names) for p in Person.objects.order_by("?")[:20])
    finally:
        connections.close_all()
        connection.settings_dict["NAME"] = source
        with common.pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{copy}"')
    total_done = sum(r[1] for r in runs)
    total_s = sum(r[2] for r in runs)
    print(f"  copy made in {t_copy:.1f} s; new KEK {new_kek}; {todo:,} data keys to re-wrap; "
          f"unwrap+wrap alone {crypto_per_key * 1e6:.0f} us/key")
    for size, done, secs, times in runs:
        s_times = sorted(times)
        row = {
            "group": "rotate", "name": f"rotate_batch(batch_size={size})",
            "reps": len(times), "keys_rewrapped": done, "seconds": round(secs, 2),
            "keys_per_second": round(done / secs) if secs else 0,
            "median_ms": round(statistics.median(s_times) * 1000, 3) if times else None,
            "p95_ms": round(common.pct(s_times, 0.95) * 1000, 3) if times else None,
            "note": "median/p95 per batch",
        }
        if len(times) >= 20:  # does a batch get slower as the run goes on?
            row["first_10_batches_median_ms"] = round(statistics.median(times[:10]) * 1000, 1)
            row["last_10_batches_median_ms"] = round(statistics.median(times[-10:]) * 1000, 1)
        b.results.append(row)
        if not times:  # a small database: the earlier batch sizes re-wrapped every key
            print(f"  batch {size:>5}: no data key left to re-wrap")
            continue
        print(f"  batch {size:>5}: {done:>7,} keys in {secs:6.1f} s = "
              f"{row['keys_per_second']:>6,} keys/s; per batch median {row['median_ms']:.0f} ms,"
              f" p95 {row['p95_ms']:.0f} ms" + (
                  f"; first 10 batches {row['first_10_batches_median_ms']:.0f} ms, last 10 "
                  f"{row['last_10_batches_median_ms']:.0f} ms"
                  if "last_10_batches_median_ms" in row else ""))
    summary = {
        "group": "rotate", "name": "rotate_kek, whole table", "reps": 1,
        "keys_to_rewrap": todo, "keys_rewrapped": total_done, "keys_left": left,
        "seconds": round(total_s, 2),
        "keys_per_second": round(total_done / total_s) if total_s else 0,
        "median_ms": None, "p95_ms": None,
        "crypto_only_us_per_key": round(crypto_per_key * 1e6, 1),
        "copy_seconds": round(t_copy, 2), "new_kek": new_kek, "data_readable_after": readable,
        "note": "all batch sizes together",
    }
    b.results.append(summary)
    print(f"  total {total_done:,} keys in {total_s:.1f} s = {summary['keys_per_second']:,} "
          f"keys/s; left {left}; data readable after: {readable}")


def bench_explain(d: Data) -> list[dict]:
    print("EXPLAIN (ANALYZE, BUFFERS)")
    cw, sup = d.caseworker, d.supervisor
    out = []
    with datakeys.key_scope():
        for role, user in (("caseworker", cw), ("supervisor", sup)):
            out.append(common.explain(f"{role}: visible_cases, newest 50", lambda u=user: list(
                selectors.visible_cases(fresh(u)).order_by("-opened_at")[:50])))
            out.append(common.explain(f"{role}: visible_cases count", lambda u=user: selectors
                                .visible_cases(fresh(u)).count()))
            out.append(common.explain(f"{role}: my cases, first 15", lambda u=user: list(
                selectors.my_cases(fresh(u))[:15])))
            out.append(common.explain(f"{role}: unassigned queue count", lambda u=user: selectors
                                .unassigned_queue(fresh(u)).count()))
            out.append(common.explain(f"{role}: search_people 'Hernández' walk",
                                lambda u=user: selectors.search_people(fresh(u), name="Hernández"),
                                "cases_personindex"))
            out.append(common.explain(f"{role}: search_people 'María García' walk",
                                lambda u=user: selectors.search_people(fresh(u),
                                                                       name="María García"),
                                "cases_personindex"))
            out.append(common.explain(f"{role}: search_people by document walk",
                                lambda u=user: selectors.search_people(
                                    fresh(u), document=d.with_docs[0]["docs"][0]),
                                "cases_personindex"))
    for e in out:
        print(f"  {e['label']:<48} {e['execution_ms']:9.2f} ms  " + "; ".join(e["scans"]))
    return out


# Main -----------------------------------------------------------------------------------

def environment(d: Data) -> dict:
    return {**common.environment("cases"), "data": d.counts()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=40, help="base repetitions per operation")
    ap.add_argument("--only", action="append", choices=GROUPS,
                    help="run only these groups (repeatable)")
    ap.add_argument("--rotate-batch", type=int, default=500)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--baseline", action="store_true",
                    help="also write bench/results/baseline-<date>.json")
    args = ap.parse_args()
    groups = args.only or GROUPS

    common.require_data()
    started = time.perf_counter()
    d = Data(args.seed)
    env = environment(d)
    dc = env["data"]
    print(f"{dc['people']:,} people, {dc['cases']:,} cases; big office {dc['big_office']}: "
          f"{dc['big_office_people']:,} people, {dc['big_office_cases']:,} cases, "
          f"{dc['big_office_unassigned']:,} unassigned; caseworker {dc['caseworker']} has "
          f"{dc['caseworker_assigned']:,} cases")
    b = Bench(args.reps)
    explain = []
    if "register" in groups:
        bench_register(b, d)
    if "search" in groups:
        bench_search(b, d)
    if "dashboard" in groups:
        bench_dashboard(b, d)
    if "detail" in groups:
        bench_detail(b, d)
    if "views" in groups:
        logging.getLogger("django.request").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message="No directory at")
        bench_views(b, d)
    if "rotate" in groups:
        bench_rotate(b, d, args.rotate_batch)
    if "explain" in groups:
        explain = bench_explain(d)
    peak_rss_mib = common.peak_rss_mib()
    common.end_of_run(env)
    elapsed = time.perf_counter() - started

    common.print_table(b.results)
    print(f"\nPeak RSS of this process: {peak_rss_mib:,.0f} MiB; run took {elapsed:.0f} s; "
          f"load average (1/5/15 min) at start {env['load_average_at_start']}, at end "
          f"{env['load_average_at_end']} on {env['cpus']} CPUs.")
    if explain:
        print("\nQuery plans")
        for e in explain:
            print(f"\n== {e['label']}\n{e['plan']}")

    generation = None
    gen_file = common.RESULTS_DIR / "generate.json"
    if gen_file.exists():
        generation = json.loads(gen_file.read_text())
        if generation.get("database") != connection.settings_dict["NAME"]:
            generation = None  # written by a run against another database
    out = {
        "measured_at": timezone.now().isoformat(),
        "environment": env,
        "generation": generation,
        "repetitions_base": args.reps,
        "results": b.results,
        "explain": explain,
        "peak_rss_mib": peak_rss_mib,
        "run_seconds": round(elapsed, 1),
    }
    print()
    common.write_results("", out, baseline=args.baseline)


if __name__ == "__main__":
    main()
