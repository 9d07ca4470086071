"""An import of a large file while the office keeps registering people.

    .venv/bin/python bench/imports.py --rows 100000

Drops and creates its database (DATABASE_URL, by default amparo_bench_imports: never the
other scripts' amparo_bench; the name must contain "bench"), with one office (MX-CDMX), a
supervisor who imports and a caseworker at the desk. The file is a CSV of --rows people
made once, in a child process, with bench/generate.py's Faker names (es_MX, es, en_US, fixed
seed), dates of birth, Mexican phone numbers, addresses and documents; kept in var/bench/.
The import runs as the web's jobs do (sealed upload, then run_import_job) in this process;
meanwhile a second thread registers a person and opens their case in the same office every
--every seconds and times both. Audit events go to the background linker (as with a broker)
and are linked at the end.

Prints and writes results/latest-imports.json: rows per second (checking, writing, whole),
the peak RSS of this process (resource.getrusage; the file is made in the child), and the
desk's latencies before and during the import (median, p95, max).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("AMPARO_AUDIT_LINKER", "background")
# A database of its own, dropped at each run: never the other scripts' amparo_bench.
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/amparo_bench_imports")
import common

common.setup_django()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from audit import chain  # noqa: E402
from cases import importing, services  # noqa: E402
from cases.crypto.datakeys import key_scope  # noqa: E402
from cases.models import Case, Office, Person, Role, User  # noqa: E402

OFFICE = ("MX-CDMX", "COMAR Ciudad de México", "MX", "Ciudad de México")
SEED = 20261203


def make_file(rows: int, path: Path) -> None:
    """The CSV of `rows` people (run in a child process: its memory is not the import's)."""
    import generate  # bench/generate.py: the names, addresses and documents of the bench

    rng = random.Random(SEED)
    names = generate.NameMaker(SEED, rng)
    today = timezone.localdate()
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(importing.COLUMNS)
    for _ in range(rows):
        loc = names.locale()
        sex = rng.choice(["female", "male"])
        given, family = names.person(loc, sex, None)
        nationality = generate._weighted(rng, generate.NATIONALITIES)
        dob = generate._dob(rng, today)
        doc_type, doc_number, _country = names.document(nationality)
        writer.writerow([
            given, family, names.alias(given, family) if rng.random() < 0.1 else "",
            dob.isoformat() if dob else "", sex, nationality,
            rng.choice(["es", "es", "es;en", "mam;es"]), names.phone("MX"),
            names.email(given, family) if rng.random() < 0.4 else "", names.address(loc),
            doc_type, doc_number, OFFICE[0], "trafficking" if rng.random() < 0.15 else "asylum",
        ])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8")


def prepare() -> tuple[Office, User, User]:
    common.prepare_database(reset=True)
    services.ensure_role_groups()
    code, name, country, city = OFFICE
    office = Office.objects.create(code=code, name=name, country=country, city=city)
    supervisor = User.objects.create_user(username="bench-importer", password=None,
                                          preferred_language="en")
    desk = User.objects.create_user(username="bench-desk", password=None)
    services.grant_membership(by=None, user=supervisor, office=office, role=Role.SUPERVISOR)
    services.grant_membership(by=None, user=desk, office=office, role=Role.CASEWORKER)
    return office, supervisor, desk


class Desk(threading.Thread):
    """Registers a person and opens their case every `every` seconds until stopped."""

    def __init__(self, office: Office, by: User, every: float) -> None:
        super().__init__(daemon=True)
        self.office, self.by, self.every = office, by, every
        self.stop = threading.Event()
        self.samples: list[tuple[float, float, float]] = []  # (at, register, open) seconds
        self.rng = random.Random(7)

    def one(self) -> tuple[float, float]:
        data = services.PersonData(
            given_names=f"Ventanilla {len(self.samples)}",
            family_names=self.rng.choice(["Hernández", "García", "López"]),
            sex="female", date_of_birth=datetime.date(1990, 1, 1 + len(self.samples) % 28),
            nationalities=["HN"], languages=["es"])
        t0 = time.perf_counter()
        person = services.register_person(by=self.by, office=self.office, data=data,
                                           check_duplicates=True)
        t1 = time.perf_counter()
        services.open_case(by=self.by, person=person, kind="asylum")
        return t1 - t0, time.perf_counter() - t1

    def run(self) -> None:
        try:
            with key_scope():
                while not self.stop.is_set():
                    started = time.perf_counter()
                    register, open_case = self.one()
                    self.samples.append((started, register, open_case))
                    self.stop.wait(max(0.0, self.every - (time.perf_counter() - started)))
        finally:
            connection.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--every", type=float, default=1.0, help="seconds between registrations")
    ap.add_argument("--quiet", type=int, default=30,
                    help="registrations timed before the import starts")
    ap.add_argument("--make-file", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_file:
        make_file(args.rows, Path(args.make_file))
        return

    path = common.ROOT / "var" / "bench" / f"import-{args.rows}-{SEED}.csv"
    if not path.exists():
        print(f"Making {path.name} in a child process ...", flush=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--make-file",  # noqa: S603
                        str(path)], check=True)
        print(f"  {time.perf_counter() - t0:.0f} s", flush=True)
    data = path.read_bytes()
    office, supervisor, desk_user = prepare()
    env = common.environment("cases")
    print(f"Importing {args.rows:,} rows ({len(data) / 1e6:.1f} MB) into "
          f"{connection.settings_dict['NAME']}, chunks of {importing.chunk_rows()} rows",
          flush=True)

    # The desk before the import: what a registration costs in a quiet office.
    desk = Desk(office, desk_user, args.every)
    desk.start()
    while len(desk.samples) < args.quiet:
        time.sleep(args.every / 4)
    before = len(desk.samples)

    marks: dict[str, float] = {}
    writing = importing.JobLedger.writing

    def mark_writing(self: importing.JobLedger) -> None:
        marks["writing"] = time.perf_counter()
        writing(self)

    importing.JobLedger.writing = mark_writing  # type: ignore[method-assign]
    importing._dispatch = lambda job_id: None  # this process runs the job itself
    rss_before = common.peak_rss_mib()
    t0 = time.perf_counter()
    with key_scope():
        job = importing.queue_import(by=supervisor, office=office, data=data,
                                     filename="bench.csv")
        job = importing.run_import_job(job_id=job.pk)
    t1 = time.perf_counter()
    during = [s for s in desk.samples[before:] if s[0] < t1]
    desk.stop.set()
    desk.join()
    if job is None or job.status != "done":
        sys.exit(f"The import did not finish: {job and (job.status, job.report[:3])}")
    rss_peak = common.peak_rss_mib()
    t_link = time.perf_counter()
    linked = chain.link_all()
    t_link = time.perf_counter() - t_link

    def latencies(samples: list[tuple[float, float, float]]) -> dict:
        return {"register": common.ms_summary([s[1] for s in samples]),
                "open_case": common.ms_summary([s[2] for s in samples]),
                "both": common.ms_summary([s[1] + s[2] for s in samples])}

    checking = marks["writing"] - t0
    writing_s = t1 - marks["writing"]
    out = {
        "environment": env,
        "rows": args.rows, "file_bytes": len(data), "chunk_rows": importing.chunk_rows(),
        "created": job.created, "skipped": job.skipped, "rejected": job.rejected,
        "seconds": {"checking": round(checking, 1), "writing": round(writing_s, 1),
                    "whole": round(t1 - t0, 1), "linking_audit": round(t_link, 1)},
        "rows_per_second": {"checking": round(args.rows / checking),
                            "writing": round(job.created / writing_s, 1),
                            "whole": round(args.rows / (t1 - t0), 1)},
        "peak_rss_mib": {"before_import": rss_before, "after_import": rss_peak},
        "audit_events_linked": linked,
        "desk_before": latencies(desk.samples[:before]),
        "desk_during": latencies(during),
        "people": Person.objects.filter(office=office).count(),
        "cases": Case.objects.filter(office=office).count(),
        "db_settings": {"CONN_MAX_AGE": settings.DATABASES["default"].get("CONN_MAX_AGE")},
        "finished": timezone.now().isoformat(),
    }
    common.end_of_run(env)
    print(f"checking {checking:.0f} s ({out['rows_per_second']['checking']:,} rows/s), "
          f"writing {writing_s:.0f} s ({out['rows_per_second']['writing']} people/s), "
          f"whole {t1 - t0:.0f} s ({out['rows_per_second']['whole']} rows/s)")
    print(f"peak RSS {rss_before} MiB before the import, {rss_peak} MiB after")
    for label, key in (("quiet office", "desk_before"), ("during the import", "desk_during")):
        both = out[key]["both"]
        print(f"desk, {label}: {both['n']} registrations + case openings, median "
              f"{both.get('median_ms')} ms, p95 {both.get('p95_ms')} ms, max {both.get('max_ms')} ms")
    common.write_results("imports", out)


if __name__ == "__main__":
    main()
