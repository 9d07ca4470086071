"""Every path of the four asylum procedures, end to end through the services: the state the
case is in, when it closed, the steps, decisions and appeals recorded, and the audit events.

Dates are worked out by hand from the 2026 calendar and public holidays:
- Mexico's decision is due 45 working days after the application. Applied Mon 24 Aug 2026:
  Aug 25-28 (4), Aug 31-Sep 4 (9), Sep 7-11 (14), Sep 14-18 without Wed 16 Independence Day
  (18), Sep 21-25 (23), Sep 28-Oct 2 (28), Oct 5-9 (33), Oct 12-16 (38), Oct 19-23 (43),
  Mon 26 Oct (44), Tue 27 Oct (45): due Tue 27 Oct 2026 (Mon 26 without the holiday).
- Mexico's filing limit is 30 working days after arrival. Arrived Mon 24 Aug 2026: 28 days by
  Fri 2 Oct, Mon 5 Oct is the 29th, Tue 6 Oct the 30th (on time); Wed 7 Oct is late.
- Belize's filing limit is 14 days after arrival. Arrived Mon 5 Oct 2026: Mon 19 Oct, a
  working day, is the 14th (on time); Tue 20 Oct is late.
- The appeal period is 30 calendar days after delivery, to the next working day. Belize:
  delivered Thu 20 Aug 2026, day 30 is Sat 19 Sep, then Sun 20 and Mon 21 Sep (Independence
  Day): due Tue 22 Sep 2026. Mexico: delivered Thu 15 Oct 2026, day 30 is Sat 14 Nov, then
  Sun 15 and Mon 16 Nov (Revolution Day): due Tue 17 Nov 2026.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from cases import workflow
from cases.models import CaseDeadline, CaseStep
from rsd import selectors, services
from rsd.models import (
    Appeal,
    Application,
    AssessmentStatus,
    Decision,
    EligibilityAssessment,
    Interview,
    InterviewStatus,
    Stage,
)
from rsd.tasks import sweep as sweep_task
from tests.rsd.conftest import (
    FIRST_DECISION,
    ago,
    assessment_data,
    at_local,
    fresh,
    snapshot,
    steps_of,
    today,
    transition_events,
    transitions_audited,
)

pytestmark = pytest.mark.django_db

D = datetime.date
DAYS = datetime.timedelta

START = ["register", "schedule_interview", "record_attendance", "submit_assessment"]
TO_DECISION = {
    "rsd.unhcr": ["decide"],
    "rsd.mx": ["decide"],
    "rsd.bz": ["approve_assessment", "record_committee_recommendation", "record_minister_decision"],
    "rsd.cr": ["approve_assessment", "record_commission_decision"],
}


FOUR_EYES = "Someone other than you must do this: you took part in the step it checks (four-eyes rule)."


def message(exc: Exception) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def assert_audited(case) -> None:
    """Each recorded step has its audit event: same transition, actor, number, states."""
    steps = [(s.transition, s.actor_id, s.number, s.source, s.target)
             for s in CaseStep.objects.filter(case=case).order_by("number")]
    audited = [(e.details["transition"], e.actor_id, e.details["step"], e.details["source"],
                e.details["target"]) for e in transition_events(case, "ok")]
    assert audited == steps
    assert all(e.office_id == case.office_id for e in transition_events(case))


def deadlines(case, clock: str) -> list[tuple[D, D, bool]]:
    """(starts_on, due_on, met) of each period of the clock, oldest first."""
    return [(d.starts_on, d.due_on, d.met_at is not None)
            for d in CaseDeadline.objects.filter(case=case, clock=clock).order_by("pk")]


def sweep() -> dict[str, int]:
    return services.sweep()


# --- Which procedure ----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "procedure"), [
    ("bz", "rsd.bz"), ("cr", "rsd.cr"), ("mx", "rsd.mx"), ("unhcr", "rsd.unhcr")])
def test_a_registered_case_follows_its_countrys_procedure(request, name, procedure):
    driver = request.getfixturevalue(name)
    case = driver.open()
    assert (case.state, case.procedure) == ("open", "")

    driver.register(case)

    case = fresh(case)
    assert (case.state, case.procedure, case.step_no) == ("registered", procedure, 1)
    assert case.closed_at is None
    assert deadlines(case, "interview") == [(ago(120), ago(120) + DAYS(183), False)]


@pytest.mark.parametrize("procedure", ["rsd.unhcr", "rsd.bz", "rsd.cr", "rsd.mx"])
def test_every_procedure_notifies_appeal_decisions_and_cancels_in_two_steps(procedure):
    wf = workflow.get(procedure)
    t = wf.transitions

    assert "dismiss_appeal_protected" not in t
    assert (t["allow_appeal"].target, t["dismiss_appeal"].target) == ("appeal_decided", "appeal_decided")
    assert {n: t[n].target for n in ("notify_appeal_recognition", "notify_appeal_dismissal",
                                     "notify_appeal_dismissal_protected")} == {
        "notify_appeal_recognition": "recognized", "notify_appeal_dismissal": "rejected_final",
        "notify_appeal_dismissal_protected": "complementary"}
    assert t["lodge_late_appeal"].sources == ("rejected_final", "complementary")
    assert (t["propose_cancellation"].sources, t["propose_cancellation"].target) == (
        ("recognized",), "cancellation_proposed")
    assert t["cancel_recognition"].sources == t["keep_recognition"].sources == ("cancellation_proposed",)
    assert t["cancel_recognition"].not_by_latest == t["keep_recognition"].not_by_latest == (
        "propose_cancellation",)
    assert t["confirm_abandonment"].not_by_latest == ("propose_abandonment",)
    assert wf.rounds == ("register", "reopen")
    assert not wf.state("appeal_decided").closed and not wf.state("cancellation_proposed").closed


# --- Recognition --------------------------------------------------------------------------

def test_recognition_end_to_end(proc):
    # Given a case interviewed and assessed with a recommendation to recognize
    case = proc.at("under_review", "recognized")
    assessment = EligibilityAssessment.objects.get(case=case)
    assert assessment.status == AssessmentStatus.SUBMITTED
    # When the country's deciding body recognizes and the decision is delivered
    decision = proc.decide(case, "recognized")
    assert fresh(case).state == "decided" and fresh(case).closed_at is None
    proc.notify(case, delivered_on=ago(3))
    # Then the case is closed as recognized, with every step on record
    case = fresh(case)
    assert case.state == "recognized"
    assert case.closed_at is not None
    assert steps_of(case) == [*START, *TO_DECISION[proc.procedure], "notify_recognition"]
    decision.refresh_from_db()
    assert (decision.stage, decision.authority, decision.outcome, decision.legal_basis) == (
        Stage.FIRST_INSTANCE, FIRST_DECISION[proc.procedure], "recognized", "convention")
    assert (decision.grounds, decision.delivered_on, decision.appeal_due_on) == (
        ["political_opinion"], ago(3), None)
    assert decision.recorded_by == proc.staff.supervisor
    assert decision.step.transition == FIRST_DECISION[proc.procedure]
    assert EligibilityAssessment.objects.get(case=case).status == AssessmentStatus.APPROVED
    assert not Appeal.objects.filter(case=case).exists()
    assert not CaseDeadline.objects.filter(case=case, met_at__isnull=True).exists()
    assert not CaseDeadline.objects.filter(case=case, clock="appeal").exists()
    assert_audited(case)
    assert transitions_audited(case)[-1] == "notify_recognition"
    decided = transition_events(case).get(details__transition=FIRST_DECISION[proc.procedure])
    assert (decided.outcome, decided.actor_id) == ("ok", proc.staff.supervisor.pk)
    assert (decided.details["decision"], decided.details["decision_outcome"]) == (
        str(decision.pk), "recognized")


@pytest.mark.parametrize("name", ["unhcr", "mx"])
def test_the_reviewers_decision_approves_the_assessment_with_history(request, name):
    driver = request.getfixturevalue(name)
    case = driver.at("under_review")
    assessment = EligibilityAssessment.objects.get(case=case)

    driver.first_decision(case, "rejected", by=driver.staff.supervisor2)

    assessment.refresh_from_db()
    assert (assessment.status, assessment.reviewed_by) == (AssessmentStatus.APPROVED,
                                                           driver.staff.supervisor2)
    assert assessment.reviewed_at is not None
    latest = EligibilityAssessment.history.filter(id=assessment.pk).latest("history_date")
    assert (latest.status, latest.reviewed_by_id, latest.history_user) == (
        AssessmentStatus.APPROVED, driver.staff.supervisor2.pk, driver.staff.supervisor2)


def test_belize_committee_recommends_then_the_minister_decides(bz):
    case = bz.at("under_review", "recognized")

    bz.approve(case)
    assert fresh(case).state == "committee"
    recommendation = bz.recommend(case, "recognized", meeting_date=D(2026, 11, 12))
    assert fresh(case).state == "minister"
    decision = bz.first_decision(case, "recognized", decided_on=D(2026, 11, 16))

    assert fresh(case).state == "decided"
    assert (recommendation.stage, recommendation.authority, recommendation.meeting_date) == (
        Stage.RECOMMENDATION, "record_committee_recommendation", D(2026, 11, 12))
    assert (decision.stage, decision.authority, decision.meeting_date) == (
        Stage.FIRST_INSTANCE, "record_minister_decision", None)
    assert CaseStep.objects.get(pk=decision.step_id).effective_on == D(2026, 11, 16)
    assert EligibilityAssessment.objects.get(case=case).reviewed_by == bz.staff.supervisor


def test_costa_rica_sends_the_technical_assessment_to_the_commission(cr):
    case = cr.at("under_review", "rejected")

    assessment = cr.approve(case)
    assert (fresh(case).state, assessment.status, assessment.reviewed_by) == (
        "commission", AssessmentStatus.APPROVED, cr.staff.supervisor)
    decision = cr.first_decision(case, "rejected")

    assert fresh(case).state == "decided"
    assert (decision.stage, decision.authority, decision.outcome) == (
        Stage.FIRST_INSTANCE, "record_commission_decision", "rejected")


@pytest.mark.parametrize("name", ["unhcr", "mx"])
def test_without_a_deciding_body_there_is_no_approval_step(request, name):
    driver = request.getfixturevalue(name)
    case = driver.at("under_review")
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        driver.approve(case)

    assert message(refused.value) == "This step does not exist in the case's procedure."
    assert snapshot(case) == before


# --- Rejection and appeal -----------------------------------------------------------------

def test_rejection_notified_then_appeal_allowed(proc):
    # Given a rejection delivered five days ago
    case = proc.at("decided", "rejected")
    decision = proc.notify(case, delivered_on=ago(5))
    case = fresh(case)
    assert (case.state, case.closed_at) == ("appeal_period", None)
    assert decision.appeal_due_on is not None and decision.appeal_due_on >= ago(5) + DAYS(30)
    assert deadlines(case, "appeal") == [(ago(5), decision.appeal_due_on, False)]
    # When the applicant appeals in time
    appeal = proc.appeal(case, lodged_on=ago(1))
    assert fresh(case).state == "appeal_lodged"
    assert (appeal.decision, appeal.lodged_on, appeal.late, appeal.lodged_by) == (
        decision, ago(1), False, proc.staff.caseworker)
    assert deadlines(case, "appeal") == [(ago(5), decision.appeal_due_on, True)]
    # And a second supervisor allows it
    outcome = proc.decide_appeal(case, "recognized")
    # Then the appeal decision waits to be notified: the case is still open
    case = fresh(case)
    assert (case.state, case.closed_at) == ("appeal_decided", None)
    assert str(workflow.state_label(case)) == "Appeal decided: to notify"
    assert selectors.governing_decision(case) == outcome
    assert (outcome.stage, outcome.authority, outcome.outcome, outcome.recorded_by) == (
        Stage.APPEAL, "appeal", "recognized", proc.staff.supervisor2)
    appeal.refresh_from_db()
    assert appeal.outcome == outcome
    # And once it is delivered the applicant is recognized on appeal
    notified = proc.notify(case, delivered_on=today())
    case = fresh(case)
    assert (case.state, case.closed_at is not None) == ("recognized", True)
    assert steps_of(case) == [*START, *TO_DECISION[proc.procedure], "notify_negative", "lodge_appeal",
                              "allow_appeal", "notify_appeal_recognition"]
    assert (notified.pk, notified.delivered_on, notified.letter_language, notified.appeal_due_on) == (
        outcome.pk, today(), "es", None)
    first = Decision.objects.filter(case=case, stage=Stage.FIRST_INSTANCE).get()
    assert (first.outcome, first.delivered_on) == ("rejected", ago(5))
    assert deadlines(case, "appeal") == [(ago(5), decision.appeal_due_on, True)]  # no new period
    assert not CaseDeadline.objects.filter(case=case, met_at__isnull=True).exists()
    assert_audited(case)
    allowed = transition_events(case).get(details__transition="allow_appeal")
    assert (allowed.outcome, allowed.actor_id, allowed.details["decision_outcome"]) == (
        "ok", proc.staff.supervisor2.pk, "recognized")
    delivered = transition_events(case).get(details__transition="notify_appeal_recognition")
    assert (delivered.actor_id, delivered.details["decision"]) == (proc.staff.caseworker.pk, str(outcome.pk))


def test_rejection_notified_then_appeal_dismissed(proc):
    case = proc.at("appeal_lodged", "rejected")

    outcome = proc.decide_appeal(case, "rejected")

    case = fresh(case)
    assert (case.state, case.closed_at) == ("appeal_decided", None)
    assert (outcome.stage, outcome.outcome, outcome.legal_basis) == (Stage.APPEAL, "rejected", "none")
    assert Appeal.objects.get(case=case).outcome == outcome

    proc.notify(case)

    case = fresh(case)
    assert (case.state, case.closed_at is not None) == ("rejected_final", True)
    assert steps_of(case)[-4:] == ["notify_negative", "lodge_appeal", "dismiss_appeal",
                                   "notify_appeal_dismissal"]
    assert Decision.objects.get(pk=outcome.pk).delivered_on == today()
    assert not CaseDeadline.objects.filter(case=case, met_at__isnull=True).exists()
    assert_audited(case)


def test_the_appeal_outcome_is_saved_with_history(unhcr):
    case = unhcr.at("appeal_lodged")
    appeal = Appeal.objects.get(case=case)

    outcome = unhcr.decide_appeal(case, "rejected")

    latest = Appeal.history.filter(id=appeal.pk).latest("history_date")
    assert (latest.outcome_id, latest.history_user) == (outcome.pk, unhcr.staff.supervisor2)
    assert Appeal.history.filter(id=appeal.pk).count() == 2   # lodged, then decided


@pytest.mark.parametrize("name", ["notify_recognition", "notify_negative", "notify_appeal_recognition",
                                  "notify_appeal_dismissal", "notify_appeal_dismissal_protected"])
def test_an_appeal_decision_is_notified_only_through_its_own_step(unhcr, name):
    # Given a dismissed appeal against a rejection: only notify_appeal_dismissal fits
    case = unhcr.at("appeal_decided")
    wf = workflow.for_case(case)

    why = workflow.refusal(case, wf.transition(name), unhcr.staff.caseworker)

    expected = {
        "notify_recognition": "The case is no longer at the step where this can be done.",
        "notify_negative": "The case is no longer at the step where this can be done.",
        "notify_appeal_recognition": "The appeal was not allowed.",
        "notify_appeal_dismissal": None,
        "notify_appeal_dismissal_protected": "The decision did not grant complementary protection.",
    }[name]
    assert why == expected
    assert [t.name for t in workflow.available(case, unhcr.staff.caseworker)] == [
        "notify_appeal_dismissal", "withdraw"]


def test_an_appeal_cannot_end_in_complementary_protection(bz):
    case = bz.at("appeal_lodged")
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        bz.decide_appeal(case, "complementary")

    assert refused.value.message_dict == {"outcome": ["An appeal is allowed (recognition) or dismissed."]}
    assert snapshot(case) == before


def test_unappealed_rejection_is_closed_by_the_sweep_after_the_deadline(proc):
    # Given a rejection delivered 40 days ago: the 30 days (and any roll-over) are past
    case = proc.at("under_review", "rejected")
    proc.decide(case, "rejected", decided_on=ago(45))
    decision = proc.notify(case, delivered_on=ago(40))
    assert decision.appeal_due_on < today()
    # When the daily sweep runs
    counts = sweep()
    # Then the file is closed as finally rejected by no one (the system)
    case = fresh(case)
    assert counts == {"proposed": 0, "closed": 1}
    assert (case.state, case.closed_at is not None) == ("rejected_final", True)
    step = CaseStep.objects.get(case=case, transition="close_unappealed")
    assert (step.actor, step.source, step.target, step.effective_on) == (
        None, "appeal_period", "rejected_final", today())
    assert deadlines(case, "appeal") == [(ago(40), decision.appeal_due_on, True)]
    event = transition_events(case, "ok").last()
    assert (event.actor_id, event.details["transition"], event.details["target"]) == (
        None, "close_unappealed", "rejected_final")
    assert_audited(case)
    # And a second sweep finds nothing more to do
    assert sweep() == {"proposed": 0, "closed": 0}


def test_unappealed_rejection_is_not_closed_before_the_deadline(bz):
    # Given a rejection delivered today: the appeal period runs for 30 days at least
    case = bz.at("under_review", "rejected")
    bz.decide(case, "rejected", decided_on=today())
    decision = bz.notify(case, delivered_on=today())
    before = snapshot(case)
    # When the sweep runs, and a supervisor tries to close the file by hand
    assert sweep() == {"proposed": 0, "closed": 0}
    with pytest.raises(ValidationError) as refused:
        bz.step(case, "close_unappealed")
    # Then it stays open, and the refusal is on record
    assert message(refused.value) == f"The appeal period runs until {decision.appeal_due_on.isoformat()}."
    assert snapshot(case) == before
    denied = transition_events(case, "denied").get()
    assert (denied.actor_id, denied.details["transition"], denied.details["state"]) == (
        bz.staff.supervisor.pk, "close_unappealed", "appeal_period")


def test_a_supervisor_may_close_an_unappealed_rejection_after_the_deadline(cr):
    case = cr.at("under_review", "rejected")
    cr.decide(case, "rejected", decided_on=ago(60))
    cr.notify(case, delivered_on=ago(60))

    cr.step(case, "close_unappealed")

    case = fresh(case)
    assert (case.state, case.closed_at is not None) == ("rejected_final", True)
    assert CaseStep.objects.get(case=case, transition="close_unappealed").actor == cr.staff.supervisor


def test_a_recognition_cannot_be_appealed(bz):
    case = bz.at("recognized")
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        bz.appeal(case, lodged_on=today())

    assert message(refused.value) == "The case is no longer at the step where this can be done."
    assert snapshot(case) == before


# --- Deadlines of the appeal --------------------------------------------------------------

@pytest.mark.parametrize(("name", "decided", "delivered", "due"), [
    ("bz", D(2026, 8, 18), D(2026, 8, 20), D(2026, 9, 22)),
    ("mx", D(2026, 10, 13), D(2026, 10, 15), D(2026, 11, 17)),
])
def test_the_appeal_deadline_rolls_over_weekends_and_holidays(request, name, decided, delivered, due):
    driver = request.getfixturevalue(name)
    case = driver.open()
    driver.register(case, application_date=D(2026, 6, 1), arrival_date=D(2026, 5, 29))
    driver.schedule(case)
    driver.hold_interview(case, on=D(2026, 7, 1))
    driver.submit(case, "rejected")
    driver.decide(case, "rejected", decided_on=decided)

    decision = driver.notify(case, delivered_on=delivered)

    assert decision.appeal_due_on == due
    assert deadlines(case, "appeal") == [(delivered, due, False)]
    assert CaseStep.objects.get(case=case, transition="notify_negative").effective_on == delivered


def _notified_on_20_august(bz):
    case = bz.open()
    bz.register(case, application_date=D(2026, 6, 1), arrival_date=D(2026, 5, 29))
    bz.schedule(case)
    bz.hold_interview(case, on=D(2026, 7, 1))
    bz.submit(case, "rejected")
    bz.decide(case, "rejected", decided_on=D(2026, 8, 18))
    bz.notify(case, delivered_on=D(2026, 8, 20))  # appeal due Tue 22 Sep 2026
    return fresh(case)


def test_an_appeal_on_the_last_day_is_in_time(bz):
    case = _notified_on_20_august(bz)

    appeal = bz.appeal(case, lodged_on=D(2026, 9, 22))

    assert (appeal.late, fresh(case).state) == (False, "appeal_lodged")
    assert CaseStep.objects.get(case=case, transition="lodge_appeal").details["late"] is False


def test_a_late_appeal_needs_a_justification_and_is_flagged(bz):
    case = _notified_on_20_august(bz)
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        bz.appeal(case, lodged_on=D(2026, 9, 23))
    assert refused.value.message_dict == {"late_justification": [
        "The appeal period ended on 2026-09-22: a late appeal needs a justification."]}
    assert snapshot(case) == before

    appeal = bz.appeal(case, lodged_on=D(2026, 9, 23),
                       late_justification="Hospitalizada del 10 al 22 de septiembre.")

    assert (appeal.late, appeal.lodged_on, fresh(case).state) == (True, D(2026, 9, 23), "appeal_lodged")
    assert Appeal.objects.get(pk=appeal.pk).late_justification == "Hospitalizada del 10 al 22 de septiembre."
    event = transition_events(case, "ok").last()
    assert (event.details["transition"], event.details["late"]) == ("lodge_appeal", True)


def test_an_appeal_after_the_sweep_closed_the_file_is_recorded_as_late(bz):
    # Given a refusal delivered on 20 August and closed by the sweep once the period ended
    case = _notified_on_20_august(bz)
    assert sweep()["closed"] == 1
    assert fresh(case).state == "rejected_final"
    before = snapshot(case)
    # When the appeal comes in anyway, without saying why so late: refused, nothing written
    with pytest.raises(ValidationError) as refused:
        bz.appeal(case, lodged_on=today())
    assert refused.value.message_dict == {"late_justification": [
        "The appeal period ended on 2026-09-22: a late appeal needs a justification."]}
    assert snapshot(case) == before
    # Then with its justification it is recorded as a late appeal, and the file reopens
    appeal = bz.appeal(case, lodged_on=today(), late_justification="Llegó tarde por enfermedad.")
    case = fresh(case)
    assert (case.state, case.closed_at) == ("appeal_lodged", None)
    assert (appeal.late, appeal.late_justification, appeal.lodged_by) == (
        True, "Llegó tarde por enfermedad.", bz.staff.caseworker)
    step = CaseStep.objects.get(case=case, transition="lodge_late_appeal")
    assert (step.source, step.target, step.details["late"]) == ("rejected_final", "appeal_lodged", True)
    assert steps_of(case)[-3:] == ["notify_negative", "close_unappealed", "lodge_late_appeal"]
    assert_audited(case)
    # And it is decided and notified like any appeal
    bz.decide_appeal(case, "recognized")
    bz.notify(case)
    assert fresh(case).state == "recognized"
    assert steps_of(case)[-2:] == ["allow_appeal", "notify_appeal_recognition"]


def test_a_late_appeal_after_complementary_protection_was_closed(unhcr):
    case = unhcr.unappealed("complementary")
    assert steps_of(case)[-1] == "close_with_protection"

    unhcr.appeal(case, late_justification="No recibió la notificación a tiempo.")
    assert fresh(case).state == "appeal_lodged"
    assert steps_of(case)[-1] == "lodge_late_appeal"
    unhcr.decide_appeal(case, "rejected")
    unhcr.notify(case)

    case = fresh(case)
    assert (case.state, case.closed_at is not None) == ("complementary", True)
    assert steps_of(case)[-3:] == ["lodge_late_appeal", "dismiss_appeal", "notify_appeal_dismissal_protected"]


@pytest.mark.parametrize("state", ["rejected_final", "complementary"])
def test_a_file_closed_after_its_appeal_cannot_be_appealed_again(mx, state):
    # Given a dismissed appeal, notified: the file was closed on appeal, not for want of one
    case = mx.at(state)
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        mx.appeal(case, late_justification="Otra vez.")

    assert message(refused.value) == "Only a decision closed for want of an appeal can still be appealed."
    assert snapshot(case) == before
    assert transition_events(case, "denied").get().details == {
        "transition": "lodge_late_appeal", "state": state}


def test_a_file_reopened_after_the_closure_takes_no_late_appeal(cr):
    case = cr.unappealed()
    cr.step(case, "reopen", ground="new_evidence")
    cr.step(case, "withdraw", by=cr.staff.caseworker)
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        cr.appeal(case, late_justification="Tarde.")

    assert message(refused.value) == "The case is no longer at the step where this can be done."
    assert snapshot(case) == before


def test_late_appeals_are_offered_only_after_a_closure_for_want_of_an_appeal(bz):
    closed = bz.unappealed()
    on_appeal = bz.at("rejected_final")

    assert "lodge_late_appeal" in [t.name for t in workflow.available(closed, bz.staff.caseworker)]
    assert "lodge_late_appeal" not in [t.name for t in workflow.available(on_appeal, bz.staff.caseworker)]
    assert "lodge_appeal" not in [t.name for t in workflow.available(closed, bz.staff.caseworker)]


# --- Complementary protection -------------------------------------------------------------

def test_complementary_protection_is_notified_with_an_appeal_period(proc):
    case = proc.at("under_review", "complementary")

    decision = proc.decide(case, "complementary")
    proc.notify(case, delivered_on=ago(2))

    case = fresh(case)
    decision.refresh_from_db()
    assert (decision.outcome, decision.legal_basis, decision.grounds) == (
        "complementary", "complementary", [])
    assert case.state == "appeal_period"
    assert decision.appeal_due_on is not None
    assert steps_of(case)[-1] == "notify_negative"


def test_complementary_protection_appealed_and_allowed_ends_in_recognition(mx):
    case = mx.at("appeal_lodged", "complementary")

    mx.decide_appeal(case, "recognized", legal_basis="cartagena", grounds=["generalized_violence"])
    assert fresh(case).state == "appeal_decided"
    mx.notify(case)

    case = fresh(case)
    assert (case.state, case.closed_at is not None) == ("recognized", True)
    assert steps_of(case)[-2:] == ["allow_appeal", "notify_appeal_recognition"]
    assert Decision.objects.get(case=case, stage=Stage.APPEAL).legal_basis == "cartagena"


def test_complementary_protection_appealed_and_dismissed_keeps_the_protection(cr):
    case = cr.at("appeal_lodged", "complementary")

    cr.decide_appeal(case, "rejected")
    assert fresh(case).state == "appeal_decided"
    cr.notify(case)

    case = fresh(case)
    assert (case.state, case.closed_at is not None) == ("complementary", True)
    assert steps_of(case)[-2:] == ["dismiss_appeal", "notify_appeal_dismissal_protected"]
    assert Decision.objects.get(case=case, stage=Stage.FIRST_INSTANCE).outcome == "complementary"


def test_unappealed_complementary_protection_is_not_closed_as_a_rejection(unhcr):
    case = unhcr.at("under_review", "complementary")
    unhcr.decide(case, "complementary", decided_on=ago(50))
    unhcr.notify(case, delivered_on=ago(45))

    sweep()

    case = fresh(case)
    assert (case.state, case.closed_at is not None) == ("complementary", True)
    assert CaseStep.objects.filter(case=case).last().transition == "close_with_protection"


# --- Assessment returned ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["unhcr", "bz", "cr", "mx"])
def test_an_assessment_returned_with_comments_is_resubmitted_then_decided(request, name):
    driver = request.getfixturevalue(name)
    case = driver.at("under_review", "recognized")
    submitted = EligibilityAssessment.objects.get(case=case)

    returned = driver.return_assessment(case, "Falta analizar la credibilidad del relato.")

    assert fresh(case).state == "interviewed"
    assert (returned.pk, returned.status, returned.reviewed_by) == (
        submitted.pk, AssessmentStatus.RETURNED, driver.staff.supervisor)
    assert EligibilityAssessment.objects.get(pk=returned.pk).review_comments == (
        "Falta analizar la credibilidad del relato.")
    assert transition_events(case, "ok").last().details["transition"] == "return_assessment"

    resubmitted = driver.submit(case, "recognized", credibility="Relato coherente y detallado.")

    assert fresh(case).state == "under_review"
    assert (resubmitted.pk, resubmitted.status) == (submitted.pk, AssessmentStatus.SUBMITTED)
    assert EligibilityAssessment.objects.get(pk=submitted.pk).credibility == "Relato coherente y detallado."
    assert EligibilityAssessment.objects.filter(case=case).count() == 1

    driver.decide(case, "recognized")
    assert fresh(case).state == "decided"
    assert steps_of(case) == [*START, "return_assessment", "submit_assessment",
                              *TO_DECISION[driver.procedure]]
    assert_audited(case)


def test_returning_an_assessment_needs_comments(unhcr):
    case = unhcr.at("under_review")
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        unhcr.return_assessment(case, "  ")

    assert refused.value.message_dict == {"reason": ["Give the reasons for this step."]}
    assert snapshot(case) == before


def test_a_draft_is_saved_without_moving_the_case(bz):
    case = bz.at("interviewed")

    draft = services.save_assessment(by=bz.staff.caseworker, case=case,
                                     data=assessment_data("", credibility="Borrador"))

    assert (draft.status, fresh(case).state, fresh(case).step_no) == ("draft", "interviewed", 3)
    submitted = bz.submit(case)
    assert (submitted.pk, submitted.status) == (draft.pk, AssessmentStatus.SUBMITTED)


# --- Withdrawal ---------------------------------------------------------------------------

@pytest.mark.parametrize("state", ["registered", "interview_scheduled", "no_show", "interviewed",
                                   "under_review", "committee", "minister", "decided", "appeal_period",
                                   "appeal_lodged"])
def test_withdrawal_from_any_open_state_closes_the_file(bz, state):
    case = bz.at(state)

    bz.step(case, "withdraw", by=bz.staff.caseworker, reason="La solicitante desiste por escrito.")

    case = fresh(case)
    assert (case.state, case.closed_at is not None) == ("withdrawn", True)
    step = CaseStep.objects.get(case=case, transition="withdraw")
    assert (step.source, step.target, step.actor) == (state, "withdrawn", bz.staff.caseworker)
    assert not CaseDeadline.objects.filter(case=case, met_at__isnull=True).exists()
    assert transitions_audited(case)[-1] == "withdraw"


@pytest.mark.parametrize(("name", "state"), [("cr", "commission"), ("mx", "under_review"),
                                             ("unhcr", "appeal_period")])
def test_withdrawal_in_other_procedures(request, name, state):
    driver = request.getfixturevalue(name)
    case = driver.at(state)

    driver.step(case, "withdraw", by=driver.staff.supervisor)

    assert fresh(case).state == "withdrawn" and fresh(case).closed_at is not None


def test_a_withdrawal_needs_reasons(bz):
    case = bz.at("registered")
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        services.take_step(by=bz.staff.caseworker, case=case, name="withdraw", reason=" ")

    assert refused.value.message_dict == {"reason": ["Give the reasons for this step."]}
    assert snapshot(case) == before


@pytest.mark.parametrize("state", ["open", "recognized", "rejected_final", "withdrawn", "abandoned"])
def test_no_withdrawal_before_registration_or_after_closure(bz, state):
    case = bz.at(state)
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        bz.step(case, "withdraw")

    assert message(refused.value) == "The case is no longer at the step where this can be done."
    assert snapshot(case) == before
    assert transition_events(case, "denied").get().details["transition"] == "withdraw"


# --- Reopening ----------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "ground"), [("withdrawn", "changed_circumstances"),
                                               ("abandoned", "new_evidence"),
                                               ("rejected_final", "wrongly_decided")])
def test_a_closed_file_is_reopened_with_a_ground(bz, state, ground):
    case = bz.at(state)
    assert fresh(case).closed_at is not None

    bz.step(case, "reopen", reason="Nuevas pruebas documentales.", ground=ground)

    case = fresh(case)
    assert (case.state, case.closed_at) == ("registered", None)
    step = CaseStep.objects.get(case=case, transition="reopen")
    assert (step.source, step.target, step.details, step.actor) == (
        state, "registered", {"ground": ground}, bz.staff.supervisor)
    assert deadlines(case, "interview")[-1] == (today(), today() + DAYS(183), False)
    event = transition_events(case, "ok").last()
    assert (event.details["transition"], event.details["ground"]) == ("reopen", ground)
    # and the procedure goes on from there
    bz.schedule(case)
    assert fresh(case).state == "interview_scheduled"


def test_reopening_restarts_mexicos_decision_clock(mx):
    case = mx.at("withdrawn")
    assert [met for *_, met in deadlines(case, "decision")] == [True]

    mx.step(case, "reopen", ground="new_evidence")

    starts, due, met = deadlines(case, "decision")[-1]
    assert (starts, met) == (today(), False)
    assert due >= today() + DAYS(63)  # 45 working days are at least 9 weeks


@pytest.mark.parametrize("ground", ["", "because"])
def test_reopening_needs_one_of_the_grounds(bz, ground):
    case = bz.at("withdrawn")
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        bz.step(case, "reopen", ground=ground)

    assert refused.value.message_dict == {"ground": ["Choose the ground."]}
    assert snapshot(case) == before


def test_reopening_needs_reasons(bz):
    case = bz.at("withdrawn")
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        services.take_step(by=bz.staff.supervisor, case=case, name="reopen", ground="new_evidence")

    assert refused.value.message_dict == {"reason": ["Give the reasons for this step."]}
    assert snapshot(case) == before


@pytest.mark.parametrize("state", ["recognized", "cancelled", "registered"])
def test_only_withdrawn_abandoned_or_finally_rejected_files_reopen(unhcr, state):
    case = unhcr.at(state)
    before = snapshot(case)

    with pytest.raises(ValidationError):
        unhcr.step(case, "reopen", ground="new_evidence")

    assert snapshot(case) == before


# --- Cancellation -------------------------------------------------------------------------

@pytest.mark.parametrize("ground", ["inclusion_not_met", "exclusion_applied"])
def test_a_recognition_is_cancelled_by_a_second_supervisor_on_a_proposal_with_a_ground(cr, ground):
    # Given a recognition a supervisor proposes to cancel, with its ground
    case = cr.at("recognized")
    cr.step(case, "propose_cancellation", reason="Se conoció una condena previa.", ground=ground)
    case = fresh(case)
    assert (case.state, case.closed_at) == ("cancellation_proposed", None)
    assert str(workflow.state_label(case)) == "Cancellation of the recognition proposed"
    proposed = CaseStep.objects.get(case=case, transition="propose_cancellation")
    assert (proposed.source, proposed.details, proposed.actor) == (
        "recognized", {"ground": ground}, cr.staff.supervisor)
    assert transition_events(case, "ok").last().details["ground"] == ground
    # When another supervisor decides to cancel it
    cr.step(case, "cancel_recognition", by=cr.staff.supervisor2, reason="Se confirma la exclusión.")
    # Then the recognition is cancelled
    case = fresh(case)
    assert (case.state, case.closed_at is not None) == ("cancelled", True)
    step = CaseStep.objects.get(case=case, transition="cancel_recognition")
    assert (step.source, step.details, step.actor) == ("cancellation_proposed", {}, cr.staff.supervisor2)
    assert transitions_audited(case)[-2:] == ["propose_cancellation", "cancel_recognition"]
    assert_audited(case)


@pytest.mark.parametrize("name", ["cancel_recognition", "keep_recognition"])
def test_the_supervisor_who_proposed_the_cancellation_cannot_decide_it(mx, name):
    case = mx.at("cancellation_proposed")
    before = snapshot(case)

    with pytest.raises(PermissionDenied) as refused:
        mx.step(case, name, by=mx.staff.supervisor)

    assert str(refused.value) == FOUR_EYES
    assert snapshot(case) == before
    assert transition_events(case, "denied").get().details == {
        "transition": name, "state": "cancellation_proposed"}
    assert [t.name for t in workflow.available(case, mx.staff.supervisor)] == []
    assert [t.name for t in workflow.available(case, mx.staff.supervisor2)] == [
        "cancel_recognition", "keep_recognition"]


def test_a_second_supervisor_keeps_the_recognition(unhcr):
    case = unhcr.at("cancellation_proposed")

    unhcr.step(case, "keep_recognition", by=unhcr.staff.supervisor2, reason="La condena no es grave.")

    case = fresh(case)
    assert (case.state, case.closed_at is not None) == ("recognized", True)
    step = CaseStep.objects.get(case=case, transition="keep_recognition")
    assert (step.source, step.target, step.actor) == ("cancellation_proposed", "recognized",
                                                      unhcr.staff.supervisor2)


@pytest.mark.parametrize("name", ["propose_cancellation", "cancel_recognition", "keep_recognition"])
def test_each_cancellation_step_needs_reasons(cr, name):
    case = cr.at("recognized" if name == "propose_cancellation" else "cancellation_proposed")
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        services.take_step(by=cr.staff.supervisor2, case=case, name=name, ground="inclusion_not_met")

    assert refused.value.message_dict == {"reason": ["Give the reasons for this step."]}
    assert snapshot(case) == before


@pytest.mark.parametrize("ground", ["", "changed_circumstances"])
def test_a_cancellation_is_proposed_with_one_of_its_grounds(cr, ground):
    case = cr.at("recognized")
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        cr.step(case, "propose_cancellation", ground=ground)

    assert refused.value.message_dict == {"ground": ["Choose the ground."]}
    assert snapshot(case) == before


def test_the_ground_is_given_on_the_proposal_not_on_the_cancellation(cr):
    case = cr.at("cancellation_proposed")

    cr.step(case, "cancel_recognition", by=cr.staff.supervisor2, ground="inclusion_not_met")

    assert CaseStep.objects.get(case=case, transition="cancel_recognition").details == {}
    assert CaseStep.objects.get(case=case, transition="propose_cancellation").details == {
        "ground": "exclusion_applied"}


@pytest.mark.parametrize("state", ["rejected_final", "appeal_period"])
def test_only_a_recognition_can_be_cancelled(cr, state):
    case = cr.at(state)
    before = snapshot(case)

    with pytest.raises(ValidationError):
        cr.step(case, "propose_cancellation", ground="inclusion_not_met")
    with pytest.raises(ValidationError):
        cr.step(case, "cancel_recognition", by=cr.staff.supervisor2)

    assert snapshot(case) == before


def test_a_recognition_is_no_longer_cancelled_in_one_step(cr):
    case = cr.at("recognized")
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        cr.step(case, "cancel_recognition", ground="inclusion_not_met")

    assert message(refused.value) == "The case is no longer at the step where this can be done."
    assert snapshot(case) == before


# --- Abandonment --------------------------------------------------------------------------

def test_two_missed_interviews_and_no_contact_the_sweep_proposes_closure(proc):
    # Given two missed interviews, the last 50 days ago (the contact period is 42 days)
    case = proc.open()
    proc.register(case)
    case = proc.expire_contact_period(case)
    assert case.state == "no_show"
    assert deadlines(case, "contact") == [(ago(60), ago(18), True), (ago(50), ago(8), False)]
    # When the daily sweep runs
    counts = sweep()
    # Then it proposes the closure (it never closes by itself)
    case = fresh(case)
    assert counts == {"proposed": 1, "closed": 0}
    assert (case.state, case.closed_at) == ("abandonment_proposed", None)
    step = CaseStep.objects.get(case=case, transition="propose_abandonment")
    assert (step.actor, step.source) == (None, "no_show")
    assert steps_of(case) == ["register", "schedule_interview", "record_no_show", "schedule_interview",
                              "record_no_show", "propose_abandonment"]
    assert_audited(case)
    assert sweep() == {"proposed": 0, "closed": 0}


def test_a_supervisor_confirms_the_abandonment(bz):
    case = bz.at("abandonment_proposed")

    bz.step(case, "confirm_abandonment", reason="Sin contacto desde la segunda entrevista.")

    case = fresh(case)
    assert (case.state, case.closed_at is not None) == ("abandoned", True)
    assert CaseStep.objects.get(case=case, transition="confirm_abandonment").actor == bz.staff.supervisor
    assert not CaseDeadline.objects.filter(case=case, met_at__isnull=True).exists()
    assert transitions_audited(case)[-1] == "confirm_abandonment"


def test_the_supervisor_who_proposed_the_abandonment_cannot_confirm_it(bz):
    # Given a closure a supervisor proposed
    case = bz.open()
    bz.register(case)
    bz.expire_contact_period(case)
    bz.step(case, "propose_abandonment", by=bz.staff.supervisor)
    before = snapshot(case)
    # Then that supervisor may not confirm it
    with pytest.raises(PermissionDenied) as refused:
        bz.step(case, "confirm_abandonment", by=bz.staff.supervisor)
    assert str(refused.value) == FOUR_EYES
    assert snapshot(case) == before
    assert "confirm_abandonment" not in [t.name for t in workflow.available(case, bz.staff.supervisor)]
    # But another supervisor may
    bz.step(case, "confirm_abandonment", by=bz.staff.supervisor2)
    assert fresh(case).state == "abandoned"


def test_any_supervisor_confirms_an_abandonment_the_sweep_proposed(mx):
    case = mx.open()
    mx.register(case)
    mx.expire_contact_period(case)
    assert sweep()["proposed"] == 1
    assert CaseStep.objects.get(case=case, transition="propose_abandonment").actor is None

    assert "confirm_abandonment" in [t.name for t in workflow.available(fresh(case), mx.staff.supervisor2)]
    mx.step(case, "confirm_abandonment", by=mx.staff.supervisor)

    assert fresh(case).state == "abandoned"


def test_a_caseworker_cannot_confirm_the_abandonment(bz):
    case = bz.at("abandonment_proposed")
    before = snapshot(case)

    with pytest.raises(PermissionDenied):
        bz.step(case, "confirm_abandonment", by=bz.staff.caseworker)

    assert snapshot(case) == before


def test_a_supervisor_keeps_the_file_open_and_the_sweep_does_not_propose_it_again(bz):
    case = bz.at("abandonment_proposed")

    bz.step(case, "keep_open", reason="La solicitante llamó: estaba hospitalizada.")

    case = fresh(case)
    assert (case.state, case.closed_at) == ("no_show", None)
    # The applicant gets a new contact period from today; the next sweeps leave the file alone.
    assert deadlines(case, "contact")[-1] == (today(), today() + DAYS(42), False)
    assert sweep() == {"proposed": 0, "closed": 0}
    assert fresh(case).state == "no_show"
    # And a new interview can be scheduled
    bz.schedule(case)
    assert fresh(case).state == "interview_scheduled"


def test_one_missed_interview_is_not_proposed_for_closure(unhcr):
    # Given a single missed interview 50 days ago
    case = unhcr.at("interview_scheduled")
    unhcr.hold_interview(case, attended=False, on=ago(50))
    before = snapshot(case)
    # When the sweep runs, and a caseworker tries to propose the closure
    assert sweep() == {"proposed": 0, "closed": 0}
    with pytest.raises(ValidationError) as refused:
        unhcr.step(case, "propose_abandonment", by=unhcr.staff.caseworker)
    # Then nothing happens: closure needs two missed interviews
    assert message(refused.value) == "The applicant has missed 1 interview(s); closure needs 2."
    assert snapshot(case) == before


def test_contact_after_the_missed_interviews_restarts_the_clock(mx):
    # Given two missed interviews and an expired contact period
    case = mx.open()
    mx.register(case)
    mx.expire_contact_period(case)
    # When the applicant makes contact
    step = mx.step(case, "record_contact", by=mx.staff.caseworker, reason="Llamó por teléfono.")
    # Then a new period of 42 days runs from today, and nothing is proposed meanwhile
    case = fresh(case)
    assert (case.state, step.source, step.target) == ("no_show", "no_show", "no_show")
    assert deadlines(case, "contact")[-2:] == [(ago(50), ago(8), True), (today(), today() + DAYS(42), False)]
    assert sweep() == {"proposed": 0, "closed": 0}
    with pytest.raises(ValidationError) as refused:
        mx.step(case, "propose_abandonment")
    assert message(refused.value) == (
        f"The applicant may still make contact until {(today() + DAYS(42)).isoformat()}.")
    assert fresh(case).state == "no_show"


def test_recording_contact_needs_reasons(mx):
    case = mx.at("no_show")
    before = snapshot(case)

    with pytest.raises(ValidationError):
        services.take_step(by=mx.staff.caseworker, case=case, name="record_contact")

    assert snapshot(case) == before


def test_misses_before_a_reopening_do_not_count(bz):
    # Given a file closed as abandoned after two misses, then reopened
    case = bz.at("abandoned")
    bz.step(case, "reopen", ground="changed_circumstances")
    # When the applicant misses one interview after the reopening, long ago enough
    bz.schedule(case)
    bz.hold_interview(case, attended=False, on=ago(50))
    # Then the sweep does not propose it: one miss since the reopening
    assert sweep() == {"proposed": 0, "closed": 0}
    assert fresh(case).state == "no_show"


def _missed(driver, *days_ago: int):
    """A registered case whose applicant missed an interview on each of these days."""
    case = driver.open()
    driver.register(case)
    for days in days_ago:
        driver.schedule(case)
        driver.hold_interview(case, attended=False, on=ago(days))
    return fresh(case)


def test_the_sweep_is_not_held_up_by_cases_it_cannot_propose_yet(unhcr):
    # Given a case with two missed interviews and, opened after it, a case with one missed
    # interview whose contact period ended earlier (not enough misses: the sweep passes it by)
    due = _missed(unhcr, 60, 50)                  # contact period ended 8 days ago
    waiting = _missed(unhcr, 90)                  # ended 48 days ago
    assert deadlines(waiting, "contact")[-1][1] < deadlines(due, "contact")[-1][1]
    # When the sweep may fire one step only
    counts = services.sweep(limit=1)
    # Then the case that is due is proposed all the same
    assert counts == {"proposed": 1, "closed": 0}
    assert (fresh(waiting).state, fresh(due).state) == ("no_show", "abandonment_proposed")


def test_the_sweep_takes_the_oldest_deadline_first_and_stops_at_its_limit(bz):
    older = _missed(bz, 80, 70)                  # contact period ended 28 days ago
    later = _missed(bz, 60, 50)                  # ended 8 days ago (and opened last)

    assert services.sweep(limit=1) == {"proposed": 1, "closed": 0}
    assert (fresh(older).state, fresh(later).state) == ("abandonment_proposed", "no_show")
    assert services.sweep(limit=1) == {"proposed": 1, "closed": 0}
    assert fresh(later).state == "abandonment_proposed"


# --- Interviews ---------------------------------------------------------------------------

def test_an_interview_is_recorded_on_its_day(bz):
    case = bz.at("interview_scheduled")

    interview = bz.hold_interview(case, on=D(2026, 9, 2))

    assert (interview.status, fresh(case).state) == ("attended", "interviewed")
    assert CaseStep.objects.get(case=case, transition="record_attendance").effective_on == D(2026, 9, 2)
    assert deadlines(case, "interview")[0][2] is True


def test_an_evening_interview_is_dated_on_its_local_day(bz):
    # 20:00 in Mexico City is 02:00 UTC the next day: the step takes the local day.
    case = bz.at("interview_scheduled")

    Interview.objects.filter(case=case, status=InterviewStatus.SCHEDULED).update(
        scheduled_for=at_local(ago(3), 20))
    services.record_interview(by=bz.staff.caseworker, case=fresh(case), attended=True,
                              transcript="Transcripción completa.")

    assert CaseStep.objects.get(case=case, transition="record_attendance").effective_on == ago(3)


def test_a_missed_interview_is_dated_on_the_interview_day(bz):
    case = bz.at("interview_scheduled")

    bz.hold_interview(case, attended=False, on=ago(9))

    assert CaseStep.objects.get(case=case, transition="record_no_show").effective_on == ago(9)
    assert deadlines(case, "contact") == [(ago(9), ago(9) + DAYS(42), False)]


def test_rescheduling_replaces_the_scheduled_interview(bz):
    case = bz.at("interview_scheduled")
    first = Interview.objects.get(case=case)
    second = bz.schedule(case, by=bz.staff.supervisor)

    assert steps_of(case)[-1] == "reschedule_interview"
    statuses = sorted(case.interviews.values_list("status", flat=True))
    assert statuses == ["rescheduled", "scheduled"]
    assert second.status == "scheduled"
    # The old interview was changed through the model: its history says who and when
    history = list(Interview.history.filter(id=first.pk).order_by("history_date"))
    assert [(h.status, h.history_user) for h in history] == [
        ("scheduled", bz.staff.caseworker), ("rescheduled", bz.staff.supervisor)]


@pytest.mark.parametrize("by", ["caseworker", "supervisor"])
def test_a_withdrawal_cancels_the_scheduled_interview_with_history(bz, by):
    case = bz.at("interview_scheduled")
    interview = Interview.objects.get(case=case)
    user = getattr(bz.staff, by)

    bz.step(case, "withdraw", by=user)

    interview.refresh_from_db()
    assert interview.status == InterviewStatus.CANCELLED
    latest = Interview.history.filter(id=interview.pk).latest("history_date")
    assert (latest.status, latest.history_user) == ("cancelled", user)
    # Reopened, the file gets a new interview; the cancelled one stays as it was
    bz.step(case, "reopen", ground="changed_circumstances")
    bz.schedule(case)
    assert sorted(Interview.objects.filter(case=case).values_list("status", flat=True)) == [
        "cancelled", "scheduled"]


def test_a_step_that_does_not_close_the_file_leaves_the_interview_alone(mx):
    # record_contact goes from no_show to no_show: nothing is cancelled
    case = mx.at("no_show")
    interviews = list(Interview.objects.filter(case=case).values_list("pk", "status"))

    mx.step(case, "record_contact", by=mx.staff.caseworker)

    assert list(Interview.objects.filter(case=case).values_list("pk", "status")) == interviews


def test_an_interview_is_scheduled_within_the_next_two_years(unhcr):
    case = unhcr.at("registered")
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        services.schedule_interview(by=unhcr.staff.caseworker, case=case,
                                    when=timezone.now() + DAYS(731), place="Sala 1",
                                    interviewer=unhcr.staff.caseworker)

    assert refused.value.message_dict == {"when": ["Choose a time within the next two years."]}
    assert snapshot(case) == before
    interview = services.schedule_interview(by=unhcr.staff.caseworker, case=case,
                                            when=timezone.now() + DAYS(729), place="Sala 1",
                                            interviewer=unhcr.staff.caseworker)
    assert interview.status == "scheduled"


# --- Filing limits ------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "arrived", "applied", "late"), [
    ("bz", D(2026, 10, 5), D(2026, 10, 19), False),   # the 14th day
    ("bz", D(2026, 10, 5), D(2026, 10, 20), True),
    ("mx", D(2026, 8, 24), D(2026, 10, 6), False),   # the 30th working day
    ("mx", D(2026, 8, 24), D(2026, 10, 7), True),
    ("cr", D(2026, 1, 5), D(2026, 10, 7), False),    # no filing limit in Costa Rica
    ("unhcr", D(2026, 1, 5), D(2026, 10, 7), False),
])
def test_filing_limits(request, name, arrived, applied, late):
    driver = request.getfixturevalue(name)
    case = driver.open()

    driver.register(case, arrival_date=arrived, application_date=applied,
                    late_justification="Desconocía el procedimiento." if late else "")

    application = Application.objects.get(case=case)
    assert application.late is late
    assert application.late_justification == ("Desconocía el procedimiento." if late else "")
    assert CaseStep.objects.get(case=case, transition="register").details["late"] is late
    assert transition_events(case, "ok").get().details["late"] is late


@pytest.mark.parametrize(("name", "arrived", "applied", "days"), [
    ("bz", D(2026, 10, 5), D(2026, 10, 20), 14),
    ("mx", D(2026, 8, 24), D(2026, 10, 7), 30),
])
def test_a_late_application_needs_a_justification(request, name, arrived, applied, days):
    driver = request.getfixturevalue(name)
    case = driver.open()
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        driver.register(case, arrival_date=arrived, application_date=applied)

    assert list(refused.value.message_dict) == ["late_justification"]
    assert f"more than {days} " in message(refused.value)
    assert snapshot(case) == before
    assert fresh(case).procedure == ""


def test_an_application_on_time_keeps_no_justification(bz):
    case = bz.open()

    bz.register(case, arrival_date=D(2026, 10, 5), application_date=D(2026, 10, 19),
                late_justification="No hacía falta.")

    assert Application.objects.get(case=case).late is False


# --- Mexico's decision clock --------------------------------------------------------------

def test_mexicos_decision_is_due_45_working_days_after_the_application(mx):
    case = mx.open()
    mx.register(case, arrival_date=D(2026, 8, 20), application_date=D(2026, 8, 24))

    assert deadlines(case, "decision") == [(D(2026, 8, 24), D(2026, 10, 27), False)]
    step = CaseStep.objects.get(case=case, transition="register")
    assert CaseDeadline.objects.get(case=case, clock="decision").started_by_step == step


def test_mexicos_decision_clock_is_met_by_the_decision(mx):
    case = mx.open()
    mx.register(case, arrival_date=D(2026, 8, 20), application_date=D(2026, 8, 24))
    mx.schedule(case)
    mx.hold_interview(case, on=D(2026, 9, 8))
    mx.submit(case, "rejected")
    assert deadlines(case, "decision") == [(D(2026, 8, 24), D(2026, 10, 27), False)]

    decision = mx.first_decision(case, "rejected", decided_on=D(2026, 10, 20))

    deadline = CaseDeadline.objects.get(case=case, clock="decision")
    assert deadline.met_at is not None
    assert deadline.met_by_step_id == decision.step_id


def test_mexicos_decision_clock_is_labelled_decision_due(mx):
    case = mx.at("registered")

    assert workflow.clock_label(case, "decision") == "Decision due"


def test_other_procedures_have_no_decision_clock(bz):
    case = bz.at("registered")

    assert deadlines(case, "decision") == []


# --- The Celery task ----------------------------------------------------------------------

def test_the_sweep_runs_as_a_celery_task(bz, unhcr):
    # Given one file to propose for closure and one refusal left unappealed
    abandoned = bz.open()
    bz.register(abandoned)
    bz.expire_contact_period(abandoned)
    unappealed = unhcr.at("under_review", "rejected")
    unhcr.decide(unappealed, "rejected", decided_on=ago(45))
    unhcr.notify(unappealed, delivered_on=ago(45))
    running = unhcr.at("appeal_period")  # delivered 5 days ago: still running
    # When the periodic task runs through Celery (eager in tests)
    result = sweep_task.delay()
    # Then it did both, and left the running period alone
    assert result.get() == {"proposed": 1, "closed": 1}
    assert fresh(abandoned).state == "abandonment_proposed"
    assert fresh(unappealed).state == "rejected_final"
    assert fresh(running).state == "appeal_period"
    assert sweep_task.name == "rsd.sweep"


def test_after_a_kept_recognition_the_next_proposal_is_decided_by_the_other_supervisor(bz):
    # Two supervisors take turns: only the latest proposer is barred, or the office would be stuck.
    one, two = bz.staff.supervisor, bz.staff.supervisor2
    case = bz.at("recognized")
    bz.propose_cancellation(case, by=one)
    bz.step(case, "keep_recognition", by=two)
    bz.propose_cancellation(case, by=two)

    with pytest.raises(PermissionDenied):
        bz.step(case, "cancel_recognition", by=two)
    bz.step(case, "cancel_recognition", by=one)

    assert fresh(case).state == "cancelled"


def test_a_country_period_is_changed_in_settings_and_a_typo_is_refused(settings):
    from cases import workflow
    from cases.checks import check_procedures
    from rsd import procedures

    try:
        settings.AMPARO_DEADLINES = {"rsd.mx": {"appeal": (15, "working")}}
        procedures.build()
        clock = workflow.for_kind("asylum", "MX").clock("appeal")
        assert (clock.days, clock.unit) == (15, "working")
        # Delivered Monday 2026-11-09: 15 working days, Revolution Day (Monday 16 Nov) skipped.
        assert clock.due(datetime.date(2026, 11, 9), "MX") == datetime.date(2026, 12, 1)
        assert check_procedures(None) == []

        for wrong, named in (({"rsd.mx": {"apeal": (15, "working")}}, "apeal"),
                             ({"rsd.mex": {}}, "rsd.mex"),
                             ({"rsd.mx": {"appeal": (15, "weeks")}}, "appeal"),
                             ({"rsd.mx": {"appeal": 15}}, "appeal")):
            settings.AMPARO_DEADLINES = wrong
            procedures.build()
            errors = check_procedures(None)
            assert [e.id for e in errors] == ["amparo.E020"], wrong
            assert named in errors[0].msg
            # A wrong entry changes nothing: the law's period stays.
            assert workflow.for_kind("asylum", "MX").clock("appeal").days == 30
    finally:
        settings.AMPARO_DEADLINES = {}
        procedures.build()
    assert workflow.for_kind("asylum", "MX").clock("appeal").days == 30
