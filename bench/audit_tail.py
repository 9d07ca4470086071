"""How long a committed audit event stays unwitnessed: from its commit to its head in the
witness file (heads.log in the sink), the window in which deleting it would go unseen by
verify_audit. Inline linker, and background linker run by a real Celery worker with beat
on a broker.

    .venv/bin/python bench/audit_tail.py                               # both modes, ~2 min
    .venv/bin/python bench/audit_tail.py --modes background --rate 50 --seconds 60
    .venv/bin/python bench/audit_tail.py --broker amqp://guest@127.0.0.1:5672//

inline-unwitnessed: the inline linker with the witness switched off, for the emit latency
a request paid before the witness (no window).

--writers processes (forked, each with its own connection) emit `person.view` events in
autocommit, as a page view does, paced to --rate events per second in all for --seconds.
The commit time of each event is taken in a post_save receiver of AuditEvent (in autocommit
the INSERT has committed when save() sends it). The witnessed time of an event is the `at`
of the first witness line whose position reaches the event's position (taken just before
that line's write and fsync; the inline run also times witness.record whole). The window
is the difference, on one machine's clock.

background: a Celery worker with embedded beat (`celery -A settings worker -B`, one
process, AMPARO_AUDIT_LINK_SECONDS as configured, default 2) on --broker, started before
and stopped (SIGTERM to the process group this script started) after the run.

Results: bench/results/latest-audit_tail.json (--baseline: also baseline-audit_tail-<date>).
"""

from __future__ import annotations

import argparse
import bisect
import datetime
import json
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

common.setup_django()

from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402
from django.db.models.signals import post_save  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from audit import chain, signing, verify, witness  # noqa: E402
from audit.models import AuditEvent, ChainLink  # noqa: E402
from cases import events  # noqa: E402

PY = str(common.ROOT / ".venv" / "bin" / "python")
CELERY = str(common.ROOT / ".venv" / "bin" / "celery")


def _writer(mode: str, rate: float, seconds: float, start_at: float, seed: int, queue) -> None:
    """One writer process: emit paced events from start_at; report (id, commit time) pairs."""
    rng = random.Random(seed)
    committed: dict[int, float] = {}
    record_s: list[float] = []
    emit_s: list[float] = []

    def stamp(sender, instance, created, **kwargs) -> None:
        committed[instance.pk] = time.time()

    post_save.connect(stamp, sender=AuditEvent, weak=False)
    real_record = witness.record

    def timed_record(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return real_record(*args, **kwargs)
        finally:
            record_s.append(time.perf_counter() - t0)

    witness.record = timed_record
    if mode == "inline-unwitnessed":  # what the request paid before the witness existed
        witness.record_after_link = lambda position, head_hash: None
    with override_settings(AMPARO_AUDIT_LINKER=mode.split("-")[0]):
        n = int(rate * seconds)
        while time.time() < start_at:
            time.sleep(0.001)
        for i in range(n):
            due = start_at + i / rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            t0 = time.perf_counter()
            events.emit("person.view", object_type="cases.person",
                        object_id=str(rng.randrange(1, 100000)))
            emit_s.append(time.perf_counter() - t0)
    queue.put({"committed": committed, "record_s": record_s, "emit_s": emit_s})
    connections.close_all()


def _witness_lines(offset: int) -> list[tuple[int, float]]:
    """(position, at as a timestamp) of the witness lines after byte `offset`."""
    path = witness.path()
    if not path.exists():
        return []
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read()
    out = []
    for raw in data.splitlines():
        head = witness.parse(raw)
        out.append((head.position, datetime.datetime.fromisoformat(head.at).timestamp()))
    return out


def _size() -> int:
    path = witness.path()
    return path.stat().st_size if path.exists() else 0


def _head() -> int:
    return ChainLink.objects.order_by("-position").values_list("position", flat=True).first() or 0


def _wait_witnessed(position: int, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        path = witness.path()
        if path.exists():
            with open(path, "rb") as fh:
                last = signing.last_line(fh)
            if last and witness.parse(last).position >= position:
                return True
        time.sleep(0.05)
    return False


def start_worker(broker: str) -> subprocess.Popen:
    env = {**os.environ, "CELERY_BROKER_URL": broker, "AMPARO_AUDIT_LINKER": "background",
           "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "settings.dev")}
    schedule = common.ROOT / "var" / "bench" / "celerybeat-audit-tail"
    if broker.startswith("redis://"):
        import redis

        redis.Redis.from_url(broker).flushdb()  # a broker database of this bench's own
    log = common.ROOT / "var" / "bench" / "celery-audit-tail.log"
    with open(log, "w") as err:  # the worker keeps its own copy of the descriptor
        return subprocess.Popen(  # noqa: S603
            [CELERY, "-A", "settings", "worker", "-B", "-c", "1", "-l", "WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-s", str(schedule)],
            cwd=common.ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
            stderr=err)


def stop_worker(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)  # the group this script started for the worker
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_mode(mode: str, writers: int, rate: float, seconds: float, broker: str, seed: int) -> dict:
    worker = None
    if mode == "background":
        # Link what earlier runs left, then let the worker pick up one event to show it runs.
        chain.link_all()
        worker = start_worker(broker)
        with override_settings(AMPARO_AUDIT_LINKER="background"):
            events.emit("person.view", object_type="cases.person", object_id="0")
        probe = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
        deadline = time.time() + 90
        while not ChainLink.objects.filter(event_id=probe).exists():
            if time.time() > deadline or worker.poll() is not None:
                stop_worker(worker)
                sys.exit("the Celery worker did not link within 90 s: see "
                         "var/bench/celery-audit-tail.log")
            time.sleep(0.1)
        _wait_witnessed(_head(), 30)
    else:
        chain.link_all()
    offset = _size()
    connections.close_all()
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    start_at = time.time() + 1.0
    procs = [ctx.Process(target=_writer, args=(mode, rate / writers, seconds, start_at + i / rate,
                                               seed * 10 + i, queue)) for i in range(writers)]
    for p in procs:
        p.start()
    got = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    committed = {k: v for g in got for k, v in g["committed"].items()}
    positions = dict(ChainLink.objects.filter(event_id__in=committed).values_list(
        "event_id", "position"))
    deadline = time.time() + 30
    while len(positions) < len(committed) and time.time() < deadline:
        time.sleep(0.2)
        positions = dict(ChainLink.objects.filter(event_id__in=committed).values_list(
            "event_id", "position"))
    ok = False
    if positions and mode != "inline-unwitnessed":
        ok = _wait_witnessed(max(positions.values()), 30)
    if worker is not None:
        stop_worker(worker)
    lines = _witness_lines(offset)
    line_positions = [p for p, _ in lines]
    windows, missing = [], 0
    for event_id, at in committed.items():
        position = positions.get(event_id)
        i = bisect.bisect_left(line_positions, position) if position else len(lines)
        if i == len(lines):
            missing += 1
            continue
        windows.append(lines[i][1] - at)
    record_s = [x for g in got for x in g["record_s"]]
    emit_s = [x for g in got for x in g["emit_s"]]
    row = {"mode": mode, "writers": writers, "rate_per_s": rate, "seconds": seconds,
           "events": len(committed), "witness_lines": len(lines), "not_witnessed": missing,
           "all_witnessed_in_time": ok, "window": common.ms_summary(windows),
           "emit": common.ms_summary(emit_s)}
    if record_s:
        row["witness_record"] = common.ms_summary(record_s)
    if mode == "background":
        row["link_seconds"] = settings.AMPARO_AUDIT_LINK_SECONDS
    w = row["window"]
    print(f"  {mode:<10} {len(committed)} events at {rate:g}/s, {len(lines)} witness lines: "
          f"window p50 {w.get('median_ms', 0):.1f} p95 {w.get('p95_ms', 0):.1f} "
          f"p99 {w.get('p99_ms', 0):.1f} max {w.get('max_ms', 0):.1f} ms; "
          f"emit p50 {row['emit']['median_ms']:.2f} ms"
          + (f"; witness.record p50 {row['witness_record']['median_ms']:.2f} "
             f"p95 {row['witness_record']['p95_ms']:.2f} ms" if record_s else "")
          + (f"; {missing} not witnessed" if missing else ""), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="inline,background",
                    help="inline, background, and inline-unwitnessed (the inline linker with "
                    "the witness switched off: what a request paid before it)")
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--rate", type=float, default=20, help="events per second, all writers")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--broker", default="redis://127.0.0.1:6379/12")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    out = {"environment": common.environment("audit"),
           "args": vars(args), "runs": []}
    print(f"audit tail window on {out['environment']['database']}, witness {witness.path()}",
          flush=True)
    for mode in args.modes.split(","):
        out["runs"].append(run_mode(mode, args.writers, args.rate, args.seconds, args.broker,
                                    args.seed))
    report = verify.verify()
    out["verify_ok"] = report.ok
    out["verify_failure"] = str(report.failure) if report.failure else None
    print(f"  verify: ok={report.ok} {report.failure or ''} ({report.links} links, "
          f"{report.witnessed} witnessed heads compared)")
    common.end_of_run(out["environment"])
    common.write_results("audit_tail", out, baseline=args.baseline, tag=args.tag)
    print(json.dumps([{k: r[k] for k in ("mode", "window")} for r in out["runs"]], indent=1))


if __name__ == "__main__":
    main()
