"""Keeping the summary table (`stats.models.Fact`) in step with the records it summarises.

`refresh(case_ids, kinds)` rebuilds rows of those cases from their records; the signals below
keep them in step whenever a case, its applicant, its application, a decision, an appeal,
a step, a screening or an identification is saved or deleted, and whenever a step meets or
starts a period of a clock (`cases.workflow.clocks_ran`), so the workflow updates them on each
step, in the step's own transaction: the numbers are never a day old. Each signal touches
only what its record feeds: a saved case or applicant is one UPDATE of the case's rows, a
step that does not close the case nothing at all. Writes that bypass signals
(`QuerySet.update`, bulk loads) are followed by `manage.py refresh_stats_figures`."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import models, transaction
from django.db.models import Min
from django.db.models.functions import Cast
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from cases.models import Case, CaseDeadline, CaseStep, Person
from cases.workflow import clocks_ran
from rsd.models import Appeal, Application, Decision, Interview, InterviewStatus, Stage
from stats.models import Fact
from stats.unhcr import APPEAL_STATES, CLOSED_STATES, FIRST_INSTANCE_STATES
from tip.models import Identification, Screening

LEVELS = {Stage.FIRST_INSTANCE: "fi", Stage.APPEAL: "ar"}


def _level_of_closure(source: str) -> str | None:
    return "fi" if source in FIRST_INSTANCE_STATES else "ar" if source in APPEAL_STATES else None


def _loaded_case(application: Application | None) -> Case | None:
    if application is None or not Application.case.is_cached(application):
        return None
    case = application.case
    return case if Case.principal.is_cached(case) and case.principal is not None else None


ALL_KINDS = (Fact.APPLICATION, Fact.DECISION, Fact.CLOSURE, Fact.SCREENING, Fact.IDENTIFICATION,
             Fact.INTERVIEW, Fact.NOTIFICATION, Fact.APPEAL, Fact.DEADLINE)
# The kinds that count days from the application.
_FROM_APPLICATION = (Fact.APPLICATION, Fact.DECISION, Fact.INTERVIEW, Fact.NOTIFICATION)


def refresh(case_ids: Iterable[Any], kinds: tuple[str, ...] = ALL_KINDS, *,
            application: Application | None = None) -> int:
    """Rebuild the rows of these kinds of these cases; the number of rows written. With the
    `application` just created, its row is added from it (nothing of it to remove or read)."""
    ids = list(set(case_ids))
    if not ids:
        return 0
    case = _loaded_case(application)
    if case is not None:  # the step's own case, locked with its principal: not read again
        p = case.principal
        cases = {case.pk: [case.office_id, case.kind, case.procedure, case.closed_at,
                           p.nationalities, p.sex, p.birth_year]}
    else:
        cases = {pk: rest for pk, *rest in Case.objects.filter(pk__in=ids).values_list(
            "pk", "office_id", "kind", "procedure", "closed_at", "principal__nationalities",
            "principal__sex", "principal__birth_year")}
    applied: dict[Any, tuple[datetime.date, str, str, bool]] = {}
    if application is not None:
        applied = {application.case_id: (application.application_date, application.channel,
                                         application.modality, application.priority)}
    elif set(kinds) & set(_FROM_APPLICATION):
        applied = {c: (d, ch, m, pr) for c, d, ch, m, pr in Application.objects.filter(
            case_id__in=ids).values_list("case_id", "application_date", "channel", "modality",
                                         "priority")}
    rows: list[Fact] = []

    def fact(case_id: Any, kind: str, on: datetime.date | None, **kw: Any) -> None:
        office, _kind, procedure, _closed, nats, sex, born = cases[case_id]
        office = kw.pop("office_id", office)
        rows.append(Fact(case_id=case_id, office_id=office, kind=kind, on=on,
                         procedure=procedure or "", nationality=(nats or [""])[0] or "",
                         sex=sex or "", birth_year=born, **kw))

    for case_id, (d, channel, modality, priority) in applied.items():
        closed = cases[case_id][3] if case_id in cases else None
        if case_id in cases and Fact.APPLICATION in kinds:
            fact(case_id, Fact.APPLICATION, d, a=channel, b=modality, priority=priority,
                 until=timezone.localdate(closed) if closed else None)
    for case_id, heard in (Interview.objects.filter(
            case_id__in=ids if Fact.INTERVIEW in kinds else [], status=InterviewStatus.ATTENDED)
            .values("case_id").annotate(first=Min("scheduled_for")).values_list("case_id", "first")):
        first = applied.get(case_id)
        if first is not None:
            day = timezone.localtime(heard).date()
            fact(case_id, Fact.INTERVIEW, day, days=(day - first[0]).days)
    for case_id, delivered in Decision.objects.filter(
            case_id__in=ids if Fact.NOTIFICATION in kinds else [], stage=Stage.FIRST_INSTANCE,
            delivered_on__isnull=False).values_list("case_id", "delivered_on"):
        first = applied.get(case_id)
        if first is not None and delivered is not None:
            fact(case_id, Fact.NOTIFICATION, delivered, days=(delivered - first[0]).days)
    for case_id, stage, outcome, basis, on in Decision.objects.filter(
            case_id__in=ids, stage__in=list(LEVELS) if Fact.DECISION in kinds else []).values_list(
            "case_id", "stage", "outcome", "legal_basis", "decided_on"):
        first = applied.get(case_id)
        days = (on - first[0]).days if first and stage == Stage.FIRST_INSTANCE else None
        fact(case_id, Fact.DECISION, on, a=f"{LEVELS[Stage(stage)]}_{outcome}", b=basis,
             days=days)
    closing = CLOSED_STATES if Fact.CLOSURE in kinds else []
    for case_id, source, on in CaseStep.objects.filter(
            case_id__in=ids, target__in=closing).values_list("case_id", "source", "effective_on"):
        level = _level_of_closure(source)
        if level:
            fact(case_id, Fact.CLOSURE, on, a=f"{level}_closed")
    for case_id, on, outcome in Appeal.objects.filter(
            case_id__in=ids if Fact.APPEAL in kinds else []).values_list(
            "case_id", "lodged_on", "decision__outcome"):
        fact(case_id, Fact.APPEAL, on, a=outcome)
    for case_id, clock, due, met, office in CaseDeadline.objects.filter(
            case_id__in=ids if Fact.DEADLINE in kinds else []).values_list(
            "case_id", "clock", "due_on", "met_at", "office_id"):
        fact(case_id, Fact.DEADLINE, timezone.localdate(met) if met else None, until=due, a=clock,
             office_id=office)
    for case_id, on in Screening.objects.filter(
            case_id__in=ids if Fact.SCREENING in kinds else []).values_list("case_id",
                                                                            "screened_on"):
        fact(case_id, Fact.SCREENING, on)
    for case_id, status, on in Identification.objects.filter(
            case_id__in=ids if Fact.IDENTIFICATION in kinds else []).values_list(
            "case_id", "status", "decided_on"):
        fact(case_id, Fact.IDENTIFICATION, on, a=status)
    rows = [r for r in rows if r.case_id in cases]
    with transaction.atomic(savepoint=False):
        if application is None:
            Fact.objects.filter(case_id__in=ids, kind__in=kinds).delete()
        if rows:
            Fact.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


COLUMNS = ('case_id, office_id, kind, "on", until, procedure, nationality, sex, birth_year, '
           'a, b, days, priority')
PERSON = ("c.procedure, coalesce(p.nationalities->>0, ''), p.sex, p.birth_year")
FROM_CASE = ("JOIN cases_case c ON c.id = x.case_id "
             "JOIN cases_person p ON p.id = c.principal_id")


def _refresh_all_postgresql() -> int:
    """The same rows as `refresh`, for every case, one INSERT ... SELECT per kind."""
    from django.db import connection

    def level(column: str) -> str:
        return (f"CASE WHEN {column} = ANY(%(fi)s) THEN 'fi' "
                f"WHEN {column} = ANY(%(ar)s) THEN 'ar' END")

    params: dict[str, Any] = {"tz": timezone.get_current_timezone_name(), "closed": list(CLOSED_STATES),
              "attended": InterviewStatus.ATTENDED,
              "fi": sorted(FIRST_INSTANCE_STATES), "ar": sorted(APPEAL_STATES),
              "levels": list(LEVELS)}
    statements = [
        f"""SELECT x.case_id, c.office_id, 'application', x.application_date,
                   (c.closed_at AT TIME ZONE %(tz)s)::date, {PERSON}, x.channel, x.modality, NULL,
                   x.priority
              FROM rsd_application x {FROM_CASE}""",  # noqa: S608 (constants only)
        f"""SELECT x.case_id, c.office_id, 'decision', x.decided_on, NULL, {PERSON},
                   CASE x.stage WHEN 'first_instance' THEN 'fi_' ELSE 'ar_' END || x.outcome,
                   x.legal_basis,
                   CASE WHEN x.stage = 'first_instance' THEN x.decided_on - ap.application_date END,
                   false
              FROM rsd_decision x {FROM_CASE}
              LEFT JOIN rsd_application ap ON ap.case_id = x.case_id
             WHERE x.stage = ANY(%(levels)s)""",  # noqa: S608 (constants only)
        f"""SELECT x.case_id, c.office_id, 'closure', x.effective_on, NULL, {PERSON},
                   {level("x.source")} || '_closed', '', NULL, false
              FROM cases_casestep x {FROM_CASE}
             WHERE x.target = ANY(%(closed)s) AND {level("x.source")} IS NOT NULL""",  # noqa: S608 (constants only)
        f"""SELECT x.case_id, c.office_id, 'screening', x.screened_on, NULL, {PERSON}, '', '',
                   NULL, false FROM tip_screening x {FROM_CASE}""",  # noqa: S608 (constants only)
        f"""SELECT x.case_id, c.office_id, 'identification', x.decided_on, NULL, {PERSON},
                   x.status, '', NULL, false FROM tip_identification x {FROM_CASE}""",  # noqa: S608 (constants only)
        f"""SELECT x.case_id, c.office_id, 'interview', x.heard, NULL, {PERSON}, '', '',
                   x.heard - ap.application_date, false
              FROM (SELECT case_id, (min(scheduled_for) AT TIME ZONE %(tz)s)::date AS heard
                      FROM rsd_interview WHERE status = %(attended)s GROUP BY case_id) x
              {FROM_CASE} JOIN rsd_application ap ON ap.case_id = x.case_id""",  # noqa: S608 (constants only)
        f"""SELECT x.case_id, c.office_id, 'notification', x.delivered_on, NULL, {PERSON}, '', '',
                   x.delivered_on - ap.application_date, false
              FROM rsd_decision x {FROM_CASE} JOIN rsd_application ap ON ap.case_id = x.case_id
             WHERE x.stage = 'first_instance' AND x.delivered_on IS NOT NULL""",  # noqa: S608 (constants only)
        f"""SELECT x.case_id, c.office_id, 'appeal', x.lodged_on, NULL, {PERSON}, d.outcome, '',
                   NULL, false
              FROM rsd_appeal x {FROM_CASE} JOIN rsd_decision d ON d.id = x.decision_id""",  # noqa: S608 (constants only)
        f"""SELECT x.case_id, x.office_id, 'deadline', (x.met_at AT TIME ZONE %(tz)s)::date,
                   x.due_on, {PERSON}, x.clock, '', NULL, false
              FROM cases_casedeadline x {FROM_CASE}""",  # noqa: S608 (constants only)
    ]
    written = 0
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM stats_fact")
        for select in statements:
            cur.execute(f"INSERT INTO stats_fact ({COLUMNS}) {select}", params)
            written += cur.rowcount
    return written


def refresh_all(chunk: int = 5000, progress: Any = None) -> int:
    """Every case's rows (after a bulk load); the number of rows written."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return _refresh_all_postgresql()
    written = 0
    last = None
    while True:
        qs = Case.objects.order_by("pk")
        if last is not None:
            qs = qs.filter(pk__gt=last)
        ids = list(qs.values_list("pk", flat=True)[:chunk])
        if not ids:
            return written
        written += refresh(ids)
        last = ids[-1]
        if progress:
            progress(written)


# --- Signals ------------------------------------------------------------------------------

# What a case's facts copy of it: a save that names its fields and none of these leaves them.
_COPIED = frozenset({"office", "office_id", "procedure", "closed_at"})


def _case_saved(sender: Any, instance: Case, created: bool = False,
                update_fields: frozenset[str] | None = None, **kwargs: Any) -> None:
    if created:  # nothing counts yet: its records come after it
        return
    if update_fields is not None and not _COPIED & update_fields:
        return  # a step within the procedure (cases.workflow names only what it changed)
    closed = timezone.localdate(instance.closed_at) if instance.closed_at else None
    # A period met stays with the office that met it; a running one moves with the case,
    # as its deadline does (cases.handovers).
    Fact.objects.filter(case_id=instance.pk).update(
        office_id=models.Case(models.When(kind=Fact.DEADLINE, on__isnull=False,
                                          then=models.F("office_id")),
                              default=models.Value(instance.office_id)),
        procedure=instance.procedure or "",
        until=models.Case(models.When(kind=Fact.APPLICATION,
                                      then=Cast(models.Value(closed), models.DateField())),
                          models.When(kind=Fact.DEADLINE, then=models.F("until")),
                          default=Cast(models.Value(None), models.DateField()),
                          output_field=models.DateField()))


def _person_saved(sender: Any, instance: Person, created: bool = False, **kwargs: Any) -> None:
    if created:
        return
    Fact.objects.filter(case__principal_id=instance.pk).update(
        nationality=(instance.nationalities or [""])[0] or "", sex=instance.sex or "",
        birth_year=instance.birth_year)


# What each record feeds: an application its row and the days since it of the decisions, the
# first interview and the notification.
FEEDS: dict[type, tuple[str, ...]] = {
    Application: _FROM_APPLICATION, Decision: (Fact.DECISION, Fact.NOTIFICATION),
    Interview: (Fact.INTERVIEW,), Appeal: (Fact.APPEAL,),
    # The workflow writes deadlines in bulk and tells through `clocks_ran`; a deadline saved
    # one by one (a correction, a test) rebuilds its case's.
    CaseDeadline: (Fact.DEADLINE,),
    CaseStep: (Fact.CLOSURE,), Screening: (Fact.SCREENING,),
    Identification: (Fact.IDENTIFICATION,)}


def _decision_saved(instance: Decision, created: bool) -> bool:
    """A decision's row from the case's application row (one read), added when the decision
    is new and left alone when it is unchanged (a delivery date recorded); False where the
    decisions must be read again."""
    if instance.stage not in LEVELS:
        return True
    rows = list(Fact.objects.filter(case_id=instance.case_id,
                                    kind__in=(Fact.APPLICATION, Fact.DECISION)))
    base = next((r for r in rows if r.kind == Fact.APPLICATION), None)
    if base is None:
        return False
    days = None
    if instance.stage == Stage.FIRST_INSTANCE and base.on is not None:
        days = (instance.decided_on - base.on).days
    row = Fact(case_id=instance.case_id, office_id=base.office_id, kind=Fact.DECISION,
               on=instance.decided_on, procedure=base.procedure, nationality=base.nationality,
               sex=base.sex, birth_year=base.birth_year,
               a=f"{LEVELS[Stage(instance.stage)]}_{instance.outcome}", b=instance.legal_basis,
               days=days)
    same = [r for r in rows if r.kind == Fact.DECISION and (r.on, r.a, r.b, r.days) == (
        row.on, row.a, row.b, row.days)]
    if created:
        row.save(force_insert=True)
        return True
    return bool(same)


def _closure_added(step: CaseStep) -> bool:
    """A closing step's row from the case's application row (one read); False where the
    case has none (its rows are rebuilt)."""
    level = _level_of_closure(step.source)
    if level is None:
        return True
    base = Fact.objects.filter(case_id=step.case_id, kind=Fact.APPLICATION).first()
    if base is None:
        return False
    Fact.objects.create(case_id=step.case_id, office_id=base.office_id, kind=Fact.CLOSURE,
                        on=step.effective_on, procedure=base.procedure,
                        nationality=base.nationality, sex=base.sex, birth_year=base.birth_year,
                        a=f"{level}_closed")
    return True


def _appeal_added(appeal: Appeal) -> bool:
    """A new appeal's row, from the case the step holds locked with its applicant (else
    read); False where the case has no applicant (its rows are rebuilt)."""
    case = appeal.case if Appeal.case.is_cached(appeal) else Case.objects.get(pk=appeal.case_id)
    p = case.principal if Case.principal.is_cached(case) else Person.objects.filter(
        pk=case.principal_id).first()
    if p is None:
        return False
    Fact.objects.create(case_id=case.pk, office_id=case.office_id, kind=Fact.APPEAL,
                        on=appeal.lodged_on, procedure=case.procedure or "", a=appeal.decision.outcome,
                        **_applicant(p))
    return True


def _applicant(p: Person) -> dict[str, Any]:
    """The applicant's columns of a row."""
    return {"nationality": (p.nationalities or [""])[0] or "", "sex": p.sex or "",
            "birth_year": p.birth_year}


def _clocks_ran(sender: Any, case: Case, met: list[str], met_at: datetime.datetime,
                started: list[CaseDeadline], **kwargs: Any) -> None:
    """The periods a step met and started: one UPDATE and one INSERT at most, from the
    case the step holds locked with its applicant."""
    if met:
        Fact.objects.filter(case_id=case.pk, kind=Fact.DEADLINE, on__isnull=True,
                            a__in=met).update(on=timezone.localdate(met_at))
    if started:
        p = case.principal if Case.principal.is_cached(case) else Person.objects.get(
            pk=case.principal_id)
        Fact.objects.bulk_create([
            Fact(case_id=case.pk, office_id=d.office_id, kind=Fact.DEADLINE, on=None,
                 until=d.due_on, a=d.clock, procedure=case.procedure or "", **_applicant(p))
            for d in started])


def _dated_row(case_id: Any, kind: str, on: datetime.date | None, *,
               earliest: bool = False) -> None:
    """The case's one row of `kind` (the first hearing, the delivery) dated `on`, with the
    days since the application, from the case's application row (one read, then at most
    one write); no row where `on` is None or the case has no application. `earliest`: an
    earlier row stays."""
    rows = list(Fact.objects.filter(case_id=case_id, kind__in=(Fact.APPLICATION, kind)))
    base = next((r for r in rows if r.kind == Fact.APPLICATION), None)
    mine = next((r for r in rows if r.kind == kind), None)
    if on is None or base is None or base.on is None:
        if mine is not None:
            mine.delete()
        return
    if mine is not None:
        if mine.on == on or (earliest and mine.on is not None and mine.on <= on):
            return
        Fact.objects.filter(pk=mine.pk).update(on=on, days=(on - base.on).days)
        return
    Fact.objects.create(case_id=case_id, office_id=base.office_id, kind=kind, on=on,
                        procedure=base.procedure, nationality=base.nationality, sex=base.sex,
                        birth_year=base.birth_year, days=(on - base.on).days)


def _record_changed(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if sender is CaseStep:
        if instance.target not in CLOSED_STATES:
            return  # only the steps that close a case count here
        if created and _closure_added(instance):
            return
    if sender is Application and created:  # no decision counts days from it yet
        refresh([instance.case_id], (Fact.APPLICATION,), application=instance)
        return
    # An appeal's lodging and the decision appealed do not change once it is recorded (its
    # outcome, saved later, is a decision's row).
    if sender is Appeal and (not created or _appeal_added(instance)):
        return
    if sender is Interview:
        if instance.status == InterviewStatus.ATTENDED:  # else no first hearing changes
            _dated_row(instance.case_id, Fact.INTERVIEW,
                       timezone.localtime(instance.scheduled_for).date(), earliest=True)
        return
    if sender is Decision:
        # Its delivery (the notification's row) may change without the decision's row; a
        # decision just recorded is not delivered yet.
        if instance.stage == Stage.FIRST_INSTANCE and (not created or instance.delivered_on):
            _dated_row(instance.case_id, Fact.NOTIFICATION, instance.delivered_on)
        if _decision_saved(instance, created):
            return
        refresh([instance.case_id], (Fact.DECISION,))
        return
    refresh([instance.case_id], FEEDS[sender])


def _record_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    # After the commit: a record may go because its case goes, and rows written for a case
    # being deleted would outlive it.
    case_id = instance.case_id
    transaction.on_commit(lambda: refresh([case_id]))


def connect() -> None:
    post_save.connect(_case_saved, sender=Case, dispatch_uid="stats-facts-case")
    post_save.connect(_person_saved, sender=Person, dispatch_uid="stats-facts-person")
    clocks_ran.connect(_clocks_ran, sender=Case, dispatch_uid="stats-facts-clocks")
    for model in FEEDS:
        post_save.connect(_record_changed, sender=model, dispatch_uid=f"stats-facts-{model.__name__}")
        post_delete.connect(_record_deleted, sender=model,
                            dispatch_uid=f"stats-facts-del-{model.__name__}")
