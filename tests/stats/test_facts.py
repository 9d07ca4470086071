"""The summary table follows the records: a workflow step, a decision, an edit of the
applicant, a deletion; the rebuild from scratch gives the same rows (on PostgreSQL, its
INSERT ... SELECT against the row-by-row rebuild)."""

from __future__ import annotations

from django.core.management import call_command
from django.db import connection

from cases.models import Case
from rsd.services import closure
from stats import facts, indicators
from stats.indicators import Filters, Period
from stats.models import Fact
from tests.stats.build import D, asylum, trafficking


def _rows(case) -> set[tuple]:
    return set(Fact.objects.filter(case=case).values_list(
        "kind", "on", "until", "procedure", "nationality", "sex", "birth_year", "a", "b", "days"))


def test_the_rows_of_a_case_follow_its_records(caseworker, office):
    built = asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1))
    assert _rows(built.case) == {("application", D(2026, 2, 1), None, "rsd.bz", "HN", "female",
                                  1990, "office", "regular", None)}

    built.decide("first_instance", "rejected", D(2026, 4, 2))
    assert ("decision", D(2026, 4, 2), None, "rsd.bz", "HN", "female", 1990, "fi_rejected",
            "none", 60) in _rows(built.case)

    principal = built.case.principal
    principal.nationalities = ["SV", "HN"]
    principal.save()
    assert {r[4] for r in _rows(built.case)} == {"SV"}


def test_the_priority_flag_follows_the_application(caseworker, office):
    from rsd.models import Application

    built = asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1))
    assert not Fact.objects.get(case=built.case, kind="application").priority
    application = Application.objects.get(case=built.case)
    application.priority = True  # specific needs found at the interview
    application.save()
    assert Fact.objects.get(case=built.case, kind="application").priority
    assert not Fact.objects.filter(case=built.case, priority=True).exclude(
        kind="application").exists()


def test_the_first_interview_and_the_delivery_follow_their_records(caseworker, office):
    from rsd.models import Decision, Interview

    built = asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1))
    built.interview(D(2026, 3, 1), status="scheduled")
    assert not Fact.objects.filter(case=built.case, kind="interview").exists()
    heard = Interview.objects.get(case=built.case)
    heard.status = "attended"
    heard.save()
    assert _rows(built.case) >= {("interview", D(2026, 3, 1), None, "rsd.bz", "HN", "female",
                                  1990, "", "", 28)}
    decision = built.decide("first_instance", "rejected", D(2026, 4, 2))
    assert not Fact.objects.filter(case=built.case, kind="notification").exists()
    decision.delivered_on = D(2026, 4, 12)
    decision.save()
    assert Fact.objects.get(case=built.case, kind="notification").days == 70
    Decision.objects.filter(pk=decision.pk).update(delivered_on=None)  # as a correction would
    decision.refresh_from_db()
    decision.save()
    assert not Fact.objects.filter(case=built.case, kind="notification").exists()


def test_a_workflow_step_updates_the_numbers_in_its_own_transaction(caseworker, office):
    built = asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1))
    f = Filters(allowed=frozenset([office.pk]), period=Period(2026))
    before = indicators.decisions_by_outcome(f)

    Case.objects.filter(pk=built.case.pk).update(step_no=built.steps)  # the builder's steps
    closure.take_step(by=caseworker, case=Case.objects.get(pk=built.case.pk), name="withdraw",
                      reason="La solicitante desiste por escrito.")

    after = indicators.decisions_by_outcome(f)
    # Withdrawn from "registered" today: closed at first instance, if today is in 2026.
    closed = Fact.objects.get(case=built.case, kind="closure")
    assert closed.a == "fi_closed"
    application = Fact.objects.get(case=built.case, kind="application")
    assert application.until is not None
    if closed.on.year == 2026:
        assert after.get("fi_closed", 0) == before.get("fi_closed", 0) + 1


def test_a_reopening_clears_until_and_a_step_within_the_procedure_writes_no_row(caseworker,
                                                                                 supervisor, office):
    import datetime

    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from rsd.services import interviews

    built = asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1))
    Case.objects.filter(pk=built.case.pk).update(step_no=built.steps)
    closure.take_step(by=caseworker, case=Case.objects.get(pk=built.case.pk), name="withdraw",
                      reason="La solicitante desiste por escrito.")
    assert Fact.objects.get(case=built.case, kind="application").until is not None
    closure.take_step(by=supervisor, case=Case.objects.get(pk=built.case.pk), name="reopen",
                      reason="Retira el desistimiento.", ground="changed_circumstances")
    assert Fact.objects.get(case=built.case, kind="application").until is None

    # Neither the procedure nor the closing changes: the copies stay, and are not rewritten.
    kept = _rows(built.case)
    with CaptureQueriesContext(connection) as ctx:
        interviews.schedule_interview(
            by=caseworker, case=Case.objects.get(pk=built.case.pk), place="Sala 2",
            when=timezone.now() + datetime.timedelta(days=3), interviewer=caseworker)
    assert Case.objects.get(pk=built.case.pk).state == "interview_scheduled"
    assert not [q for q in ctx.captured_queries if q["sql"].startswith('UPDATE "stats_fact"')]
    assert _rows(built.case) == kept


def test_trafficking_rows(caseworker, office):
    built = trafficking(caseworker, office, screened=D(2026, 3, 1),
                        identified=("ActualVictimOfTrafficking", D(2026, 4, 1)))
    assert {(r[0], r[1], r[7]) for r in _rows(built.case)} == {
        ("screening", D(2026, 3, 1), ""), ("identification", D(2026, 4, 1),
                                           "ActualVictimOfTrafficking")}


def test_deleting_a_decision_takes_its_row_after_the_commit(caseworker, office,
                                                           django_capture_on_commit_callbacks):
    built = asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1))
    decision = built.decide("first_instance", "rejected", D(2026, 4, 2))
    with django_capture_on_commit_callbacks(execute=True):
        decision.delete()
    assert not Fact.objects.filter(case=built.case, kind="decision").exists()
    assert Fact.objects.filter(case=built.case, kind="application").exists()


def _everything(caseworker, office):
    a = asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1),
               priority=True).family(1)
    a.interview(D(2026, 3, 1), status="no_show")
    a.interview(D(2026, 3, 20))
    a.interview(D(2026, 3, 27))
    a.decide("first_instance", "rejected", D(2026, 4, 2), delivered=D(2026, 4, 9))
    a.appeal(D(2026, 4, 20))
    a.decide("appeal", "recognized", D(2026, 7, 1))
    a.close("recognized", D(2026, 7, 10))
    asylum(caseworker, office, nationality=None, applied=D(2025, 5, 1), sex="male").close(
        "abandoned", D(2025, 9, 1))
    trafficking(caseworker, office, screened=D(2026, 3, 1),
                identified=("PossibleVictimOfTrafficking", D(2026, 4, 1)))
    return a


def _deadlines(built) -> None:
    """A period met late in the evening (its day is the local one in both rebuilds, not
    the next day in UTC) and one running."""
    import datetime

    from django.utils import timezone

    from cases.models import CaseDeadline, CaseStep

    step = CaseStep.objects.filter(case=built.case).first()
    met = datetime.datetime(2026, 7, 31, 23, 30, tzinfo=timezone.get_current_timezone())
    CaseDeadline.objects.create(case=built.case, clock="interview", starts_on=D(2026, 2, 1),
                                due_on=D(2026, 8, 3), started_by_step=step,
                                office=built.case.office, met_at=met)
    CaseDeadline.objects.create(case=built.case, clock="appeal", starts_on=D(2026, 7, 10),
                                due_on=D(2026, 8, 9), started_by_step=step,
                                office=built.case.office)


def _all_rows() -> list[tuple]:
    return sorted(Fact.objects.values_list(
        "case_id", "office_id", "kind", "on", "until", "procedure", "nationality", "sex",
        "birth_year", "a", "b", "days", "priority"), key=repr)


def test_the_rebuild_gives_the_rows_the_signals_wrote(caseworker, office):
    _everything(caseworker, office)
    kept = _all_rows()
    # 2 applications, 2 decisions, the abandonment (a closure with protection is no
    # "otherwise closed"), a screening, an identification, the first interview heard, the
    # first-instance decision delivered and the appeal lodged.
    assert len(kept) == 10
    assert ("appeal", D(2026, 4, 20), "rejected") in {(r[2], r[3], r[9]) for r in kept}
    assert ("interview", D(2026, 3, 20), 47) in {(r[2], r[3], r[11]) for r in kept}
    assert ("notification", D(2026, 4, 9), 67) in {(r[2], r[3], r[11]) for r in kept}
    Fact.objects.all().delete()

    call_command("refresh_stats_figures", verbosity=0)

    assert _all_rows() == kept


def test_the_postgresql_rebuild_matches_the_row_by_row_one(postgres, caseworker, office):
    assert connection.vendor == "postgresql"
    _deadlines(_everything(caseworker, office))
    assert ("deadline", D(2026, 7, 31), D(2026, 8, 3)) in {(r[2], r[3], r[4]) for r in _all_rows()}
    Fact.objects.all().delete()
    facts._refresh_all_postgresql()
    by_sql = _all_rows()
    Fact.objects.all().delete()
    facts.refresh(Case.objects.values_list("pk", flat=True))
    assert by_sql == _all_rows()
    assert len(by_sql) == 12  # as above, and the two deadlines

