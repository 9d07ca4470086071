"""What the asylum procedure refuses, and that a refusal writes nothing: roles and offices,
the four-eyes rule, half-filled or inconsistent steps, stale forms; and that what people
said and officers wrote is sealed in the database yet reads back through the models."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from cases import workflow
from cases.models import Case, CaseStep
from rsd import services
from rsd.models import Appeal, Application, Decision, EligibilityAssessment, Interview, InterviewStatus
from rsd.services import AssessmentData
from tests.cases.rawsql import read_column
from tests.rsd.conftest import (
    DAY,
    Asylum,
    D,
    ago,
    application_data,
    assessment_data,
    decision_data,
    fresh,
    snapshot,
    today,
    transition_events,
)

pytestmark = pytest.mark.django_db

ROLE_REFUSED = "Your role in this office does not allow this step."
FOUR_EYES = "Someone other than you must do this: you took part in the step it checks (four-eyes rule)."


def message(exc: Exception) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


# --- Who may take which step -------------------------------------------------------------------

# step: (procedure, the state it is taken from, the transition recorded, how it is taken)
STEPS = {
    "register": ("bz", "open", "register", lambda d, c, u: d.register(c, by=u)),
    "schedule_interview": ("bz", "registered", "schedule_interview", lambda d, c, u: d.schedule(c, by=u)),
    "record_attendance": ("bz", "interview_scheduled", "record_attendance",
                          lambda d, c, u: d.hold_interview(c, by=u)),
    "record_no_show": ("bz", "interview_scheduled", "record_no_show",
                       lambda d, c, u: d.hold_interview(c, attended=False, by=u)),
    "record_contact": ("mx", "no_show", "record_contact", lambda d, c, u: d.step(c, "record_contact", by=u)),
    "submit_assessment": ("bz", "interviewed", "submit_assessment", lambda d, c, u: d.submit(c, by=u)),
    "return_assessment": ("cr", "under_review", "return_assessment",
                          lambda d, c, u: d.return_assessment(c, "Revise los hechos.", by=u)),
    "approve_assessment": ("bz", "under_review", "approve_assessment", lambda d, c, u: d.approve(c, by=u)),
    "record_committee_recommendation": ("bz", "committee", "record_committee_recommendation",
                                        lambda d, c, u: d.recommend(c, by=u)),
    "record_minister_decision": ("bz", "minister", "record_minister_decision",
                                 lambda d, c, u: d.first_decision(c, "rejected", by=u)),
    "record_commission_decision": ("cr", "commission", "record_commission_decision",
                                   lambda d, c, u: d.first_decision(c, "rejected", by=u)),
    "decide": ("unhcr", "under_review", "decide", lambda d, c, u: d.first_decision(c, "rejected", by=u)),
    "notify": ("mx", "decided", "notify_negative", lambda d, c, u: d.notify(c, by=u)),
    "lodge_appeal": ("bz", "appeal_period", "lodge_appeal", lambda d, c, u: d.appeal(c, by=u)),
    "decide_appeal": ("unhcr", "appeal_lodged", "allow_appeal",
                      lambda d, c, u: d.decide_appeal(c, "recognized", by=u)),
    "close_unappealed": ("bz", "appeal_period", "close_unappealed",
                         lambda d, c, u: d.step(c, "close_unappealed", by=u)),
    "withdraw": ("cr", "interviewed", "withdraw", lambda d, c, u: d.step(c, "withdraw", by=u)),
    "reopen": ("bz", "withdrawn", "reopen", lambda d, c, u: d.step(c, "reopen", by=u, ground="new_evidence")),
    "lodge_late_appeal": ("cr", "rejected_final", "lodge_late_appeal",
                          lambda d, c, u: d.appeal(c, by=u, late_justification="Estuvo hospitalizada.")),
    "notify_appeal": ("bz", "appeal_decided", "notify_appeal_dismissal", lambda d, c, u: d.notify(c, by=u)),
    "propose_cancellation": ("mx", "recognized", "propose_cancellation",
                             lambda d, c, u: d.propose_cancellation(c, "inclusion_not_met", by=u)),
    "cancel_recognition": ("mx", "cancellation_proposed", "cancel_recognition",
                           lambda d, c, u: d.step(c, "cancel_recognition", by=u)),
    "keep_recognition": ("unhcr", "cancellation_proposed", "keep_recognition",
                         lambda d, c, u: d.step(c, "keep_recognition", by=u)),
    "propose_abandonment": ("bz", "no_show", "propose_abandonment",
                            lambda d, c, u: d.step(c, "propose_abandonment", by=u)),
    "confirm_abandonment": ("bz", "abandonment_proposed", "confirm_abandonment",
                            lambda d, c, u: d.step(c, "confirm_abandonment", by=u)),
    "keep_open": ("unhcr", "abandonment_proposed", "keep_open", lambda d, c, u: d.step(c, "keep_open", by=u)),
}
CASEWORKER_STEPS = ["register", "schedule_interview", "record_attendance", "record_no_show", "record_contact",
                    "submit_assessment", "notify", "lodge_appeal", "lodge_late_appeal", "notify_appeal",
                    "withdraw", "propose_abandonment"]
SUPERVISOR_STEPS = [s for s in STEPS if s not in CASEWORKER_STEPS]
OTHER_OFFICE = {"bz": "cr", "cr": "mx", "mx": "unhcr", "unhcr": "bz"}


def _user(request, driver: Asylum, procedure: str, who: str):
    if who == "other_office_supervisor":
        return request.getfixturevalue(OTHER_OFFICE[procedure]).staff.supervisor
    if who == "other_office_caseworker":
        return request.getfixturevalue(OTHER_OFFICE[procedure]).staff.caseworker
    return getattr(driver.staff, who)


def _at(driver: Asylum, step: str, state: str) -> Case:
    # A late appeal is taken only on a refusal closed for want of an appeal.
    return driver.unappealed() if step == "lodge_late_appeal" else driver.at(state)


def _refused(request, step: str, who: str) -> None:
    procedure, state, transition, take = STEPS[step]
    driver = request.getfixturevalue(procedure)
    # The step's own preconditions hold (an expired period, enough no-shows): only who is wrong.
    if step == "close_unappealed":
        case = driver.at("under_review")
        driver.decide(case, "rejected", decided_on=ago(50))
        driver.notify(case, delivered_on=ago(50))
    elif step == "propose_abandonment":
        case = driver.open()
        driver.register(case)
        driver.expire_contact_period(case)
    else:
        case = _at(driver, step, state)
    case = fresh(case)
    assert case.state == state
    user = _user(request, driver, procedure, who)
    before = snapshot(case)

    with pytest.raises(PermissionDenied) as refused:
        take(driver, case, user)

    assert str(refused.value) == ROLE_REFUSED
    assert snapshot(case) == before
    denied = transition_events(case, "denied").get()
    assert (denied.actor_id, denied.details) == (user.pk, {"transition": transition, "state": state})


@pytest.mark.parametrize("who", ["auditor", "office_admin", "caseworker2", "other_office_supervisor",
                                 "other_office_caseworker"])
@pytest.mark.parametrize("step", CASEWORKER_STEPS)
def test_caseworker_steps_are_refused_to_anyone_but_the_assigned_caseworker_and_supervisors(
        request, step, who):
    _refused(request, step, who)


@pytest.mark.parametrize("who", ["caseworker", "auditor", "office_admin", "other_office_supervisor"])
@pytest.mark.parametrize("step", SUPERVISOR_STEPS)
def test_supervisor_steps_are_refused_to_everyone_else(request, step, who):
    _refused(request, step, who)


@pytest.mark.parametrize("step", CASEWORKER_STEPS)
def test_a_supervisor_of_the_office_may_take_the_caseworkers_steps(request, step):
    procedure, state, transition, take = STEPS[step]
    driver = request.getfixturevalue(procedure)
    if step == "propose_abandonment":
        case = driver.open()
        driver.register(case)
        driver.expire_contact_period(case)
    else:
        case = _at(driver, step, state)

    take(driver, fresh(case), driver.staff.supervisor)

    last = CaseStep.objects.filter(case=case).latest("number")
    assert (last.transition, last.actor) == (transition, driver.staff.supervisor)


@pytest.mark.parametrize("who", ["auditor", "office_admin", "caseworker2", "other_office_supervisor"])
def test_drafts_and_family_members_are_refused_to_those_who_cannot_change_the_case(request, bz, who,
                                                                                   person_data):
    case = bz.at("interviewed")
    user = _user(request, bz, "bz", who)
    before = snapshot(case)

    with pytest.raises(PermissionDenied):
        services.save_assessment(by=user, case=case, data=assessment_data())
    with pytest.raises(PermissionDenied):
        services.add_family_member(by=user, case=case, data=person_data(given_names="Mateo"),
                                   relationship="child", accompanying=True, derivative=True)

    assert snapshot(case) == before


# --- Four eyes ----------------------------------------------------------------------------------

def _submitted_by_supervisor(driver: Asylum) -> Case:
    case = driver.at("interviewed")
    driver.submit(case, "recognized", by=driver.staff.supervisor)  # supervisors may do this too
    return fresh(case)


@pytest.mark.parametrize("name", ["unhcr", "bz", "cr", "mx"])
def test_the_supervisor_who_submitted_the_assessment_cannot_return_it(request, name):
    driver = request.getfixturevalue(name)
    case = _submitted_by_supervisor(driver)
    before = snapshot(case)

    with pytest.raises(PermissionDenied) as refused:
        driver.return_assessment(case, "Revisar.", by=driver.staff.supervisor)

    assert str(refused.value) == FOUR_EYES
    assert snapshot(case) == before
    assert transition_events(case, "denied").get().details["transition"] == "return_assessment"
    driver.return_assessment(case, "Revisar.", by=driver.staff.supervisor2)
    assert fresh(case).state == "interviewed"


@pytest.mark.parametrize("name", ["unhcr", "mx"])
def test_the_supervisor_who_submitted_the_assessment_cannot_decide(request, name):
    driver = request.getfixturevalue(name)
    case = _submitted_by_supervisor(driver)
    before = snapshot(case)

    with pytest.raises(PermissionDenied) as refused:
        driver.first_decision(case, by=driver.staff.supervisor)

    assert str(refused.value) == FOUR_EYES
    assert snapshot(case) == before
    decision = driver.first_decision(case, by=driver.staff.supervisor2)
    assert (fresh(case).state, decision.recorded_by) == ("decided", driver.staff.supervisor2)


def test_belize_the_submitter_cannot_approve_nor_record_the_committee_or_minister(bz):
    case = _submitted_by_supervisor(bz)
    submitter, other = bz.staff.supervisor, bz.staff.supervisor2

    for take in (lambda: bz.approve(case, by=submitter),):
        before = snapshot(case)
        with pytest.raises(PermissionDenied, match="four-eyes"):
            take()
        assert snapshot(case) == before
    bz.approve(case, by=other)

    before = snapshot(case)
    with pytest.raises(PermissionDenied, match="four-eyes"):
        bz.recommend(case, by=submitter)
    assert snapshot(case) == before
    bz.recommend(case, by=other)

    before = snapshot(case)
    with pytest.raises(PermissionDenied, match="four-eyes"):
        bz.first_decision(case, by=submitter)
    assert snapshot(case) == before
    bz.first_decision(case, by=other)

    assert fresh(case).state == "decided"
    assert [e.details["transition"] for e in transition_events(case, "denied")] == [
        "approve_assessment", "record_committee_recommendation", "record_minister_decision"]


def test_costa_rica_the_submitter_cannot_send_to_nor_record_the_commission(cr):
    case = _submitted_by_supervisor(cr)

    with pytest.raises(PermissionDenied, match="four-eyes"):
        cr.approve(case, by=cr.staff.supervisor)
    cr.approve(case, by=cr.staff.supervisor2)
    before = snapshot(case)
    with pytest.raises(PermissionDenied, match="four-eyes"):
        cr.first_decision(case, by=cr.staff.supervisor)

    assert snapshot(case) == before


def test_four_eyes_counts_every_submitter_of_the_round_not_only_the_last(unhcr):
    # Given an assessment the supervisor submitted, returned by a colleague, resubmitted by
    # the caseworker
    case = _submitted_by_supervisor(unhcr)
    unhcr.return_assessment(case, "Complete la exclusión.", by=unhcr.staff.supervisor2)
    unhcr.submit(case, "recognized", by=unhcr.staff.caseworker)
    before = snapshot(case)
    # Then the first supervisor took part in it and still may not decide it
    with pytest.raises(PermissionDenied) as refused:
        unhcr.first_decision(case, by=unhcr.staff.supervisor)
    assert str(refused.value) == FOUR_EYES
    assert snapshot(case) == before
    # And the colleague who only returned it may
    decision = unhcr.first_decision(case, by=unhcr.staff.supervisor2)
    assert decision.recorded_by == unhcr.staff.supervisor2


@pytest.mark.parametrize("name", ["unhcr", "bz", "cr", "mx"])
def test_a_supervisor_who_only_returned_the_assessment_may_review_it_again(request, name):
    driver = request.getfixturevalue(name)
    case = driver.at("under_review")
    driver.return_assessment(case, "Falta la información de país.", by=driver.staff.supervisor)
    driver.submit(case, by=driver.staff.caseworker)

    assert "return_assessment" in [t.name for t in workflow.available(fresh(case), driver.staff.supervisor)]
    if name in ("bz", "cr"):
        driver.approve(case, by=driver.staff.supervisor)
        assert fresh(case).state in ("committee", "commission")
    else:
        driver.first_decision(case, by=driver.staff.supervisor)
        assert fresh(case).state == "decided"


def _drafted_by_supervisor(driver: Asylum) -> Case:
    """A draft the supervisor saved, then completed and submitted by the caseworker."""
    case = driver.at("interviewed")
    services.save_assessment(by=driver.staff.supervisor, case=fresh(case),
                             data=assessment_data(credibility="Borrador del supervisor."))
    driver.submit(case, by=driver.staff.caseworker)
    return fresh(case)


@pytest.mark.parametrize("name", ["unhcr", "bz", "cr", "mx"])
def test_a_supervisor_who_saved_a_draft_cannot_return_it_even_if_the_caseworker_submitted(request, name):
    driver = request.getfixturevalue(name)
    case = _drafted_by_supervisor(driver)
    before = snapshot(case)

    with pytest.raises(PermissionDenied) as refused:
        driver.return_assessment(case, "Revisar.", by=driver.staff.supervisor)

    assert str(refused.value) == FOUR_EYES
    assert snapshot(case) == before
    available = [t.name for t in workflow.available(case, driver.staff.supervisor)]
    assert "return_assessment" not in available and "approve_assessment" not in available
    assert "decide" not in available
    driver.return_assessment(case, "Revisar.", by=driver.staff.supervisor2)
    assert fresh(case).state == "interviewed"


@pytest.mark.parametrize("name", ["unhcr", "bz", "cr", "mx"])
def test_a_supervisor_who_saved_a_draft_cannot_approve_nor_decide_it(request, name):
    driver = request.getfixturevalue(name)
    case = _drafted_by_supervisor(driver)
    before = snapshot(case)

    with pytest.raises(PermissionDenied) as refused:
        if name in ("bz", "cr"):
            driver.approve(case, by=driver.staff.supervisor)
        else:
            driver.first_decision(case, by=driver.staff.supervisor)

    assert str(refused.value) == FOUR_EYES
    assert snapshot(case) == before


def test_assessment_writers_are_those_who_saved_it_as_draft_or_submitted_it(cr):
    from rsd.selectors import assessment_writers

    case = cr.at("interviewed")
    assert assessment_writers(case) == set()
    services.save_assessment(by=cr.staff.supervisor, case=fresh(case), data=assessment_data())
    assert assessment_writers(case) == {cr.staff.supervisor.pk}
    cr.submit(case, by=cr.staff.caseworker)
    assert assessment_writers(case) == {cr.staff.supervisor.pk, cr.staff.caseworker.pk}
    cr.return_assessment(case, "Revisar.", by=cr.staff.supervisor2)   # reviewing is not writing
    assert assessment_writers(case) == {cr.staff.supervisor.pk, cr.staff.caseworker.pk}


@pytest.mark.parametrize("name", ["bz", "cr"])
def test_a_supervisor_who_saved_a_draft_cannot_record_the_deciding_bodys_decision(request, name):
    driver = request.getfixturevalue(name)
    case = _drafted_by_supervisor(driver)
    driver.approve(case, by=driver.staff.supervisor2)
    if name == "bz":
        driver.recommend(case, by=driver.staff.supervisor2)
    before = snapshot(case)

    with pytest.raises(PermissionDenied):
        driver.first_decision(case, by=driver.staff.supervisor)

    assert snapshot(case) == before


def test_four_eyes_counts_only_the_current_round(unhcr):
    # Given a first round the supervisor submitted, refused and closed for want of an appeal
    case = unhcr.at("interviewed")
    unhcr.submit(case, "rejected", by=unhcr.staff.supervisor)
    unhcr.first_decision(case, "rejected", by=unhcr.staff.supervisor2, decided_on=ago(50))
    unhcr.notify(case, delivered_on=ago(45))
    unhcr.step(case, "close_unappealed", by=unhcr.staff.supervisor2)
    # When the file is reopened and the caseworker assesses it afresh
    unhcr.step(case, "reopen", by=unhcr.staff.supervisor2, ground="new_evidence")
    unhcr.schedule(case)
    unhcr.hold_interview(case, on=ago(2))
    unhcr.submit(case, "recognized", by=unhcr.staff.caseworker)
    assert EligibilityAssessment.objects.filter(case=case).count() == 2
    # Then the first round's submission no longer bars the supervisor
    decision = unhcr.first_decision(case, "recognized", by=unhcr.staff.supervisor, decided_on=today())
    assert (fresh(case).state, decision.recorded_by) == ("decided", unhcr.staff.supervisor)


def test_within_a_round_a_submission_bars_even_after_the_case_moved_on(unhcr):
    # The supervisor submitted, a colleague returned, the caseworker resubmitted, the colleague
    # returned again and the caseworker resubmitted: still the same round
    case = _submitted_by_supervisor(unhcr)
    for _ in range(2):
        unhcr.return_assessment(case, "Revisar.", by=unhcr.staff.supervisor2)
        unhcr.submit(case, by=unhcr.staff.caseworker)

    assert [t.name for t in workflow.available(fresh(case), unhcr.staff.supervisor)] == ["withdraw"]


@pytest.mark.parametrize("name", ["unhcr", "bz", "cr", "mx"])
def test_the_first_instance_decider_cannot_decide_the_appeal_another_supervisor_can(request, name):
    driver = request.getfixturevalue(name)
    case = driver.at("appeal_lodged")
    decider = Decision.objects.get(case=case, stage="first_instance").recorded_by
    assert decider == driver.staff.supervisor
    before = snapshot(case)

    for outcome in ("recognized", "rejected"):
        with pytest.raises(PermissionDenied) as refused:
            driver.decide_appeal(case, outcome, by=decider)
        assert str(refused.value) == FOUR_EYES
    assert snapshot(case) == before

    driver.decide_appeal(case, "recognized", by=driver.staff.supervisor2)
    assert fresh(case).state == "appeal_decided"


# --- Half-filled or inconsistent steps -------------------------------------------------------------

def _invalid(call, case: Case, fields: set[str]) -> ValidationError:
    before = snapshot(case)
    with pytest.raises(ValidationError) as refused:
        call()
    assert set(refused.value.message_dict) == fields, refused.value.message_dict
    assert snapshot(case) == before
    assert not transition_events(case, "denied").exists()
    return refused.value


@pytest.mark.parametrize(("changes", "fields"), [
    ({"claim_summary": "  "}, {"claim_summary"}),
    ({"channel": ""}, {"channel"}),
    ({"channel": "email"}, {"channel"}),
    ({"modality": "fast"}, {"modality"}),
    ({"application_date": today() + DAY, "arrival_date": None}, {"application_date"}),
    ({"arrival_date": today() + DAY}, {"arrival_date"}),
    ({"arrival_date": ago(3), "application_date": ago(5)}, {"arrival_date"}),
    ({"claim_summary": "", "channel": "", "application_date": today() + DAY, "arrival_date": None},
     {"claim_summary", "channel", "application_date"}),
])
def test_a_half_filled_application_is_refused(bz, changes, fields):
    case = bz.open()

    _invalid(lambda: services.record_application(by=bz.staff.caseworker, case=case,
                                                 data=application_data(**changes)), case, fields)

    assert fresh(case).procedure == ""
    assert not Application.objects.filter(case=case).exists()


@pytest.mark.parametrize(("recommendation", "changes", "fields"), [
    ("recognized", {"credibility": ""}, {"credibility"}),
    ("recognized", {"material_facts": " "}, {"material_facts"}),
    ("recognized", {"inclusion": ""}, {"inclusion"}),
    ("", {}, {"recommendation"}),
    ("asylum", {}, {"recommendation"}),
    ("recognized", {"convention_grounds": []}, {"convention_grounds"}),
    ("recognized", {"convention_grounds": ["poverty"]}, {"convention_grounds"}),
    ("recognized", {"exclusion_applies": True, "exclusion": "Delito grave no político."},
     {"exclusion_applies"}),
    ("rejected", {"exclusion_applies": True, "exclusion": ""}, {"exclusion"}),
    ("recognized", {"convention_grounds": [], "cartagena_grounds": ["generalized_violence"]}, set()),
])
def test_a_half_filled_or_inconsistent_assessment_is_refused(unhcr, recommendation, changes, fields):
    case = unhcr.at("interviewed")

    if not fields:  # the Cartagena criteria are grounds for recognition too
        unhcr.submit(case, recommendation, **changes)
        assert fresh(case).state == "under_review"
        return
    _invalid(lambda: unhcr.submit(case, recommendation, **changes), case, fields)


def test_an_assessment_cites_only_its_own_offices_library(bz, cr):
    source = services.add_coi_source(by=cr.staff.caseworker, office=cr.staff.office,
                                     title="Informe de país", publisher="Observatorio",
                                     published_on=ago(30), url="https://example.org/informe")
    case = bz.at("interviewed")

    _invalid(lambda: bz.submit(case, coi_source_ids=[source.pk]), case, {"coi_sources"})


@pytest.mark.parametrize(("outcome", "changes", "fields"), [
    # (the Convention grounds given do not fit the wrong basis either: both are named)
    ("recognized", {"legal_basis": "none"}, {"legal_basis", "grounds"}),
    ("recognized", {"legal_basis": "complementary"}, {"legal_basis", "grounds"}),
    ("rejected", {"legal_basis": "convention"}, {"legal_basis"}),
    ("complementary", {"legal_basis": "cartagena"}, {"legal_basis"}),
    ("recognized", {"grounds": []}, {"grounds"}),
    ("recognized", {"grounds": ["generalized_violence"]}, {"grounds"}),   # not a Convention ground
    ("recognized", {"legal_basis": "cartagena", "grounds": ["religion"]}, {"grounds"}),
    ("recognized", {"grounds": ["persecution"]}, {"grounds"}),
    ("rejected", {"reasons": "  "}, {"reasons"}),
    ("rejected", {"decided_on": today() + DAY}, {"decided_on"}),
])
def test_an_inconsistent_decision_is_refused(mx, outcome, changes, fields):
    case = mx.at("under_review")

    _invalid(lambda: mx.first_decision(case, outcome, **changes), case, fields)

    assert not Decision.objects.filter(case=case).exists()


def test_a_decision_with_an_unknown_outcome_names_the_outcome(unhcr):
    case = unhcr.at("under_review")
    data = decision_data("rejected")
    data.outcome = "granted"

    _invalid(lambda: services.record_decision(by=unhcr.staff.supervisor, case=case, step_name="decide",
                                              data=data), case, {"outcome"})


@pytest.mark.parametrize(("meeting_date", "fields"), [(None, {"meeting_date"}),
                                                      (today() + DAY, {"meeting_date"})])
def test_the_committees_recommendation_needs_a_past_meeting_date(bz, meeting_date, fields):
    case = bz.at("committee")

    _invalid(lambda: bz.recommend(case, meeting_date=meeting_date), case, fields)


def test_a_step_that_records_no_decision_cannot_carry_one(bz):
    case = bz.at("under_review")

    with pytest.raises(ValidationError):
        services.record_decision(by=bz.staff.supervisor, case=case, step_name="withdraw",
                                 data=decision_data())
    with pytest.raises(ValidationError) as refused:
        services.record_decision(by=bz.staff.supervisor, case=case, step_name="decide",
                                 data=decision_data())  # Belize's minister decides, not "decide"
    assert message(refused.value) == "This step does not exist in the case's procedure."
    assert fresh(case).state == "under_review"


@pytest.mark.parametrize(("delivered", "language", "fields"), [
    (ago(10), "es", {"delivered_on"}),          # the decision was taken 5 days ago
    (today() + DAY, "es", {"delivered_on"}),
    (ago(2), "fr", {"language"}),
])
def test_an_impossible_notification_is_refused(cr, delivered, language, fields):
    case = cr.at("decided", "rejected")

    _invalid(lambda: services.record_notification(by=cr.staff.caseworker, case=case, delivered_on=delivered,
                                                  language=language), case, fields)

    assert Decision.objects.get(case=case, stage="first_instance").delivered_on is None


@pytest.mark.parametrize(("lodged", "grounds", "fields"), [
    (ago(10), "Error de hecho.", {"lodged_on"}),     # delivered 5 days ago
    (today() + DAY, "Error de hecho.", {"lodged_on"}),
    (today(), " ", {"grounds"}),
])
def test_an_impossible_appeal_is_refused(unhcr, lodged, grounds, fields):
    case = unhcr.at("appeal_period")

    _invalid(lambda: services.lodge_appeal(by=unhcr.staff.caseworker, case=case, lodged_on=lodged,
                                           grounds=grounds), case, fields)

    assert not Appeal.objects.filter(case=case).exists()


def test_an_interview_is_scheduled_in_the_future_somewhere_with_staff_of_the_office(bz, cr):
    case = bz.at("registered")

    _invalid(lambda: services.schedule_interview(
        by=bz.staff.caseworker, case=case, when=timezone.now() - DAY, place=" ",
        interviewer=cr.staff.caseworker), case, {"when", "place", "interviewer"})


def test_the_interviewer_is_someone_who_can_see_the_case(bz):
    case = bz.at("registered")
    # A colleague of the office not assigned to the case would not see it (least privilege).
    _invalid(lambda: services.schedule_interview(
        by=bz.staff.caseworker, case=case, when=timezone.now() + DAY, place="Sala 2",
        interviewer=bz.staff.caseworker2), case, {"interviewer"})

    interview = services.schedule_interview(by=bz.staff.caseworker, case=fresh(case),
                                            when=timezone.now() + DAY, place="Sala 2",
                                            interviewer=bz.staff.supervisor)
    assert interview.interviewer == bz.staff.supervisor


def test_an_interview_is_recorded_with_its_transcript_and_not_before_its_day(bz):
    case = bz.at("interview_scheduled")

    _invalid(lambda: services.record_interview(by=bz.staff.caseworker, case=case, attended=True,
                                               transcript="  "), case, {"transcript"})
    before = snapshot(case)
    with pytest.raises(ValidationError) as refused:
        services.record_interview(by=bz.staff.caseworker, case=case, attended=True, transcript="Texto")
    scheduled = timezone.localdate(Interview.objects.get(case=case).scheduled_for)
    assert message(refused.value) == (
        f"The interview is set for {scheduled.isoformat()}: record it on or after that day.")
    assert snapshot(case) == before


def test_a_step_on_a_case_of_another_kind_is_refused(bz, caseworker, person):
    from cases import services as case_services

    trafficking = case_services.open_case(by=caseworker, person=person, kind="trafficking")

    with pytest.raises(ValidationError, match="not an asylum case"):
        services.record_application(by=caseworker, case=trafficking, data=application_data())
    assert fresh(trafficking).step_no == 0


# --- Implausible dates --------------------------------------------------------------------------

IMPLAUSIBLE = "This date is not plausible: check the year."
FUTURE = "This date is in the future."
CONVENTION_DAY = D(1951, 7, 28)   # nothing in a file is older than the Refugee Convention


@pytest.mark.parametrize(("changes", "errors"), [
    ({"application_date": D(1951, 7, 27), "arrival_date": None}, {"application_date": [IMPLAUSIBLE]}),
    ({"application_date": D(1926, 3, 2), "arrival_date": D(1926, 3, 1)},
     {"application_date": [IMPLAUSIBLE], "arrival_date": [IMPLAUSIBLE]}),
    ({"arrival_date": D(1901, 1, 1)}, {"arrival_date": [IMPLAUSIBLE]}),
    ({"application_date": today() + DAY, "arrival_date": None}, {"application_date": [FUTURE]}),
])
def test_an_application_dated_before_1951_or_in_the_future_is_refused(bz, changes, errors):
    case = bz.open()

    refused = _invalid(lambda: services.record_application(by=bz.staff.caseworker, case=case,
                                                           data=application_data(**changes)),
                       case, set(errors))

    assert refused.message_dict == errors


def test_the_day_of_the_refugee_convention_is_plausible(unhcr):
    case = unhcr.open()

    unhcr.register(case, application_date=CONVENTION_DAY, arrival_date=CONVENTION_DAY)

    assert Application.objects.get(case=case).application_date == CONVENTION_DAY


@pytest.mark.parametrize("field", ["decided_on", "meeting_date"])
def test_a_decision_dated_before_1951_is_refused(bz, field):
    case = bz.at("committee")

    refused = _invalid(lambda: bz.recommend(case, **{field: D(1926, 11, 12)}), case, {field})

    assert refused.message_dict[field] == [IMPLAUSIBLE]


@pytest.mark.parametrize(("state", "field"), [("decided", "delivered_on"), ("appeal_period", "lodged_on")])
def test_a_notification_or_appeal_dated_before_1951_is_refused(mx, state, field):
    # (the message says it came before the decision, or its delivery: true as well)
    case = mx.at(state)
    take = mx.notify if field == "delivered_on" else mx.appeal

    _invalid(lambda: take(case, **{field: D(1926, 1, 5)}), case, {field})


def test_a_source_published_before_1951_or_in_the_future_is_refused(bz):
    for day, error in ((D(1950, 12, 31), IMPLAUSIBLE), (today() + DAY, FUTURE)):
        with pytest.raises(ValidationError) as refused:
            services.add_coi_source(by=bz.staff.caseworker, office=bz.staff.office, title="Informe",
                                    publisher="Observatorio", published_on=day,
                                    url="https://example.org/informe")
        assert refused.value.message_dict == {"published_on": [error]}


# --- Correcting the application --------------------------------------------------------------------

def test_a_specific_need_found_later_raises_the_priority_and_keeps_history(bz):
    # Given an adult with no specific needs: not a priority case
    case = bz.open(specific_needs=[])
    application = bz.register(case)
    assert application.priority is False
    registered = application.application_date
    # When the caseworker records, after the interview, that she survived torture (and tries
    # to move the application date along with it)
    data = application_data(specific_needs=["torture_survivor"], application_date=ago(3),
                            arrival_date=ago(123))
    updated = services.update_application(by=bz.staff.caseworker, case=fresh(case), data=data,
                                          reason="Lo refirió en la entrevista.")
    # Then the application is a priority one, its date unchanged, and the change is on record
    updated = Application.objects.get(pk=updated.pk)
    assert (updated.specific_needs, updated.priority) == (["torture_survivor"], True)
    assert updated.application_date == registered
    latest = Application.history.filter(id=updated.pk).latest("history_date")
    assert (latest.history_user, latest.history_change_reason, latest.priority) == (
        bz.staff.caseworker, "Lo refirió en la entrevista.", True)
    assert Application.history.filter(id=updated.pk).count() == 2
    event = AuditEvent.objects.filter(action="rsd.application.update", object_id=str(case.pk)).get()
    assert event.actor_id == bz.staff.caseworker.pk
    assert "specific_needs" in event.details["fields"]
    assert "application_date" not in event.details["fields"]
    assert fresh(case).step_no == 1   # no step: the case stays where it is


def test_an_application_unchanged_writes_nothing(bz):
    case = bz.open()
    application = bz.register(case)
    data = application_data()
    for name in ("arrival_date", "place_of_entry", "channel", "modality", "claim_summary", "narrative",
                 "specific_needs", "interpreter_language", "interviewer_gender"):
        setattr(data, name, getattr(application, name))

    services.update_application(by=bz.staff.supervisor, case=fresh(case), data=data)

    assert Application.history.filter(id=application.pk).count() == 1
    assert not AuditEvent.objects.filter(action="rsd.application.update").exists()


def test_an_application_corrected_to_a_late_arrival_needs_a_justification(bz):
    case = bz.open()
    application = bz.register(case, application_date=D(2026, 10, 19), arrival_date=D(2026, 10, 5))
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        services.update_application(by=bz.staff.caseworker, case=fresh(case),
                                    data=application_data(arrival_date=D(2026, 10, 1)))

    assert list(refused.value.message_dict) == ["late_justification"]
    assert snapshot(case) == before
    services.update_application(by=bz.staff.caseworker, case=fresh(case),
                                data=application_data(arrival_date=D(2026, 10, 1),
                                                      late_justification="Estuvo detenida."))
    application.refresh_from_db()
    assert (application.late, application.application_date) == (True, D(2026, 10, 19))


def test_a_closed_case_keeps_its_application(bz):
    case = bz.at("withdrawn")
    application = Application.objects.get(case=case)

    with pytest.raises(ValidationError) as refused:
        services.update_application(by=bz.staff.supervisor, case=case,
                                    data=application_data(specific_needs=["disability"]))

    assert message(refused.value) == "The case is closed."
    assert Application.history.filter(id=application.pk).count() == 1


@pytest.mark.parametrize("who", ["auditor", "office_admin", "caseworker2", "other_office_supervisor"])
def test_only_who_may_change_the_case_corrects_the_application(request, bz, who):
    case = bz.at("registered")
    application = Application.objects.get(case=case)
    before = application.specific_needs
    user = _user(request, bz, "bz", who)

    with pytest.raises(PermissionDenied):
        services.update_application(by=user, case=case, data=application_data(specific_needs=["disability"]))

    assert Application.history.filter(id=application.pk).count() == 1
    assert "disability" not in before
    assert Application.objects.get(pk=application.pk).specific_needs == before


def test_an_application_not_yet_recorded_cannot_be_corrected(bz):
    case = bz.open()

    with pytest.raises(ValidationError) as refused:
        services.update_application(by=bz.staff.caseworker, case=case, data=application_data())

    assert message(refused.value) == "The application has not been recorded yet."


# --- An erased applicant ----------------------------------------------------------------------------

ERASED = "The applicant's record was erased: the case can no longer move."


@pytest.mark.parametrize(("state", "name", "take"), [
    ("registered", "withdraw", lambda d, c: d.step(c, "withdraw")),
    ("interview_scheduled", "record_attendance", lambda d, c: d.hold_interview(c)),
    ("under_review", "decide", lambda d, c: d.first_decision(c, by=d.staff.supervisor2)),
    ("decided", "notify_negative", lambda d, c: d.notify(c)),
    ("appeal_period", "lodge_appeal", lambda d, c: d.appeal(c)),
    ("withdrawn", "reopen", lambda d, c: d.step(c, "reopen", ground="new_evidence")),
    ("recognized", "propose_cancellation", lambda d, c: d.propose_cancellation(c)),
])
def test_an_erased_applicants_case_can_no_longer_move(unhcr, state, name, take):
    case = unhcr.erase(unhcr.at(state))
    before = snapshot(case)

    with pytest.raises(ValidationError) as refused:
        take(unhcr, case)

    assert message(refused.value) == ERASED
    assert snapshot(case) == before
    denied = transition_events(case, "denied").get()
    assert (denied.details["transition"], denied.details["state"]) == (name, state)
    for user in (unhcr.staff.caseworker, unhcr.staff.supervisor, unhcr.staff.supervisor2):
        assert workflow.available(case, user) == []


def test_who_may_not_act_is_told_so_before_the_erasure(unhcr):
    case = unhcr.erase(unhcr.at("registered"))

    with pytest.raises(PermissionDenied):
        unhcr.step(case, "withdraw", by=unhcr.staff.auditor)


def test_the_sweep_leaves_an_erased_applicants_case_alone(bz):
    case = bz.open()
    bz.register(case)
    bz.expire_contact_period(case)
    bz.erase(case)

    assert services.sweep() == {"proposed": 0, "closed": 0}
    assert fresh(case).state == "no_show"


def test_no_decision_letter_is_printed_for_an_erased_applicant(mx):
    case = mx.erase(mx.at("decided"))

    with pytest.raises(ValidationError) as refused:
        services.decision_letter(by=mx.staff.caseworker, case=case)

    assert message(refused.value) == "The applicant's record was erased."
    assert not AuditEvent.objects.filter(action="rsd.letter.print", object_id=str(case.pk)).exists()


# --- Stale forms -----------------------------------------------------------------------------------

def test_a_decision_from_a_stale_page_is_refused(unhcr):
    # Given a supervisor who opened the case at step 4 (under review)
    case = unhcr.at("under_review")
    seen = fresh(case).step_no
    # When the caseworker records a withdrawal meanwhile
    unhcr.step(case, "withdraw", by=unhcr.staff.caseworker)
    before = snapshot(case)
    # Then the supervisor's decision is refused and nothing is written
    with pytest.raises(ValidationError) as refused:
        services.record_decision(by=unhcr.staff.supervisor, case=fresh(case), step_name="decide",
                                 data=decision_data(), expected_step=seen)
    assert message(refused.value) == (
        "Someone else recorded a step on this case a moment ago (it is now: Withdrawn). "
        "Nothing was recorded; look at the case again before you go on.")
    assert snapshot(case) == before


def test_a_stale_page_is_refused_even_when_the_state_did_not_change(bz):
    # Given a caseworker looking at the scheduled interview
    case = bz.at("interview_scheduled")
    seen = fresh(case).step_no
    # When a supervisor reschedules it (the case stays "interview scheduled")
    bz.schedule(case, by=bz.staff.supervisor)
    assert fresh(case).state == "interview_scheduled"
    Interview.objects.filter(case=case, status="scheduled").update(scheduled_for=timezone.now() - DAY)
    before = snapshot(case)
    # Then recording the old interview from the old page is refused
    with pytest.raises(ValidationError, match="Someone else recorded a step"):
        services.record_interview(by=bz.staff.caseworker, case=fresh(case), attended=True,
                                  transcript="Texto", expected_step=seen)
    assert snapshot(case) == before
    # And from the current page it goes through
    services.record_interview(by=bz.staff.caseworker, case=fresh(case), attended=True,
                              transcript="Texto", expected_step=seen + 1)
    assert fresh(case).state == "interviewed"


@pytest.mark.parametrize("step", ["withdraw", "notify", "reopen"])
def test_every_kind_of_step_checks_the_page_it_was_taken_from(mx, step):
    case = mx.at("withdrawn" if step == "reopen" else "decided")
    stale = fresh(case).step_no - 1
    before = snapshot(case)

    with pytest.raises(ValidationError, match="Someone else recorded a step"):
        if step == "notify":
            services.record_notification(by=mx.staff.caseworker, case=case, delivered_on=ago(1),
                                         language="es", expected_step=stale)
        else:
            services.take_step(by=mx.staff.supervisor, case=case, name=step, reason="Motivos.",
                               ground="new_evidence" if step == "reopen" else "", expected_step=stale)

    assert snapshot(case) == before


# --- Sealed data -------------------------------------------------------------------------------------

NARRATIVE = "Los hombres de la pandilla amenazaron a Itzel Xocoyotzin frente a su tienda en Sonsonate."
SUMMARY = "Amenazas de muerte por negarse a pagar la renta."
TRANSCRIPT = "P: ¿Quién la amenazó? R: Un tal Chepe Urquilla, jefe de la clica del barrio."
NOTES = "La solicitante lloró al describir la amenaza."
INTERPRETER = "Yolotl Tecuapetla"
CREDIBILITY = "El relato de Itzel es coherente con la información de país."
FACTS = "Se acepta que la clica de Urquilla la extorsionó."
INCLUSION = "Temor fundado por opinión política imputada."
EXCLUSION = "No se identificaron actos de exclusión."
COMMENTS = "Citar el informe sobre Sonsonate."
REASONS = "La solicitante Itzel Xocoyotzin tiene un temor fundado de persecución."
GROUNDS = "La comisión no valoró el testimonio de Chepe Urquilla."
LATE = "Itzel estuvo hospitalizada en Tapachula."


@pytest.fixture
def sealed_case(bz) -> Case:
    """A case whose every sealed text is one of the values above."""
    case = bz.open()
    bz.register(case, narrative=NARRATIVE, claim_summary=SUMMARY)
    services.schedule_interview(by=bz.staff.caseworker, case=fresh(case), when=timezone.now() + DAY,
                                place="Sala 1", interviewer=bz.staff.caseworker, interpreter=INTERPRETER)
    Interview.objects.filter(case=case).update(scheduled_for=timezone.now() - DAY)  # test-only time shift
    services.record_interview(by=bz.staff.caseworker, case=fresh(case), attended=True,
                              transcript=TRANSCRIPT, notes=NOTES)
    data = AssessmentData(credibility=CREDIBILITY, material_facts=FACTS, inclusion=INCLUSION,
                          exclusion=EXCLUSION, convention_grounds=["political_opinion"],
                          recommendation="rejected")
    services.submit_assessment(by=bz.staff.caseworker, case=fresh(case), data=data)
    bz.return_assessment(case, COMMENTS)
    services.submit_assessment(by=bz.staff.caseworker, case=fresh(case), data=data)
    # (an approval's comments replace the return's: the same text keeps every column filled)
    services.review_assessment(by=bz.staff.supervisor, case=fresh(case), approve=True, comments=COMMENTS)
    bz.recommend(case, "rejected", reasons=REASONS)
    bz.first_decision(case, "rejected", reasons=REASONS, decided_on=ago(60))
    bz.notify(case, delivered_on=ago(60))
    services.lodge_appeal(by=bz.staff.caseworker, case=fresh(case), lodged_on=today(), grounds=GROUNDS,
                          late_justification=LATE)
    return fresh(case)


def _sealed_columns(case: Case) -> list[tuple[type, object, str, str]]:
    """(model, pk, column, plaintext) of every sealed value the case holds."""
    interview = Interview.objects.get(case=case)
    assessment = EligibilityAssessment.objects.get(case=case)
    appeal = Appeal.objects.get(case=case)
    out = [(Interview, interview.pk, "transcript", TRANSCRIPT), (Interview, interview.pk, "notes", NOTES),
           (Interview, interview.pk, "interpreter", INTERPRETER),
           (EligibilityAssessment, assessment.pk, "credibility", CREDIBILITY),
           (EligibilityAssessment, assessment.pk, "material_facts", FACTS),
           (EligibilityAssessment, assessment.pk, "inclusion", INCLUSION),
           (EligibilityAssessment, assessment.pk, "exclusion", EXCLUSION),
           (EligibilityAssessment, assessment.pk, "review_comments", COMMENTS),
           (Appeal, appeal.pk, "grounds", GROUNDS), (Appeal, appeal.pk, "late_justification", LATE)]
    out += [(Decision, d.pk, "reasons", REASONS) for d in Decision.objects.filter(case=case)]
    return out


def test_what_people_said_and_officers_wrote_is_not_in_the_database_columns(sealed_case):
    application = Application.objects.get(case=sealed_case)
    columns = [*_sealed_columns(sealed_case), (Application, application.pk, "narrative", NARRATIVE),
               (Application, application.pk, "claim_summary", SUMMARY)]
    assert len(columns) == 14

    for model, pk, column, plain in columns:
        raw = read_column(model, pk, column)
        assert raw, f"{model.__name__}.{column} is empty"
        for text in (plain, plain.split()[-1].strip("."), "Itzel", "Urquilla"):
            assert text.encode() not in raw, f"{text!r} is readable in {model.__name__}.{column}"


def test_the_history_tables_hold_no_readable_text_either(sealed_case):
    rows = []
    for model in (Application, Interview, EligibilityAssessment, Decision, Appeal):
        history = model.history.model
        sealed = [f.column for f in model._meta.concrete_fields
                  if f.get_internal_type() == "BinaryField"]
        for pk in history.objects.filter(case_id=sealed_case.pk).values_list("pk", flat=True):
            rows += [read_column(history, pk, column) or b"" for column in sealed]
    assert len(rows) > 30
    blob = b"".join(rows)
    for text in (NARRATIVE, SUMMARY, TRANSCRIPT, CREDIBILITY, REASONS, GROUNDS, "Itzel", "Urquilla",
                 "Xocoyotzin", "Sonsonate"):
        assert text.encode() not in blob


def test_the_sealed_texts_read_back_through_the_models(sealed_case):
    for model, pk, column, plain in _sealed_columns(sealed_case):
        assert getattr(model.objects.get(pk=pk), column) == plain, f"{model.__name__}.{column}"


def test_the_application_reads_back_through_the_model(sealed_case):
    # Application has an auto-increment id: its sealed values are bound to the row only once
    # it exists (rsd.services.record_application seals them after the insert).
    application = Application.objects.get(case=sealed_case)

    assert (application.narrative, application.claim_summary) == (NARRATIVE, SUMMARY)


def test_no_sealed_text_reaches_the_audit_log(sealed_case):
    from audit.models import AuditEvent

    text = str(list(AuditEvent.objects.values("details", "object_id", "action")))
    for value in (NARRATIVE, TRANSCRIPT, REASONS, GROUNDS, COMMENTS, LATE, "Itzel", "Urquilla"):
        assert value not in text


def test_a_sealed_value_copied_to_another_case_does_not_open(sealed_case, bz):
    from cases.crypto.envelope import DecryptionError
    from tests.cases.rawsql import copy_column

    other = bz.at("under_review")
    decision = Decision.objects.filter(case=sealed_case, stage="first_instance").get()
    bz.decide(other, "rejected")
    target = Decision.objects.get(case=other, stage="first_instance")

    copy_column(Decision, src_pk=decision.pk, src_column="reasons", dst_pk=target.pk, dst_column="reasons")

    with pytest.raises(DecryptionError):
        _ = Decision.objects.get(pk=target.pk).reasons


def test_an_interview_is_not_offered_for_recording_before_its_day(bz):
    case = bz.at("interview_scheduled")
    offered = {t.name for t in workflow.available(fresh(case), bz.staff.caseworker)}
    assert not {"record_attendance", "record_no_show"} & offered
    assert "reschedule_interview" in offered

    Interview.objects.filter(case=case, status=InterviewStatus.SCHEDULED).update(
        scheduled_for=timezone.now() - DAY)
    offered = {t.name for t in workflow.available(fresh(case), bz.staff.caseworker)}
    assert {"record_attendance", "record_no_show"} <= offered


def test_needs_noted_at_registration_are_the_applications_too(bz):
    case = bz.open(specific_needs=["torture_survivor"])

    application = bz.register(case, specific_needs=["woman_at_risk"])

    assert application.specific_needs == ["torture_survivor", "woman_at_risk"]
    assert application.priority
