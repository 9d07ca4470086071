"""The HTCDS import's rate and the CTDC export over 100,000 victims.

    .venv/bin/python bench/tip_import.py --import-rows 2000 --victims 100000

Drops and creates its database (DATABASE_URL, by default amparo_bench_tipimport; the name
must contain "bench"), with one office (MX-TAP) and its supervisor.

1. Import: an HTCDS CSV of --import-rows victims (Faker es_MX, fixed seed) through
   tip.importing.import_htcds, as the command runs it: rows/s checking, writing and whole;
   then the same file again (every row skipped).
2. Export: --victims trafficking cases loaded in bulk (people with their clear fields only,
   cases, victim profiles, an exploitation event each, consent to statistics for 90%), then
   tip.exports.export with k = 11 (and --k): seconds, peak RSS, records generalised and
   left out.

Prints and writes results/latest-tip_import.json.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import os
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("AMPARO_AUDIT_LINKER", "background")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/amparo_bench_tipimport")
import common

common.setup_django()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from faker import Faker  # noqa: E402

from cases import importing, services  # noqa: E402
from cases.crypto.datakeys import key_scope  # noqa: E402
from cases.models import Case, Consent, Office, Person, Role, User  # noqa: E402
from tip import ctdc, exports  # noqa: E402
from tip.importing import import_htcds  # noqa: E402
from tip.models import TraffickingEvent, VictimProfile  # noqa: E402
from tip.vocab import Exploitation, Industry, MeansOfControl, RelationToRecruiter  # noqa: E402

OFFICE = ("MX-TAP", "COMAR Tapachula", "MX", "Tapachula")
SEED = 20261204
COUNTRIES = ["GT", "HN", "SV", "NI", "VE", "CU", "HT", "CO", "EC", "MX"]
WEIGHTS = [30, 25, 15, 8, 8, 5, 4, 2, 2, 1]
HEADER = ["prs_FirstName", "prs_SecondName", "prs_Birthdate", "prs_Gender", "prs_Citizenship",
          "con_Consent", "vic_TraffickingStatus", "vic_MethodsOfControl", "vic_TypeOfExploitation",
          "vic_ForcedLabourIndustry", "vic_TypeOfSexExploitation", "vic_LocationOfRecruitment",
          "vic_LocationOfExploitation"]


def htcds_csv(rows: int) -> bytes:
    fake = Faker("es_MX")
    fake.seed_instance(SEED)
    rng = random.Random(SEED)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for _ in range(rows):
        sexual = rng.random() < 0.5
        writer.writerow([
            fake.first_name(), fake.last_name(),
            fake.date_of_birth(minimum_age=14, maximum_age=60).isoformat(),
            rng.choice(["Feminine", "Masculine"]), rng.choices(COUNTRIES, WEIGHTS)[0],
            rng.choice(["TRUE", "TRUE", "FALSE"]), "Possible victim of trafficking",
            "; ".join(rng.sample(["Debt bondage", "Withholds documents", "Physical threats",
                                  "False promises"], 2)),
            "Sexual exploitation" if sexual else "Forced labour",
            "" if sexual else rng.choice(["Agriculture, forestry and fishing", "Construction"]),
            "Prostitution" if sexual else "", rng.choices(COUNTRIES, WEIGHTS)[0], "MX",
        ])
    return out.getvalue().encode()


def prepare() -> tuple[Office, User]:
    common.prepare_database(reset=True)
    services.ensure_role_groups()
    code, name, country, city = OFFICE
    office = Office.objects.create(code=code, name=name, country=country, city=city)
    boss = User.objects.create_user(username="bench-tip", password=None, preferred_language="en")
    services.grant_membership(by=None, user=boss, office=office, role=Role.SUPERVISOR)
    return office, boss


def bench_import(office: Office, boss: User, rows: int) -> dict:
    data = htcds_csv(rows)
    marks: dict[str, float] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "importing" and "writing" not in marks:
            marks["writing"] = time.perf_counter()

    t0 = time.perf_counter()
    with key_scope():
        result = import_htcds(by=boss, office=office, data=data, filename="bench.csv",
                              on_progress=progress)
    t1 = time.perf_counter()
    with key_scope():
        again = import_htcds(by=boss, office=office, data=data, filename="bench.csv")
    t2 = time.perf_counter()
    checking, writing = marks["writing"] - t0, t1 - marks["writing"]
    return {"rows": rows, "file_bytes": len(data), "chunk_rows": importing.chunk_rows(),
            "created": result.created, "rejected": result.rejected,
            "seconds": {"checking": round(checking, 1), "writing": round(writing, 1),
                        "whole": round(t1 - t0, 1), "again": round(t2 - t1, 1)},
            "rows_per_second": {"checking": round(rows / checking),
                                "writing": round(result.created / writing, 1),
                                "whole": round(rows / (t1 - t0), 1),
                                "again": round(rows / (t2 - t1), 1)},
            "again_skipped": again.skipped}


def fill_victims(office: Office, boss: User, victims: int, batch: int = 5000) -> float:
    """Victims in bulk: what the export reads, nothing sealed (the sealed columns stay empty)."""
    rng = random.Random(SEED + 1)
    now = timezone.now()
    year = now.year
    t0 = time.perf_counter()
    made = 0
    while made < victims:
        n = min(batch, victims - made)
        people, cases, profiles, events, consents = [], [], [], [], []
        for i in range(n):
            pid, cid = uuid.uuid4(), uuid.uuid4()
            sex = rng.choice(["female", "female", "male"])
            people.append(Person(id=pid, office=office, registered_by=boss, sex=sex,
                                 birth_year=year - rng.randint(8, 65),
                                 nationalities=[rng.choices(COUNTRIES, WEIGHTS)[0]]))
            cases.append(Case(id=cid, reference=f"{office.code}-B-{made + i:07d}", office=office,
                              kind="trafficking", state="active", principal_id=pid,
                              opened_by=boss,
                              opened_at=now - datetime.timedelta(days=rng.randint(0, 2000))))
            kinds = [rng.choice([Exploitation.SEXUAL, Exploitation.FORCED_LABOUR,
                                 Exploitation.FORCED_BEGGING])]
            profiles.append(VictimProfile(
                case_id=cid, person_id=pid, recorded_by=boss,
                age_when_trafficked=rng.randint(8, 50),
                relation_to_recruiter=rng.choice(RelationToRecruiter.values),
                means_of_control=rng.sample(MeansOfControl.values, 2), exploitation_types=kinds,
                forced_labour_industry=(rng.choice([Industry.A, Industry.F, Industry.T])
                                        if Exploitation.FORCED_LABOUR in kinds else "")))
            events.append(TraffickingEvent(case_id=cid, person_id=pid, recorded_by=boss,
                                           kind="Exploitation",
                                           country=rng.choices(COUNTRIES, WEIGHTS)[0]))
            consents.append(Consent(person_id=pid, purpose="statistics",
                                    given=rng.random() < 0.9, explained_by=boss, language="es"))
        with transaction.atomic():
            Person.objects.bulk_create(people)
            Case.objects.bulk_create(cases)
            VictimProfile.objects.bulk_create(profiles)
            TraffickingEvent.objects.bulk_create(events)
            Consent.objects.bulk_create(consents)
        made += n
    return time.perf_counter() - t0


def bench_export(boss: User, k: int) -> dict:
    rss = common.peak_rss_mib()
    t0 = time.perf_counter()
    with open(os.devnull, "w", newline="", encoding="utf-8") as out:
        report = exports.export(by=boss, out=out, k=k)
    seconds = time.perf_counter() - t0
    return {"k": k, "seconds": round(seconds, 1), "records_in": report.records_in,
            "records_out": report.records_out, "generalised": report.records_generalised,
            "suppressed": report.records_suppressed, "cells": report.cells_generalised,
            "records_per_second": round(report.records_in / seconds),
            "peak_rss_mib": {"before": rss, "after": common.peak_rss_mib()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--import-rows", type=int, default=2000)
    ap.add_argument("--victims", type=int, default=100_000)
    ap.add_argument("--k", type=int, action="append", help="k of the export (default 11)")
    args = ap.parse_args()
    office, boss = prepare()
    env = common.environment("tip", "cases")
    print(f"Importing {args.import_rows:,} HTCDS rows into {connection.settings_dict['NAME']}",
          flush=True)
    imported = bench_import(office, boss, args.import_rows)
    rate = imported["rows_per_second"]
    print(f"  checking {rate['checking']:,} rows/s, writing {rate['writing']} rows/s, whole "
          f"{rate['whole']} rows/s; the same file again {rate['again']} rows/s "
          f"({imported['again_skipped']} skipped)", flush=True)
    print(f"Loading {args.victims:,} victims in bulk ...", flush=True)
    fill = fill_victims(office, boss, args.victims)
    common.vacuum_analyze()
    print(f"  {fill:.0f} s", flush=True)
    exported = []
    for k in args.k or [ctdc.DEFAULT_K]:
        result = bench_export(boss, k)
        exported.append(result)
        print(f"CTDC export, k = {k}: {result['records_in']:,} records in {result['seconds']} s "
              f"({result['records_per_second']:,}/s), {result['generalised']:,} generalised, "
              f"{result['suppressed']:,} left out, cells {result['cells']}; peak RSS "
              f"{result['peak_rss_mib']['after']} MiB", flush=True)
    common.end_of_run(env)
    common.write_results("tip_import", {"environment": env, "import": imported,
                                        "victims": args.victims, "fill_seconds": round(fill, 1),
                                        "export": exported, "finished": timezone.now().isoformat()})


if __name__ == "__main__":
    main()
