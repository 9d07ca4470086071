"""Measure the workflow engine and the asylum procedure on the bench database.

    .venv/bin/python bench/workflow.py                  # fill (once), then every timing group
    .venv/bin/python bench/workflow.py --only fill      # put --cases asylum cases in the procedure
    .venv/bin/python bench/workflow.py --only fill --refill   # again, after the procedures changed
    .venv/bin/python bench/workflow.py --only services --reps 20
    groups: fill, services, reads, views, explain, trials

fill: moves asylum cases of the bench database (bench/generate.py) into their office's
procedure (rsd.mx, rsd.cr, rsd.bz, rsd.unhcr) with the rows the services write: CaseStep,
CaseDeadline (through the procedure's own clocks), Application, Interview,
EligibilityAssessment (+ COI citations), Decision, Appeal, FamilyMember for the household's
participants, and the case's state / step_no / procedure / closed_at. States, offices,
dates and due dates are spread (overdue ones too); interviews are spread over the coming
weeks for the office's caseworkers. Sealed fields are sealed by the fields' own pre_save
during bulk_create with the principal's data key, for the row's real id (ids of
auto-increment tables are taken from their sequences first). No audit events and no
simple-history rows are written for the bulk rows. If the database has fewer asylum cases
than --cases, households with asylum cases are added first with bench/generate.py's
generator (real data keys, sealed people, blind-index entries). fill only adds what is
missing up to --cases.

services: the real services (record_application, schedule_interview, record_interview,
submit_assessment, review_assessment, record_decision, record_notification) on fresh cases
of people registered for the run in the big office, each call as a request would make it
(fresh key scope, roles read again); everything made is deleted again afterwards (the
audit events stay: the log is append-only).

reads: workflow.available() per case page, the review queue, due deadlines, the interview
week, priority cases, the dashboard's parts, procedure_of(); views: whole requests through
the test client; explain: EXPLAIN (ANALYZE, BUFFERS) of the deadline and queue queries;
trials: the queries that were slow, as they were before their fixes and as the production
selectors run them now, each with and without the fixes' two indexes (dropped, rolled back).

Results go to bench/results/latest-workflow.json (--baseline: also
baseline-workflow-<date>.json).
"""

from __future__ import annotations

import argparse
import datetime
import logging
import random
import statistics
import sys
import time
import uuid
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

common.setup_django()

from django.core.paginator import Paginator  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402
from django.db.models import Count, Exists, F, Func, OuterRef, Q, Subquery  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from cases import access, dashboard, selectors, workflow  # noqa: E402
from cases import services as case_services  # noqa: E402
from cases.crypto import datakeys  # noqa: E402
from cases.models import (  # noqa: E402
    Case,
    CaseDeadline,
    CaseKind,
    CaseParticipant,
    CaseStep,
    DataKey,
    IdentityDocument,
    Office,
    Person,
    ReferenceCounter,
    Role,
    User,
)
from rsd import selectors as rsd_selectors  # noqa: E402
from rsd import services as rsd  # noqa: E402
from rsd.models import (  # noqa: E402
    Appeal,
    Application,
    AssessmentStatus,
    CancelGround,
    CoiSource,
    Decision,
    EligibilityAssessment,
    FamilyMember,
    Interview,
    InterviewStatus,
)
from rsd.procedures import options_of  # noqa: E402

GROUPS = ["fill", "services", "reads", "views", "explain", "trials"]

# Where the filled cases stand. Generated cases that are closed end in a final state; open
# ones in one of the open states their procedure has (the weights of the states a
# procedure lacks go to the others). Unassigned open cases stay "registered" (the queue).
OPEN_WEIGHTS = {"registered": 14, "interview_scheduled": 16, "no_show": 6,
                "abandonment_proposed": 2, "interviewed": 13, "under_review": 10,
                "committee": 3, "minister": 2, "commission": 4, "decided": 6,
                "appeal_period": 6, "appeal_lodged": 5, "appeal_decided": 1,
                "cancellation_proposed": 1}
CLOSED_WEIGHTS = {"recognized": 40, "rejected_final": 26, "complementary": 6, "withdrawn": 12,
                  "abandoned": 14, "cancelled": 2}
# Days between the last step and today, per open state: (low, high, skew exponent).
LAST_STEP_AGE = {"registered": (0, 330, 1.5), "interview_scheduled": (0, 45, 1),
                 "no_show": (0, 60, 1), "abandonment_proposed": (0, 20, 1),
                 "appeal_period": (0, 36, 1), "appeal_lodged": (0, 120, 1)}
SUP_STEPS = {"return_assessment", "approve_assessment", "decide", "record_committee_recommendation",
             "record_minister_decision", "record_commission_decision", "confirm_abandonment",
             "keep_open", "allow_appeal", "dismiss_appeal", "dismiss_appeal_protected", "reopen",
             "propose_cancellation", "cancel_recognition"}
REASON_STEPS = {"record_contact", "confirm_abandonment", "keep_open", "return_assessment",
                "withdraw", "reopen", "propose_cancellation", "cancel_recognition"}
DECISION_STAGE = {"decide": "first_instance", "record_minister_decision": "first_instance",
                  "record_commission_decision": "first_instance",
                  "record_committee_recommendation": "recommendation",
                  "allow_appeal": "appeal", "dismiss_appeal": "appeal",
                  "dismiss_appeal_protected": "appeal"}
# Days from one step to the next: (min, max) by the step that follows (default (1, 30)).
GAPS = {"record_attendance": (7, 45), "record_no_show": (7, 45), "record_contact": (1, 30),
        "submit_assessment": (5, 40), "return_assessment": (2, 15), "decide": (3, 30),
        "approve_assessment": (3, 20), "record_committee_recommendation": (7, 40),
        "record_minister_decision": (7, 40), "record_commission_decision": (7, 60),
        "notify_recognition": (1, 20), "notify_negative": (1, 20), "lodge_appeal": (1, 28),
        "close_unappealed": (31, 36), "close_with_protection": (31, 36),
        "allow_appeal": (20, 90), "dismiss_appeal": (20, 90), "dismiss_appeal_protected": (20, 90),
        "propose_abandonment": (43, 50), "confirm_abandonment": (1, 20), "withdraw": (1, 60),
        "propose_cancellation": (60, 400), "cancel_recognition": (7, 60),
        "reschedule_interview": (1, 14),
        "notify_appeal_recognition": (1, 20), "notify_appeal_dismissal": (1, 20),
        "notify_appeal_dismissal_protected": (1, 20)}


DATED = [(CaseStep, "at"), (Application, "recorded_at"), (Interview, "created_at"),
         (EligibilityAssessment, "updated_at"), (Decision, "recorded_at")]


def _ids(model, n: int) -> list:
    """n ids for new rows: sealed values are bound to their row id, so rows need theirs
    before pre_save seals them (UUIDs, or values from the table's sequence for tables with
    an auto-increment id)."""
    if n == 0:
        return []
    if not isinstance(model._meta.pk, models.AutoField | models.BigAutoField):
        return [uuid.uuid4() for _ in range(n)]
    with connection.cursor() as cur:
        cur.execute(f"SELECT nextval(pg_get_serial_sequence('{model._meta.db_table}', 'id')) "  # noqa: S608
                    f"FROM generate_series(1, %s)", [n])
        return [r[0] for r in cur.fetchall()]


def schema_check() -> None:
    """The migrations of the workflow were edited in place while it was being written: make
    sure the bench database has the tables the models describe."""
    with connection.cursor() as cur:
        for model in (Case, CaseStep, CaseDeadline, Application, Interview, Decision):
            table = model._meta.db_table
            cols = {c.name: c for c in connection.introspection.get_table_description(cur, table)}
            for f in model._meta.concrete_fields:
                if f.column not in cols:
                    sys.exit(f"{table}.{f.column} is missing: migrate the bench database "
                             f"(if a migration was edited in place: migrate rsd zero, migrate "
                             f"cases 0005, migrate).")
            pk = model._meta.pk
            want = "uuid" if isinstance(pk, models.UUIDField) else "bigint"
            cur.execute("SELECT data_type FROM information_schema.columns WHERE table_name = %s "
                        "AND column_name = %s", [table, pk.column])
            have = cur.fetchone()[0]
            if want not in have:
                sys.exit(f"{table}.{pk.column} is {have} in the database but {want} in the model: "
                         f"a migration was edited in place; re-migrate the bench database "
                         f"(migrate rsd zero, migrate cases 0005, migrate).")


# --- Texts -------------------------------------------------------------------------------

class Texts:
    """Made-up Spanish prose of realistic lengths, from a pool of Faker paragraphs."""

    def __init__(self, rng: random.Random) -> None:
        from faker import Faker

        f = Faker("es_MX")
        f.seed_instance(4242)
        self.rng = rng
        self.paragraphs = [f.paragraph(nb_sentences=6) for _ in range(300)]
        self.sentences = [f.sentence(nb_words=12) for _ in range(300)]
        self.names = [f.name() for _ in range(100)]
        self.places = ["Oficina COMAR, sala 2", "Sala de entrevistas 1", "Sala de entrevistas 3",
                       "Videollamada", "Oficina de Tapachula", "Oficina central, piso 2"]

    def text(self, low: int, high: int) -> str:
        target = self.rng.randint(low, high)
        out, n = [], 0
        while n < target:
            p = self.rng.choice(self.paragraphs)
            out.append(p)
            n += len(p) + 2
        return "\n\n".join(out)[:target]

    def sentence(self) -> str:
        return self.rng.choice(self.sentences)


# --- Fill --------------------------------------------------------------------------------

class Filler:
    def __init__(self, seed: int, batch: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.batch = batch
        self.texts = Texts(self.rng)
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.tz = timezone.get_current_timezone()
        self.rows = dict.fromkeys(
            ["case_steps", "case_deadlines", "applications", "interviews", "assessments",
             "assessment_citations", "decisions", "appeals", "family_members", "cases_updated"], 0)
        self.t_build = self.t_insert = 0.0
        self.t_tables: dict[str, float] = {}
        self.offices = {o.pk: o for o in Office.objects.all()}
        self.sups: dict[int, list[User]] = {}
        self.cws: dict[int, list[User]] = {}
        for u, office_id, role in (User.objects.filter(memberships__role__in=access.CASE_ROLES)
                                   .values_list("pk", "memberships__office_id", "memberships__role")
                                   .order_by("username")):
            (self.sups if role == Role.SUPERVISOR else self.cws).setdefault(office_id, []).append(u)
        self.coi = self._coi_library()

    def _coi_library(self) -> dict[int, list[int]]:
        """A library of 25 country-of-origin sources per office (made once)."""
        if not CoiSource.objects.exists():
            rows = []
            for office_id in self.offices:
                for n in range(25):
                    rows.append(CoiSource(
                        office_id=office_id, title=f"Country report {n + 1}: "
                        f"{self.rng.choice(['HN', 'SV', 'GT', 'VE', 'NI', 'HT', 'CU'])}",
                        publisher=self.rng.choice(["UNHCR", "EUAA", "HRW", "Amnesty International",
                                                   "US Department of State"]),
                        published_on=self.today - datetime.timedelta(days=self.rng.randrange(30, 1500)),
                        country=self.rng.choice(["HN", "SV", "GT", "VE", "NI", "HT", "CU"]),
                        url=f"https://example.org/coi/{office_id}/{n}",
                        added_by_id=self.sups[office_id][0]))
            CoiSource.objects.bulk_create(rows)
        out: dict[int, list[int]] = {}
        for pk, office_id in CoiSource.objects.values_list("pk", "office_id"):
            out.setdefault(office_id, []).append(pk)
        return out

    # Paths ------------------------------------------------------------------------------

    def _target(self, wf: workflow.Workflow, closed: bool, assigned: bool) -> str:
        if closed:
            table = {s: w for s, w in CLOSED_WEIGHTS.items() if s in wf.states}
        elif not assigned:
            return "registered"
        else:
            table = {s: w for s, w in OPEN_WEIGHTS.items() if s in wf.states}
        return self.rng.choices(list(table), weights=list(table.values()))[0]

    def _path(self, target: str, wf: workflow.Workflow, appeals_decided: bool) -> tuple[list[str], str]:
        """The transitions from "open" to `target`, and the first-instance outcome."""
        rng = self.rng

        def sched():
            return ["schedule_interview"] + (["reschedule_interview"] if rng.random() < 0.2 else [])

        def missed():
            return sched() + ["record_no_show"] + (["record_contact"] if rng.random() < 0.5 else [])

        def to_interview():
            return ["register"] + (missed() if rng.random() < 0.15 else [])

        def interviewed():
            return to_interview() + sched() + ["record_attendance"]

        def reviewed():
            p = [*interviewed(), "submit_assessment"]
            if rng.random() < 0.2:
                p += ["return_assessment", "submit_assessment"]
            return p

        def first_decision():
            p = reviewed()
            if wf.name == "rsd.bz":
                return [*p, "approve_assessment", "record_committee_recommendation",
                        "record_minister_decision"]
            if wf.name == "rsd.cr":
                return [*p, "approve_assessment", "record_commission_decision"]
            return [*p, "decide"]

        def has(name):
            return name in wf.transitions

        def appeal_decided(outcome, allow):
            """Lodged and decided; the procedures that notify the appeal decision as a step of
            its own (state appeal_decided) get that step too when `notify` is asked."""
            p = [*first_decision(), "notify_negative", "lodge_appeal"]
            if allow:
                return [*p, "allow_appeal"]
            protected = outcome == "complementary" and has("dismiss_appeal_protected")
            return [*p, "dismiss_appeal_protected" if protected else "dismiss_appeal"]

        def notified(p, outcome, allow):
            if wf.state(wf.transitions[p[-1]].target).closed:
                return p
            if allow:
                return [*p, "notify_appeal_recognition"]
            if outcome == "complementary" and has("notify_appeal_dismissal_protected"):
                return [*p, "notify_appeal_dismissal_protected"]
            return [*p, "notify_appeal_dismissal"]

        positive = rng.choices(["recognized", "rejected", "complementary"], [45, 45, 10])[0]
        negative = rng.choices(["rejected", "complementary"], [80, 20])[0]
        if target == "registered":
            return ["register"], ""
        if target == "interview_scheduled":
            return to_interview() + sched(), ""
        if target == "no_show":
            return to_interview() + missed(), ""
        if target in ("abandonment_proposed", "abandoned"):
            p = ["register", *missed(), *missed(), "propose_abandonment"]
            return p + (["confirm_abandonment"] if target == "abandoned" else []), ""
        if target == "interviewed":
            extra = ["submit_assessment", "return_assessment"] if rng.random() < 0.15 else []
            return interviewed() + extra, ""
        if target == "under_review":
            return reviewed(), ""
        if target in ("committee", "commission"):
            return [*reviewed(), "approve_assessment"], ""
        if target == "minister":
            return [*reviewed(), "approve_assessment", "record_committee_recommendation"], ""
        if target == "decided":
            return first_decision(), positive
        if target == "appeal_period":
            return [*first_decision(), "notify_negative"], negative
        if target == "appeal_lodged" or (target == "appeal_decided" and not appeals_decided):
            return [*first_decision(), "notify_negative", "lodge_appeal"], negative
        if target == "appeal_decided":
            return appeal_decided(negative, allow=rng.random() < 0.3), negative
        if target in ("recognized", "cancelled", "cancellation_proposed"):
            if appeals_decided and rng.random() < 0.2:
                p, outcome = notified(appeal_decided(negative, True), negative, True), negative
            else:
                p, outcome = [*first_decision(), "notify_recognition"], "recognized"
            if target == "recognized":
                return p, outcome
            if not has("propose_cancellation"):  # cancelled in one step
                return [*p, "cancel_recognition"], outcome
            if target == "cancelled" and appeals_decided:  # proposed by one, decided by another
                return [*p, "propose_cancellation", "cancel_recognition"], outcome
            return [*p, "propose_cancellation"], outcome
        if target in ("rejected_final", "complementary"):
            # A refusal, or complementary protection granted instead of refugee status; the
            # appeal is dismissed or the appeal period ends without one.
            outcome = "rejected" if target == "rejected_final" else "complementary"
            if appeals_decided and rng.random() < 0.4:
                return notified(appeal_decided(outcome, False), outcome, False), outcome
            last = "close_unappealed" if outcome == "rejected" else "close_with_protection"
            return [*first_decision(), "notify_negative", last], outcome
        if target == "withdrawn":
            prefix = rng.choice([["register"], to_interview() + sched(), interviewed(), reviewed()])
            return [*prefix, "withdraw"], ""
        raise ValueError(target)

    def _weekday(self, day: datetime.date) -> datetime.date:
        wd = day.weekday()
        if wd == 5:
            day -= datetime.timedelta(days=1)
        elif wd == 6:
            day += datetime.timedelta(days=1)
        if day > self.today:
            day = self.today
            while day.weekday() >= 5:
                day -= datetime.timedelta(days=1)
        return day

    def _dates(self, path: list[str], target: str, opened: datetime.date,
               closed: bool) -> list[datetime.date]:
        rng = self.rng
        gaps = [0] + [rng.randint(*GAPS.get(t, (1, 30))) for t in path[1:]]
        span = sum(gaps)
        if closed:
            start = opened + datetime.timedelta(days=rng.randint(0, 10))
            if start + datetime.timedelta(days=span) > self.today - datetime.timedelta(days=1):
                start = self.today - datetime.timedelta(days=1 + span)
        else:
            low, high, skew = LAST_STEP_AGE.get(target, (0, 90, 1))
            age = low + int((high - low) * rng.random() ** skew)
            start = self.today - datetime.timedelta(days=age + span)
        if start < opened:  # a recent case: squeeze the steps between its opening and the end
            end = max(opened, start + datetime.timedelta(days=span))
            end = min(end, self.today)
            room = (end - opened).days
            scale = room / span if span else 0
            gaps = [int(g * scale) for g in gaps]
            start = opened
        days, day = [], start
        for g in gaps:
            day += datetime.timedelta(days=g)
            days.append(day)
        return sorted(self._weekday(d) for d in days)

    def _at(self, day: datetime.date, after: datetime.datetime | None) -> datetime.datetime:
        at = datetime.datetime.combine(day, datetime.time(self.rng.randint(8, 17),
                                                          self.rng.randint(0, 59)), self.tz)
        if after and at <= after:
            at = after + datetime.timedelta(minutes=self.rng.randint(1, 20))
        return min(at, self.now - datetime.timedelta(minutes=5))

    def _interview_time(self, day: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(self.rng.randint(9, 15),
                                                            self.rng.choice([0, 30])), self.tz)

    # One case --------------------------------------------------------------------------------

    def _case(self, c: dict, parts: list[tuple], principal: dict, out: dict) -> None:
        rng, texts = self.rng, self.texts
        office = self.offices[c["office_id"]]
        country = office.country.code
        wf = workflow.for_kind(CaseKind.ASYLUM, country)
        sups = self.sups[office.pk]
        cws = self.cws[office.pk]
        closed = c["closed_at"] is not None or c["state"] == "closed"
        target = self._target(wf, closed, c["assigned_to_id"] is not None)
        path, outcome = self._path(target, wf, appeals_decided=len(sups) > 1)
        dates = self._dates(path, target, timezone.localtime(c["opened_at"]).date(), closed)
        cw = c["assigned_to_id"]
        sup1 = rng.choice(sups)
        pid = principal["id"]
        ids = out["step_ids"]
        state, prev_at = "open", None
        open_dl: dict[str, CaseDeadline] = {}
        application = interview = assessment = decision = appeal = None
        last_actor: dict[str, int | None] = {}
        for n, (name, day) in enumerate(zip(path, dates, strict=True), start=1):
            t = wf.transitions.get(name)
            if t is None or state not in t.sources:
                sys.exit(f"{wf.name}: the bench's path {path} cannot take {name!r} from {state!r} "
                         f"in the procedure as it is now: update Filler._path in bench/workflow.py.")
            if name in SUP_STEPS:
                # Four-eyes: not whoever took the latest of the steps the transition names.
                barred = {last_actor.get(x) for x in t.not_by}
                allowed = [u for u in (sup1, *sups) if u not in barred]
                if not allowed:
                    sys.exit(f"{wf.name}: no supervisor of office {office.code} may take {name!r} "
                             f"after {t.not_by}: update Filler._path in bench/workflow.py.")
                actor = allowed[0]
            elif (name in ("propose_abandonment", "close_unappealed", "close_with_protection")
                  and rng.random() < 0.7):
                actor = None  # the daily sweep
            else:
                actor = cw or sup1
            at = self._at(day, prev_at)
            prev_at = at
            step = CaseStep(id=ids.pop(), case_id=c["id"], number=n, transition=name,
                            source=state, target=t.target, actor_id=actor, at=at,
                            effective_on=day, person_id=pid,
                            reason=texts.sentence() if name in REASON_STEPS else "")
            details: dict = {}
            if name == "register":
                late = rng.random() < 0.03 and bool(options_of(wf).filing_limit)
                arrival = day - datetime.timedelta(days=rng.randint(60, 300) if late
                                                   else rng.randint(0, 20))
                needs = list(principal["needs"])
                child = any(by and self.today.year - by < 18 for _pid, _role, by in parts)
                application = Application(
                    id=out["app_ids"].pop(), case_id=c["id"], person_id=pid, recorded_by_id=actor,
                    application_date=day, arrival_date=arrival,
                    place_of_entry=rng.choice(["Ciudad Hidalgo", "Tenosique", "Aeropuerto",
                                               "Paso Canoas", "Peñas Blancas", ""]),
                    channel=rng.choices(["office", "border", "referral"], [60, 30, 10])[0],
                    modality=rng.choices(["regular", "accelerated", "simplified", "merged"],
                                         [80, 8, 8, 4])[0],
                    claim_summary=texts.text(200, 500), narrative=texts.text(800, 3000),
                    specific_needs=sorted(set(needs)),
                    interpreter_language=next((lang for lang in principal["languages"]
                                               if lang != "es"), ""),
                    interviewer_gender=rng.choices(["any", "female", "male"], [80, 15, 5])[0],
                    priority=bool(needs) or child, late=late,
                    late_justification=texts.text(100, 300) if late else "", recorded_at=at)
                out["applications"].append(application)
                details = {"late": late, "priority": application.priority,
                           "modality": application.modality}
            elif name in ("schedule_interview", "reschedule_interview"):
                if interview is not None:
                    interview.status = InterviewStatus.RESCHEDULED
                nxt = path[n] if n < len(path) else None
                if nxt in ("record_attendance", "record_no_show"):
                    when = None  # the day it is recorded on, set below
                elif nxt is None and target == "interview_scheduled":
                    ahead = self._weekday_forward(self.today + datetime.timedelta(
                        days=rng.randint(-2, 56)))
                    when = self._interview_time(max(ahead, day + datetime.timedelta(days=1)))
                else:
                    when = self._interview_time(self._weekday_forward(
                        day + datetime.timedelta(days=rng.randint(7, 30))))
                interviewer = cw if cw and rng.random() < 0.8 else rng.choice(cws)
                interview = Interview(
                    case_id=c["id"], person_id=pid, scheduled_for=when, place=rng.choice(texts.places),
                    interviewer_id=interviewer, scheduled_by_id=actor or sup1,
                    interpreter_language=application.interpreter_language if application else "",
                    interpreter=rng.choice(texts.names) if application and
                    application.interpreter_language else "",
                    status=InterviewStatus.SCHEDULED, created_at=at)
                out["interviews"].append(interview)
                details = {"interview": str(interview.pk), "interviewer": interviewer}
            elif name in ("record_attendance", "record_no_show"):
                interview.scheduled_for = min(self._interview_time(day),
                                              self.now - datetime.timedelta(hours=2))
                if interview.scheduled_for >= at:  # recorded after the interview, not before
                    at = min(interview.scheduled_for + datetime.timedelta(hours=1),
                             self.now - datetime.timedelta(minutes=5))
                    step.at = prev_at = at
                if name == "record_attendance":
                    interview.status = InterviewStatus.ATTENDED
                    interview.transcript = texts.text(2000, 6000)
                    interview.notes = texts.text(150, 600)
                else:
                    interview.status = InterviewStatus.NO_SHOW
                    interview.transcript = interview.notes = ""
                details = {"interview": str(interview.pk)}
            elif name == "submit_assessment":
                if assessment is None:
                    assessment = EligibilityAssessment(case_id=c["id"], person_id=pid, author_id=actor)
                    out["assessments"].append(assessment)
                    sources = self.coi.get(office.pk, [])
                    out["citations"].extend((assessment.pk, s) for s in
                                            rng.sample(sources, min(len(sources), rng.randint(1, 4))))
                rec = outcome or rng.choice(["recognized", "rejected", "complementary"])
                assessment.author_id = actor
                assessment.status = AssessmentStatus.SUBMITTED
                assessment.submitted_at = at
                assessment.updated_at = at
                assessment.credibility = texts.text(400, 1500)
                assessment.material_facts = texts.text(400, 1500)
                assessment.inclusion = texts.text(400, 1500)
                assessment.exclusion = ""
                assessment.recommendation = rec
                grounds = rng.sample(["political_opinion", "social_group", "religion", "race",
                                      "nationality"], rng.randint(1, 2))
                assessment.convention_grounds = sorted(grounds) if rec == "recognized" else []
                assessment.cartagena_grounds = (["generalized_violence"]
                                                if rec == "recognized" and rng.random() < 0.3 else [])
                details = {"assessment": str(assessment.pk), "recommendation": rec}
            elif name in ("return_assessment", "approve_assessment"):
                assessment.status = (AssessmentStatus.RETURNED if name == "return_assessment"
                                     else AssessmentStatus.APPROVED)
                assessment.reviewed_by_id, assessment.reviewed_at = actor, at
                assessment.updated_at = at
                assessment.review_comments = step.reason
                details = {"assessment": str(assessment.pk)}
            elif name in DECISION_STAGE:
                stage = DECISION_STAGE[name]
                result = outcome or rng.choices(["recognized", "rejected", "complementary"],
                                                [45, 45, 10])[0]
                if name == "allow_appeal":
                    result = "recognized"
                elif name in ("dismiss_appeal", "dismiss_appeal_protected"):
                    result = "rejected"  # the appeal is dismissed (services.decide_appeal)
                basis = {"recognized": rng.choice(["convention", "convention", "cartagena"]),
                         "rejected": "none", "complementary": "complementary"}[result]
                grounds = ([rng.choice(["political_opinion", "social_group", "religion"])]
                           if basis == "convention" else
                           ["generalized_violence"] if basis == "cartagena" else [])
                d = Decision(case_id=c["id"], person_id=pid, stage=stage,
                             authority="appeal" if stage == "appeal" else name, outcome=result,
                             legal_basis=basis, grounds=grounds, reasons=texts.text(500, 2000),
                             decided_on=day, recorded_by_id=actor, step=step, recorded_at=at,
                             meeting_date=(day - datetime.timedelta(days=rng.randint(0, 5))
                                           if stage == "recommendation" else None))
                out["decisions"].append(d)
                if stage == "first_instance":
                    decision = d
                if name == "decide" and assessment is not None:
                    assessment.status = AssessmentStatus.APPROVED
                    assessment.reviewed_by_id, assessment.reviewed_at = actor, at
                    assessment.updated_at = at
                if stage == "appeal":
                    appeal.outcome = d
                details = {"decision": str(d.pk), "decision_outcome": result}
                if stage != "appeal":
                    details["stage"] = stage
            elif name.startswith("notify_appeal_"):  # the appeal decision's letter
                appeal.outcome.delivered_on = day
                appeal.outcome.letter_language = rng.choice(["es", "es", "en"])
                details = {"decision": str(appeal.outcome.pk)}
            elif name in ("notify_recognition", "notify_negative"):
                decision.delivered_on = day
                decision.letter_language = rng.choice(["es", "es", "en"])
                if name == "notify_negative":
                    decision.appeal_due_on = wf.clock("appeal").due(day, country)
                details = {"decision": str(decision.pk)}
            elif name == "lodge_appeal":
                late = bool(decision.appeal_due_on and day > decision.appeal_due_on)
                appeal = Appeal(case_id=c["id"], person_id=pid, decision=decision, lodged_on=day,
                                late=late, late_justification=texts.text(100, 300) if late else "",
                                grounds=texts.text(400, 1500), lodged_by_id=actor)
                out["appeals"].append(appeal)
                details = {"appeal": str(appeal.pk), "late": late}
            elif name == "cancel_recognition":
                details = {"ground": rng.choice(CancelGround.values)}
            step.details = details
            out["steps"].append(step)
            last_actor[name] = actor
            state = t.target
            # The engine's clocks (workflow._run_clocks), in memory.
            is_closed = wf.state(state).closed
            for clock in wf.clocks:
                if (is_closed or state in clock.stops) and clock.name in open_dl:
                    dl = open_dl.pop(clock.name)
                    dl.met_at, dl.met_by_step_id = at, step.id
                if name in clock.starts:
                    if clock.name in open_dl:
                        dl = open_dl.pop(clock.name)
                        dl.met_at, dl.met_by_step_id = at, step.id
                    dl = CaseDeadline(case_id=c["id"], clock=clock.name, starts_on=day,
                                      due_on=clock.due(day, country), started_by_step_id=step.id,
                                      office_id=c["office_id"], assigned_to_id=c["assigned_to_id"])
                    open_dl[clock.name] = dl
                    out["deadlines"].append(dl)
        for person_id, role, _by in parts:
            if role == "principal":
                continue
            out["family"].append(FamilyMember(
                case_id=c["id"], person_id=person_id, added_by_id=c["opened_by_id"],
                relationship=rng.choices(["spouse", "child", "parent", "sibling", "other"],
                                         [25, 55, 5, 10, 5])[0]))
        last_at = prev_at
        out["case_rows"].append((c["id"], state, wf.name, len(path),
                                 last_at if wf.state(state).closed else None, last_at))

    def _weekday_forward(self, day: datetime.date) -> datetime.date:
        while day.weekday() >= 5:
            day += datetime.timedelta(days=1)
        return day

    # Batches ---------------------------------------------------------------------------

    def fill(self, target: int) -> dict:
        have = Case.objects.filter(kind=CaseKind.ASYLUM).exclude(procedure="").count()
        todo = max(0, target - have)
        print(f"  {have:,} asylum cases already in a procedure; {todo:,} to fill", flush=True)
        t0 = time.perf_counter()
        done = 0
        while done < todo:
            n = min(self.batch, todo - done)
            cases = list(Case.objects.filter(kind=CaseKind.ASYLUM, procedure="")
                         .order_by("pk").values("id", "office_id", "principal_id", "assigned_to_id",
                                                "opened_by_id", "opened_at", "state",
                                                "closed_at")[:n])
            if not cases:
                break
            self._batch(cases)
            done += len(cases)
            el = time.perf_counter() - t0
            total = sum(self.rows.values())
            print(f"  {done:>7,} cases  {total:>9,} rows  {el:6.1f} s  {total / el:7,.0f} rows/s "
                  f"(build {self.t_build:.1f} s, insert {self.t_insert:.1f} s)", flush=True)
        elapsed = time.perf_counter() - t0
        t_an = common.vacuum_analyze(
            "cases_case", "cases_casestep", "cases_casedeadline", "rsd_application", "rsd_interview",
            "rsd_eligibilityassessment", "rsd_decision", "rsd_appeal", "rsd_familymember")
        total = sum(self.rows.values())
        return {"cases_filled": done, "rows": dict(self.rows), "rows_total": total,
                "seconds": round(elapsed, 2), "seconds_build_python": round(self.t_build, 2),
                "seconds_insert_db": round(self.t_insert, 2),
                "seconds_vacuum_analyze": round(t_an, 2),
                "seconds_per_table": {k: round(v, 2) for k, v in self.t_tables.items()},
                "rows_per_second": round(total / elapsed) if elapsed else None,
                "cases_per_second": round(done / elapsed) if elapsed else None}

    def _batch(self, cases: list[dict]) -> None:
        t0 = time.perf_counter()
        ids = [c["id"] for c in cases]
        parts: dict[uuid.UUID, list[tuple]] = {}
        for case_id, person_id, role, by in (CaseParticipant.objects.filter(case_id__in=ids)
                                             .order_by("case_id", "pk")
                                             .values_list("case_id", "person_id", "role",
                                                          "person__birth_year")):
            parts.setdefault(case_id, []).append((person_id, role, by))
        # Specific needs are sealed: read through the model, opened with the keys below.
        principal_rows = list(Person.objects.filter(pk__in=[c["principal_id"] for c in cases])
                              .only("id", "specific_needs", "languages"))
        # Upper bounds of the rows that need an id before sealing.
        out = {k: [] for k in ("steps", "applications", "interviews", "assessments", "citations",
                               "decisions", "appeals", "deadlines", "family", "case_rows")}
        out["step_ids"] = list(reversed(_ids(CaseStep, 20 * len(cases))))
        out["app_ids"] = list(reversed(_ids(Application, len(cases))))
        with datakeys.key_scope():
            datakeys.preload([p.pk for p in principal_rows])
            principals = {p.pk: {"id": p.pk, "needs": p.specific_needs or [],
                                 "languages": p.languages or []} for p in principal_rows}
            for c in cases:
                self._case(c, parts.get(c["id"], []), principals[c["principal_id"]], out)
            t1 = time.perf_counter()
            through = EligibilityAssessment.coi_sources.through
            citations = [through(eligibilityassessment_id=a, coisource_id=s)
                         for a, s in out["citations"]]
            with transaction.atomic(), common.keep_dates(*DATED):
                # pre_save seals the encrypted fields here (timed with the insert).
                for key, model, objs in (
                        ("case_steps", CaseStep, out["steps"]),
                        ("applications", Application, out["applications"]),
                        ("interviews", Interview, out["interviews"]),
                        ("assessments", EligibilityAssessment, out["assessments"]),
                        ("assessment_citations", through, citations),
                        ("decisions", Decision, out["decisions"]),
                        ("appeals", Appeal, out["appeals"]),
                        ("case_deadlines", CaseDeadline, out["deadlines"]),
                        ("family_members", FamilyMember, out["family"])):
                    ts = time.perf_counter()
                    model.objects.bulk_create(objs, batch_size=1000)
                    self.t_tables[key] = self.t_tables.get(key, 0.0) + time.perf_counter() - ts
                ts = time.perf_counter()
                self._update_cases(out["case_rows"])
                self.t_tables["cases_updated"] = (self.t_tables.get("cases_updated", 0.0)
                                                  + time.perf_counter() - ts)
        t2 = time.perf_counter()
        self.t_build += t1 - t0
        self.t_insert += t2 - t1
        for key, name in (("steps", "case_steps"), ("deadlines", "case_deadlines"),
                          ("applications", "applications"), ("interviews", "interviews"),
                          ("assessments", "assessments"), ("citations", "assessment_citations"),
                          ("decisions", "decisions"), ("appeals", "appeals"),
                          ("family", "family_members"), ("case_rows", "cases_updated")):
            self.rows[name] += len(out[key])

    @staticmethod
    def _update_cases(rows: list[tuple]) -> None:
        """One UPDATE ... FROM (VALUES ...) per 1,000 cases (bulk_update's CASE WHEN is slow)."""
        for i in range(0, len(rows), 1000):
            chunk = rows[i:i + 1000]
            values = ", ".join(["(%s::uuid, %s, %s, %s::int, %s::timestamptz, %s::timestamptz)"]
                               * len(chunk))
            params = [v for r in chunk for v in r]
            with connection.cursor() as cur:
                cur.execute(
                    "UPDATE cases_case c SET state = v.state, procedure = v.procedure, "  # noqa: S608
                    "step_no = v.step_no, closed_at = v.closed_at, updated_at = v.updated_at "
                    f"FROM (VALUES {values}) AS v(id, state, procedure, step_no, closed_at, "
                    "updated_at) WHERE c.id = v.id", params)


def unfill() -> dict:
    """Take every case out of its procedure again: delete the procedure's rows (steps,
    deadlines, applications, interviews, assessments, decisions, appeals, family members) and
    put the cases back at "open" or "closed" (for --refill after the procedures changed), then
    VACUUM FULL the tables."""
    t0 = time.perf_counter()
    filled = "SELECT id FROM cases_case WHERE procedure <> ''"
    through = EligibilityAssessment.coi_sources.through._meta.db_table
    deleted = {}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {through} WHERE eligibilityassessment_id IN "  # noqa: S608
                    f"(SELECT id FROM rsd_eligibilityassessment WHERE case_id IN ({filled}))")
        deleted[through] = cur.rowcount
        for model in (Appeal, Decision, EligibilityAssessment, Interview, Application, FamilyMember,
                      CaseDeadline, CaseStep):
            table = model._meta.db_table
            cur.execute(f"DELETE FROM {table} WHERE case_id IN ({filled})")  # noqa: S608
            deleted[table] = cur.rowcount
        cur.execute("UPDATE cases_case SET procedure = '', step_no = 0, state = CASE WHEN "
                    "closed_at IS NULL THEN 'open' ELSE 'closed' END WHERE procedure <> ''")
        deleted["cases_case (reset)"] = cur.rowcount
    # Compact the tables again: otherwise the fill writes into new pages and every later
    # plan reads tables twice their size (and may be chosen differently).
    common.vacuum_analyze(through, "cases_case", *(m._meta.db_table for m in (
        Appeal, Decision, EligibilityAssessment, Interview, Application, FamilyMember,
        CaseDeadline, CaseStep)), full=True)
    print(f"  unfill: {sum(deleted.values()):,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
    return {"rows": deleted, "seconds": round(time.perf_counter() - t0, 2)}


def top_up(n_cases: int, seed: int) -> dict:
    """Add households with asylum cases (bench/generate.py's generator) to the offices."""
    import generate

    print(f"  adding {n_cases:,} households with an asylum case (bench/generate.py, seed {seed})",
          flush=True)
    generate.TRAFFICKING = 0.0
    generate.INTAKE_ONLY = 0.0
    gen = generate.Generator(people=10**9, seed=seed, batch=5000, history=False)
    codes = [o[0] for o in common.OFFICES]
    by_code = {o.code: o for o in Office.objects.filter(code__in=codes)}
    gen.offices = [by_code[c] for c in codes]
    gen.office_weights = [o[4] for o in common.OFFICES]
    gen.caseworkers = {}
    for u in User.objects.filter(memberships__role=Role.CASEWORKER).order_by("username").distinct():
        for office_id in u.memberships.filter(role=Role.CASEWORKER).values_list("office_id", flat=True):
            gen.caseworkers.setdefault(office_id, []).append(u)
    gen.ref_counters = {(r.office_id, r.year): r.last for r in ReferenceCounter.objects.all()}
    gen.made = 0
    t0 = time.perf_counter()
    made_cases = 0
    with common.keep_dates(*generate.AUTO_DATES):
        while made_cases < n_cases:
            out = {k: [] for k in ("keys", "people", "documents", "index", "cases", "participants")}
            with datakeys.key_scope():
                while len(out["cases"]) < min(2500, n_cases - made_cases):
                    gen.made += gen._household(out)
                with transaction.atomic():
                    gen._insert(DataKey, out["keys"])
                    gen._insert(Person, out["people"])
                    gen._insert(IdentityDocument, out["documents"])
                    gen._insert(generate.PersonIndex, out["index"])
                    gen._insert(Case, out["cases"])
                    gen._insert(CaseParticipant, out["participants"])
            made_cases += len(out["cases"])
            for key, name in (("keys", "data_keys"), ("people", "people"),
                              ("documents", "identity_documents"), ("index", "index_entries"),
                              ("cases", "cases"), ("participants", "participants")):
                gen.rows[name] += len(out[key])
            el = time.perf_counter() - t0
            print(f"  {gen.made:>7,} people  {made_cases:>6,} cases  {el:6.1f} s", flush=True)
    for (office_id, year), last in gen.ref_counters.items():
        ReferenceCounter.objects.update_or_create(office_id=office_id, year=year,
                                                  defaults={"last": last})
    elapsed = time.perf_counter() - t0
    common.vacuum_analyze()
    rows = {k: v for k, v in gen.rows.items() if k != "history_rows"}
    return {"households": made_cases, "rows": rows, "seconds": round(elapsed, 2),
            "rows_per_second": round(sum(rows.values()) / elapsed),
            "people_per_second": round(gen.made / elapsed)}


def fill_stats() -> dict:
    today = timezone.localdate()
    states = dict(Case.objects.filter(kind=CaseKind.ASYLUM).exclude(procedure="")
                  .values_list("state").annotate(n=Count("pk")).order_by("state"))
    procedures = dict(Case.objects.exclude(procedure="").values_list("procedure")
                      .annotate(n=Count("pk")).order_by("procedure"))
    open_dl = CaseDeadline.objects.filter(met_at__isnull=True)
    week = today + datetime.timedelta(days=7)
    steps_hist = dict(Case.objects.exclude(procedure="").values_list("step_no")
                      .annotate(n=Count("pk")).order_by("step_no"))
    return {
        "cases_in_procedure": sum(states.values()),
        "states": states,
        "procedures": procedures,
        "steps_per_case": steps_hist,
        "tables": {m._meta.db_table: m.objects.count() for m in (
            CaseStep, CaseDeadline, Application, Interview, EligibilityAssessment, Decision,
            Appeal, FamilyMember, CoiSource, Person, Case)},
        "open_deadlines": open_dl.count(),
        "open_deadlines_overdue": open_dl.filter(due_on__lt=today).count(),
        "open_deadlines_due_within_7_days": open_dl.filter(due_on__gte=today, due_on__lte=week).count(),
        "open_deadlines_by_clock": dict(open_dl.values_list("clock").annotate(n=Count("pk"))
                                        .order_by("clock")),
        "scheduled_interviews_future": Interview.objects.filter(
            status=InterviewStatus.SCHEDULED, scheduled_for__gte=timezone.now()).count(),
    }


# --- Fixtures for the timings -----------------------------------------------------------

class Data:
    def __init__(self) -> None:
        self.office = Office.objects.get(code=common.BIG_OFFICE)
        self.supervisor = User.objects.get(username=f"bench-sup-{common.BIG_OFFICE.lower()}-1")
        self.supervisor2 = User.objects.get(username=f"bench-sup-{common.BIG_OFFICE.lower()}-2")
        top = (Case.objects.filter(office=self.office, assigned_to__isnull=False)
               .values("assigned_to").annotate(n=Count("pk")).order_by("-n").first())
        self.caseworker = User.objects.get(pk=top["assigned_to"])
        mine = Case.objects.filter(assigned_to=self.caseworker).exclude(procedure="")
        # The case page test: one of the caseworker's cases with a dozen steps (or nearest),
        # an open one if there is one (its page shows the steps the user may take).
        self.dozen = (mine.annotate(d=Func(F("step_no") - 12, function="ABS"))
                      .order_by("d", F("closed_at").asc(nulls_first=True), "pk").first())
        # And one with a short history, for the case page's query count (the same at any size).
        self.short = (mine.filter(step_no__lte=2, closed_at__isnull=True).order_by("pk").first()
                      or mine.order_by("step_no", "pk").first())
        rng = random.Random(5)
        cw_ids = list(mine.order_by("pk").values_list("pk", flat=True))
        rng.shuffle(cw_ids)
        self.cw_case_ids = cw_ids[:200]
        sup_ids = list(Case.objects.filter(office=self.office).exclude(procedure="")
                       .order_by("pk").values_list("pk", flat=True))
        rng.shuffle(sup_ids)
        self.sup_case_ids = sup_ids[:200]

    def describe(self) -> dict:
        today = timezone.localdate()
        start, _end = rsd_selectors.week_of(today)
        weeks = {}
        for w in range(-1, 9):
            s = start + datetime.timedelta(days=7 * w)
            weeks[s.isoformat()] = Interview.objects.filter(
                interviewer=self.caseworker, status=InterviewStatus.SCHEDULED,
                scheduled_for__date__gte=s, scheduled_for__date__lt=s + datetime.timedelta(days=7)
            ).count()
        return {
            "big_office": self.office.code,
            "caseworker": self.caseworker.username,
            "caseworker_cases": Case.objects.filter(assigned_to=self.caseworker).count(),
            "caseworker_cases_in_procedure": Case.objects.filter(
                assigned_to=self.caseworker).exclude(procedure="").count(),
            "caseworker_scheduled_interviews_per_week": weeks,
            "supervisor": self.supervisor.username,
            "big_office_cases_in_procedure": Case.objects.filter(office=self.office)
            .exclude(procedure="").count(),
            "dozen_step_case": {"id": str(self.dozen.pk), "steps": self.dozen.step_no,
                                "state": self.dozen.state, "procedure": self.dozen.procedure},
            "short_case": {"id": str(self.short.pk), "steps": self.short.step_no,
                           "state": self.short.state},
        }


# --- Services ---------------------------------------------------------------------------

def bench_services(b: common.Bench, d: Data) -> None:
    import generate

    print("services: the asylum procedure's steps on fresh cases (removed again afterwards)")
    cw, sup, sup2 = d.caseworker, d.supervisor, d.supervisor2
    # Bench.measure calls fn(i) for i in 0 .. reps + 4; one more counted, one more timed
    n = max(5, b.reps) + 7
    rng = random.Random(17)
    names = generate.NameMaker(17, rng)
    texts = Texts(rng)
    people, case_ids = [], []
    sources = list(CoiSource.objects.filter(office=d.office, is_active=True)
                   .values_list("pk", flat=True)[:3])
    try:
        for _i in range(n):
            loc = names.locale()
            sex = rng.choice(["female", "male"])
            given, family = names.person(loc, sex, None)
            dtype, number, country = names.document("HN")
            data = case_services.PersonData(
                given_names=given, family_names=family, sex=sex,
                date_of_birth=datetime.date(1970, 1, 1) + datetime.timedelta(days=rng.randrange(0, 15000)),
                aliases=[], nationalities=["HN"], languages=["es"], phone=names.phone("MX"),
                email="", address=names.address(loc), specific_needs=[],
                documents=[case_services.IdentityDocumentData(dtype, number, country)])
            with datakeys.key_scope():
                p = case_services.register_person(by=cw, office=d.office, data=data)
                people.append(p)
                case_ids.append(case_services.open_case(by=cw, person=p, kind=CaseKind.ASYLUM).pk)
        today = timezone.localdate()

        def load(user):
            return [selectors.get_case(common.fresh(user), pk) for pk in case_ids]

        def step(label, user, call, *, note=""):
            cases = load(user)

            def fn(i):
                with datakeys.key_scope():
                    call(common.fresh(user), cases[i])

            # A step made in one more case, every statement and commit counted (the step's
            # own statements; the audit link's with the inline linker).
            with CaptureQueriesContext(connection) as captured:
                fn(n - 2)
            sql = [q["sql"] for q in captured.captured_queries]
            row = b.measure("services", label, fn, reps=1, note=note)
            row["statements"], row["commits"] = len(sql), sql.count("COMMIT")
            bare_row = b.measure("services", f"  bare locked update, same rows ({label.split()[0]})",
                                 lambda i: bare_update(cases[i].pk), reps=1,
                                 note="SELECT ... FOR UPDATE + UPDATE of the case row, one transaction")
            row["bare_median_ms"], row["bare_p95_ms"] = bare_row["median_ms"], bare_row["p95_ms"]
            row["ratio_median"] = round(row["median_ms"] / bare_row["median_ms"], 2)
            row["ratio_p95"] = round(row["p95_ms"] / bare_row["p95_ms"], 2)
            print(f"    {row['statements']} statements, {row['commits']} commit(s); vs bare update: "
                  f"{row['ratio_median']}x median, {row['ratio_p95']}x p95")
            timer = common.SqlTimer()  # the last case: every statement timed
            t0 = time.perf_counter()
            with connection.execute_wrapper(timer):
                fn(n - 1)
            split = timer.summary(time.perf_counter() - t0)
            row.update({"sql_ms": split["sql_ms"], "split": split})
            print(f"    one more call: {split['request_ms']} ms, SQL {split['sql_ms']} ms in "
                  f"{split['statements']} statements; slowest: "
                  + "; ".join(f"{q['ms']} ms {q['sql'][:70]}" for q in split["slowest"][:3]))

        step("record_application (caseworker)", cw, lambda u, c: rsd.record_application(
            by=u, case=c, data=rsd.ApplicationData(
                application_date=today - datetime.timedelta(days=3),
                arrival_date=today - datetime.timedelta(days=10), channel="office",
                place_of_entry="Ciudad Hidalgo", claim_summary=texts.text(200, 500),
                narrative=texts.text(800, 3000), interpreter_language="")),
            note="enters rsd.mx: Application, step, 2 deadlines, audit event")
        when = datetime.datetime.combine(today + datetime.timedelta(days=7), datetime.time(10),
                                         timezone.get_current_timezone())
        step("schedule_interview (caseworker)", cw, lambda u, c: rsd.schedule_interview(
            by=u, case=c, when=when, place="Sala de entrevistas 1", interviewer=u))
        # The interview day comes: move it to an hour ago (not timed).
        Interview.objects.filter(case_id__in=case_ids, status=InterviewStatus.SCHEDULED).update(
            scheduled_for=timezone.now() - datetime.timedelta(hours=1))
        step("record_interview, attended, ~4 KB transcript", cw, lambda u, c: rsd.record_interview(
            by=u, case=c, attended=True, transcript=texts.text(3000, 5000),
            notes=texts.text(150, 600)), note="meets the interview clock")

        def assessment(i):
            return rsd.AssessmentData(
                credibility=texts.text(400, 1500), material_facts=texts.text(400, 1500),
                inclusion=texts.text(400, 1500), convention_grounds=["political_opinion"],
                coi_source_ids=sources, recommendation="recognized" if i % 2 else "rejected")

        step("submit_assessment (caseworker)", cw, lambda u, c: rsd.submit_assessment(
            by=u, case=c, data=assessment(case_ids.index(c.pk))), note="3 sealed texts, 3 COI citations")
        step("review_assessment, return with comments (sup.)", sup, lambda u, c: rsd.review_assessment(
            by=u, case=c, approve=False, comments=texts.sentence()), note="four-eyes check")
        for c in load(cw):  # submitted again (not timed)
            with datakeys.key_scope():
                rsd.submit_assessment(by=common.fresh(cw), case=c, data=assessment(case_ids.index(c.pk)))

        def decision(c):
            positive = case_ids.index(c.pk) % 2
            return rsd.DecisionData(
                outcome="recognized" if positive else "rejected",
                legal_basis="convention" if positive else "none",
                grounds=["political_opinion"] if positive else [],
                reasons=texts.text(500, 2000), decided_on=today)

        step("record_decision 'decide' (supervisor)", sup2, lambda u, c: rsd.record_decision(
            by=u, case=c, step_name="decide", data=decision(c)),
            note="approves the assessment, meets the decision clock")
        step("record_notification (caseworker)", cw, lambda u, c: rsd.record_notification(
            by=u, case=c, delivered_on=today, language="es"),
            note="half recognitions (closes), half refusals (appeal clock)")
    finally:
        _remove(case_ids, [p.pk for p in people])


def bare_update(case_id) -> None:
    """The floor a step is measured against: lock the case row and update it, one commit."""
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).get(pk=case_id)
        Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())


def _remove(case_ids: list, person_ids: list) -> None:
    """Delete what the services run made, history rows too (not the audit events)."""
    with transaction.atomic():
        for model in (Decision, Appeal, EligibilityAssessment, Interview, Application, FamilyMember):
            model.history.filter(case_id__in=case_ids).delete()
        Appeal.objects.filter(case_id__in=case_ids).delete()
        Decision.objects.filter(case_id__in=case_ids).delete()
        CaseParticipant.history.filter(case_id__in=case_ids).delete()
        Case.history.filter(id__in=case_ids).delete()
        CaseParticipant.objects.filter(case_id__in=case_ids).delete()
        Case.objects.filter(pk__in=case_ids).delete()  # steps, deadlines, rsd rows cascade
        IdentityDocument.history.filter(person_id__in=person_ids).delete()
        Person.history.filter(id__in=person_ids).delete()
        Person.objects.filter(pk__in=person_ids).delete()
        DataKey.objects.filter(subject_id__in=person_ids).delete()


# --- Reads ------------------------------------------------------------------------------

def bench_reads(b: common.Bench, d: Data) -> None:
    print("reads: workflow.available, queues, deadlines, interviews, dashboard parts")
    cw, sup = d.caseworker, d.supervisor
    today = timezone.localdate()
    for role, user, ids in (("caseworker", cw, d.cw_case_ids), ("supervisor", sup, d.sup_case_ids)):
        cases = list(selectors.visible_cases(user).filter(pk__in=ids).order_by("pk"))

        def avail(i, user=user, cases=cases):
            return {"actions": len(workflow.available(cases[i % len(cases)], common.fresh(user)))}

        b.measure("reads", f"{role}: workflow.available(case) (200 cases)", avail, reps=5,
                  note="per case page; states of the sample vary")

    review_queue = rsd_selectors.review_queue

    def queue_page(i):
        with datakeys.key_scope():
            page = Paginator(review_queue(common.fresh(sup)), 50).get_page(1)
            cases = [r.case for r in rsd_selectors.review_rows(page.object_list)]
            datakeys.preload([c.principal_id for c in cases])
            names = [c.principal.family_names for c in cases]
        return {"total": page.paginator.count, "rows": len(names)}

    b.measure("reads", "supervisor: review_queue page 1 of 50 (+rows, names)", queue_page, reps=2,
              note="count + page + review_rows + names")
    b.measure("reads", "supervisor: review_queue count", lambda i: {
        "total": review_queue(common.fresh(sup)).count()}, reps=2)

    due = selectors.due_deadlines
    for label, user, kw in (("caseworker: due_deadlines mine", cw, {"mine_only": True}),
                            ("caseworker: due_deadlines (mine + queue)", cw, {}),
                            ("supervisor: due_deadlines", sup, {})):
        b.measure("reads", f"{label}, first 20", lambda i, user=user, kw=kw: {
            "rows": len(list(due(common.fresh(user), **kw)[:20]))}, reps=2)
        b.measure("reads", f"{label}, count", lambda i, user=user, kw=kw: {
            "total": due(common.fresh(user), **kw).count()}, reps=2)
    b.measure("reads", "supervisor: supervised_deadlines (per office)", lambda i: {
        "offices": len(selectors.supervised_deadlines(common.fresh(sup)))}, reps=2,
        note="overdue / due soon / waiting per office")
    week = rsd_selectors.interviews_for_week
    b.measure("reads", "caseworker: interviews_for_week (this week)", lambda i: {
        "rows": len(list(week(common.fresh(cw), today)))}, reps=2)
    b.measure("reads", "caseworker: interviews_for_week (+2 weeks)", lambda i: {
        "rows": len(list(week(common.fresh(cw), today + datetime.timedelta(days=14))))}, reps=2)
    prio = rsd_selectors.priority_cases
    b.measure("reads", "supervisor: priority_cases, first 50", lambda i: {
        "rows": len(list(prio(common.fresh(sup))[:50]))}, reps=2)
    pni = rsd_selectors.priority_not_interviewed
    for role, user in (("caseworker", cw), ("supervisor", sup)):
        b.measure("reads", f"{role}: priority_not_interviewed, first 10 + count",
                  lambda i, user=user: {"total": pni(common.fresh(user)).count(),
                                        "rows": len(list(pni(common.fresh(user))[:10]))}, reps=2)
    for role, user in (("caseworker", cw), ("supervisor", sup)):
        def parts(i, user=user):
            u = common.fresh(user)
            dl = dashboard.deadlines(u)
            secs = dashboard.sections(u)
            return {"cases": len(dl.cases) + sum(len(s.cases) for s in secs)}

        b.measure("reads", f"{role}: dashboard deadlines + sections", parts, reps=2,
                  note="cases.dashboard.deadlines + sections, as the view calls them")

    case = d.dozen

    def proc(i):
        with datakeys.key_scope():
            c = selectors.get_case(common.fresh(cw), case.pk)
            p = rsd_selectors.procedure_of(c)
            opened = 0
            if p.application:
                opened += bool(p.application.claim_summary) + bool(p.application.narrative)
            for iv in p.interviews:
                opened += bool(iv.transcript) + bool(iv.notes)
            for a in p.assessments:
                opened += bool(a.credibility) + bool(a.inclusion)
            for dd in p.decisions:
                opened += bool(dd.reasons)
        return {"sealed_opened": opened}

    b.measure("reads", f"procedure_of({case.step_no}-step case) + its sealed texts", proc, reps=2)


# --- Views ------------------------------------------------------------------------------

def _url(name: str, **kw) -> str | None:
    try:
        return reverse(name, kwargs=kw or None)
    except NoReverseMatch:
        return None


def bench_views(b: common.Bench, d: Data) -> list[dict]:
    print("views: whole requests through the test client (DEBUG off)")
    logging.getLogger("django.request").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="No directory at")
    case = d.dozen
    wf = workflow.for_case(case)
    labels = {str(t.label) for t in wf.transitions.values()}
    checks = []
    for role, user in (("caseworker", d.caseworker), ("supervisor", d.supervisor)):
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        pages = [("GET dashboard", "/"),
                 (f"GET case page ({case.step_no} steps)", f"/cases/{case.pk}/"),
                 (f"GET case page ({d.short.step_no} steps)", f"/cases/{d.short.pk}/")]
        if role == "supervisor":
            pages.append(("GET review queue", _url("rsd:review_queue")))
        pages.append(("GET interviews this week", _url("rsd:interviews")))
        for label, url in pages:
            if url is None:
                print(f"  {role}: {label}: no such URL yet, skipped")
                continue
            r = client.get(url)
            html = r.content.decode(errors="replace")
            check = {"role": role, "page": label, "url": url, "status": r.status_code,
                     "kib": round(len(r.content) / 1024, 1),
                     "step_labels_shown": sum(1 for lab in labels if lab in html)}
            checks.append(check)
            if r.status_code != 200:
                print(f"  {role}: {label}: status {r.status_code}, not timed")
                continue

            def fetch(i, client=client, url=url):
                return {"status_200": client.get(url).status_code == 200}

            row = b.measure("views", f"{role}: {label}", fetch, reps=1,
                            note=f"{check['kib']} KiB")
            # One more request with every statement timed: how much of it is SQL, and which.
            timer = common.SqlTimer()
            t0 = time.perf_counter()
            with connection.execute_wrapper(timer):
                client.get(url)
            total = time.perf_counter() - t0
            check.update(timer.summary(total))
            row["sql_ms"] = check["sql_ms"]
            print(f"    one more request: {total * 1000:.1f} ms, of which SQL {check['sql_ms']} ms in "
                  f"{check['statements']} statements; slowest: "
                  + "; ".join(f"{q['ms']} ms {q['sql'][:90]}" for q in check["slowest"][:3]))
    return checks


# --- EXPLAIN ----------------------------------------------------------------------------

def bench_explain(d: Data) -> list[dict]:
    print("EXPLAIN (ANALYZE, BUFFERS)")
    cw, sup = d.caseworker, d.supervisor
    today = timezone.localdate()
    due = selectors.due_deadlines
    queue = rsd_selectors.review_queue
    week = rsd_selectors.interviews_for_week
    prio = rsd_selectors.priority_cases
    out = []
    ex = common.explain
    with datakeys.key_scope():
        out.append(ex("caseworker: due_deadlines mine, first 20",
                      lambda: list(due(common.fresh(cw), mine_only=True)[:20]), "cases_casedeadline"))
        out.append(ex("caseworker: due_deadlines mine, count",
                      lambda: due(common.fresh(cw), mine_only=True).count(), "cases_casedeadline"))
        out.append(ex("caseworker: due_deadlines (mine + queue), first 20",
                      lambda: list(due(common.fresh(cw))[:20]), "cases_casedeadline"))
        out.append(ex("supervisor: due_deadlines, first 20",
                      lambda: list(due(common.fresh(sup))[:20]), "cases_casedeadline"))
        out.append(ex("supervisor: due_deadlines, count",
                      lambda: due(common.fresh(sup)).count(), "cases_casedeadline"))
        out.append(ex("supervisor: supervised_deadlines (per office counts)",
                      lambda: selectors.supervised_deadlines(common.fresh(sup)),
                      "cases_casedeadline"))
        out.append(ex("supervisor: review_queue, first 50",
                      lambda: list(queue(common.fresh(sup))[:50]), "rsd_application"))
        out.append(ex("supervisor: review_queue, count",
                      lambda: queue(common.fresh(sup)).count(), "COUNT"))
        out.append(ex("caseworker: interviews_for_week",
                      lambda: list(week(common.fresh(cw), today)), "rsd_interview"))
        out.append(ex("supervisor: priority_cases, first 50",
                      lambda: list(prio(common.fresh(sup))[:50]), "rsd_application"))
        out.append(ex("supervisor: priority_not_interviewed, first 10",
                      lambda: list(rsd_selectors.priority_not_interviewed(common.fresh(sup))[:10]),
                      "rsd_application"))

        def sweep_query():  # the query rsd.services.sweep runs first (not sweep: it fires)
            return list(Case.objects.filter(
                kind=CaseKind.ASYLUM, state="appeal_period", deadlines__clock="appeal",
                deadlines__met_at__isnull=True, deadlines__due_on__lt=today)
                .select_related("office").distinct()[:500])

        out.append(ex("sweep: appeal periods over (daily task)", sweep_query, "cases_casedeadline"))
    for e in out:
        e["uses_open_deadline_due"] = "open_deadline_due" in e["plan"]
        print(f"  {e['label']:<56} {e['execution_ms']:9.2f} ms  " + "; ".join(e["scans"]))
    return out


# --- Trials: the slow queries before their fixes, next to the production ones ------------

# The two partial indexes the fixes added (migrations cases 0007, rsd 0002). The trials drop
# them in a transaction that is rolled back, to show each shape with and without them.
FIX_INDEXES = ["open_case_office_state", "priority_application"]

# The queries as cases/selectors.py and rsd/selectors.py had them before the fixes (commit
# 30f0519), kept only to measure what the fixes changed. The production functions are what
# the rest of this file measures.


def waiting_for_before_fix(user: User, role: str):
    """selectors.waiting_for before the fix: the per-procedure OR alone, without the
    redundant state__in that lets the (office, state) index narrow first."""
    scope = Q(pk__in=[])
    for wf in workflow.registered():
        states = [s.name for s in wf.states.values() if s.waiting_for == role]
        if states:
            scope |= Q(procedure=wf.name, state__in=states)
            scope |= Q(procedure="", kind=wf.kind, state__in=states)
    return selectors.visible_cases(user).filter(
        scope, office__in=access.offices_where(user, role), closed_at__isnull=True)


def review_queue_before_fix(user: User):
    """rsd_selectors.review_queue before the fix: waiting_for_before_fix, and the
    waiting_since subquery with CaseStep.Meta's ordering (which joins cases_case again)."""
    entered = CaseStep.objects.filter(case=OuterRef("pk"), number=OuterRef("step_no"))
    return (waiting_for_before_fix(user, Role.SUPERVISOR)
            .filter(kind=CaseKind.ASYLUM)
            .annotate(priority=Exists(Application.objects.filter(case=OuterRef("pk"), priority=True)),
                      waiting_since=Subquery(entered.values("effective_on")[:1]))
            .order_by("-priority", F("waiting_since").asc(nulls_last=True), "opened_at", "pk"))


def _open_deadlines_before_fix(user: User, *, mine_only: bool = False, offices=None):
    """The running deadlines before the fix: the open-case condition on a join with
    cases_case, next to a semi-join on the visible cases."""
    cases = selectors.my_cases(user) if mine_only else selectors.visible_cases(user)
    if offices is not None:
        cases = cases.filter(office__in=offices)
    limit = timezone.localdate() + datetime.timedelta(days=selectors.DUE_SOON_DAYS)
    return CaseDeadline.objects.filter(met_at__isnull=True, due_on__lte=limit,
                                       case__closed_at__isnull=True, case__in=cases.values("pk"))


def due_deadlines_before_fix(user: User, *, mine_only: bool = False, offices=None):
    """selectors.due_deadlines before the fix (see _open_deadlines_before_fix)."""
    return (_open_deadlines_before_fix(user, mine_only=mine_only, offices=offices)
            .select_related("case", "case__office", "case__assigned_to")
            .order_by("due_on", "pk"))


def supervised_counts_before_fix(user: User) -> dict:
    """The per-office deadline counts of selectors.supervised_deadlines before the fix: the
    open deadlines of _open_deadlines_before_fix grouped by the case's office."""
    today = timezone.localdate()
    return {
        office_id: (overdue, due_soon)
        for office_id, overdue, due_soon in _open_deadlines_before_fix(
            user, offices=access.offices_where(user, Role.SUPERVISOR))
        .order_by().values("case__office_id")
        .annotate(overdue=Count("case", distinct=True, filter=Q(due_on__lt=today)),
                  due_soon=Count("case", distinct=True, filter=Q(due_on__gte=today)))
        .values_list("case__office_id", "overdue", "due_soon")
    }


def supervised_counts(user: User) -> dict:
    """The per-office deadline counts of the production selectors.supervised_deadlines."""
    return {o.office.pk: (o.overdue, o.due_soon) for o in selectors.supervised_deadlines(user)
            if o.overdue or o.due_soon}


def priority_not_interviewed_before_fix(user: User):
    """rsd_selectors.priority_not_interviewed before the fix: select_related("application")
    and the ordering on the joined application, which read every application row."""
    return (rsd_selectors.priority_cases(user)
            .filter(state__in=rsd_selectors.NOT_INTERVIEWED,
                    office__in=access.offices_where(user, *access.CASE_ROLES))
            .select_related("application")
            .order_by("application__application_date", "opened_at", "pk"))


def _plan_ms(sql: str, reps: int) -> tuple[float, list[str], int]:
    """Median execution time of EXPLAIN ANALYZE over `reps` runs, the indexes and sequential
    scans of the plan, and the shared buffers it touched (which the machine's load does not
    change, unlike the times)."""
    import json as _json

    times, plan = [], None
    with connection.cursor() as cur:
        for _ in range(reps):
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            raw = cur.fetchone()[0]
            plan = raw if isinstance(raw, list) else _json.loads(raw)
            times.append(plan[0]["Execution Time"])
    scans = set()

    def walk(node):
        if "Index Name" in node:
            scans.add(f"{node['Node Type']} {node['Index Name']}")
        elif node["Node Type"].endswith("Seq Scan"):
            scans.add(f"Seq Scan {node['Relation Name']}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    top = plan[0]["Plan"]
    buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
    return round(statistics.median(times), 2), sorted(scans), buffers


TRIAL_COLUMNS = [("before_noindex", "before, no idx"), ("now_noindex", "now, no idx"),
                 ("before", "before"), ("now", "now")]


def bench_trials(d: Data, reps: int = 11) -> list[dict]:
    """EXPLAIN ANALYZE (median of `reps`) of the slow queries as they were before their fixes
    and as the production selectors run them now, each with the fixes' indexes and without
    (dropped in a transaction that is rolled back). Both shapes are checked to return the
    same rows."""
    print("trials: the slow queries before their fixes and now, with and without the fixes' "
          "indexes (dropped, then rolled back)")
    cw, sup = d.caseworker, d.supervisor
    fresh = common.fresh
    supervised = access.offices_where(sup, Role.SUPERVISOR)
    due = selectors.due_deadlines
    pni = rsd_selectors.priority_not_interviewed
    queue = rsd_selectors.review_queue
    trials = [  # label, before, now, a word of the statement to EXPLAIN
        ("supervisor: review_queue, first 50",
         lambda: [c.pk for c in review_queue_before_fix(fresh(sup))[:50]],
         lambda: [c.pk for c in queue(fresh(sup))[:50]], "rsd_application"),
        ("supervisor: review_queue, count",
         lambda: review_queue_before_fix(fresh(sup)).count(),
         lambda: queue(fresh(sup)).count(), "COUNT"),
        ("supervisor: priority_not_interviewed, first 10",
         lambda: [c.pk for c in priority_not_interviewed_before_fix(fresh(sup))[:10]],
         lambda: [c.pk for c in pni(fresh(sup))[:10]], "rsd_application"),
        ("supervisor: priority_not_interviewed, count",
         lambda: priority_not_interviewed_before_fix(fresh(sup)).count(),
         lambda: pni(fresh(sup)).count(), "COUNT"),
        ("caseworker: priority_not_interviewed, first 10",
         lambda: [c.pk for c in priority_not_interviewed_before_fix(fresh(cw))[:10]],
         lambda: [c.pk for c in pni(fresh(cw))[:10]], "rsd_application"),
        ("caseworker: priority_not_interviewed, count",
         lambda: priority_not_interviewed_before_fix(fresh(cw)).count(),
         lambda: pni(fresh(cw)).count(), "COUNT"),
        ("supervisor: due_deadlines (offices), count",
         lambda: due_deadlines_before_fix(fresh(sup), offices=supervised).count(),
         lambda: due(fresh(sup), offices=supervised).count(), "cases_casedeadline"),
        ("supervisor: due_deadlines (offices), first 20",
         lambda: [x.pk for x in due_deadlines_before_fix(fresh(sup), offices=supervised)[:20]],
         lambda: [x.pk for x in due(fresh(sup), offices=supervised)[:20]], "cases_casedeadline"),
        ("supervisor: supervised_deadlines, per-office counts",
         lambda: supervised_counts_before_fix(fresh(sup)),
         lambda: supervised_counts(fresh(sup)), "cases_casedeadline"),
        ("caseworker: due_deadlines mine, count",
         lambda: due_deadlines_before_fix(fresh(cw), mine_only=True).count(),
         lambda: due(fresh(cw), mine_only=True).count(), "cases_casedeadline"),
        ("caseworker: due_deadlines mine, first 20",
         lambda: [x.pk for x in due_deadlines_before_fix(fresh(cw), mine_only=True)[:20]],
         lambda: [x.pk for x in due(fresh(cw), mine_only=True)[:20]], "cases_casedeadline"),
    ]
    rows = []
    for label, before, now, contains in trials:
        rows.append({"label": label, "same_result": before() == now(),
                     "sql_before": common.captured_sql(before, contains),
                     "sql_now": common.captured_sql(now, contains)})

    def plans(suffix: str) -> None:
        for row in rows:
            for shape in ("before", "now"):
                (row[f"{shape}{suffix}_ms"], row[f"{shape}{suffix}_scans"],
                 row[f"{shape}{suffix}_buffers"]) = _plan_ms(row[f"sql_{shape}"], reps)

    plans("")
    with transaction.atomic():
        with connection.cursor() as cur:
            for index in FIX_INDEXES:
                cur.execute(f'DROP INDEX IF EXISTS "{index}"')
        plans("_noindex")
        transaction.set_rollback(True)
    print(f"  {'query (ms / shared buffers)':<50} "
          + " ".join(f"{head:>15}" for _, head in TRIAL_COLUMNS) + "  same rows")
    for r in rows:
        cells = [f"{r[k + '_ms']:.1f} / {r[k + '_buffers']:,}" for k, _ in TRIAL_COLUMNS]
        print(f"  {r['label']:<50} " + " ".join(f"{c:>15}" for c in cells) + f"  {r['same_result']}")
    return rows


# --- Main -------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", choices=GROUPS)
    ap.add_argument("--cases", type=int, default=50_000,
                    help="fill: asylum cases in the procedure (households are added if fewer)")
    ap.add_argument("--batch", type=int, default=2000, help="fill: cases per transaction")
    ap.add_argument("--refill", action="store_true",
                    help="fill: first take every case out of its procedure (delete the "
                         "procedure rows), e.g. after the procedures changed")
    ap.add_argument("--reps", type=int, default=40, help="base repetitions per operation")
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--linker", choices=["background", "inline"], default="background",
                    help="services: how audit events are linked while the steps are timed")
    ap.add_argument("--baseline", action="store_true",
                    help="also write bench/results/baseline-workflow-<date>[-<tag>].json")
    ap.add_argument("--tag", default="", help="suffix of the baseline file name")
    args = ap.parse_args()
    groups = args.only or GROUPS
    common.require_data()
    schema_check()
    started = time.perf_counter()
    env = common.environment("cases", "rsd")
    out: dict = {"measured_at": timezone.now().isoformat(), "environment": env,
                 "args": vars(args)}
    if args.only:  # keep the other groups' figures of the previous run
        out = common.with_previous("workflow", out)
    if "fill" in groups:
        print(f"fill: {args.cases:,} asylum cases in the procedure")
        if args.refill:
            out["unfill"] = unfill()
        asylum = Case.objects.filter(kind=CaseKind.ASYLUM).count()
        if asylum < args.cases:
            out["top_up"] = top_up(args.cases - asylum, args.seed + 1)
        filler = Filler(args.seed, args.batch)
        out["fill"] = filler.fill(args.cases)
        out["fill"]["peak_rss_mib_after"] = common.peak_rss_mib()
        f = out["fill"]
        if f["cases_filled"]:
            print(f"  {f['cases_filled']:,} cases, {f['rows_total']:,} rows in {f['seconds']} s = "
                  f"{f['rows_per_second']:,} rows/s (build and seal {f['seconds_build_python']} s, "
                  f"INSERT/UPDATE {f['seconds_insert_db']} s), then VACUUM ANALYZE "
                  f"{f['seconds_vacuum_analyze']} s")
    out["data"] = fill_stats()
    print(f"  {out['data']['cases_in_procedure']:,} asylum cases in a procedure; "
          f"{out['data']['open_deadlines']:,} open deadlines "
          f"({out['data']['open_deadlines_overdue']:,} overdue)")
    d = Data()
    out["fixtures"] = d.describe()
    per_week = list(out["fixtures"]["caseworker_scheduled_interviews_per_week"].values())
    print(f"  caseworker {d.caseworker.username}: "
          f"{out['fixtures']['caseworker_cases_in_procedure']:,} cases in the procedure; "
          f"scheduled interviews per week {per_week}; "
          f"case page case: {d.dozen.step_no} steps ({d.dozen.state})")
    b = common.Bench(args.reps)
    if "services" in groups:
        # The production linker by default (with a broker: `background`), so that a step is
        # its own transaction; `--linker inline` adds the link's (docs/architecture.md#audit).
        with override_settings(AMPARO_AUDIT_LINKER=args.linker):
            bench_services(b, d)
        if args.linker == "background":
            from audit import chain
            chain.link_all()
    if "reads" in groups:
        bench_reads(b, d)
    if "views" in groups:
        out["view_checks"] = bench_views(b, d)
    if "explain" in groups:
        out["explain"] = bench_explain(d)
    if "trials" in groups:
        out["trials"] = bench_trials(d)
    if b.results:
        out["results"] = b.results
    out["peak_rss_mib"] = common.peak_rss_mib()
    common.end_of_run(env)
    out["run_seconds"] = round(time.perf_counter() - started, 1)
    if b.results:
        common.print_table(b.results)
    print(f"\nPeak RSS {out['peak_rss_mib']} MiB; run took {out['run_seconds']} s; load average "
          f"{env['load_average_at_start']} at start, {env['load_average_at_end']} at end.")
    for e in out.get("explain", []) if "explain" in groups else []:
        print(f"\n== {e['label']} ({e['execution_ms']} ms, open_deadline_due: "
              f"{e['uses_open_deadline_due']})\n{e['plan']}")
    print()
    common.write_results("workflow", out, baseline=args.baseline, tag=args.tag)


if __name__ == "__main__":
    main()
