"""Shared parts of the benchmark scripts: Django on the bench database and bench keys, the
measuring (Bench.measure, percentiles, query counts, RSS, EXPLAIN), the database helpers and
the result files.

The scripts refuse to run against anything but a PostgreSQL database whose name contains
"bench", and against the demo's key file: they write and wipe data. Everything below
setup_django() needs Django set up first.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/amparo_bench"
DEFAULT_KEY_FILE = ROOT / "var" / "bench" / "keys.json"
DEFAULT_AUDIT_KEY_FILE = ROOT / "var" / "bench" / "audit-signing.pem"
DEFAULT_AUDIT_SINK = ROOT / "var" / "bench" / "audit-checkpoints"

# Offices: code, name, country, city, share of the people, supervisors, caseworkers.
OFFICES = [
    ("MX-CDMX", "COMAR Ciudad de México", "MX", "Ciudad de México", 0.40, 2, 11),
    ("MX-TAP", "COMAR Tapachula", "MX", "Tapachula", 0.25, 1, 7),
    ("CR-SJO", "Unidad de Refugio", "CR", "San José", 0.13, 1, 4),
    ("GT-GUA", "Departamento de Reconocimiento", "GT", "Ciudad de Guatemala", 0.12, 1, 4),
    ("BZ-BMP", "Refugees Department", "BZ", "Belmopan", 0.05, 1, 2),
    ("PA-PTY", "ONPAR", "PA", "Ciudad de Panamá", 0.05, 1, 2),
]
BIG_OFFICE = "MX-CDMX"


def setup_django() -> None:
    """Point Django at the bench database and key file, then django.setup()."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.dev")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("AMPARO_KEY_FILE", str(DEFAULT_KEY_FILE))
    os.environ.setdefault("AMPARO_AUDIT_KEY_FILE", str(DEFAULT_AUDIT_KEY_FILE))
    os.environ.setdefault("AMPARO_AUDIT_SINK", str(DEFAULT_AUDIT_SINK))
    # No beat signs checkpoints during a bench: verify() here checks the chain, not the beat.
    os.environ.setdefault("AMPARO_AUDIT_CHECKPOINT_MAX_AGE", "0")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    key_file = Path(os.environ["AMPARO_KEY_FILE"]).resolve()
    demo_keys = (ROOT / "var" / "keys").resolve()
    if key_file.is_relative_to(demo_keys) or "bench" not in key_file.parent.name:
        sys.exit(f"Refusing to use {key_file}: the benchmarks need their own key file in "
                 f"var/bench/ (AMPARO_KEY_FILE), never the demo's keys.")
    # The audit signing key and the checkpoint sink: bench ones too, never the demo's.
    for var in ("AMPARO_AUDIT_KEY_FILE", "AMPARO_AUDIT_SINK"):
        path = Path(os.environ[var]).resolve()
        if not path.is_relative_to((ROOT / "var" / "bench").resolve()):
            sys.exit(f"Refusing to use {path}: {var} must point into var/bench/.")
    if os.environ.get("AMPARO_KEYS"):
        sys.exit("Unset AMPARO_KEYS: the benchmarks read their keys from AMPARO_KEY_FILE.")

    import django

    django.setup()

    from django.conf import settings
    from django.db import connection

    # settings.dev turns DEBUG on; with it every query is kept and formatted, which
    # measures Django's debug machinery rather than Amparo. Time what production runs.
    settings.DEBUG = False

    if connection.vendor != "postgresql":
        sys.exit(f"The benchmarks run on PostgreSQL only (DATABASE_URL is {connection.vendor}).")
    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        sys.exit(f"Refusing to write to database {name!r}: use a database named *bench*.")
    if not key_file.exists():
        sys.exit(f"{key_file} does not exist: run "
                 f"'AMPARO_KEY_FILE={key_file} .venv/bin/python manage.py init_keys' first.")
    audit_key = Path(settings.AMPARO_AUDIT_KEY_FILE)
    if not audit_key.exists():
        sys.exit(f"{audit_key} does not exist: run 'AMPARO_AUDIT_KEY_FILE={audit_key} "
                 f".venv/bin/python manage.py init_audit_key' first.")


def require_data() -> None:
    """Stop unless bench/generate.py has filled the database."""
    from cases.models import Person

    if not Person.objects.exists():
        sys.exit("The bench database is empty: run bench/generate.py first.")


# Measuring ------------------------------------------------------------------------------

def pct(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0 < q <= 1) of already sorted values, nearest rank."""
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def ms_summary(seconds: list[float]) -> dict:
    """n, median, p95, p99, max and mean in milliseconds of durations in seconds."""
    if not seconds:
        return {"n": 0}
    s = sorted(seconds)
    return {"n": len(s), "median_ms": round(statistics.median(s) * 1000, 3),
            "p95_ms": round(pct(s, 0.95) * 1000, 3), "p99_ms": round(pct(s, 0.99) * 1000, 3),
            "max_ms": round(s[-1] * 1000, 3), "mean_ms": round(statistics.fmean(s) * 1000, 3)}


class QueryCounter:
    """Counts SQL statements (an execute_wrapper), also across test-client requests (which
    reset queries_log)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)


class SqlTimer:
    """Times every statement (an execute_wrapper): how much of a request is SQL, and which."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.calls.append((time.perf_counter() - t0, sql))

    def summary(self, total: float) -> dict:
        sql = sum(t for t, _ in self.calls)
        slowest = sorted(self.calls, key=lambda c: -c[0])[:5]
        return {"request_ms": round(total * 1000, 1), "sql_ms": round(sql * 1000, 1),
                "statements": len(self.calls),
                "slowest": [{"ms": round(t * 1000, 2), "sql": q} for t, q in slowest]}


def fresh(user):
    """Forget the roles and grants cached on the user object: every request reads them again."""
    from cases import access

    access.forget(user)
    return user


class Bench:
    """Times operations and keeps one result row per operation."""

    def __init__(self, reps: int) -> None:
        self.reps = reps
        self.results: list[dict] = []

    def measure(self, group: str, name: str, fn, *, reps: float = 1.0, warmup: int = 3,
                note: str = "") -> dict:
        """fn(i) runs the operation once; it may return a dict of figures to summarise.

        fn is called with i = 0 .. warmup + n + 1 (n = max(5, self.reps * reps)): warmup
        runs, n timed ones, one counting the queries, one under tracemalloc.
        """
        from django.db import connection

        n = max(5, int(self.reps * reps))
        for i in range(warmup):
            fn(i)
        gc.collect()
        times, extras = [], []
        for i in range(warmup, warmup + n):
            t0 = time.perf_counter()
            extra = fn(i)
            times.append(time.perf_counter() - t0)
            if extra:
                extras.append(extra)
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            fn(warmup + n)
        tracemalloc.start()
        fn(warmup + n + 1)
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        s = sorted(times)
        row = {
            "group": group, "name": name, "reps": n,
            "median_ms": round(statistics.median(s) * 1000, 3),
            "p95_ms": round(pct(s, 0.95) * 1000, 3),
            "min_ms": round(s[0] * 1000, 3), "max_ms": round(s[-1] * 1000, 3),
            "queries": counter.n,
            "peak_alloc_kib": round(peak / 1024, 1),
            "note": note,
        }
        for key in sorted({k for e in extras for k in e}):
            vals = [e[key] for e in extras if key in e]
            if all(isinstance(v, bool) for v in vals):
                row[f"{key}_share"] = round(sum(vals) / len(vals), 3)
            else:
                row[f"{key}_median"] = statistics.median(vals)
                row[f"{key}_max"] = max(vals)
        self.results.append(row)
        extra_txt = "  ".join(
            f"{k}={v}" for k, v in row.items() if k.endswith(("_median", "_max", "_share")))
        print(f"  {name:<44} median {row['median_ms']:9.2f} ms  p95 {row['p95_ms']:9.2f} ms  "
              f"q={row['queries']:<3} peak {row['peak_alloc_kib']:8.0f} KiB  {extra_txt}",
              flush=True)
        return row


def print_table(results: list[dict]) -> None:
    """The rows of Bench.results as one table (rows with keys_per_second: rotation runs)."""
    print()
    head = f"{'group':<10} {'operation':<52} {'reps':>5} {'median ms':>10} {'p95 ms':>10} " \
           f"{'queries':>7} {'peak KiB':>9}  notes"
    print(head)
    print("-" * len(head))
    for r in results:
        notes = []
        for k, v in r.items():
            if k.endswith(("_median", "_share")) and not k.startswith("status"):
                notes.append(f"{k.replace('_median', '')}={v}")
            if k == "candidates_max":
                notes.append(f"candidates_max={v}")
        if "keys_per_second" in r:
            notes = [f"{r['keys_per_second']:,} keys/s, {r['keys_rewrapped']:,} keys in "
                     f"{r['seconds']} s ({r['note']})"]
        med = f"{r['median_ms']:10.2f}" if r.get("median_ms") is not None else f"{'-':>10}"
        p95 = f"{r['p95_ms']:10.2f}" if r.get("p95_ms") is not None else f"{'-':>10}"
        print(f"{r['group']:<10} {r['name'][:52]:<52} {r['reps']:>5} {med} {p95} "
              f"{r.get('queries', '-'):>7} {r.get('peak_alloc_kib', '-'):>9}  "
              + ", ".join(notes))


def rss_kib() -> int:
    """The process's resident set size now (VmRSS), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def peak_rss_kib() -> int:
    """The process's peak resident set size so far, in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_rss_mib() -> float:
    return round(peak_rss_kib() / 1024, 1)


# Query plans ----------------------------------------------------------------------------

SCAN = re.compile(r"(Seq Scan on \w+|Parallel Seq Scan on \w+|Index Only Scan using \w+|"
                  r"Index Scan Backward using \w+|Index Scan using \w+|"
                  r"Bitmap Index Scan on \w+)")


def captured_sql(fn, contains: str = "") -> str:
    """The main statement fn() issues: the first that mentions `contains`, else the longest."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as cq:
        fn()
    sqls = [q["sql"] for q in cq.captured_queries]
    if contains:
        found = next((q for q in sqls if contains in q), None)
        if found is None:
            raise LookupError(f"no statement mentions {contains!r}")
        return found
    return max(sqls, key=len)


def explain(label: str, fn, contains: str = "") -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of the main statement fn() issues (see captured_sql)."""
    from django.db import connection

    sql = captured_sql(fn, contains)
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(r[0] for r in cur.fetchall())
    scans = sorted(set(SCAN.findall(plan)))
    m = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return {"label": label, "sql": sql, "plan": plan, "scans": scans,
            "execution_ms": float(m.group(1)) if m else None}


# The database ---------------------------------------------------------------------------

def pg_admin():
    """An autocommit connection to the server's "postgres" database (CREATE/DROP DATABASE)."""
    import psycopg
    from django.db import connection

    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"] or None, port=s["PORT"] or None, user=s["USER"],
                           password=s["PASSWORD"] or None, dbname="postgres", autocommit=True)


def prepare_database(*, reset: bool = False) -> float:
    """Create the bench database if it is missing (with reset: drop it first), then migrate.
    The seconds taken.

    A reset starts from an empty database rather than emptying tables: the audit tables
    refuse TRUNCATE and DELETE (audit migration 0002), and the bench keeps those triggers
    as a deployment has them. The new database has a new audit chain, so the checkpoints
    the sink holds for the old one are moved aside."""
    from django.core.management import call_command
    from django.db import connection, connections

    t0 = time.perf_counter()
    name = connection.settings_dict["NAME"]
    if "bench" not in name:  # setup_django checked it too
        sys.exit(f"Refusing to drop or create database {name!r}: not a bench database.")
    connections.close_all()
    with pg_admin() as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                               [name]).fetchone()
        if exists and reset:
            others = admin.execute(
                "SELECT pid, application_name, client_addr FROM pg_stat_activity "
                "WHERE datname = %s", [name]).fetchall()
            if others:
                sys.exit(f"Cannot reset {name}: {len(others)} other session(s) are connected "
                         f"(pids {', '.join(str(o[0]) for o in others)}).")
            admin.execute(f'DROP DATABASE "{name}"')
            exists = None
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
            print(f"Created database {name}", flush=True)
    if reset:
        from django.conf import settings

        stamp = time.strftime("%Y%m%d-%H%M%S")
        for sink in (Path(settings.AMPARO_AUDIT_SINK) / "checkpoints.jsonl",
                     Path(settings.AMPARO_AUDIT_SINK) / "heads.log"):
            if sink.exists() and sink.stat().st_size:
                aside = sink.with_name(f"{sink.stem}-before-reset-of-{name}-{stamp}{sink.suffix}")
                sink.rename(aside)
                print(f"Moved the old chain's {sink.name} to {aside}", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    return time.perf_counter() - t0


def vacuum_analyze(*tables: str, full: bool = False) -> float:
    """VACUUM [FULL] ANALYZE the tables (the whole database without any); the seconds taken."""
    from django.db import connection

    t0 = time.perf_counter()
    verb = "VACUUM FULL ANALYZE" if full else "VACUUM ANALYZE"
    with connection.cursor() as cur:
        for table in tables or ("",):
            cur.execute(f"{verb} {table}".strip())
    return time.perf_counter() - t0


SECONDARY = """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype, NULL
  FROM pg_constraint c
 WHERE c.conrelid = ANY(%(tables)s::regclass[]) AND c.contype IN ('u', 'f')
UNION ALL
SELECT i.indrelid::regclass::text, x.relname, pg_get_indexdef(i.indexrelid), 'i', NULL
  FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
 WHERE i.indrelid = ANY(%(tables)s::regclass[]) AND NOT i.indisprimary
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""


@contextmanager
def without_secondary_indexes(*tables: str, keep_file: Path | None = None):
    """For a bulk load: drop the tables' secondary indexes, unique and foreign-key
    constraints (primary keys stay), and build them again afterwards (then ANALYZE), also
    when the load fails. Their definitions are kept in keep_file meanwhile, to recreate them
    by hand (psql -f) should the process die. Yields the list of what was dropped; sets
    rebuild_seconds on it."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(SECONDARY, {"tables": list(tables)})
        dropped = sorted(cur.fetchall(), key=lambda r: "fiu".index(r[3]))  # FKs first
    recreate = []
    for table, name, definition, kind, _ in dropped:
        if kind == "i":
            recreate.append(definition + ";")
        else:
            recreate.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition};')
    if keep_file:
        keep_file.parent.mkdir(parents=True, exist_ok=True)
        keep_file.write_text("\n".join(reversed(recreate)) + "\n")
    with connection.cursor() as cur:
        for table, name, _definition, kind, _ in dropped:
            if kind == "i":
                cur.execute(f'DROP INDEX "{name}"')
            else:
                cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    result = DroppedIndexes(name for _t, name, *_ in dropped)
    try:
        yield result
    finally:
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("SET maintenance_work_mem = '512MB'")
            for statement in reversed(recreate):  # indexes first, foreign keys last
                cur.execute(statement)
            cur.execute("RESET maintenance_work_mem")
            for table in tables:
                cur.execute(f"ANALYZE {table}")
        result.rebuild_seconds = time.perf_counter() - t0
        if keep_file:
            keep_file.unlink(missing_ok=True)


class DroppedIndexes(list):
    rebuild_seconds = 0.0


@contextmanager
def keep_dates(*fields):
    """Let bulk rows keep their own times: auto_now / auto_now_add off meanwhile.
    fields: (model, field name) pairs."""
    saved = []
    for model, name in fields:
        f = model._meta.get_field(name)
        saved.append((f, f.auto_now, f.auto_now_add))
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, now, add in saved:
            f.auto_now, f.auto_now_add = now, add


# Results --------------------------------------------------------------------------------

def _git(*args: str) -> str:
    git = shutil.which("git")
    if not git:
        return ""
    return subprocess.run([git, *args], cwd=ROOT, capture_output=True, text=True,  # noqa: S603
                          check=False).stdout.strip()


def environment(*code: str) -> dict:
    """Where a run ran: machine, load, versions, PostgreSQL settings, database, commit, and
    which of the `code` folders (e.g. "cases", "rsd") had uncommitted changes."""
    import django
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        pg = cur.fetchone()[0]
        settings = {}
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost",
                     "max_parallel_workers_per_gather", "synchronous_commit"):
            cur.execute(f"SHOW {name}")
            settings[name] = cur.fetchone()[0]
        cur.execute("SELECT pg_database_size(current_database())")
        size = cur.fetchone()[0]
    return {
        "date": timezone.localdate().isoformat(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(), "django": django.get_version(),
        "postgres": pg, "postgres_settings": settings,
        "database": connection.settings_dict["NAME"], "database_bytes": size,
        "cpus": os.cpu_count(), "machine": platform.machine(),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes_in": [c for c in code if _git("status", "--porcelain", "--", c)],
    }


def end_of_run(env: dict) -> None:
    env["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]


def result_path(script: str = "") -> Path:
    """results/latest[-<script>].json"""
    return RESULTS_DIR / f"latest{'-' + script if script else ''}.json"


def with_previous(script: str, out: dict) -> dict:
    """out on top of the previous run's results (for --only: the other groups' figures stay)."""
    path = result_path(script)
    if not path.exists():
        return out
    previous = json.loads(path.read_text())
    return {**{k: v for k, v in previous.items() if k not in out}, **out,
            "previous_environment": previous.get("environment")}


def write_results(script: str, out: dict, *, baseline: bool = False, tag: str = "") -> None:
    """results/latest[-<script>].json, and with baseline also
    results/baseline[-<script>]-<date>[-<tag>].json."""
    from django.utils import timezone

    paths = [result_path(script)]
    if baseline:
        date = f"{timezone.localdate():%Y-%m-%d}"
        name = "-".join(p for p in ("baseline", script, date, tag) if p)
        paths.append(RESULTS_DIR / f"{name}.json")
    for path in paths:
        write_json(path, out)
        print(f"Wrote {path}")


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
