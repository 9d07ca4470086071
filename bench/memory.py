"""A gunicorn worker's memory (RSS) over 10,000 requests of the pages people use most.

    .venv/bin/python bench/memory.py                      # 2 workers, 10,000 requests
    .venv/bin/python bench/memory.py --requests 2000 --every 500

gunicorn serves settings.wsgi with production settings as in bench/throughput.py (whose
helpers start, query and stop it). The requests cycle through the case page, the person
page, the case list and the dashboard, as the MX-CDMX caseworker with the most cases and as
a supervisor of that office, from 2 x workers client threads (--clients; a new connection
each, as sync workers close them). Every --every requests the RSS of each worker is read from /proc;
the budget is < 250 MB per worker after 10,000 requests. Audit events are written with the
background linker and linked at the end. Results go to bench/results/latest-memory.json.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import throughput  # sets up Django on the bench database
from django.db.models import Count

from audit import chain
from cases.models import Case, Membership, Office, Role, User

BUDGET_MB = 250


def worker_rss_mb(master: int) -> dict[int, float]:
    """VmRSS of each of gunicorn's workers, in MB."""
    out = {}
    for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        out[int(pid)] = round(kib / 1024, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--every", type=int, default=1_000, help="read the RSS every N requests")
    ap.add_argument("--clients", type=int, default=0,
                    help="client threads (default 2 x workers; 1 is gentler on a shared machine)")
    args = ap.parse_args()
    common.require_data()
    env = common.environment("cases", "rsd", "audit")

    office = Office.objects.get(code=common.BIG_OFFICE)
    top = (Case.objects.filter(office=office, assigned_to__isnull=False)
           .values("assigned_to").annotate(n=Count("pk")).order_by("-n").first())
    caseworker = User.objects.get(pk=top["assigned_to"])
    supervisor = Membership.objects.filter(office=office, role=Role.SUPERVISOR).order_by("pk").first().user
    case = Case.objects.filter(assigned_to=caseworker).order_by("pk").first()
    pages = {"case": f"/cases/{case.pk}/", "person": f"/people/{case.principal_id}/",
             "list": "/cases/?show=all", "dashboard": "/"}
    mix = [(name, path, throughput.session_cookie(user))
           for user in (caseworker, supervisor) for name, path in pages.items()]
    throughput.collectstatic()

    proc, port = throughput.start("background", args.workers)
    samples, failures = [], 0
    try:
        for _, path, cookie in mix:  # warm every worker: imports, templates, keys
            for _ in range(2 * args.workers):
                if (status := throughput.get(port, path, cookie)) != 200:
                    sys.exit(f"{path} answered {status}, not 200")
        samples.append({"requests": 0, "rss_mb": worker_rss_mb(proc.pid)})
        print(f"after warm-up: {samples[-1]['rss_mb']} MB", flush=True)
        cycle = itertools.cycle(mix)
        done, t0 = 0, time.perf_counter()
        with ThreadPoolExecutor(args.clients or 2 * args.workers) as pool:
            while done < args.requests:
                batch = [next(cycle) for _ in range(min(args.every, args.requests - done))]
                statuses = list(pool.map(lambda r: throughput.get(port, r[1], r[2]), batch))
                failures += sum(s != 200 for s in statuses)
                done += len(batch)
                samples.append({"requests": done, "rss_mb": worker_rss_mb(proc.pid)})
                print(f"{done:>6} requests  {time.perf_counter() - t0:6.1f} s  "
                      f"RSS {samples[-1]['rss_mb']} MB  non-200 {failures}", flush=True)
    finally:
        throughput.stop(proc)
    linked = chain.link_all()
    common.end_of_run(env)
    last = max(samples[-1]["rss_mb"].values())
    first = max(samples[0]["rss_mb"].values())
    verdict = "within" if last < BUDGET_MB else "OVER"
    print(f"largest worker after {args.requests} requests: {last} MB (after warm-up {first} MB); "
          f"{verdict} the {BUDGET_MB} MB budget; {failures} non-200; linked {linked} events")
    common.write_results("memory", {
        "environment": env, "workers": args.workers, "requests": args.requests,
        "pages": pages, "users": [caseworker.username, supervisor.username],
        "samples": [{"requests": s["requests"], "rss_mb": list(s["rss_mb"].values())} for s in samples],
        "largest_worker_mb": last, "after_warm_up_mb": first, "non_200": failures,
        "budget_mb": BUDGET_MB,
    })


if __name__ == "__main__":
    main()
