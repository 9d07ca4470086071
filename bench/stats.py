"""Every statistics screen over a large number of cases (docs/architecture.md#statistics).

    .venv/bin/python bench/stats.py --cases 1000000          # generate, then time
    .venv/bin/python bench/stats.py --keep                   # time the database as it is

Drops and creates its database (DATABASE_URL, by default amparo_bench_stats; the name must
contain "bench"), then loads --cases asylum cases with COPY (people with their clear fields
only: sealed columns stay empty, which the statistics never read) over the six bench
offices and six years: applications, register/decide/close steps, attended interviews,
approved assessments by the office's caseworkers, first-instance decisions with their
legal basis and grounds, appeals and appeal decisions, withdrawals; and --cases / 20
trafficking cases with screenings and identifications.

Then it times, each --reps times (median and worst), for a supervisor of the biggest office
and for a national coordinator reading every office: each indicator of the indicators
screen, the whole screen, each table of the mandate RSD report, decision consistency
(officers and reviewers, split by nationality), UNHCR's annual tables, the PDF report, and
the screens through Django's test client. Prints a table with the load average and writes
results/latest-stats.json.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("AMPARO_AUDIT_LINKER", "background")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/amparo_bench_stats")
import common

common.setup_django()

from django.db import connection, models, transaction  # noqa: E402
from django.db.models.fields import AutoFieldMixin  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from cases import services  # noqa: E402
from cases.crypto.fields import EncryptedField  # noqa: E402
from cases.models import Case, CaseDeadline, CaseStep, Office, Person, User  # noqa: E402
from rsd.models import (  # noqa: E402
    Appeal,
    Application,
    Decision,
    EligibilityAssessment,
    Interview,
)
from stats import (  # noqa: E402
    breakdown,
    consistency,
    facts,
    indicators,
    report_pdf,
    rsd_report,
    unhcr,
)
from stats.indicators import Filters, Period  # noqa: E402
from tip.models import Identification, Screening  # noqa: E402

SEED = 20261205
PROCEDURES = {"MX": "rsd.mx", "CR": "rsd.cr", "BZ": "rsd.bz", "GT": "rsd.unhcr", "PA": "rsd.unhcr"}
COUNTRIES = ["HN", "SV", "GT", "VE", "NI", "HT", "CU", "CO", "EC", "AF"]
WEIGHTS = [30, 12, 12, 10, 8, 8, 7, 5, 4, 4]
FIRST_DAY = datetime.date(2021, 1, 1)
LAST_DAY = datetime.date(2026, 11, 30)
GROUNDS = ["political_opinion", "social_group", "religion", "race", "nationality"]
YEAR = 2026


class Rows:
    """Tuples for COPY in the column order of a model: the values given, else the field's
    default, else NULL (sealed columns, nullable ones), else "" (blank text)."""

    def __init__(self, model: type[models.Model], given: list[str]) -> None:
        self.model = model
        self.table = model._meta.db_table
        self.given = given
        now = timezone.now()
        fields = [f for f in model._meta.concrete_fields
                  if f.attname in given or not isinstance(f, AutoFieldMixin)]
        self.columns = [f.column for f in fields]
        template: list[Any] = []
        self.slots: list[int] = []
        self.fresh: list[tuple[int, Any]] = []  # defaults drawn per row (uuid4)
        for i, f in enumerate(fields):
            if f.attname in given:
                self.slots.append(i)
                template.append(None)
            elif isinstance(f, EncryptedField) or (f.null and not f.has_default()):
                template.append(None)
            elif f.has_default() and callable(f.default) and f.default is uuid.uuid4:
                self.fresh.append((i, uuid.uuid4))
                template.append(None)
            elif f.has_default():
                value = f.get_default()
                template.append(Jsonb(value) if isinstance(f, models.JSONField) else value)
            elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                template.append(now)
            elif f.empty_strings_allowed and not f.is_relation:
                template.append("")
            else:
                raise ValueError(f"{self.table}.{f.column} needs a value")
        order = {name: i for i, name in enumerate(f.attname for f in fields)}
        self.slots = [order[name] for name in given]
        self.template = template
        self.json = {i for i, f in enumerate(fields) if isinstance(f, models.JSONField)}
        self.rows: list[tuple] = []

    def add(self, *values: Any) -> None:
        row = list(self.template)
        for slot, make in self.fresh:
            row[slot] = make()
        for slot, value in zip(self.slots, values, strict=True):
            row[slot] = Jsonb(value) if slot in self.json else value
        self.rows.append(tuple(row))

    def flush(self) -> int:
        if not self.rows:
            return 0
        cols = ", ".join(f'"{c}"' for c in self.columns)
        with connection.cursor() as cur, cur.cursor.copy(
                f'COPY "{self.table}" ({cols}) FROM STDIN') as copy:
            for row in self.rows:
                copy.write_row(row)
        n = len(self.rows)
        self.rows = []
        return n


def staff() -> dict[int, dict[str, list[User]]]:
    services.ensure_role_groups()
    out: dict[int, dict[str, list[User]]] = {}
    for code, name, country, city, _share, sups, cws in common.OFFICES:
        office = Office.objects.create(code=code, name=name, country=country, city=city)
        people: dict[str, list[User]] = {"supervisor": [], "caseworker": [], "analyst": []}
        for role, n in (("supervisor", sups), ("caseworker", cws), ("analyst", 1)):
            for i in range(n):
                user = User.objects.create_user(username=f"{code.lower()}-{role}-{i}",
                                                password=None, first_name=role.title(),
                                                last_name=f"{code} {i}", preferred_language="en")
                services.grant_membership(by=None, user=user, office=office, role=role)
                people[role].append(user)
        out[office.pk] = people
    return out


def generate(n_cases: int, batch: int = 20_000) -> dict:
    rng = random.Random(SEED)
    people_by_office = staff()
    offices = list(Office.objects.order_by("pk"))
    shares = [o[4] for o in common.OFFICES]
    span = (LAST_DAY - FIRST_DAY).days
    today = datetime.date(YEAR, 12, 1)
    now = timezone.now()
    tables = {
        "person": Rows(Person, ["id", "office_id", "registered_by_id", "sex", "birth_year",
                                "nationalities", "created_at"]),
        "case": Rows(Case, ["id", "reference", "office_id", "kind", "procedure", "state",
                            "principal_id", "opened_by_id", "opened_at", "closed_at",
                            "assigned_to_id", "step_no"]),
        "application": Rows(Application, ["case_id", "person_id", "application_date", "channel",
                                          "modality", "recorded_by_id", "priority"]),
        "deadline": Rows(CaseDeadline, ["case_id", "clock", "starts_on", "due_on",
                                        "started_by_step_id", "met_at", "office_id"]),
        "step": Rows(CaseStep, ["id", "case_id", "number", "transition", "source", "target",
                                "actor_id", "effective_on", "person_id"]),
        "interview": Rows(Interview, ["id", "case_id", "person_id", "scheduled_for",
                                      "interviewer_id", "status", "scheduled_by_id"]),
        "assessment": Rows(EligibilityAssessment, ["id", "case_id", "person_id", "author_id",
                                                   "status", "recommendation", "submitted_at",
                                                   "reviewed_by_id", "reviewed_at"]),
        "decision": Rows(Decision, ["id", "case_id", "person_id", "stage", "authority",
                                    "outcome", "legal_basis", "grounds", "decided_on",
                                    "recorded_by_id", "recorded_at", "step_id", "delivered_on"]),
        "appeal": Rows(Appeal, ["id", "case_id", "person_id", "decision_id", "lodged_on",
                                "lodged_by_id", "outcome_id"]),
        "screening": Rows(Screening, ["id", "case_id", "person_id", "step_id", "screened_on",
                                      "recommendation", "screened_by_id", "present"]),
        "identification": Rows(Identification, ["id", "case_id", "person_id", "step_id",
                                                "status", "deciding_body", "body_type",
                                                "decided_on", "recorded_by_id"]),
    }
    step_ids = _step_ids()
    counts = dict.fromkeys(tables, 0)
    t0 = time.perf_counter()
    total = n_cases + n_cases // 20
    for made in range(total):
        office = rng.choices(offices, shares)[0]
        crew = people_by_office[office.pk]
        sup, cw = rng.choice(crew["supervisor"]), rng.choice(crew["caseworker"])
        pid, cid = uuid.uuid4(), uuid.uuid4()
        applied = FIRST_DAY + datetime.timedelta(days=rng.randrange(span))
        opened = datetime.datetime.combine(applied, datetime.time(9), datetime.UTC)
        nat = rng.choices(COUNTRIES, WEIGHTS)[0]
        tables["person"].add(pid, office.pk, cw.pk, rng.choice(["female", "male"]),
                             YEAR - rng.randint(0, 75), [nat], opened)
        if made >= n_cases:  # trafficking
            _trafficking(tables, rng, office, cw, pid, cid, applied, opened, made, step_ids)
            continue
        procedure = PROCEDURES[office.country]
        steps: list[tuple] = [("register", "open", "registered", applied, cw)]
        heard: datetime.date | None = None
        state, closed = "registered", None
        decided = applied + datetime.timedelta(days=rng.randint(20, 420))
        r = rng.random()
        if r < 0.65 and decided < today:
            interview = applied + datetime.timedelta(days=rng.randint(10, (decided - applied).days))
            heard = interview
            tables["interview"].add(uuid.uuid4(), cid, pid, datetime.datetime.combine(
                interview, datetime.time(10), datetime.UTC), cw.pk, "attended", sup.pk)
            author = rng.choice(crew["caseworker"])
            # Officers differ a little, so that decision consistency has something to show.
            lean = (author.pk % 5 - 2) * 0.04
            o = rng.random()
            outcome, basis = (("recognized", "convention") if o < 0.35 + lean else
                              ("recognized", "cartagena") if o < 0.45 + lean else
                              ("complementary", "complementary") if o < 0.55 + lean else
                              ("rejected", "none"))
            grounds = rng.sample(GROUNDS, rng.choice([1, 1, 2])) if basis == "convention" else []
            decided_at = datetime.datetime.combine(decided, datetime.time(15), datetime.UTC)
            tables["assessment"].add(uuid.uuid4(), cid, pid, author.pk, "approved", outcome,
                                     decided_at - datetime.timedelta(days=2), sup.pk, decided_at)
            steps.append(("decide", "under_review", "decided", decided, sup))
            decision = uuid.uuid4()
            delivered = decided + datetime.timedelta(days=rng.randint(1, 30))
            tables["decision"].add(decision, cid, pid, "first_instance", "decide", outcome, basis,
                                   grounds, decided, sup.pk, decided_at,
                                   (cid, len(steps)), delivered if delivered < today else None)
            state = "decided"
            lodged = delivered + datetime.timedelta(days=rng.randint(1, 15))
            if outcome == "rejected" and rng.random() < 0.4 and lodged < today:
                steps.append(("lodge_appeal", "decided", "appeal_lodged", lodged, cw))
                state = "appeal_lodged"
                on_appeal = lodged + datetime.timedelta(days=rng.randint(30, 200))
                outcome_id = None
                if on_appeal < today:
                    steps.append(("decide_appeal", "appeal_lodged", "appeal_decided", on_appeal, sup))
                    outcome_id = uuid.uuid4()
                    upheld = rng.random() < 0.7
                    tables["decision"].add(
                        outcome_id, cid, pid, "appeal", "appeal",
                        "rejected" if upheld else "recognized", "none" if upheld else "convention",
                        [] if upheld else [rng.choice(GROUNDS)], on_appeal, sup.pk,
                        datetime.datetime.combine(on_appeal, datetime.time(15), datetime.UTC),
                        (cid, len(steps)), None)
                    state = "appeal_decided"
                tables["appeal"].add(uuid.uuid4(), cid, pid, decision, lodged, cw.pk, outcome_id)
            elif lodged + datetime.timedelta(days=60) < today:
                closed = lodged + datetime.timedelta(days=60)
                steps.append((outcome, state, outcome, closed, sup))
                state = outcome
        elif r < 0.73:
            closed = applied + datetime.timedelta(days=rng.randint(5, 300))
            if closed < today:
                target = rng.choice(["withdrawn", "abandoned"])
                steps.append((target, "registered", target, closed, sup))
                state = target
            else:
                closed = None
        for number, (transition, source, target, on, actor) in enumerate(steps, start=1):
            tables["step"].add(step_ids[(cid, number)], cid, number, transition, source, target,
                               actor.pk, on, pid)
        tables["case"].add(cid, f"{office.code}-S-{made:07d}", office.pk, "asylum", procedure,
                           state, pid, cw.pk, opened,
                           datetime.datetime.combine(closed, datetime.time(12), datetime.UTC)
                           if closed else None, cw.pk, len(steps))
        born = tables["person"].rows[-1][tables["person"].slots[
            tables["person"].given.index("birth_year")]]
        tables["application"].add(cid, pid, applied, rng.choice(["office", "office", "border",
                                                                 "referral"]),
                                  rng.choice(["regular", "regular", "accelerated", "simplified"]),
                                  cw.pk, applied.year - born < 18 or rng.random() < 0.15)
        # The interview target from the registration, met at the interview (or the closure);
        # Mexico's decision period (45 working days, about 63 calendar days), met at the decision.
        _deadline(tables, cid, office, step_ids, "interview", applied, 183, heard or closed)
        if procedure == "rsd.mx":
            _deadline(tables, cid, office, step_ids, "decision", applied, 63,
                      decided if state != "registered" and decided < today else closed)
        if (made + 1) % batch == 0:
            _flush(tables, counts, step_ids)
            rate = (made + 1) / (time.perf_counter() - t0)
            print(f"  {made + 1:,} cases, {rate:,.0f}/s, load {os.getloadavg()[0]:.1f}",
                  flush=True)
    _flush(tables, counts, step_ids)
    return {"seconds": round(time.perf_counter() - t0, 1), "rows": counts,
            "generated_at": now.isoformat()}


class _StepIds(dict):
    """(case id, step number) -> the step's id, drawn as it is first asked for."""

    def __missing__(self, key: tuple) -> uuid.UUID:
        value = uuid.uuid4()
        self[key] = value
        return value


def _step_ids() -> _StepIds:
    return _StepIds()


def _deadline(tables: dict, cid: uuid.UUID, office: Office, step_ids: _StepIds, clock: str,
              starts: datetime.date, days: int, met: datetime.date | None) -> None:
    tables["deadline"].add(cid, clock, starts, starts + datetime.timedelta(days=days),
                           step_ids[(cid, 1)],
                           datetime.datetime.combine(met, datetime.time(12), datetime.UTC)
                           if met else None, office.pk)


def _trafficking(tables: dict, rng: random.Random, office: Office, cw: User, pid: uuid.UUID,
                 cid: uuid.UUID, applied: datetime.date, opened: datetime.datetime, made: int,
                 step_ids: _StepIds) -> None:
    tables["case"].add(cid, f"{office.code}-T-{made:07d}", office.pk, "trafficking", "", "active",
                       pid, cw.pk, opened, None, cw.pk, 2)
    identified = applied + datetime.timedelta(days=rng.randint(1, 60))
    tables["step"].add(step_ids[(cid, 1)], cid, 1, "screen", "screening", "identification",
                       cw.pk, applied, pid)
    tables["step"].add(step_ids[(cid, 2)], cid, 2, "identify", "identification", "active",
                       cw.pk, identified, pid)
    tables["screening"].add(uuid.uuid4(), cid, pid, step_ids[(cid, 1)], applied, "likely",
                            cw.pk, [])
    tables["identification"].add(uuid.uuid4(), cid, pid, step_ids[(cid, 2)], rng.choice(
        ["ActualVictimOfTrafficking", "PossibleVictimOfTrafficking", "NotTrafficked"]),
        "Fiscalía", "CourtOrProsecution", identified, cw.pk)


def _flush(tables: dict, counts: dict, step_ids: _StepIds) -> None:
    # Decisions name their step by (case, number): the id is known once the step is.
    for i, row in enumerate(tables["decision"].rows):
        slot = tables["decision"].slots[tables["decision"].given.index("step_id")]
        if isinstance(row[slot], tuple):
            row = list(row)
            row[slot] = step_ids[row[slot]]
            tables["decision"].rows[i] = tuple(row)
    with transaction.atomic():
        for name in ("person", "case", "application", "step", "deadline", "interview",
                     "assessment", "decision", "appeal", "screening", "identification"):
            counts[name] += tables[name].flush()
    step_ids.clear()


# --- Timing -----------------------------------------------------------------------------

def timed(fn: Any, reps: int, warm: bool = True) -> dict:
    if warm:
        fn()  # warm the cache once
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(runs), 3), "worst_s": round(max(runs), 3)}


def measure(reps: int, threshold: int) -> list[dict]:
    big = Office.objects.get(code=common.BIG_OFFICE)
    mandate = Office.objects.get(code="GT-GUA")
    everyone = frozenset(Office.objects.values_list("pk", flat=True))
    scopes = {"one office (MX-CDMX)": frozenset([big.pk]), "every office": everyone}
    results: list[dict] = []

    def add(group: str, name: str, scope: str, fn: Any, once: bool = False) -> None:
        r = {"group": group, "name": name, "scope": scope,
             **(timed(fn, 1, warm=False) if once else timed(fn, reps))}
        r["under_2s"] = r["worst_s"] < 2.0
        results.append(r)
        print(f"  {group:<12} {name:<48} {scope:<22} median {r['median_s']:>7.3f} s  "
              f"worst {r['worst_s']:>7.3f} s  (load {os.getloadavg()[0]:.1f})", flush=True)

    for scope, allowed in scopes.items():
        f = Filters(allowed=allowed, period=Period(YEAR))
        for ind in indicators.INDICATORS:
            add("indicators", ind.key, scope, lambda ind=ind, f=f: ind.compute(f, threshold))
        add("indicators", "whole screen (every indicator)", scope,
            lambda f=f: indicators.compute_all(f, threshold))
        narrow = Filters(allowed=allowed, period=Period(YEAR, "Q2"), nationality="HN",
                         sex="female")
        add("indicators", "whole screen, Q2 + Honduras + women", scope,
            lambda f=narrow: indicators.compute_all(f, threshold))
    # Breakdowns: a row per group, each the indicator with one more filter.
    every = {o.pk: o for o in Office.objects.all()}
    f = Filters(allowed=everyone, period=Period(YEAR))
    for key, by in [*(("applications_by_modality", by) for by in breakdown.BY),
                    ("decisions_by_outcome", "nationality"), ("backlog", "month"),
                    ("legal_deadlines", "country"), ("victims", "sex")]:
        add("breakdown", f"{key} by {by}", "every office",
            lambda key=key, by=by: breakdown.compute(indicators.BY_KEY[key], f, by, threshold,
                                                      offices=every))
    for scope, allowed in {"one office (GT-GUA)": frozenset([mandate.pk]),
                           "every office": everyone}.items():
        f = Filters(allowed=allowed, period=Period(YEAR))
        for ind in rsd_report.INDICATORS:
            add("rsd report", ind.key, scope, lambda ind=ind, f=f: ind.compute(f, threshold))
    for role in (consistency.OFFICER, consistency.REVIEWER):
        for split in (False, True):
            q = consistency.Query(office_id=big.pk, period=Period(YEAR), role=role, split=split)
            add("consistency", f"{role}s{' by nationality' if split else ''}",
                "one office (MX-CDMX)", lambda q=q: consistency.compute(q))
    # The annual tables are a command run once a year: timed once, cold.
    add("unhcr", "annual tables (compute)", "every office",
        lambda: unhcr.compute(YEAR, threshold=threshold), once=True)
    add("unhcr", "annual tables (compute)", "one office (MX-CDMX)",
        lambda: unhcr.compute(YEAR, offices=Office.objects.filter(pk=big.pk),
                              threshold=threshold), once=True)
    f = Filters(allowed=everyone, period=Period(YEAR, "H1"))
    add("report", "mid-year PDF (compute + render)", "every office",
        lambda: report_pdf.render(indicators.compute_all(f, threshold), filters=f,
                                  threshold=threshold, offices="all", notes=[], language="es"))

    # The screens as a user gets them (login, form, rendering).
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    supervisor = User.objects.get(username=f"{common.BIG_OFFICE.lower()}-supervisor-0")
    breakdown_params = {"indicator": "decisions_by_outcome", "by": "month"}
    for path, params, name in (("/statistics/", {}, "indicators screen"),
                               ("/statistics/breakdown/", breakdown_params,
                                "breakdown screen (decisions by month)"),
                               ("/statistics/rsd/", {}, "mandate RSD screen"),
                               ("/statistics/consistency/", {}, "consistency screen")):
        client = Client()
        client.force_login(supervisor)

        def get(path: str = path, client: Client = client, params: dict = params) -> None:
            response = client.get(path, {"year": YEAR, **params})
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")

        add("http", name, "one office (MX-CDMX)", get)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true", help="time the database as it is")
    ap.add_argument("--generate-only", action="store_true", help="load the data, time nothing")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threshold", type=int, default=5)
    args = ap.parse_args()
    out: dict[str, Any] = {}
    if not args.keep:
        common.prepare_database(reset=True)
        print(f"Loading {args.cases:,} asylum cases and {args.cases // 20:,} trafficking cases "
              f"into {connection.settings_dict['NAME']} ...", flush=True)
        out["generate"] = generate(args.cases)
        t0 = time.perf_counter()
        out["summary_rows"] = facts.refresh_all()  # COPY bypasses the signals
        out["summary_seconds"] = round(time.perf_counter() - t0, 1)
        print(f"  summary table: {out['summary_rows']:,} rows in {out['summary_seconds']} s",
              flush=True)
        out["vacuum_seconds"] = round(common.vacuum_analyze(), 1)
        print(f"  {out['generate']['seconds']} s, VACUUM ANALYZE {out['vacuum_seconds']} s",
              flush=True)
    if args.generate_only:
        common.write_results("stats-generate", out)
        return
    env = common.environment("stats", "rsd", "cases")
    out["cases"] = Case.objects.filter(kind="asylum").count()
    out["decisions"] = Decision.objects.count()
    print(f"Timing over {out['cases']:,} asylum cases and {out['decisions']:,} decisions "
          f"(load average {os.getloadavg()})", flush=True)
    out["results"] = measure(args.reps, args.threshold)
    common.end_of_run(env)
    out["environment"] = env
    slow = [r for r in out["results"] if not r["under_2s"]]
    print(f"{len(out['results']) - len(slow)} of {len(out['results'])} under 2 s; load average "
          f"{env['load_average_at_start']} at the start, {env['load_average_at_end']} at the end",
          flush=True)
    common.write_results("stats", out)


if __name__ == "__main__":
    main()
