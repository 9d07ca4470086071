"""Two people acting on one asylum case at the same moment, through the services, on real
PostgreSQL connections (SQLite has no row locks: these tests skip there).

Each caller runs in its own thread with its own database connection. A third connection
holds the case row until both callers are queued behind it (seen in pg_stat_activity) and
a barrier has released them together, then lets go: they really race, every run.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from cases.models import CaseStep, Role
from rsd import services
from rsd.models import Appeal, AssessmentStatus, Decision, EligibilityAssessment
from tests.races import race_on_case as _race
from tests.rsd.conftest import decision_data, fresh, today, transition_events

pytestmark = pytest.mark.postgres

STALE = ("Someone else recorded a step on this case a moment ago (it is now: {state}). "
         "Nothing was recorded; look at the case again before you go on.")
MOVED_ON = "The case is no longer at the step where this can be done."


def _split(results: list[Any], kind: type) -> tuple[list[Any], list[ValidationError]]:
    winners = [r for r in results if isinstance(r, kind)]
    losers = [r for r in results if isinstance(r, ValidationError)]
    assert len(winners) == 1 and len(losers) == 1, results
    return winners, losers


@pytest.mark.parametrize("same_page", [True, False], ids=["same-page", "no-page"])
def test_two_supervisors_deciding_at_once_one_decision_is_recorded(postgres, unhcr, same_page):
    # Given a case under review that two supervisors opened at the same step
    case = unhcr.at("under_review", "recognized")
    seen = case.step_no if same_page else None
    first, second = unhcr.staff.supervisor, unhcr.staff.supervisor2
    # When both record their decision at the same moment, one recognizing, one rejecting
    results = _race(case, [
        lambda: services.record_decision(by=first, case=case, step_name="decide",
                                         data=decision_data("recognized"), expected_step=seen),
        lambda: services.record_decision(by=second, case=case, step_name="decide",
                                         data=decision_data("rejected"), expected_step=seen),
    ])
    # Then exactly one decision is on record, the winner's, and the other is told why
    (winner,), (loser,) = _split(results, Decision)
    expected = STALE.format(state="Decided: to notify") if same_page else MOVED_ON
    assert loser.messages == [expected]
    case = fresh(case)
    assert (case.state, case.step_no) == ("decided", seen + 1 if seen else 5)
    decision = Decision.objects.get(case=case)
    assert (decision.pk, decision.recorded_by_id) == (winner.pk, winner.recorded_by_id)
    step = CaseStep.objects.get(case=case, transition="decide")
    assert (step.actor_id, decision.step_id) == (winner.recorded_by_id, step.pk)
    assert CaseStep.objects.filter(case=case).count() == 5
    assessment = EligibilityAssessment.objects.get(case=case)
    assert (assessment.status, assessment.reviewed_by_id) == (AssessmentStatus.APPROVED,
                                                              winner.recorded_by_id)
    assert [e.actor_id for e in transition_events(case, "ok").filter(details__transition="decide")] == [
        winner.recorded_by_id]
    loser_id = second.pk if winner.recorded_by_id == first.pk else first.pk
    denied = list(transition_events(case, "denied"))
    if same_page:  # a stale page is turned away before any check: nothing to record
        assert denied == []
    else:
        assert [(e.actor_id, e.details) for e in denied] == [
            (loser_id, {"transition": "decide", "state": "decided"})]


def test_two_supervisors_recording_the_ministers_decision_at_once(postgres, bz):
    case = bz.at("minister", "rejected")
    seen = case.step_no

    results = _race(case, [
        lambda u=u: services.record_decision(by=u, case=case, step_name="record_minister_decision",
                                             data=decision_data("rejected"), expected_step=seen)
        for u in (bz.staff.supervisor, bz.staff.supervisor2)
    ])

    (winner,), (loser,) = _split(results, Decision)
    assert loser.messages == [STALE.format(state="Decided: to notify")]
    assert Decision.objects.filter(case=case, stage="first_instance").get() == winner
    assert CaseStep.objects.filter(case=case, transition="record_minister_decision").count() == 1
    assert fresh(case).state == "decided"


def test_a_withdrawal_and_a_decision_at_once_one_wins(postgres, mx):
    # Given a case under review: the caseworker records a withdrawal while the supervisor
    # decides, both from the page they opened at the same step
    case = mx.at("under_review", "recognized")
    seen = case.step_no

    results = _race(case, [
        lambda: services.take_step(by=mx.staff.caseworker, case=case, name="withdraw",
                                   reason="Desiste por escrito.", expected_step=seen),
        lambda: services.record_decision(by=mx.staff.supervisor, case=case, step_name="decide",
                                         data=decision_data("recognized"), expected_step=seen),
    ])

    withdrawal, decision = results
    case = fresh(case)
    assert case.step_no == seen + 1
    assert CaseStep.objects.filter(case=case).count() == seen + 1
    if isinstance(withdrawal, CaseStep):
        # the withdrawal won: closed, no decision, the decision clock met by the withdrawal
        assert isinstance(decision, ValidationError)
        assert decision.messages == [STALE.format(state="Withdrawn")]
        assert (case.state, case.closed_at is not None) == ("withdrawn", True)
        assert not Decision.objects.filter(case=case).exists()
        assert EligibilityAssessment.objects.get(case=case).status == AssessmentStatus.SUBMITTED
    else:
        # the decision won: decided and still open; the withdrawal was not recorded
        assert isinstance(withdrawal, ValidationError) and isinstance(decision, Decision)
        assert withdrawal.messages == [STALE.format(state="Decided: to notify")]
        assert (case.state, case.closed_at) == ("decided", None)
        assert not CaseStep.objects.filter(case=case, transition="withdraw").exists()
    assert transition_events(case, "ok").count() == seen + 1


def test_two_supervisors_deciding_a_proposed_cancellation_at_once(postgres, mx, make_user):
    # Given a cancellation one supervisor proposed: two others decide it from the same page,
    # one cancelling, one keeping the recognition
    case = mx.at("cancellation_proposed")
    seen = case.step_no
    third = make_user(Role.SUPERVISOR, mx.staff.office)

    results = _race(case, [
        lambda: services.take_step(by=mx.staff.supervisor2, case=case, name="cancel_recognition",
                                   reason="Exclusión confirmada.", expected_step=seen),
        lambda: services.take_step(by=third, case=case, name="keep_recognition",
                                   reason="No procede.", expected_step=seen),
    ])

    (winner,), (loser,) = _split(results, CaseStep)
    case = fresh(case)
    reached = {"cancel_recognition": "cancelled", "keep_recognition": "recognized"}
    assert case.state == reached[winner.transition]
    assert loser.messages == [STALE.format(
        state="Recognition cancelled" if case.state == "cancelled" else "Recognized")]
    assert CaseStep.objects.filter(case=case).count() == seen + 1
    assert CaseStep.objects.filter(case=case, transition__in=("cancel_recognition", "keep_recognition")
                                   ).get() == winner


def test_a_late_appeal_and_a_reopening_at_once_one_wins(postgres, cr):
    # Given a refusal closed for want of an appeal: the caseworker records a late appeal while
    # a supervisor reopens the file (neither from a page)
    case = cr.unappealed()
    seen = case.step_no

    results = _race(case, [
        lambda: services.lodge_appeal(by=cr.staff.caseworker, case=case, lodged_on=today(),
                                      grounds="Error de hecho.", late_justification="Hospitalizada."),
        lambda: services.take_step(by=cr.staff.supervisor2, case=case, name="reopen",
                                   reason="Nuevas pruebas.", ground="new_evidence"),
    ])

    appeal, reopening = results
    case = fresh(case)
    assert case.step_no == seen + 1 and case.closed_at is None
    if isinstance(appeal, Appeal):
        assert isinstance(reopening, ValidationError) and reopening.messages == [MOVED_ON]
        assert case.state == "appeal_lodged"
    else:
        assert isinstance(reopening, CaseStep) and isinstance(appeal, ValidationError)
        assert appeal.messages == [MOVED_ON]
        assert case.state == "registered"
        assert not Appeal.objects.filter(case=case).exists()
