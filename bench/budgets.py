"""Measure the budgets of "pages as fast as the database allows" on the bench database and
print them as one table: budget | target | measured | ratio | pass.

    .venv/bin/python bench/budgets.py                    # everything, ~5 min at 100k
    .venv/bin/python bench/budgets.py --only http --only memory
    groups: http, memory, list, search, case_page, step, generation

http: gunicorn with 2 sync workers (production settings), wrk on loopback, /health/ and the
pages in the same run (throughput.measure); memory: in that gunicorn, wrk over the pages
until the workers served --memory-requests each, then their RSS; list: selectors.case_list
as the view reads it, against the same scope through guardian's get_objects_for_user (every
case of the scope granted by object permissions, written in a transaction that is rolled
back); search: selectors.search_people, against decrypting every person in scope;
case_page: the case page through the test client, a case with ~12 steps, and the query
counts of cases with few and many steps; step: a procedure step (schedule_interview) as a
request makes it, against a bare SELECT ... FOR UPDATE + UPDATE of the same case row;
generation: the figures bench/generate.py wrote for this database.

ratio is measured / target: at most 1 passes a "<=" budget, at least 1 a ">=" one.
Results go to bench/results/latest-budgets.json and latest-budgets-<database>.json
(--baseline: also baseline-budgets-<date>[-<tag>].json).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import throughput  # sets the secret key gunicorn and the session share, then Django
from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models import F
from django.test import Client
from django.utils import timezone

from audit import chain
from cases import fragments, selectors
from cases import services as case_services
from cases.crypto import blind, datakeys
from cases.models import Case, CaseKind, Office, Person, User

GROUPS = ["http", "memory", "list", "search", "case_page", "step", "generation"]
HTTP_PAGES = ["case", "case_list", "dashboard", "step_form"]


class Budgets:
    """The rows of the table."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, budget: str, target: float, measured: float | None, *, unit: str = "",
            at_most: bool = True, note: str = "") -> None:
        if measured is None:
            ok, ratio = None, None
        else:
            ratio = measured / target if target else None
            ok = measured <= target if at_most else measured >= target
        row = {"budget": budget, "target": f"{'≤' if at_most else '≥'} {target:g}{unit}",
               "target_value": target, "at_most": at_most, "unit": unit,
               "measured": None if measured is None else round(measured, 3),
               "ratio": None if ratio is None else round(ratio, 3), "pass": ok, "note": note}
        self.rows.append(row)
        print(f"  {budget:<58} {row['target']:>12}  {_fmt(measured, unit):>12}  "
              f"{'-' if ratio is None else f'{ratio:.2f}':>6}  "
              f"{'-' if ok is None else ('yes' if ok else 'NO')}  {note}", flush=True)

    def table(self) -> str:
        head = "| budget | target | measured | ratio | pass |\n|---|---|---|---|---|\n"
        return head + "\n".join(
            f"| {r['budget']} | {r['target']} | {_fmt(r['measured'], r['unit'])} | "
            f"{_ratio(r['ratio'])} | "
            f"{'-' if r['pass'] is None else ('yes' if r['pass'] else '**no**')} |"
            for r in self.rows)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x" or abs(value) >= 100:
        return f"{value:,.0f}{unit}"
    return f"{value:.2f}{unit}" if unit != " %" else f"{value:.1f}{unit}"


def p95_ms(fn, n: int, warmup: int = 3) -> tuple[float, float]:
    """p95 and median in ms of n calls of fn(i) after warm-up calls."""
    for i in range(warmup):
        fn(i)
    times = []
    for i in range(warmup, warmup + n):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    s = sorted(times)
    return common.pct(s, 0.95) * 1000, statistics.median(s) * 1000


def queries_of(fn) -> int:
    counter = common.QueryCounter()
    with connection.execute_wrapper(counter):
        fn()
    return counter.n


# People and users ------------------------------------------------------------------------

class Who:
    def __init__(self) -> None:
        self.office = Office.objects.get(code=common.BIG_OFFICE)
        self.supervisor = User.objects.get(username=f"bench-sup-{common.BIG_OFFICE.lower()}-1")
        small = common.OFFICES[-1][0]  # the smallest office
        self.small_supervisor = User.objects.get(username=f"bench-sup-{small.lower()}-1")
        self.caseworker = throughput.caseworker()


# HTTP and memory ------------------------------------------------------------------------

WRK_ROTATE = """
paths = {%s}
i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def _rss_mib(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out[pid] = round(int(line.split()[1]) / 1024, 1)
    return out


def worker_rss_after(proc, port: int, urls: dict[str, str], cookie: str, per_worker: int,
                     max_seconds: int, served: int = 0) -> dict:
    """wrk over the pages (not /health/) in turn, in 20-second runs, until the workers
    served per_worker requests each or max_seconds passed; the RSS of every worker after
    each run. Stopped by the time, the RSS at per_worker requests is extrapolated on the
    line through the first and the last reading (growth per request; a worker that levels
    off is overestimated). served: page requests the workers already had."""
    pages = [p for k, p in urls.items() if k != "health"]
    workers = [int(p) for p in
               Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_ROTATE % ", ".join(f'"{p}"' for p in pages))
        script = f.name
    readings = [(served // len(workers), max(_rss_mib(workers).values()))]
    t0 = time.perf_counter()
    try:
        while (served < per_worker * len(workers)
               and (left := max_seconds - (time.perf_counter() - t0)) > 2):
            out = subprocess.run(  # noqa: S603
                ["/usr/bin/wrk", "-t2", f"-c{2 * len(workers)}", f"-d{min(20, int(left))}s",
                 "-s", script, "-H", "X-Forwarded-Proto: https", "-H", f"Cookie: {cookie}",
                 f"http://127.0.0.1:{port}/"],
                capture_output=True, text=True, check=True, timeout=60).stdout
            served += int(out.split(" requests in")[0].split()[-1])
            readings.append((served // len(workers), max(_rss_mib(workers).values())))
    finally:
        os.unlink(script)
    rss = _rss_mib(workers)
    (n0, r0), (n1, r1) = readings[0], readings[-1]
    at_target = max(rss.values())
    extrapolated = n1 < per_worker
    if extrapolated and n1 > n0:
        at_target = r1 + max(0.0, (r1 - r0) / (n1 - n0)) * (per_worker - n1)
    return {"requests_per_worker": n1, "workers": len(workers),
            "seconds": round(time.perf_counter() - t0), "rss_mib": rss,
            "readings": readings, "max_rss_mib": max(rss.values()),
            "rss_at_target_mib": round(at_target, 1), "extrapolated": extrapolated,
            "target_requests": per_worker}


def bench_http(t: Budgets, who: Who, args, groups: list[str]) -> dict:
    print("http: gunicorn, 2 workers, wrk on loopback", flush=True)
    urls = throughput.pages(who.caseworker, HTTP_PAGES)
    cookie = throughput.session_cookie(who.caseworker)
    throughput.collectstatic()
    mem: dict = {}

    only = urls if "http" in groups else {"health": urls["health"]}
    rows: list[dict] = []

    def after(proc, port):
        if "memory" in groups:
            print(f"  memory: wrk over the pages until {args.memory_requests:,} requests per "
                  f"worker or {args.memory_seconds} s ...", flush=True)
            done = sum(r["requests"] for r in rows if r["url"] != "health")
            mem.update(worker_rss_after(proc, port, urls, cookie, args.memory_requests,
                                        args.memory_seconds, served=done))

    runs, link = throughput.measure(args.linker, 2, only, cookie, args.seconds, after=after,
                                    rows=rows)
    for r in runs[1:]:
        t.add(f"HTTP {r['url']} req/s ÷ /health/ req/s", 0.40, r["ratio"], at_most=False,
              note=f"{r['rps']:.0f} vs {runs[0]['rps']:.0f} req/s, p99 {r['p99_ms']} ms, "
                   f"load {r['load']}")
    for page in HTTP_PAGES:
        if "http" in groups and page not in urls:
            t.add(f"HTTP {page} req/s ÷ /health/ req/s", 0.40, None, at_most=False,
                  note="no such page on this database (no case in a procedure)")
    if mem:
        how = (f"extrapolated from {mem['requests_per_worker']:,} requests per worker "
               f"({mem['max_rss_mib']} MiB then; readings {mem['readings']})"
               if mem["extrapolated"] else
               f"after {mem['requests_per_worker']:,} requests per worker")
        t.add(f"worker RSS after {mem['target_requests']:,} requests (max of "
              f"{mem['workers']} workers)", 250, mem["rss_at_target_mib"], unit=" MiB",
              note=how)
    return {"urls": urls, "runs": runs, "linking": link, "memory": mem}


# Case list ------------------------------------------------------------------------------

def _list_page(user: User, show: str = "all") -> None:
    """What the case list view reads: the page, the principals' keys, their names."""
    with datakeys.key_scope():
        page = selectors.case_list(common.fresh(user), show=show)
        datakeys.preload([c.principal_id for c in page.cases])
        for c in page.cases:
            str(c.principal)


def guardian_scope_sql(user: User) -> str:
    """INSERT of the object permissions that would give `user` their scope through guardian:
    every case of the offices they supervise; the own and unassigned cases of the offices
    they work in."""
    from cases import access
    from cases.models import Role

    sup = sorted(access.offices_where(user, Role.SUPERVISOR))
    worked = sorted(access.offices_where(user, Role.CASEWORKER) - set(sup))
    where = []
    if sup:
        where.append(f"office_id IN ({','.join(map(str, sup))})")
    if worked:
        where.append(f"(office_id IN ({','.join(map(str, worked))}) AND "
                     f"(assigned_to_id = {user.pk} OR assigned_to_id IS NULL))")
    return f"""
        INSERT INTO cases_caseuserobjectpermission (permission_id, user_id, content_object_id)
        SELECT p.id, {user.pk}, c.id FROM cases_case c, auth_permission p
         JOIN django_content_type t ON t.id = p.content_type_id
        WHERE t.app_label = 'cases' AND t.model = 'case' AND p.codename = 'view_case'
          AND ({' OR '.join(where)})
        ON CONFLICT DO NOTHING"""  # noqa: S608 (pks, no input)


def guardian_page(user: User) -> None:
    """The newest 50 cases of get_objects_for_user, keys and names as the list reads them."""
    from guardian.shortcuts import get_objects_for_user

    with datakeys.key_scope():
        qs = get_objects_for_user(common.fresh(user), "cases.view_case", klass=Case,
                                  accept_global_perms=False, with_superuser=False)
        page = list(qs.select_related("office", "assigned_to").prefetch_related("principal")
                    .order_by("-opened_at", "-pk")[:selectors.LIST_PAGE])
        datakeys.preload([c.principal_id for c in page])
        for c in page:
            str(c.principal)


def bench_list(t: Budgets, who: Who, reps: int) -> dict:
    print("list: selectors.case_list (page 1, keys, names)", flush=True)
    out = {}
    for label, user in (("supervisor", who.supervisor), ("small supervisor", who.small_supervisor),
                        ("caseworker", who.caseworker)):
        out[label] = p95_ms(lambda i, u=user: _list_page(u), reps)
        out[label + " scope"] = selectors.visible_cases(user).count()
    sup, small = out["supervisor"][0], out["small supervisor"][0]
    t.add("case list p95, supervisor of the largest office", 30, sup, unit=" ms",
          note=f"median {out['supervisor'][1]:.1f} ms, {out['supervisor scope']:,} cases in scope")
    t.add("case list p95: largest ÷ smallest office (constant in scope)", 1.5, sup / small,
          note=f"{sup:.1f} ms ({out['supervisor scope']:,} cases) vs {small:.1f} ms "
               f"({out['small supervisor scope']:,} cases)")
    # Guardian as the scoping: the same scopes as object permissions (rolled back).
    for label, user in (("supervisor", who.supervisor), ("caseworker", who.caseworker)):
        with transaction.atomic():
            t0 = time.perf_counter()
            with connection.cursor() as cur:
                cur.execute(guardian_scope_sql(user))
                granted = cur.rowcount
                cur.execute("ANALYZE cases_caseuserobjectpermission")
            setup = time.perf_counter() - t0
            g = p95_ms(lambda i, u=user: guardian_page(u), max(5, reps // 4))
            transaction.set_rollback(True)
        out[f"guardian {label}"] = g
        mine = out[label][0]
        if label == "supervisor":
            t.add("case list: guardian p95 ÷ ours, supervisor", 20, g[0] / mine, unit="x",
                  at_most=False, note=f"guardian {g[0]:.1f} ms over {granted:,} object "
                  f"permissions (written in {setup:.1f} s, rolled back) vs {mine:.1f} ms")
        else:
            t.add("case list: guardian p95 ÷ ours, caseworker", 1, g[0] / mine, unit="x",
                  at_most=False, note=f"guardian {g[0]:.1f} ms over {granted:,} object "
                  f"permissions vs {mine:.1f} ms (own + office queue)")
    return out


# Search ---------------------------------------------------------------------------------

def _commonest_surname() -> str:
    import generate

    return max(generate.COMMON_SURNAMES, key=generate.COMMON_SURNAMES.get)


def search_targets(office: Office, n: int = 200, seed: int = 11) -> list[dict]:
    """n random people of the office: names, date of birth, document numbers."""
    rng = random.Random(seed)
    ids = set()
    for _ in range(n):  # the first id after a random one: no list of a large office's ids
        start = uuid.UUID(int=rng.getrandbits(128))
        pk = (Person.objects.filter(office=office, pk__gte=start).order_by("pk")
              .values_list("pk", flat=True).first())
        if pk:
            ids.add(pk)
    ids = sorted(ids)
    out = []
    with datakeys.key_scope():
        datakeys.preload(ids)
        for p in Person.objects.filter(pk__in=ids).prefetch_related("documents"):
            out.append({"given": p.given_names, "family": p.family_names,
                        "dob": p.date_of_birth, "docs": [d.number for d in p.documents.all()]})
    out.sort(key=lambda x: (x["family"], x["given"]))
    rng.shuffle(out)
    return out


def search_p95(user: User, make, reps: int) -> tuple[float, float]:
    def run(i: int) -> None:
        with datakeys.key_scope():
            selectors.search_people(common.fresh(user), **make(i))

    return p95_ms(run, reps)


def decrypt_and_scan_seconds(user: User, sample: int = 3000) -> tuple[float, int, float]:
    """What a search without blind indexes costs: every person in the user's scope read,
    their key unwrapped and their names decrypted and compared. Timed over `sample` people
    of the scope and scaled to all of them. (seconds, people in scope, ms per person)"""
    scope = selectors.visible_people(user)
    n = scope.count()
    ids = list(scope.order_by("pk").values_list("pk", flat=True)[:sample])
    wanted = blind.fold("Nadie Ninguno")
    t0 = time.perf_counter()
    with datakeys.key_scope():
        datakeys.preload(ids)
        for p in Person.objects.filter(pk__in=ids).only(
                "id", "given_names", "family_names", "date_of_birth"):
            _ = blind.fold(f"{p.given_names} {p.family_names}") == wanted and p.date_of_birth
    per = (time.perf_counter() - t0) / max(1, len(ids))
    return per * n, n, per * 1000


def bench_search(t: Budgets, who: Who, reps: int) -> dict:
    print("search: selectors.search_people", flush=True)
    targets = search_targets(who.office)
    docs = [x for x in targets if x["docs"]]
    dobs = [x for x in targets if x["dob"]]
    surname = _commonest_surname()
    kinds = [
        ("full name", 20, lambda i: {"name": f"{targets[i % len(targets)]['given']} "
                                            f"{targets[i % len(targets)]['family']}"}),
        ("document number", 20, lambda i: {"document": docs[i % len(docs)]["docs"][0]}),
        ("date of birth", 20, lambda i: {"date_of_birth": dobs[i % len(dobs)]["dob"]}),
        (f"commonest surname alone ('{surname}')", 40, lambda i: {"name": surname}),
    ]
    out = {}
    for role, user in (("supervisor", who.supervisor), ("caseworker", who.caseworker)):
        for label, target, make in kinds:
            p95, med = search_p95(user, make, reps)
            out[f"{role}: {label}"] = (p95, med)
            if role == "supervisor":
                t.add(f"search p95, {label}, supervisor", target, p95, unit=" ms",
                      note=f"median {med:.1f} ms")
            else:
                t.add(f"search p95, {label}, caseworker", target, p95, unit=" ms",
                      note=f"median {med:.1f} ms")
    scan_s, n, per = decrypt_and_scan_seconds(who.supervisor)
    worst = max(v[0] for k, v in out.items() if k.startswith("supervisor") and "surname" not in k)
    t.add("search: decrypt-and-scan ÷ search p95, supervisor", 1000, scan_s * 1000 / worst,
          unit="x", at_most=False,
          note=f"scan {scan_s:.1f} s = {n:,} people in scope x {per:.3f} ms (timed over 3,000) "
               f"vs the slowest of full name / document / date of birth, {worst:.1f} ms")
    out["scan"] = {"seconds": scan_s, "people": n, "ms_per_person": per}
    return out


# Case page ------------------------------------------------------------------------------

def bench_case_page(t: Budgets, who: Who, reps: int) -> dict:
    print("case_page: /cases/<id>/ through the test client", flush=True)
    user = who.caseworker
    client = Client(HTTP_HOST="localhost", headers={"X-Forwarded-Proto": "https"})
    client.force_login(user)
    case = throughput.dozen_step_case(user)
    url = f"/cases/{case.pk}/"

    def get(i: int, url: str = url) -> None:
        r = client.get(url)
        if r.status_code != 200:
            sys.exit(f"{url} answered {r.status_code}")

    p95, med = p95_ms(get, reps)
    t.add(f"case page p95 ({case.step_no}-step history)", 40, p95, unit=" ms",
          note=f"median {med:.1f} ms, caseworker")
    mine = Case.objects.filter(assigned_to=user).exclude(procedure="")
    few = mine.order_by("step_no", "pk").first()
    many = mine.order_by("-step_no", "pk").first()
    # Each case at the same two states: its first view after the kept fragments are emptied
    # (the procedure card rendered) and the view after (the card kept, on PostgreSQL).
    caches[fragments.ALIAS].clear()
    counts: dict[int, list[int]] = {}
    for c in {x.pk: x for x in (few, case, many) if x}.values():
        counts[c.step_no] = [queries_of(lambda c=c: client.get(f"/cases/{c.pk}/")) for _ in (1, 2)]
    spread = (max(max(v[i] for v in counts.values()) - min(v[i] for v in counts.values())
                  for i in (0, 1)) if counts else None)
    t.add("case page: queries(most steps) - queries(fewest steps)", 0, spread,
          note="; ".join(f"{k} steps: {v[0]} queries first, {v[1]} kept"
                         for k, v in sorted(counts.items())))
    return {"case": str(case.pk), "steps": case.step_no, "p95_ms": p95, "median_ms": med,
            "queries_by_steps": counts}


# A procedure step -----------------------------------------------------------------------

def _fresh_cases(who: Who, n: int, seed: int = 17) -> tuple[list, list]:
    """n asylum cases of new people in the big office, their application recorded (the case
    is in its procedure, an interview to schedule)."""
    import generate

    from rsd import services as rsd

    rng = random.Random(seed)
    names = generate.NameMaker(seed, rng)
    cw = who.caseworker
    people, case_ids = [], []
    today = timezone.localdate()
    for _ in range(n):
        loc = names.locale()
        given, family = names.person(loc, rng.choice(["female", "male"]), None)
        dtype, number, country = names.document("HN")
        data = case_services.PersonData(
            given_names=given, family_names=family, sex="female",
            date_of_birth=datetime.date(1980, 1, 1) + datetime.timedelta(days=rng.randrange(9000)),
            aliases=[], nationalities=["HN"], languages=["es"], phone="", email="",
            address=names.address(loc), specific_needs=[],
            documents=[case_services.IdentityDocumentData(dtype, number, country)])
        with datakeys.key_scope():
            p = case_services.register_person(by=cw, office=who.office, data=data)
            people.append(p.pk)
            case = case_services.open_case(by=cw, person=p, kind=CaseKind.ASYLUM)
            case_ids.append(case.pk)
            rsd.record_application(by=cw, case=case, data=rsd.ApplicationData(
                application_date=today - datetime.timedelta(days=3),
                arrival_date=today - datetime.timedelta(days=10), channel="office",
                place_of_entry="Ciudad Hidalgo", claim_summary="Resumen de la solicitud.",
                narrative="Relato de la persona solicitante.", interpreter_language=""))
    return case_ids, people


def bench_step(t: Budgets, who: Who, reps: int) -> dict:
    print("step: rsd schedule_interview vs a bare locked update of the case row", flush=True)
    import workflow

    from rsd import services as rsd

    n = reps + 4
    case_ids, people = _fresh_cases(who, n)
    cw = who.caseworker
    when = datetime.datetime.combine(timezone.localdate() + datetime.timedelta(days=7),
                                     datetime.time(10), timezone.get_current_timezone())
    try:
        def step(i: int) -> None:
            with datakeys.key_scope():
                u = common.fresh(cw)
                case = selectors.get_case(u, case_ids[i])
                rsd.schedule_interview(by=u, case=case, when=when, place="Sala 1", interviewer=u)

        def bare(i: int) -> None:
            with transaction.atomic():
                Case.objects.select_for_update().filter(pk=case_ids[i]).values_list(
                    "step_no", flat=True).get()
                Case.objects.filter(pk=case_ids[i]).update(step_no=F("step_no"),
                                                           updated_at=timezone.now())

        step_p95, step_med = p95_ms(step, reps, warmup=3)
        q_step = None  # every case has taken its step: count on one more
        bare_p95, bare_med = p95_ms(bare, reps, warmup=3)
        q_bare = queries_of(lambda: bare(0))
    finally:
        workflow._remove(case_ids, people)
    t.add("procedure step p95 (schedule_interview)", 25, step_p95, unit=" ms",
          note=f"median {step_med:.1f} ms; includes get_case as the view does")
    t.add("procedure step p95 ÷ bare locked update p95", 2, step_p95 / bare_p95, unit="x",
          note=f"bare SELECT FOR UPDATE + UPDATE {bare_p95:.2f} ms (median {bare_med:.2f}, "
               f"{q_bare} statements)")
    return {"step_p95_ms": step_p95, "step_median_ms": step_med, "bare_p95_ms": bare_p95,
            "bare_median_ms": bare_med, "step_queries": q_step}


# Generation -----------------------------------------------------------------------------

def bench_generation(t: Budgets) -> dict | None:
    name = connection.settings_dict["NAME"]
    for path in (common.RESULTS_DIR / f"generate-{name}.json", common.RESULTS_DIR / "generate.json"):
        if path.exists():
            g = json.loads(path.read_text())
            if g.get("database") == name:
                break
    else:
        print(f"generation: no figures for {name} (bench/generate.py writes them)")
        return None
    minutes = g["seconds_total"] / 60
    load = f"load {g.get('load_average_at_start')} -> {g.get('load_average_at_end')}"
    if g["people"] >= 1_000_000:
        t.add(f"generation of {g['people']:,} people", 30, minutes, unit=" min", note=load)
    elif g["people"] >= 100_000:  # smaller runs are mostly fixed costs
        t.add(f"generation of {g['people']:,} people, scaled to 1,000,000 (estimate)", 30,
              minutes * 1_000_000 / g["people"], unit=" min",
              note=f"{minutes:.1f} min for {g['people']:,}; {load}")
    return g


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", choices=GROUPS)
    ap.add_argument("--reps", type=int, default=60, help="timed runs per measurement")
    ap.add_argument("--seconds", type=int, default=10, help="wrk seconds per page")
    ap.add_argument("--linker", default="background", choices=["background", "inline"])
    ap.add_argument("--memory-requests", type=int, default=10_000,
                    help="requests per worker before its RSS is read")
    ap.add_argument("--memory-seconds", type=int, default=120,
                    help="at most this long; then the RSS at --memory-requests is extrapolated")
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    groups = args.only or GROUPS
    common.require_data()
    started = time.perf_counter()
    env = common.environment("cases", "rsd", "audit")
    env["people"] = Person.objects.count()
    env["cases"] = Case.objects.count()
    print(f"{env['database']}: {env['people']:,} people, {env['cases']:,} cases; load average "
          f"{env['load_average_at_start']} on {env['cpus']} CPUs", flush=True)
    who = Who()
    t = Budgets()
    out: dict = {"measured_at": timezone.now().isoformat(), "environment": env,
                 "args": vars(args)}
    if "http" in groups or "memory" in groups:
        out["http"] = bench_http(t, who, args, groups)
    # The in-process groups link their audit events as the HTTP runs do (--linker): with the
    # background linker of a deployment with a broker, a request never links; linked at the end.
    settings.AMPARO_AUDIT_LINKER = args.linker
    if "list" in groups:
        out["list"] = bench_list(t, who, args.reps)
    if "search" in groups:
        out["search"] = bench_search(t, who, args.reps)
    if "case_page" in groups:
        out["case_page"] = bench_case_page(t, who, args.reps)
    if "step" in groups:
        out["step"] = bench_step(t, who, args.reps)
    if "generation" in groups:
        out["generation"] = bench_generation(t)
    chain.link_all()
    common.end_of_run(env)
    out["run_seconds"] = round(time.perf_counter() - started, 1)
    out["budgets"] = t.rows
    print()
    print(t.table())
    print(f"\n{env['database']}, {env['people']:,} people; load average (1/5/15 min) "
          f"{env['load_average_at_start']} at start, {env['load_average_at_end']} at end, "
          f"{env['cpus']} CPUs; {out['run_seconds']:.0f} s; commit {env['git_commit']}")
    common.write_results("budgets", out, baseline=args.baseline, tag=args.tag)
    common.write_json(common.RESULTS_DIR / f"latest-budgets-{env['database']}.json", out)


if __name__ == "__main__":
    main()
