"""Measure the audit log on the bench database: appending events, and verify_audit.

    .venv/bin/python bench/audit.py                  # everything (~10 min the first time)
    .venv/bin/python bench/audit.py --only append    # append latency only
    .venv/bin/python bench/audit.py --only fill      # fill the log to --target events
    .venv/bin/python bench/audit.py --only verify    # verify() throughput and memory

append: N writer processes (--writers, default 1,2,4,8) each call cases.events.emit()
--appends times, all starting together, in three modes:
  - autocommit: emit() outside any transaction, so its INSERT commits at once and the
    after-commit hook links it into the chain right away (what a view does);
  - transaction: emit() inside transaction.atomic() that also reads a case and holds
    ~2 ms of other database work; the event is linked when that transaction commits;
  - insert-only: like autocommit, but linking switched off (as if left to the periodic
    task); the events are linked at the end. Shows what linking costs the writer.
The timed span is time.perf_counter() around emit(); the linking (chain.link_pending,
called from the on-commit hook) is timed separately by wrapping it.

fill: adds events until the log holds --target (default 1,000,000), computing uid, MAC and
links with the real chain.event_mac / chain.link_hash, bulk_create in id order under the
chain's advisory lock; a checkpoint is signed every --checkpoint-every events
(audit.services.sign_checkpoint). The audit tables are append-only: nothing here deletes.

verify: audit.verify.verify() in a fresh child process (one Python process, one thread):
wall and CPU time, events per minute, peak RSS, RSS while it runs, and a second child run
under tracemalloc for the peak of Python allocations. --profile adds a cProfile run.

Results go to bench/results/latest-audit.json (--baseline: also baseline-audit-<date>.json).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import io
import json
import multiprocessing as mp
import os
import pstats
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

common.setup_django()

from django.db import connection, connections, transaction  # noqa: E402
from django.db.models import Exists, OuterRef  # noqa: E402
from django.utils import timezone  # noqa: E402

from audit import chain, services, signing, verify, witness  # noqa: E402
from audit.models import AuditEvent, ChainLink, Checkpoint  # noqa: E402
from cases import events  # noqa: E402
from cases.models import Case, Person, User  # noqa: E402

PHASES = ["append", "fill", "verify"]
MODES = ["autocommit", "transaction", "insert-only"]


def log_size() -> dict:
    head = ChainLink.objects.order_by("-position").values_list("position", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('audit_auditevent'), "
                       "pg_total_relation_size('audit_chainlink')")
        ev_bytes, link_bytes = cursor.fetchone()
    return {"events": AuditEvent.objects.count(), "chain_head": head or 0,
            "unlinked": AuditEvent.objects.filter(link__isnull=True).count(),
            "checkpoints": Checkpoint.objects.count(),
            "sink_lines": len(signing.read_sink()),
            "events_mib": round(ev_bytes / 2**20, 1), "links_mib": round(link_bytes / 2**20, 1)}


# Append latency -------------------------------------------------------------------------

class _LinkTimer:
    """Wraps chain.link_pending (looked up at call time by the after-commit callback) to time it."""

    def __init__(self) -> None:
        self.real = chain.link_pending
        self.total = 0.0
        self.calls: list[float] = []
        self.linked: list[int] = []
        self.enabled = True

    def __call__(self, *args, **kwargs):
        if not self.enabled:
            return 0
        t0 = time.perf_counter()
        n = self.real(*args, **kwargs)
        dt = time.perf_counter() - t0
        self.total += dt
        self.calls.append(dt)
        self.linked.append(n)
        return n


def _writer(mode: str, n: int, warmup: int, seed: int, fixtures: dict, barrier, queue) -> None:
    """One writer process: warm up, wait for the others, then n appends."""
    rng = random.Random(seed)
    timer = _LinkTimer()
    chain.link_pending = timer
    timer.enabled = mode != "insert-only"
    users = list(User.objects.filter(pk__in=fixtures["users"]))
    people = fixtures["people"]
    case_ids = fixtures["cases"]
    emit_t, link_t, commit_t, txn_t = [], [], [], []

    def one(timed: bool) -> None:
        user = rng.choice(users)
        token = events.set_request(events.RequestInfo(
            uuid.uuid4().hex, f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"))
        try:
            if mode == "transaction":
                t_begin = time.perf_counter()
                with transaction.atomic():
                    case = Case.objects.only("pk", "office_id", "reference").get(
                        pk=rng.choice(case_ids))
                    t0 = time.perf_counter()
                    events.emit("case.view", actor=user, obj=case)
                    t1 = time.perf_counter()
                    with connection.cursor() as cursor:  # the rest of the request's work
                        cursor.execute("SELECT pg_sleep(0.002)")
                    before = timer.total
                    t_commit = time.perf_counter()
                t_end = time.perf_counter()
                if timed:
                    emit_t.append(t1 - t0)
                    commit_t.append(t_end - t_commit)
                    link_t.append(timer.total - before)
                    txn_t.append(t_end - t_begin)
            else:
                pid, office = rng.choice(people)
                before = timer.total
                t0 = time.perf_counter()
                events.emit("person.view", actor=user, object_type="cases.person",
                            object_id=str(pid), office_id=office)
                t1 = time.perf_counter()
                if timed:
                    emit_t.append(t1 - t0)
                    link_t.append(timer.total - before)
        finally:
            events.reset_request(token)

    for _ in range(warmup):
        one(False)
    timer.calls.clear()
    timer.linked.clear()
    barrier.wait()
    start = time.perf_counter()
    wall0 = time.time()
    for _ in range(n):
        one(True)
    wall1 = time.time()
    queue.put({"mode": mode, "emit": emit_t, "link": link_t, "commit": commit_t, "txn": txn_t,
               "linked": timer.linked, "link_calls": timer.calls,
               "start": wall0, "end": wall1, "elapsed": time.perf_counter() - start})
    connections.close_all()


def _fixtures(seed: int) -> dict:
    rng = random.Random(seed)
    users = list(User.objects.filter(username__startswith="bench-").order_by("pk")
                 .values_list("pk", flat=True))
    people = list(Person.objects.order_by("pk").values_list("pk", "office_id")[:20000])
    cases = list(Case.objects.order_by("pk").values_list("pk", flat=True)[:20000])
    rng.shuffle(people)
    rng.shuffle(cases)
    return {"users": users, "people": people[:5000], "cases": cases[:5000]}


def run_append(writers: list[int], appends: int, modes: list[str], seed: int) -> list[dict]:
    fixtures = _fixtures(seed)
    ctx = mp.get_context("fork")
    rows = []
    for mode in modes:
        for n_writers in writers:
            chain.link_pending()  # start from a fully linked log
            size_before = AuditEvent.objects.count()
            connections.close_all()  # every child opens its own connection
            barrier = ctx.Barrier(n_writers)
            queue = ctx.Queue()
            procs = [ctx.Process(target=_writer, args=(mode, appends, 20, seed * 100 + i,
                                                       fixtures, barrier, queue))
                     for i in range(n_writers)]
            for p in procs:
                p.start()
            got = [queue.get() for _ in procs]
            for p in procs:
                p.join()
                if p.exitcode:
                    sys.exit(f"writer exited with {p.exitcode}")
            t0 = time.perf_counter()
            linked_after = chain.link_pending() if mode == "insert-only" else 0
            while mode == "insert-only" and (more := chain.link_pending()):
                linked_after += more
            catch_up = time.perf_counter() - t0
            emit = [x for g in got for x in g["emit"]]
            link = [x for g in got for x in g["link"]]
            insert = [e - lk for g in got for e, lk in zip(g["emit"], g["link"], strict=True)]
            calls = [x for g in got for x in g["link_calls"]]
            linked = [x for g in got for x in g["linked"]]
            span = max(g["end"] for g in got) - min(g["start"] for g in got)
            row = {
                "mode": mode, "writers": n_writers, "appends": len(emit),
                "log_events_before": size_before,
                "events_per_s": round(len(emit) / span, 1), "span_s": round(span, 3),
                "emit": common.ms_summary(emit),
            }
            if mode == "autocommit":
                row["insert_part"] = common.ms_summary(insert)
                row["link_part"] = common.ms_summary(link)
            if mode == "transaction":
                row["commit_with_link"] = common.ms_summary([x for g in got for x in g["commit"]])
                row["link_part"] = common.ms_summary([x for g in got for x in g["link"]])
                row["whole_transaction"] = common.ms_summary([x for g in got for x in g["txn"]])
            if calls:
                row["link_pending_calls"] = len(calls)
                row["link_pending_linked_nothing_share"] = round(
                    sum(1 for x in linked if x == 0) / len(linked), 3)
                row["link_pending_mean_linked"] = round(statistics.fmean(linked), 2)
            if mode == "insert-only":
                row["linked_afterwards"] = linked_after
                row["link_afterwards_s"] = round(catch_up, 3)
            rows.append(row)
            e = row["emit"]
            extra = ""
            if "insert_part" in row:
                extra = (f"  insert {row['insert_part']['median_ms']:.3f} / link "
                         f"{row['link_part']['median_ms']:.3f} ms (medians)")
            if "commit_with_link" in row:
                extra = (f"  commit+link median {row['commit_with_link']['median_ms']:.3f} p95 "
                         f"{row['commit_with_link']['p95_ms']:.3f} ms")
            if mode == "insert-only":
                extra = f"  linked {linked_after} afterwards in {catch_up * 1000:.0f} ms"
            print(f"  {mode:<12} writers={n_writers}  emit median {e['median_ms']:7.3f}  "
                  f"p95 {e['p95_ms']:7.3f}  p99 {e['p99_ms']:7.3f} ms  "
                  f"{row['events_per_s']:8.1f} events/s{extra}", flush=True)
    return rows


# Filling the log ------------------------------------------------------------------------

ACTIONS = [  # (action, object type, weight): mostly reads, as in an office's day
    ("person.view", "cases.person", 30), ("case.view", "cases.case", 25),
    ("person.search", "", 14), ("document.download", "cases.casedocument", 6),
    ("auth.login", "", 5), ("auth.logout", "", 4), ("person.update", "cases.person", 4),
    ("note.add", "cases.case", 4), ("case.assign", "cases.case", 2),
    ("person.register", "cases.person", 2), ("case.open", "cases.case", 2),
    ("auth.login_failed", "", 1), ("export.csv", "", 1),
]


def run_fill(target: int, batch: int, checkpoint_every: int, days: int, seed: int) -> dict:
    rng = random.Random(seed)
    chain.link_pending()
    have = AuditEvent.objects.count()
    need = target - have
    if need <= 0:
        print(f"  the log already holds {have:,} events (target {target:,}); nothing to add")
        return {"added": 0, "events": have}
    staff = list(User.objects.filter(username__startswith="bench-").values_list("pk", "username"))
    people = list(Person.objects.values_list("pk", "office_id")[:50000])
    cases = list(Case.objects.values_list("pk", "office_id")[:50000])
    office_ids = sorted({o for _, o in people})
    names = [a for a, _, _ in ACTIONS]
    types = {a: t for a, t, _ in ACTIONS}
    weights = [w for _, _, w in ACTIONS]
    key = signing.mac_key()
    end = timezone.now() - datetime.timedelta(minutes=1)
    start = end - datetime.timedelta(days=days)
    step = (end - start) / need
    python_s = db_s = sign_s = 0.0
    t_all = time.perf_counter()
    done = 0
    next_checkpoint = checkpoint_every
    signed = 0
    while done < need:
        n = min(batch, need - done)
        t0 = time.perf_counter()
        with transaction.atomic():
            chain._lock()
            head = ChainLink.objects.order_by("-position").values_list("position", "hash").first()
            position, prev = head if head else (0, chain.GENESIS)
            with connection.cursor() as cursor:
                cursor.execute("SELECT nextval('audit_auditevent_id_seq') "
                               "FROM generate_series(1, %s)", [n])
                ids = sorted(r[0] for r in cursor.fetchall())
            tb = time.perf_counter()
            evs, links = [], []
            now = timezone.now()
            for i, event_id in enumerate(ids):
                action = rng.choices(names, weights)[0]
                actor = rng.choice(staff)
                office = rng.choice(office_ids)
                obj_type, obj_id = types[action], ""
                details: dict = {}
                if obj_type == "cases.person":
                    obj_id, office = map(str, rng.choice(people))
                    office = int(office)
                elif obj_type == "cases.case":
                    obj_id, office = map(str, rng.choice(cases))
                    office = int(office)
                elif obj_type:
                    obj_id = str(rng.randrange(1, 200000))
                if action == "person.search":
                    details = {"kinds": rng.choice([["name"], ["name", "dob"], ["document"]]),
                               "results": rng.randrange(0, 51), "truncated": rng.random() < .2}
                elif action == "person.update":
                    details = {"fields": rng.sample(["address", "phone", "email", "notes"], 2)}
                elif action == "auth.login_failed":
                    actor = None
                    details = {}
                at = start + step * (done + i)
                row = [event_id, uuid.uuid4(), at,
                       actor[0] if actor else None,
                       actor[1] if actor else f"unknown{rng.randrange(100)}",
                       office, action, obj_type, obj_id, uuid.uuid4().hex,
                       f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                       "denied" if action == "auth.login_failed" else "ok", details, ""]
                row[-1] = chain.event_mac(key, tuple(row))
                row = tuple(row)
                position += 1
                digest = chain.link_hash(prev, position, row)
                evs.append(AuditEvent(**dict(zip(chain.FIELDS, row, strict=True))))
                links.append(ChainLink(position=position, event_id=event_id, prev_hash=prev,
                                       hash=digest, linked_at=now))
                prev = digest
            tc = time.perf_counter()
            AuditEvent.objects.bulk_create(evs, batch_size=5000)
            ChainLink.objects.bulk_create(links, batch_size=5000)
        witness.record(position, prev)  # as the linker does after its commit
        td = time.perf_counter()
        python_s += tc - tb
        db_s += (td - tc) + (tb - t0)
        done += n
        if done >= next_checkpoint or done == need:
            ts = time.perf_counter()
            services.sign_checkpoint()
            sign_s += time.perf_counter() - ts
            signed += 1
            next_checkpoint += checkpoint_every
        if done % (batch * 10) == 0 or done == need:
            el = time.perf_counter() - t_all
            print(f"  {have + done:>10,} events  {done / el:8.0f} events/s "
                  f"(Python {python_s:.0f} s, INSERTs {db_s:.0f} s)", flush=True)
    elapsed = time.perf_counter() - t_all
    common.vacuum_analyze("audit_auditevent", "audit_chainlink")
    out = {"added": need, "events": have + need, "seconds": round(elapsed, 1),
           "events_per_s": round(need / elapsed, 1), "python_s": round(python_s, 1),
           "insert_s": round(db_s, 1), "checkpoint_s": round(sign_s, 2),
           "checkpoints_signed": signed, "spread_days": days}
    print(f"  added {need:,} events in {elapsed:.1f} s ({out['events_per_s']:,.0f}/s), "
          f"{signed} checkpoints signed")
    return out


# Verification ---------------------------------------------------------------------------

def child_verify(kind: str) -> None:
    """Runs in a fresh process: verify() once, JSON on the last line of stdout."""
    rss_start = common.rss_kib()
    samples = []
    t_start = time.perf_counter()

    def progress(n: int) -> None:
        row = {"events": n, "s": round(time.perf_counter() - t_start, 2), "rss_kib": common.rss_kib()}
        if tracemalloc.is_tracing():
            cur, peak = tracemalloc.get_traced_memory()
            row["traced_kib"] = cur // 1024
            row["traced_peak_kib"] = peak // 1024
        samples.append(row)

    prof = None
    if kind == "tracemalloc":
        tracemalloc.start()
    elif kind == "profile":
        prof = cProfile.Profile()
        prof.enable()
    c0, t0 = time.process_time(), time.perf_counter()
    report = verify.verify(progress=progress)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = {"kind": kind, "ok": report.ok, "failure": str(report.failure) if report.failure else None,
           "links": report.links, "checkpoints": report.checkpoints, "notes": report.notes,
           "wall_s": round(wall, 2), "python_cpu_s": round(cpu, 2),
           "events_per_min": round(report.links / wall * 60),
           "events_per_python_cpu_min": round(report.links / cpu * 60) if cpu else None,
           "rss_start_kib": rss_start,
           "peak_rss_kib": common.peak_rss_kib(),
           "samples": samples}
    if kind == "tracemalloc":
        out["traced_peak_kib"] = tracemalloc.get_traced_memory()[1] // 1024
        tracemalloc.stop()
    if prof is not None:
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(25)
        out["profile_tottime"] = buf.getvalue()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
        out["profile_cumulative"] = buf.getvalue()
    print(json.dumps(out))


def _spawn(kind: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", kind], capture_output=True,  # noqa: S603
                          text=True, env=os.environ.copy())
    if proc.returncode:
        print(proc.stdout[-2000:], proc.stderr[-4000:])
        sys.exit(f"verify child ({kind}) failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_verify(profile: bool, with_tracemalloc: bool, runs: int) -> dict:
    out: dict = {"log": log_size()}
    timed = []
    for i in range(runs):
        r = _spawn("plain")
        timed.append(r)
        print(f"  verify run {i + 1}: {r['links']:,} events in {r['wall_s']:.1f} s wall "
              f"({r['python_cpu_s']:.1f} s Python CPU) = {r['events_per_min']:,} events/min; "
              f"ok={r['ok']} {r['failure'] or ''}; peak RSS {r['peak_rss_kib'] / 1024:.0f} MiB "
              f"(at start {r['rss_start_kib'] / 1024:.0f} MiB)", flush=True)
    best = min(timed, key=lambda r: r["wall_s"])
    out["runs"] = [{k: v for k, v in r.items() if k != "samples"} for r in timed]
    out["rss_samples"] = best["samples"]
    out["events_per_min_median"] = statistics.median(r["events_per_min"] for r in timed)
    print("  RSS while verifying (MiB at each 100k events): "
          + ", ".join(f"{s['rss_kib'] // 1024}" for s in best["samples"]))
    if with_tracemalloc:
        tm = _spawn("tracemalloc")
        out["tracemalloc"] = {k: v for k, v in tm.items() if k != "samples"}
        out["tracemalloc_samples"] = tm["samples"]
        print(f"  under tracemalloc: peak of Python allocations "
              f"{tm['traced_peak_kib'] / 1024:.1f} MiB ({tm['wall_s']:.1f} s); traced at each "
              "100k events: " + ", ".join(f"{s['traced_kib'] // 1024}" for s in tm["samples"])
              + " MiB")
    # Checkpoint signatures: verify() checks every line of the sink before walking.
    heads = signing.read_sink()
    public = signing.private_key().public_key()
    if heads:
        t0 = time.perf_counter()
        for h in heads:
            signing.check_signature(h, public)
        per = (time.perf_counter() - t0) / len(heads)
        out["checkpoint_signature_us"] = round(per * 1e6, 1)
        print(f"  {len(heads)} checkpoint signatures: {per * 1e6:.0f} µs each")
    if profile:
        pr = _spawn("profile")
        out["profile"] = {k: v for k, v in pr.items() if k != "samples"}
        print(pr["profile_tottime"][:6000])
    return out


# The query that finds events to link ----------------------------------------------------

def run_link_query(reps: int = 7) -> dict:
    """What link_pending's 'unlinked events' query costs on this log, next to two shapes that
    do not read the whole chain (read-only; timed with EXPLAIN ANALYZE's execution time)."""
    since = timezone.now() - datetime.timedelta(days=1)
    recent = list(AuditEvent.objects.order_by("-id").values_list("id", flat=True)[:3])
    cols = ", ".join(f"e.{f}" for f in chain.FIELDS)
    shapes = {
        "before: LEFT JOIN chainlink ... IS NULL, at >= now - 1 day (every commit)":
            AuditEvent.objects.filter(link__isnull=True, at__gte=since).order_by("id")
            .values_list(*chain.FIELDS)[:5000].query.sql_with_params(),
        "before: LEFT JOIN, whole log (periodic task)":
            AuditEvent.objects.filter(link__isnull=True).order_by("id")
            .values_list(*chain.FIELDS)[:5000].query.sql_with_params(),
        "now: NOT EXISTS, whole log (periodic sweep, sign_checkpoint)":
            AuditEvent.objects.filter(~Exists(ChainLink.objects.filter(event_id=OuterRef("pk"))))
            .order_by("id").values_list(*chain.FIELDS)[:5000].query.sql_with_params(),
        "NOT EXISTS, at >= now - 1 day":
            (f"SELECT {cols} FROM audit_auditevent e WHERE e.at >= %s AND NOT EXISTS "  # noqa: S608
             "(SELECT 1 FROM audit_chainlink l WHERE l.event_id = e.id) ORDER BY e.id LIMIT 5000",
             [since]),
        "now: NOT EXISTS, the transaction's own event ids (3) (every commit)":
            (f"SELECT {cols} FROM audit_auditevent e WHERE e.id = ANY(%s) AND NOT EXISTS "  # noqa: S608
             "(SELECT 1 FROM audit_chainlink l WHERE l.event_id = e.id) ORDER BY e.id",
             [recent]),
    }
    out = {}
    with connection.cursor() as cursor:
        for name, (sql, params) in shapes.items():
            times, plan = [], []
            for _ in range(reps):
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = [r[0] for r in cursor.fetchall()]
                times.append(float(plan[-1].split(":")[1].split()[0]))
            out[name] = {"median_ms": round(statistics.median(times), 3), "plan": plan}
            top = next((ln.strip() for ln in plan if "Scan on audit_chainlink" in ln
                        or "audit_chainlink" in ln), "")
            print(f"  {name:<58} {statistics.median(times):9.3f} ms   {top[:70]}")
    return out


# Main -----------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", choices=PHASES)
    ap.add_argument("--writers", default="1,2,4,8")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--appends", type=int, default=500, help="timed appends per writer")
    ap.add_argument("--filled-writers", default="1,4",
                    help="writers for the second append run, after the fill")
    ap.add_argument("--filled-appends", type=int, default=100,
                    help="timed appends per writer after the fill (linking is slow there)")
    ap.add_argument("--target", type=int, default=1_000_000, help="events for the verify test")
    ap.add_argument("--batch", type=int, default=10000)
    ap.add_argument("--checkpoint-every", type=int, default=50000)
    ap.add_argument("--days", type=int, default=180, help="fill: spread events over days")
    ap.add_argument("--verify-runs", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="verify: also a cProfile run")
    ap.add_argument("--tracemalloc", action="store_true",
                    help="verify: also a run under tracemalloc (about 6x slower)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--baseline", action="store_true",
                    help="also write bench/results/baseline-audit-<date>.json")
    ap.add_argument("--tag", default="", help="baseline file name suffix: baseline-audit-<date>-<tag>.json")
    ap.add_argument("--child", choices=["plain", "tracemalloc", "profile"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_verify(args.child)
        return
    phases = args.only or PHASES
    out = {"environment": common.environment("audit"),
           "args": {k: v for k, v in vars(args).items() if k != "child"}}
    if args.only:  # keep the other phases' figures of the previous run
        out = common.with_previous("audit", out)
    out["log_at_start"] = log_size()
    print(f"audit bench on {out['environment']['database']}: log holds "
          f"{out['log_at_start']['events']:,} events", flush=True)
    t0 = time.perf_counter()
    writers = [int(w) for w in args.writers.split(",")]
    modes = args.modes.split(",")
    if "append" in phases:
        print("append latency", flush=True)
        out["append"] = run_append(writers, args.appends, modes, args.seed)
    if "fill" in phases:
        print(f"fill to {args.target:,} events", flush=True)
        out["fill"] = run_fill(args.target, args.batch, args.checkpoint_every, args.days,
                               args.seed)
        if "append" in phases and out["fill"]["added"]:
            print("append latency again, with the filled log", flush=True)
            out["append_filled"] = run_append(
                [int(w) for w in args.filled_writers.split(",")], args.filled_appends,
                [m for m in modes if m != "insert-only"], args.seed + 1)
    if "verify" in phases:
        print("verify", flush=True)
        out["link_query"] = run_link_query()
        out["verify"] = run_verify(args.profile, args.tracemalloc, args.verify_runs)
    out["log_at_end"] = log_size()
    common.end_of_run(out["environment"])
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"audit bench took {out['seconds']} s")
    common.write_results("audit", out, baseline=args.baseline, tag=args.tag)


if __name__ == "__main__":
    main()
