"""The reads of one asylum case's records (rsd.selectors): which record each of them picks
when a case holds several, as reopened cases and returned assessments do."""

from __future__ import annotations

import pytest

from rsd import selectors, services
from rsd.models import AssessmentStatus, InterviewStatus, Stage
from tests.rsd.conftest import assessment_data, fresh, today

pytestmark = pytest.mark.django_db


def _reopened_and_decided_again(mx, outcome: str):
    """A refusal whose appeal was dismissed, reopened and decided again at first instance."""
    case = mx.at("rejected_final")
    old_first = selectors.first_instance_decision(case)
    old_appeal = selectors.appeal_decision(case)
    mx.step(case, "reopen", ground="new_evidence")
    mx.schedule(case)
    mx.hold_interview(case, on=today())
    mx.submit(case, outcome)
    new = mx.first_decision(case, outcome, by=mx.staff.supervisor2, decided_on=today())
    return fresh(case), old_first, old_appeal, new


def test_the_latest_decision_of_a_stage_is_the_one_recorded_last(mx):
    case, old_first, old_appeal, new = _reopened_and_decided_again(mx, "recognized")

    assert old_first != new
    assert selectors.latest_decision(case, Stage.FIRST_INSTANCE) == new
    assert selectors.first_instance_decision(case) == new
    assert selectors.latest_outcome(case, Stage.FIRST_INSTANCE) == "recognized"
    # The appeal stage keeps its own latest: the dismissal before the reopening
    assert selectors.latest_decision(case, Stage.APPEAL) == old_appeal
    assert selectors.latest_outcome(case, Stage.APPEAL) == "rejected"
    # and what stands is the new first decision, recorded after it
    assert selectors.governing_decision(case) == new


def test_the_latest_decision_of_a_stage_ignores_the_other_stages(bz):
    # Given a Committee's recommendation followed by the Minister's decision
    case = bz.at("minister", "rejected")
    recommendation = selectors.latest_decision(case, Stage.RECOMMENDATION)
    assert recommendation is not None and recommendation.outcome == "rejected"
    assert selectors.first_instance_decision(case) is None
    bz.first_decision(case, "recognized", by=bz.staff.supervisor2)

    # Then each stage answers with its own decision
    assert selectors.latest_decision(case, Stage.RECOMMENDATION) == recommendation
    assert selectors.latest_outcome(case, Stage.FIRST_INSTANCE) == "recognized"
    assert selectors.latest_decision(case, Stage.APPEAL) is None
    assert selectors.latest_outcome(case, Stage.APPEAL) is None


def test_no_decision_yet(unhcr):
    case = unhcr.at("under_review")
    assert selectors.latest_decision(case, Stage.FIRST_INSTANCE) is None
    assert selectors.governing_decision(case) is None


def test_the_pending_appeal_is_the_one_not_yet_decided(unhcr):
    case = unhcr.at("appeal_lodged")
    appeal = selectors.pending_appeal(case)
    assert appeal is not None and appeal.outcome_id is None

    unhcr.decide_appeal(case, "rejected")

    assert selectors.pending_appeal(case) is None


def test_a_decided_appeal_of_an_earlier_round_is_not_pending(mx):
    # Given an appeal dismissed, the file reopened, refused again and appealed again
    case, _, old_appeal, _ = _reopened_and_decided_again(mx, "rejected")
    mx.notify(case)
    new = mx.appeal(case)

    # (the service, too, returns the appeal it lodged, not the earlier one of the same day)
    assert new.outcome_id is None
    pending = selectors.pending_appeal(case)
    assert pending == new
    assert pending.decision == selectors.first_instance_decision(case)
    assert pending.decision_id != old_appeal.pk


def test_an_appeal_left_pending_by_a_withdrawal_gives_way_to_the_new_rounds(unhcr):
    # Given an application withdrawn while its appeal was pending, then reopened and refused again
    case = unhcr.at("appeal_lodged")
    forgotten = selectors.pending_appeal(case)
    unhcr.step(case, "withdraw", by=unhcr.staff.caseworker)
    unhcr.step(case, "reopen", ground="new_evidence")
    unhcr.schedule(case)
    unhcr.hold_interview(case, on=today())
    unhcr.submit(case, "rejected")
    unhcr.first_decision(case, "rejected", by=unhcr.staff.supervisor2, decided_on=today())
    unhcr.notify(case)
    new = unhcr.appeal(case)

    # Then the appeal pending is the new one, and deciding it leaves the old one alone
    assert selectors.pending_appeal(case) == new != forgotten
    decided = unhcr.decide_appeal(case, "rejected", by=unhcr.staff.supervisor)
    new.refresh_from_db()
    forgotten.refresh_from_db()
    assert (new.outcome_id, forgotten.outcome_id) == (decided.pk, None)


def test_the_scheduled_interview_and_those_held(bz):
    case = bz.at("registered")
    assert selectors.scheduled_interview(case) is None
    bz.schedule(case)
    bz.hold_interview(case, attended=False)
    second = bz.schedule(case)

    assert selectors.scheduled_interview(case) == second
    assert selectors.held_interviews(case) == []   # a missed interview was not held
    assert selectors.missed_interviews(case) == 1

    bz.hold_interview(case)

    assert selectors.scheduled_interview(case) is None
    assert [i.pk for i in selectors.held_interviews(case)] == [second.pk]
    assert [i.status for i in selectors.held_interviews(case)] == [InterviewStatus.ATTENDED]


def test_missed_interviews_count_from_the_reopening(bz):
    case = bz.at("abandoned")
    assert selectors.missed_interviews(case) == 2

    bz.step(case, "reopen", ground="changed_circumstances")

    assert selectors.missed_interviews(case) == 0


def test_the_assessment_through_draft_submission_return_and_approval(cr):
    case = cr.at("interviewed")
    assert selectors.current_assessment(case) is None
    assert selectors.assessment_version(None) == ""

    draft = services.save_assessment(by=cr.staff.caseworker, case=fresh(case), data=assessment_data())
    assert selectors.current_assessment(case) == draft
    assert selectors.assessment_version(selectors.current_assessment(case)) == draft.updated_at.isoformat()
    assert selectors.submitted_assessment(case) is None
    assert selectors.latest_assessment(case) is None   # a draft is not shown to the reviewer
    assert selectors.returned_assessment(case) is None

    cr.submit(case)
    assert selectors.submitted_assessment(case) == draft   # one assessment, written on
    assert selectors.latest_assessment(case) == draft

    cr.return_assessment(case, "Revisar la credibilidad.", by=cr.staff.supervisor)
    assert selectors.returned_assessment(case) == draft
    assert selectors.submitted_assessment(case) is None

    cr.submit(case)
    cr.approve(case, by=cr.staff.supervisor2)
    approved = selectors.latest_assessment(case)
    assert approved == draft and approved.status == AssessmentStatus.APPROVED
    assert selectors.current_assessment(case) is None
    assert selectors.returned_assessment(case) is None


def test_a_case_closed_for_want_of_an_appeal(unhcr):
    assert selectors.closed_for_want_of_appeal(unhcr.unappealed())
    assert not selectors.closed_for_want_of_appeal(unhcr.at("rejected_final"))


def test_letters_come_in_the_applicants_language(unhcr):
    assert selectors.letter_language(unhcr.open(languages=["es", "en"])) == "es"
    assert selectors.letter_language(unhcr.open(languages=["fr"])) == "en"
    assert selectors.letter_language(unhcr.open(languages=[])) == "en"
