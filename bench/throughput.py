"""Requests per second under gunicorn, measured with wrk, in both audit linker modes.

    .venv/bin/python bench/throughput.py                 # 1, 2, 4 workers, inline and background
    .venv/bin/python bench/throughput.py --modes background --workers 4 --seconds 5
    .venv/bin/python bench/throughput.py --modes background --workers 2 --pages case_list,dashboard

For W sync workers and each mode (AMPARO_AUDIT_LINKER=inline, background, back to back so
both meet the same load), gunicorn serves settings.wsgi with production settings on a free
loopback port, and wrk -t2 -c(2*W) --latency runs --seconds against /health/ (one SELECT 1,
no login, no audit event: the ceiling the ratios are taken against), the person page
/people/<id>/ (one person.view event), the case page /cases/<id>/ (the caseworker's case
nearest a 12-step history; one case.view event), the case list /cases/?show=all (one
case.list event), the dashboard / and a step form (GET of a step the caseworker may take on
one of their cases in a procedure, schedule_interview where there is one; one case.view
event; missing when no case is in a procedure: bench/workflow.py --only fill), as the
MX-CDMX caseworker with the most cases, through a session made here. --pages picks a
subset. bench/budgets.py calls measure() with 2 workers. Requests carry
X-Forwarded-Proto: https, as from the TLS proxy prod expects. CELERY_BROKER_URL is set
because prod settings want it; no worker runs.

Each run first checks the pages answer 200, then counts the audit events it wrote and the
CPU time of gunicorn's processes and of the database's backends per request (/proc). After
each gunicorn run, chain.link_all() links what is pending (background: all the run wrote;
inline: nothing should be left, and it is timed) and audit.verify.verify() checks the chain.
Results go to bench/results/latest-throughput.json (--baseline: also
baseline-throughput-<date>.json).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

# The session is signed with the server's secret key: one for this process and gunicorn.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(60))
os.environ.setdefault("AMPARO_VAR_DIR", str(common.ROOT / "var" / "bench" / "http"))
common.setup_django()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Exists, F, Func, OuterRef  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils.module_loading import import_module  # noqa: E402

from audit import chain, verify  # noqa: E402
from audit.models import AuditEvent, ChainLink  # noqa: E402
from cases.models import Case, Office, User  # noqa: E402

PY = str(common.ROOT / ".venv" / "bin" / "python")
# The server runs settings.prod, whose session cookie has its own name (this process runs
# settings.dev); each page is checked for a 200 before it is timed.
SERVER_SESSION_COOKIE = "__Host-amparo_session"


def server_env(mode: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.prod", "ALLOWED_HOSTS": "127.0.0.1",
           "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14", "AMPARO_AUDIT_LINKER": mode,
           "LOG_LEVEL": "WARNING"}
    # Pages are timed, not the per-user budgets: one account asks for thousands of pages.
    for budget in ("SEARCHES", "VIEWS", "EXPORTS"):
        env[f"AMPARO_RATELIMIT_{budget}"] = "1000000000/600"
    return env


def collectstatic() -> None:
    """Prod keeps static files in a manifest; collect them once into AMPARO_VAR_DIR/static."""
    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        subprocess.run([PY, "manage.py", "collectstatic", "--noinput", "-v0"],  # noqa: S603
                       cwd=common.ROOT, env=server_env("inline"), check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, cookie: str = "") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"X-Forwarded-Proto": "https", "Cookie": cookie})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def start(mode: str, workers: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603
        [PY, "-m", "gunicorn", "settings.wsgi", "-w", str(workers), "-k", "sync",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--graceful-timeout", "10"],
        cwd=common.ROOT, env=server_env(mode))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"gunicorn exited with {proc.returncode}")
        try:
            if get(port, "/health/live/") == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.2)
    stop(proc)
    sys.exit("gunicorn did not answer /health/live/ within 60 s")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)  # graceful: workers finish their request and exit
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wrk(port: int, path: str, conns: int, seconds: int, cookie: str) -> dict:
    out = subprocess.run(  # noqa: S603
        ["/usr/bin/wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "-H",
         "X-Forwarded-Proto: https", "-H", f"Cookie: {cookie}", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True, timeout=seconds + 30).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "p50_ms": ms("50%"), "p99_ms": ms("99%"),
            "non_2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(1) if errors else ""}


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each process so far (/proc/<pid>/stat)."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def server_pids(proc: subprocess.Popen) -> list[int]:
    """gunicorn's master and workers."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return [proc.pid, *map(int, children)]


class BackendCpu:
    """CPU time of the PostgreSQL backends serving this database (ours aside) over a run,
    sampled every 0.2 s from /proc: a worker's connection is replaced after CONN_MAX_AGE, and
    a backend that starts during the run counts from its start, one that ends until its last
    sample (a read of the backends at the start alone missed every replaced connection)."""

    def __init__(self) -> None:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            self.own = cur.fetchone()[0]
        self.title = f" {connection.settings_dict['NAME']} ".encode()
        self.first: dict[int, float] = dict(cpu_seconds(self.backends()))
        self.last = dict(self.first)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def backends(self) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == self.own:
                continue
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and self.title in title:
                found.append(int(entry.name))
        return found

    def _sample(self) -> None:
        while not self.done.wait(0.2):
            for pid, cpu in cpu_seconds(self.backends()).items():
                self.first.setdefault(pid, 0.0)
                self.last[pid] = cpu

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def session_cookie(user: User) -> str:
    """A signed-in session in the store the server reads (settings.SESSION_ENGINE)."""
    s = import_module(settings.SESSION_ENGINE).SessionStore()
    s[SESSION_KEY] = str(user.pk)
    s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    s[HASH_SESSION_KEY] = user.get_session_auth_hash()
    s.create()
    return f"{SERVER_SESSION_COOKIE}={s.session_key}"


def unlinked() -> int:
    return AuditEvent.objects.filter(~Exists(ChainLink.objects.filter(event_id=OuterRef("pk")))).count()


def caseworker() -> User:
    """The MX-CDMX caseworker with the most cases (as run.py and workflow.py pick)."""
    office = Office.objects.get(code=common.BIG_OFFICE)
    top = (Case.objects.filter(office=office, assigned_to__isnull=False)
           .values("assigned_to").annotate(n=Count("pk")).order_by("-n").first())
    return User.objects.get(pk=top["assigned_to"])


def step_form_url(user: User) -> str | None:
    """A step page the user may open now on one of their cases in a procedure (the
    commonest first: scheduling the interview), or None when no case is in a procedure."""
    from cases import workflow
    from cases.steps import pages_for

    mine = (Case.objects.filter(assigned_to=user, closed_at__isnull=True)
            .exclude(procedure="").order_by("state", "pk"))
    fallback = None
    for case in mine[:200]:
        wf = workflow.for_case(case)
        if wf is None:
            continue
        step_url = wf.options.step_url
        if not step_url:
            continue
        pages = pages_for(step_url)
        for t in workflow.available(case, user):
            if t.name in pages:
                url = reverse(step_url, kwargs={"case_id": case.pk, "name": t.name})
                if t.name == "schedule_interview":
                    return url
                fallback = fallback or url
    return fallback


def dozen_step_case(user: User) -> Case:
    """The user's case with a history nearest 12 steps (open first), else their first."""
    mine = Case.objects.filter(assigned_to=user)
    case = (mine.exclude(procedure="").annotate(d=Func(F("step_no") - 12, function="ABS"))
            .order_by("d", F("closed_at").asc(nulls_first=True), "pk").first())
    return case or mine.order_by("pk").first()


def pages(user: User, names: list[str] | None = None) -> dict[str, str]:
    """The URLs measured: name -> path; /health/ first (the ratios' reference)."""
    case = dozen_step_case(user)
    urls = {"health": "/health/", "person": f"/people/{case.principal_id}/",
            "case": f"/cases/{case.pk}/", "case_list": "/cases/?show=all", "dashboard": "/"}
    step = step_form_url(user)
    if step:
        urls["step_form"] = step
    else:
        print("no case of the user is in a procedure: no step form page "
              "(bench/workflow.py --only fill puts cases into their procedures)", flush=True)
    if names:
        urls = {k: v for k, v in urls.items() if k == "health" or k in names}
    return urls


def measure(mode: str, workers: int, urls: dict[str, str], cookie: str, seconds: int,
            after=None, rows: list | None = None) -> tuple[list[dict], dict]:
    """One gunicorn (mode, workers): wrk over each URL in turn, then link and verify the
    chain. after(proc, port) runs before gunicorn stops (budgets.py: RSS of its workers).
    Returns the rows (appended to `rows` if given) and the linking figures."""
    rows = [] if rows is None else rows
    proc, port = start(mode, workers)
    try:
        for path in urls.values():  # warm every worker: imports, templates, keys
            for _ in range(3 * workers):
                if (status := get(port, path, cookie)) != 200:
                    sys.exit(f"{path} answered {status}, not 200")
        health = None
        app = server_pids(proc)
        for name, path in urls.items():
            before = AuditEvent.objects.count()
            cpu, db = cpu_seconds(app), BackendCpu()
            r = wrk(port, path, 2 * workers, seconds, cookie)
            db_s = db.stop()
            app_s = sum(v - cpu[pid] for pid, v in cpu_seconds(list(cpu)).items())
            r.update(mode=mode, workers=workers, url=name, path=path,
                     events=AuditEvent.objects.count() - before,
                     app_cpu_ms=round(app_s * 1000 / r["requests"], 2),
                     db_cpu_ms=round(db_s * 1000 / r["requests"], 2),
                     load=round(os.getloadavg()[0], 2))
            if r["non_2xx"]:
                sys.exit(f"{path}: {r['non_2xx']} answers were not 2xx (refusals are not pages)")
            health = health or r["rps"]
            r["ratio"] = round(r["rps"] / health, 3)
            rows.append(r)
            print(f"  {mode:<10} W={workers} {name:<9} {r['rps']:8.1f} req/s  "
                  f"p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
                  f"x{r['ratio']:.3f}  cpu/req app {r['app_cpu_ms']} db {r['db_cpu_ms']} ms  "
                  f"events {r['events']}  non-2xx {r['non_2xx']}  "
                  f"load {r['load']}", flush=True)
        if after is not None:
            after(proc, port)
    finally:
        stop(proc)
    pending = unlinked()
    t0 = time.perf_counter()
    linked = chain.link_all()
    link_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = verify.verify()
    link = {"mode": mode, "workers": workers, "pending": pending, "linked": linked,
            "link_s": round(link_s, 3), "ok": report.ok, "chain": report.links,
            "verify_s": round(time.perf_counter() - t0, 2)}
    print(f"  {mode:<10} W={workers} linked {linked} events in {link_s:.2f} s "
          f"({linked / link_s if link_s else 0:,.0f}/s); verify ok={report.ok} over "
          f"{report.links} links in {link['verify_s']} s", flush=True)
    if not report.ok:
        sys.exit(f"verify failed: {report.failure}")
    return rows, link


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="inline,background")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--pages", default="",
                    help="comma-separated subset of person,case,case_list,dashboard,step_form")
    ap.add_argument("--baseline", action="store_true",
                    help="also write bench/results/baseline-throughput-<date>.json")
    args = ap.parse_args()
    common.require_data()
    env = common.environment("cases", "audit")

    user = caseworker()
    urls = pages(user, [p for p in args.pages.split(",") if p])
    cookie = session_cookie(user)
    collectstatic()
    print(f"user {user.username}: " + ", ".join(f"{k} {v}" for k, v in urls.items())
          + f"; pending before: {chain.link_all()} linked", flush=True)

    rows, links = [], []
    for workers in map(int, args.workers.split(",")):  # the modes back to back: same load
        for mode in args.modes.split(","):
            r, link = measure(mode, workers, urls, cookie, args.seconds)
            rows += r
            links.append(link)

    common.end_of_run(env)
    print(f"\n{'mode':<10} {'W':>2} {'url':<9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'x health':>8} {'app ms':>7} {'db ms':>6} {'events':>7} {'load':>5}")
    for r in rows:
        print(f"{r['mode']:<10} {r['workers']:>2} {r['url']:<9} {r['rps']:8.1f} {r['p50_ms']:8.2f} "
              f"{r['p99_ms']:8.2f} {r['ratio']:8.3f} {r['app_cpu_ms']:7.2f} {r['db_cpu_ms']:6.2f} "
              f"{r['events']:>7} {r['load']:>5}")
    print(f"load average at start {env['load_average_at_start']}, "
          f"at end {env['load_average_at_end']}")
    common.write_results("throughput", {"environment": env, "user": user.username, "urls": urls,
                                  "seconds": args.seconds, "runs": rows, "linking": links},
                         baseline=args.baseline)


if __name__ == "__main__":
    main()
