"""The asylum procedure in the browser: the case page's procedure card and panel, one form
per step, the family form and the decision letter, driven with the Django test client.

The Belize office (BZ-BMP, `rsd.bz`) is the main stage: application, interview, assessment
and its review, Committee recommendation, Minister's decision, notification, appeal, closure.
"""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit.models import AuditEvent
from cases import workflow
from cases.models import Case, CaseDeadline, CaseStep
from rsd.models import (
    Appeal,
    Application,
    AssessmentStatus,
    CoiSource,
    Decision,
    EligibilityAssessment,
    FamilyMember,
    Interview,
    InterviewStatus,
)
from tests.cases.rawsql import read_column, write_column
from tests.rsd.conftest import ago, at_local, fresh, snapshot, today

pytestmark = pytest.mark.usefixtures("file_root")

# Sealed values typed into the forms: none of them may reach the audit log.
SECRETS = {
    "claim_summary": "Threatened by the Barrio 18 clique after refusing to pay the renta",
    "narrative": "On the night of the fire my brother Ubaldo hid us in the church of San Lucas",
    "late": "Kept in hiding by a smuggler near Benque Viejo for three weeks",
    "transcript": "The applicant described the checkpoint at Km 14 and the officer's tattoo",
    "notes": "Cried when speaking about her daughter Xiomara",
    "no_show": "Phoned the shelter in Dangriga twice, no answer",
    "contact": "She called from a borrowed phone in Orange Walk",
    "credibility": "Consistent account of the extortion over eleven months",
    "facts": "Extortion demands from the clique controlling Colonia Rivera Hernández",
    "inclusion": "Political opinion imputed after she testified against the clique",
    "return": "Check the dates of the second threat against the police report",
    "reasons": "The Committee found the account plausible but the fear not well-founded today",
    "minister": "The Minister follows the recommendation of the Committee of 14 May",
    "appeal": "The Committee did not weigh the report on forced recruitment in Tegucigalpa",
    "dismiss": "The appeal brings nothing the Committee had not considered",
    "reopen": "A letter from the prosecutor in San Pedro Sula confirms the threats",
    "withdraw": "She left for Guatemala with her sister Yadira",
    "relative_given": "Dulcinea Marisol",
    "relative_family": "Quintanilla Ordóñez",
}


def step_url(case: Case, name: str) -> str:
    return reverse("rsd:step", kwargs={"case_id": case.pk, "name": name})


def case_url(case: Case) -> str:
    return reverse("case_detail", kwargs={"case_id": case.pk})


def as_user(client, user):
    client.force_login(user)
    return client


def post_step(client, case: Case, name: str, data: dict, **extra):
    """POST a step's form as the page would send it: with the step number shown."""
    return client.post(step_url(case, name), {"expected_step": fresh(case).step_no, **data}, **extra)


def actions_on_page(html: str) -> set[str]:
    card = html.split('id="procedure-actions"', 1)[1].split("</div>", 1)[0]
    return set(re.findall(r'data-step="([a-z_]+)"', card))


def field_error(html: str, name: str) -> str:
    match = re.search(rf'id="id_{name}_error">(.*?)</div>', html, re.S)
    return match.group(1).strip() if match else ""


def local_input(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def interview_day_has_come(case: Case) -> None:
    # Test-only time shift: interviews are scheduled in the future and recorded on or after
    # their day, so the scheduled one is moved to yesterday.
    Interview.objects.filter(case=case, status=InterviewStatus.SCHEDULED).update(
        scheduled_for=at_local(ago(1)))


@pytest.fixture
def coi(bz_staff) -> list[CoiSource]:
    def source(title: str) -> CoiSource:
        return CoiSource.objects.create(office=bz_staff.office, title=title, publisher="UNHCR",
                                        published_on=datetime.date(2025, 3, 1), country="HN",
                                        url="https://www.refworld.org/", added_by=bz_staff.supervisor)

    return [source("Eligibility guidelines: Honduras"), source("Gangs and forced recruitment")]


@pytest.fixture
def case(bz) -> Case:
    """An asylum case of the Belize office, assigned to its caseworker, nothing recorded yet."""
    return bz.open()


# --- The procedure card on the case page -----------------------------------------------------

def test_a_new_asylum_case_offers_to_record_the_application(client, bz_staff, case):
    response = as_user(client, bz_staff.caseworker).get(case_url(case))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Belize: Refugees Act" in html
    assert 'id="procedure-state">Application to record<' in html
    assert actions_on_page(html) == {"register"}
    assert f'href="{step_url(case, "register")}"' in html
    assert "No application recorded yet." in html


def test_the_page_shows_only_the_steps_this_user_may_take(client, bz, bz_staff):
    case = bz.at("under_review")  # submitted by the caseworker

    def actions(user) -> set[str]:
        client.force_login(user)
        return actions_on_page(client.get(case_url(case)).content.decode())

    assert actions(bz_staff.caseworker) == {"withdraw"}
    assert actions(bz_staff.supervisor) == {"return_assessment", "approve_assessment", "withdraw"}
    # The engine's own answer, user by user: the page offers exactly that.
    for user in (bz_staff.caseworker, bz_staff.supervisor, bz_staff.supervisor2):
        assert actions(user) == {t.name for t in workflow.available(fresh(case), user)}


def test_the_card_shows_deadlines_and_marks_the_overdue(client, bz, bz_staff):
    case = bz.at("registered")
    deadline = CaseDeadline.objects.get(case=case, clock="interview", met_at__isnull=True)
    client.force_login(bz_staff.caseworker)

    html = client.get(case_url(case)).content.decode()
    days = (deadline.due_on - today()).days
    assert f"Interview (target): <strong>{deadline.due_on:%Y-%m-%d}</strong>" in html
    assert f"due in {days} days" in html

    CaseDeadline.objects.filter(pk=deadline.pk).update(due_on=ago(3))
    html = client.get(case_url(case)).content.decode()
    assert '<span class="text-danger fw-bold deadline-overdue">overdue by 3 days</span>' in html


# --- A Belize case from the application to closure, in the browser -------------------------------

def test_a_belize_case_runs_through_every_form(client, bz, bz_staff, case, coi):
    cw, sup, sup2 = bz_staff.caseworker, bz_staff.supervisor, bz_staff.supervisor2
    client.force_login(cw)

    # The application, late for Belize's 14 days: the justification is asked for.
    page = client.get(step_url(case, "register"))
    assert page.status_code == 200
    assert "within 14 calendar days of arrival" in page.content.decode()
    application = {
        "application_date": today().isoformat(), "arrival_date": ago(40).isoformat(),
        "place_of_entry": "Benque Viejo", "channel": "border", "modality": "regular",
        "claim_summary": SECRETS["claim_summary"], "narrative": SECRETS["narrative"],
        "specific_needs": ["woman_at_risk", "violence_survivor"], "interpreter_language": "es",
        "interviewer_gender": "female",
    }
    response = post_step(client, case, "register", application)
    assert response.status_code == 400
    assert "more than 14 days after arrival" in field_error(response.content.decode(), "late_justification")
    assert not Application.objects.filter(case=case).exists()

    response = post_step(client, case, "register", {**application, "late_justification": SECRETS["late"]})
    assert response.status_code == 302
    assert response["Location"] == case_url(case)
    app = Application.objects.get(case=case)
    assert (app.late, app.priority, app.channel) == (True, True, "border")
    assert (app.narrative, app.late_justification) == (SECRETS["narrative"], SECRETS["late"])
    assert fresh(case).state == "registered"
    html = client.get(case_url(case)).content.decode()
    assert "Application recorded." in html
    assert 'id="late-flag"' in html and 'id="priority-flag"' in html
    assert "Woman at risk" in html
    assert '<details class="mb-2" id="narrative">' in html and SECRETS["narrative"] in html

    # A family member.
    family_url = reverse("rsd:family_add", kwargs={"case_id": case.pk})
    assert client.get(family_url).status_code == 200
    response = client.post(family_url, {
        "given_names": SECRETS["relative_given"], "family_names": SECRETS["relative_family"],
        "sex": "female", "date_of_birth": "2015-02-01", "relationship": "child",
        "accompanying": "on", "derivative": "on"})
    assert response.status_code == 302
    member = FamilyMember.objects.get(case=case)
    assert (member.relationship, member.accompanying, member.derivative) == ("child", True, True)
    assert SECRETS["relative_family"] in client.get(case_url(case)).content.decode()

    # The interview: scheduled, moved, missed, contact, scheduled again, held.
    interview = {"when": local_input(timezone.now() + datetime.timedelta(days=3)), "place": "Sala 2",
                 "interviewer": cw.pk, "interpreter_language": "es", "interpreter": "Rosa Méndez"}
    assert client.get(step_url(case, "schedule_interview")).status_code == 200
    assert post_step(client, case, "schedule_interview", interview).status_code == 302
    later = {**interview, "when": local_input(timezone.now() + datetime.timedelta(days=5)), "place": "Sala 4"}
    page = client.get(step_url(case, "reschedule_interview")).content.decode()
    assert 'value="Sala 2"' in page  # the current interview fills the form
    assert post_step(client, case, "reschedule_interview", later).status_code == 302
    interviews = Interview.objects.filter(case=case).order_by("created_at")
    assert [(i.place, i.status) for i in interviews] == [
        ("Sala 2", InterviewStatus.RESCHEDULED), ("Sala 4", InterviewStatus.SCHEDULED)]
    interview_day_has_come(case)
    assert post_step(client, case, "record_no_show", {"reason": SECRETS["no_show"]}).status_code == 302
    assert fresh(case).state == "no_show"
    assert post_step(client, case, "record_contact", {"reason": SECRETS["contact"]}).status_code == 302
    assert post_step(client, case, "schedule_interview", interview).status_code == 302
    interview_day_has_come(case)
    assert client.get(step_url(case, "record_attendance")).status_code == 200
    response = post_step(client, case, "record_attendance",
                         {"transcript": SECRETS["transcript"], "notes": SECRETS["notes"]})
    assert response.status_code == 302
    assert fresh(case).state == "interviewed"

    # The assessment: a draft, submitted, returned with comments, submitted again, approved.
    assessment = {"credibility": SECRETS["credibility"], "material_facts": SECRETS["facts"],
                  "inclusion": "", "convention_grounds": ["political_opinion"],
                  "cartagena_grounds": ["generalized_violence"], "coi_sources": [coi[0].pk],
                  "recommendation": "recognized"}
    response = post_step(client, case, "submit_assessment", {**assessment, "save_draft": "1"})
    assert response.status_code == 302
    assert response["Location"] == step_url(case, "submit_assessment")
    draft = EligibilityAssessment.objects.get(case=case)
    assert (draft.status, draft.credibility) == (AssessmentStatus.DRAFT, SECRETS["credibility"])
    page = client.get(step_url(case, "submit_assessment")).content.decode()
    assert SECRETS["facts"] in page  # the draft fills the form again
    assert re.search(rf'value="{coi[0].pk}"[^>]*checked', page)

    response = post_step(client, case, "submit_assessment", assessment)  # the inclusion is missing
    assert response.status_code == 400
    assert "needed before review" in field_error(response.content.decode(), "inclusion")
    assert EligibilityAssessment.objects.get(case=case).status == AssessmentStatus.DRAFT

    assessment["inclusion"] = SECRETS["inclusion"]
    assert post_step(client, case, "submit_assessment", assessment).status_code == 302
    assert fresh(case).state == "under_review"

    client.force_login(sup)
    page = client.get(step_url(case, "return_assessment")).content.decode()
    assert SECRETS["inclusion"] in page and "Eligibility guidelines: Honduras" in page
    assert post_step(client, case, "return_assessment", {"comments": ""}).status_code == 400
    assert post_step(client, case, "return_assessment", {"comments": SECRETS["return"]}).status_code == 302
    assert fresh(case).state == "interviewed"

    client.force_login(cw)
    page = client.get(step_url(case, "submit_assessment")).content.decode()
    assert 'id="review-comments"' in page and SECRETS["return"] in page
    assert post_step(client, case, "submit_assessment", {**assessment, "coi_sources": [c.pk for c in coi]}
                     ).status_code == 302

    client.force_login(sup)
    assert post_step(client, case, "approve_assessment", {"comments": ""}).status_code == 302
    assert fresh(case).state == "committee"
    approved = EligibilityAssessment.objects.get(case=case)
    assert (approved.status, approved.reviewed_by) == (AssessmentStatus.APPROVED, sup)
    assert set(approved.coi_sources.all()) == set(coi)

    # The Committee recommends, the Minister decides: a refusal.
    refusal = {"outcome": "rejected", "legal_basis": "none", "reasons": SECRETS["reasons"],
               "decided_on": today().isoformat()}
    response = post_step(client, case, "record_committee_recommendation", refusal)
    assert response.status_code == 400
    assert field_error(response.content.decode(), "meeting_date") == "This field is required."
    done = post_step(client, case, "record_committee_recommendation",
                     {**refusal, "meeting_date": today().isoformat()}, follow=True)
    assert "recommendation is recorded; the decision is the Minister" in done.content.decode()
    assert "Decision recorded." not in done.content.decode()
    assert fresh(case).state == "minister"
    page = client.get(step_url(case, "record_minister_decision")).content.decode()
    assert 'id="committee-recommendation"' in page and SECRETS["reasons"] in page
    assert post_step(client, case, "record_minister_decision",
                     {**refusal, "reasons": SECRETS["minister"]}).status_code == 302
    assert fresh(case).state == "decided"

    # The letter, then its delivery: the appeal period starts.
    client.force_login(cw)
    page = client.get(step_url(case, "notify_negative")).content.decode()
    letter_url = reverse("rsd:letter", kwargs={"case_id": case.pk})
    assert f'href="{letter_url}?lang=es"' in page
    assert 'value="es" selected' in page  # the applicant speaks Spanish
    letter = client.get(letter_url, {"lang": "es"})
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF-")
    assert post_step(client, case, "notify_negative",
                     {"delivered_on": today().isoformat(), "language": "es"}).status_code == 302
    decision = Decision.objects.get(case=case, stage="first_instance")
    assert (decision.delivered_on, decision.letter_language) == (today(), "es")
    assert decision.appeal_due_on is not None
    assert fresh(case).state == "appeal_period"

    # The appeal, dismissed by a supervisor other than the one who decided.
    page = client.get(step_url(case, "lodge_appeal")).content.decode()
    assert f"The appeal period ends on {decision.appeal_due_on.isoformat()}" in page
    assert post_step(client, case, "lodge_appeal",
                     {"lodged_on": today().isoformat(), "grounds": SECRETS["appeal"]}).status_code == 302
    client.force_login(sup)
    assert client.get(step_url(case, "dismiss_appeal")).status_code == 403  # decided it first
    client.force_login(sup2)
    page = client.get(step_url(case, "dismiss_appeal")).content.decode()
    assert SECRETS["appeal"] in page and 'name="outcome"' not in page
    assert post_step(client, case, "dismiss_appeal",
                     {"reasons": SECRETS["dismiss"], "decided_on": today().isoformat()}).status_code == 302
    assert fresh(case).state == "appeal_decided"
    assert Appeal.objects.get(case=case).outcome.outcome == "rejected"

    # The appeal decision has its own letter and notification; then the case closes.
    letter = client.get(letter_url, {"lang": "en"})
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF-")
    assert post_step(client, case, "notify_appeal_dismissal",
                     {"delivered_on": today().isoformat(), "language": "es"}).status_code == 302
    assert fresh(case).state == "rejected_final"

    # Reopened on new evidence, then withdrawn.
    response = post_step(client, case, "reopen", {"reason": SECRETS["reopen"]})
    assert response.status_code == 400 and field_error(response.content.decode(), "ground")
    assert post_step(client, case, "reopen", {"reason": SECRETS["reopen"], "ground": "new_evidence"}
                     ).status_code == 302
    assert CaseStep.objects.filter(case=case, transition="reopen").get().details == {"ground": "new_evidence"}
    client.force_login(cw)
    assert post_step(client, case, "withdraw", {"reason": SECRETS["withdraw"]}).status_code == 302
    assert fresh(case).state == "withdrawn"

    # The timeline tells the whole story, with its reasons.
    html = client.get(case_url(case)).content.decode()
    assert 'id="procedure-state">Withdrawn<' in html
    timeline = html.split('id="timeline"', 1)[1]
    for label in ("Record the application", "Reschedule the interview", "Record a missed interview",
                  "Return the assessment with comments", "Record the Minister&#x27;s decision",
                  "Dismiss the appeal", "Reopen", "Record a withdrawal"):
        assert label in timeline
    assert SECRETS["return"] in timeline and SECRETS["withdraw"] in timeline
    assert actions_on_page(html) == set()  # withdrawn: only a supervisor may reopen

    # Every step page shown was a recorded view of the case, naming the step.
    viewed = set(AuditEvent.objects.filter(action="case.view", object_id=str(case.pk))
                 .exclude(details__step=None).values_list("details__step", flat=True))
    assert {"register", "submit_assessment", "return_assessment", "notify_negative",
            "dismiss_appeal"} <= viewed
    # ... and nothing that was typed into a form is in the audit log.
    logged = json.dumps(list(AuditEvent.objects.values("action", "object_id", "details")),
                        ensure_ascii=False)
    for name, value in SECRETS.items():
        assert value not in logged, name
    # Printed twice: the first decision's letter, then the appeal decision's.
    assert AuditEvent.objects.filter(action="rsd.letter.print", object_id=str(case.pk)).count() == 2


def test_the_timeline_shows_each_steps_reasons(client, bz, bz_staff):
    case = bz.at("registered")
    bz.step(case, "withdraw", by=bz_staff.caseworker, reason=SECRETS["withdraw"])
    client.force_login(bz_staff.supervisor)

    timeline = client.get(case_url(case)).content.decode().split('id="timeline"', 1)[1]

    assert SECRETS["withdraw"] in timeline


def test_a_reason_that_fails_its_integrity_check_is_not_shown(client, bz, bz_staff):
    case = bz.at("registered")
    bz.step(case, "withdraw", by=bz_staff.caseworker, reason=SECRETS["withdraw"])
    register, withdraw = CaseStep.objects.filter(case=case).order_by("number")
    # A ciphertext moved to another row does not open there.
    write_column(CaseStep, register.pk, "reason", read_column(CaseStep, withdraw.pk, "reason"))
    client.force_login(bz_staff.supervisor)

    response = client.get(case_url(case))

    assert response.status_code == 500
    html = response.content.decode()
    assert 'id="integrity-error"' in html and SECRETS["withdraw"] not in html


def test_recognition_notified_then_cancelled(client, bz, bz_staff):
    case = bz.at("decided", "recognized")
    client.force_login(bz_staff.caseworker)
    html = client.get(case_url(case)).content.decode()
    assert actions_on_page(html) == {"notify_recognition", "withdraw"}
    # Not the step this decision calls for: back to the case page with the reason, not a 403.
    response = client.get(step_url(case, "notify_negative"))
    assert (response.status_code, response["Location"]) == (302, case_url(case))

    assert post_step(client, case, "notify_recognition",
                     {"delivered_on": today().isoformat(), "language": "en"}).status_code == 302
    assert fresh(case).state == "recognized"

    # A cancellation is proposed by one supervisor and decided by another.
    client.force_login(bz_staff.supervisor)
    page = client.get(step_url(case, "propose_cancellation")).content.decode()
    assert "An exclusion clause applied at the time of recognition" in page
    assert post_step(client, case, "propose_cancellation",
                     {"reason": "Exclusion applied", "ground": "exclusion_applied"}).status_code == 302
    assert fresh(case).state == "cancellation_proposed"
    assert client.get(step_url(case, "cancel_recognition")).status_code == 403  # four eyes
    client.force_login(bz_staff.supervisor2)
    assert post_step(client, case, "cancel_recognition", {"reason": "Confirmed"}).status_code == 302
    assert fresh(case).state == "cancelled"


def test_an_appeal_is_allowed_with_a_convention_ground(client, bz, bz_staff):
    case = bz.at("appeal_lodged")
    client.force_login(bz_staff.supervisor2)
    page = client.get(step_url(case, "allow_appeal")).content.decode()
    assert 'name="outcome"' not in page and 'value="none"' not in page  # recognition is fixed

    response = post_step(client, case, "allow_appeal", {"legal_basis": "convention", "grounds": [],
                                                        "reasons": "Well-founded fear",
                                                        "decided_on": today().isoformat()})
    assert response.status_code == 400
    assert "grounds" in field_error(response.content.decode(), "grounds")

    assert post_step(client, case, "allow_appeal", {
        "legal_basis": "convention", "grounds": ["political_opinion"], "reasons": "Well-founded fear",
        "decided_on": today().isoformat()}).status_code == 302
    assert fresh(case).state == "appeal_decided"
    assert Decision.objects.get(case=case, stage="appeal").outcome == "recognized"
    client.force_login(bz_staff.caseworker)
    assert post_step(client, case, "notify_appeal_recognition",
                     {"delivered_on": today().isoformat(), "language": "en"}).status_code == 302
    assert fresh(case).state == "recognized"


def test_a_file_kept_open_gets_a_new_contact_period(client, bz, bz_staff):
    case = bz.at("abandonment_proposed")
    client.force_login(bz_staff.supervisor)
    assert post_step(client, case, "keep_open", {"reason": ""}).status_code == 400
    assert post_step(client, case, "keep_open", {"reason": "She wrote to the office"}).status_code == 302
    assert fresh(case).state == "no_show"

    client.force_login(bz_staff.caseworker)
    response = client.get(step_url(case, "propose_abandonment"), follow=True)
    assert response.redirect_chain == [(case_url(case), 302)]  # not yet: a guard, not a refusal
    assert "The applicant may still make contact until" in response.content.decode()


def test_a_file_proposed_as_abandoned_is_closed_by_a_supervisor(client, bz, bz_staff):
    case = bz.at("abandonment_proposed")
    client.force_login(bz_staff.caseworker)
    assert client.get(step_url(case, "confirm_abandonment")).status_code == 403

    client.force_login(bz_staff.supervisor)
    assert post_step(client, case, "confirm_abandonment", {"reason": "No contact"}).status_code == 302
    assert fresh(case).state == "abandoned"


def test_a_refusal_left_unappealed_is_closed(client, bz, bz_staff):
    case = bz.at("under_review", "rejected")
    bz.decide(case, "rejected", decided_on=ago(50))
    bz.notify(case, delivered_on=ago(45))
    client.force_login(bz_staff.supervisor)

    assert post_step(client, case, "close_unappealed", {"reason": ""}).status_code == 302
    assert fresh(case).state == "rejected_final"


def test_the_default_procedure_decides_in_one_step(client, unhcr, unhcr_staff):
    case = unhcr.at("under_review", "recognized")
    client.force_login(unhcr_staff.supervisor)
    page = client.get(step_url(case, "decide")).content.decode()
    assert "Decided by: <strong>Reviewing eligibility officer</strong>" in page

    assert post_step(client, case, "decide", {
        "outcome": "complementary", "legal_basis": "complementary", "reasons": "Risk of harm",
        "decided_on": today().isoformat()}).status_code == 302
    assert fresh(case).state == "decided"


# --- Who may do what ---------------------------------------------------------------------------

def test_outside_the_scope_every_page_is_not_found(client, bz, bz_staff, other_supervisor, case):
    bz.at("decided", case=case)
    urls = [step_url(case, "notify_negative"), reverse("rsd:family_add", kwargs={"case_id": case.pk}),
            reverse("rsd:letter", kwargs={"case_id": case.pk})]
    for user in (bz_staff.auditor, bz_staff.caseworker2, other_supervisor, bz_staff.office_admin):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
        assert post_step(client, case, "notify_negative", {
            "delivered_on": today().isoformat(), "language": "es"}).status_code == 404
    assert fresh(case).state == "decided"
    refused = AuditEvent.objects.filter(outcome="denied", object_id=str(case.pk))
    assert refused.filter(action="case.view").exists()
    assert refused.filter(action="case.transition").exists()


def test_a_step_of_another_procedure_or_an_unknown_one_is_not_found(client, bz_staff, case):
    client.force_login(bz_staff.caseworker)
    assert client.get(step_url(case, "record_commission_decision")).status_code == 404  # Costa Rica's
    assert client.get(step_url(case, "make-coffee")).status_code == 404


def test_a_step_the_user_may_not_take_is_refused_with_the_reason(client, bz, bz_staff):
    case = bz.at("under_review")
    before = snapshot(case)
    client.force_login(bz_staff.caseworker)

    response = client.get(step_url(case, "approve_assessment"))
    assert response.status_code == 403
    assert "Your role in this office does not allow this step." in response.content.decode()

    response = post_step(client, case, "approve_assessment", {"comments": "Fine"})
    assert response.status_code == 403
    assert snapshot(case) == before
    denied = AuditEvent.objects.filter(action="case.transition", outcome="denied", object_id=str(case.pk))
    assert denied.get().details["transition"] == "approve_assessment"


def test_a_caseworker_who_does_not_hold_the_case_may_see_it_but_not_act(client, bz, bz_staff):
    case = bz.open()
    Case.objects.filter(pk=case.pk).update(assigned_to=None)  # back in the office queue
    client.force_login(bz_staff.caseworker2)

    html = client.get(case_url(case)).content.decode()
    assert actions_on_page(html) == set()
    response = client.get(step_url(case, "register"))
    assert response.status_code == 403
    assert "Your role in this office does not allow this step." in response.content.decode()
    # A form from another time does not get past the check either.
    stale = client.post(step_url(case, "register"), {"expected_step": 7})
    assert stale.status_code == 403
    assert client.get(reverse("rsd:family_add", kwargs={"case_id": case.pk})).status_code == 403
    assert client.get(reverse("rsd:letter", kwargs={"case_id": case.pk})).status_code == 403
    assert fresh(case).step_no == 0


def test_four_eyes_the_supervisor_who_submitted_may_not_approve(client, bz, bz_staff, coi):
    sup = bz_staff.supervisor
    case = bz.at("interviewed")
    client.force_login(sup)
    assert post_step(client, case, "submit_assessment", {
        "credibility": "c", "material_facts": "m", "inclusion": "i", "convention_grounds": ["religion"],
        "recommendation": "recognized"}).status_code == 302
    before = snapshot(case)

    html = client.get(case_url(case)).content.decode()
    assert actions_on_page(html) == {"withdraw"}
    for method in ("get", "post"):
        response = getattr(client, method)(step_url(case, "approve_assessment"),
                                           {"expected_step": fresh(case).step_no, "comments": ""})
        assert response.status_code == 403
        assert "four-eyes rule" in response.content.decode()
    assert snapshot(case) == before

    client.force_login(bz_staff.supervisor2)
    assert post_step(client, case, "approve_assessment", {"comments": ""}).status_code == 302


# --- Bad input, stale forms ----------------------------------------------------------------------

def test_a_half_filled_application_comes_back_with_errors_and_writes_nothing(client, bz_staff, case):
    client.force_login(bz_staff.caseworker)
    before = snapshot(case)

    response = post_step(client, case, "register", {"application_date": today().isoformat(),
                                                     "narrative": SECRETS["narrative"]})

    html = response.content.decode()
    assert response.status_code == 400
    assert field_error(html, "channel") and field_error(html, "claim_summary")
    assert not field_error(html, "application_date")
    assert SECRETS["narrative"] in html  # what was typed is kept
    assert snapshot(case) == before


def test_a_service_error_is_shown_beside_its_field(client, bz, bz_staff):
    case = bz.at("interviewed")
    client.force_login(bz_staff.caseworker)
    before = snapshot(case)

    response = post_step(client, case, "submit_assessment", {
        "credibility": "c", "material_facts": "m", "inclusion": "i", "recommendation": "recognized"})

    assert response.status_code == 400
    assert "at least one ground" in field_error(response.content.decode(), "convention_grounds")
    assert snapshot(case) == before


def test_a_stale_form_shows_the_conflict_and_records_nothing(client, bz, bz_staff):
    case = bz.at("registered")
    client.force_login(bz_staff.caseworker)
    page = client.get(step_url(case, "schedule_interview")).content.decode()
    shown = int(re.search(r'name="expected_step" value="(\d+)"', page).group(1))
    bz.schedule(case, by=bz_staff.supervisor)  # meanwhile, the supervisor schedules it
    before = snapshot(case)

    response = client.post(step_url(case, "schedule_interview"), {
        "expected_step": shown, "when": local_input(timezone.now() + datetime.timedelta(days=2)),
        "place": "Sala 9", "interviewer": bz_staff.caseworker.pk})

    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else recorded a step on this case a moment ago" in html
    assert 'value="Sala 9"' in html  # nothing typed is lost
    assert snapshot(case) == before


def test_a_closed_case_takes_no_new_family_member(client, bz, bz_staff):
    case = bz.at("withdrawn")
    client.force_login(bz_staff.caseworker)
    assert 'id="add-family"' not in client.get(case_url(case)).content.decode()

    response = client.post(reverse("rsd:family_add", kwargs={"case_id": case.pk}), {
        "given_names": "Ana", "family_names": "Ríos", "sex": "female", "relationship": "child"})

    assert response.status_code == 400
    assert "The case is closed." in response.content.decode()
    assert not FamilyMember.objects.filter(case=case).exists()


# --- The decision letter -------------------------------------------------------------------------

def test_the_decision_letter_downloads_as_pdf(client, bz, bz_staff):
    case = bz.at("decided")
    client.force_login(bz_staff.caseworker)
    html = client.get(case_url(case)).content.decode()
    url = reverse("rsd:letter", kwargs={"case_id": case.pk})
    assert f'href="{url}?lang=en"' in html and f'href="{url}?lang=es"' in html

    response = client.get(url, {"lang": "en"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response["Content-Disposition"] == f'attachment; filename="{case.reference}.pdf"'
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Security-Policy"].startswith("sandbox;")
    assert response["X-Content-Type-Options"] == "nosniff"
    event = AuditEvent.objects.filter(action="rsd.letter.print").latest("id")
    assert event.details["language"] == "en"


def test_no_letter_before_a_decision_nor_in_an_unknown_language(client, bz, bz_staff, case):
    client.force_login(bz_staff.caseworker)
    url = reverse("rsd:letter", kwargs={"case_id": case.pk})
    assert 'id="letters"' not in client.get(case_url(case)).content.decode()

    response = client.get(url, follow=True)
    assert response.redirect_chain == [(case_url(case), 302)]
    assert "There is no decision yet." in response.content.decode()

    bz.at("decided", case=case)
    response = client.get(url, {"lang": "fr"}, follow=True)
    assert "Choose the letter&#x27;s language." in response.content.decode()
    assert not AuditEvent.objects.filter(action="rsd.letter.print").exists()


def test_every_step_of_every_procedure_has_a_page():
    from cases import workflow
    from rsd.steps import PAGES

    steps = {t for wf in workflow.registered() if wf.kind == "asylum" for t in wf.transitions}
    assert steps and steps - set(PAGES) == set()


# --- The interview record and the decisions, where staff need them -------------------------------

def _inside(html: str, css_class: str, text: str) -> bool:
    """Whether `text` (as the page escapes it) is inside a <details> of class `css_class`."""
    pattern = (rf'<details class="[^"]*\b{css_class}\b[^"]*"[^>]*>(?:(?!</details>).)*?'
               + re.escape(escape(text)))
    return re.search(pattern, html, re.S) is not None


def test_the_case_page_shows_the_interview_record_and_the_reasons_behind_details(client, bz, bz_staff):
    case = bz.at("appeal_lodged")
    interview = Interview.objects.get(case=case, status=InterviewStatus.ATTENDED)
    assessment = EligibilityAssessment.objects.get(case=case)
    decisions = list(Decision.objects.filter(case=case))
    appeal = Appeal.objects.get(case=case)
    assert {d.stage for d in decisions} == {"recommendation", "first_instance"}

    for user in (bz_staff.caseworker, bz_staff.supervisor):
        client.force_login(user)
        html = client.get(case_url(case)).content.decode()
        assert _inside(html, "interview-transcript", interview.transcript), user
        assert _inside(html, "interview-notes", interview.notes), user
        for text in (assessment.credibility, assessment.material_facts, assessment.inclusion):
            assert _inside(html, "assessment-texts", text), user
        reasons = html.split('id="decisions"', 1)[1]
        for decision in decisions:
            assert escape(decision.reasons) in reasons, (user, decision.stage)
        assert reasons.count('<tr class="decision-reasons">') == len(decisions)
        assert _inside(html, "appeal-grounds", appeal.grounds), user
    # Showing the page is a recorded view of the case, with none of these texts in the log.
    logged = json.dumps(list(AuditEvent.objects.values("details")), ensure_ascii=False)
    assert interview.transcript not in logged and appeal.grounds not in logged


def test_the_reviewers_comments_are_on_the_case_page(client, bz, bz_staff):
    case = bz.at("interviewed")
    bz.submit(case)
    bz.return_assessment(case, SECRETS["return"])
    client.force_login(bz_staff.caseworker)

    html = client.get(case_url(case)).content.decode()

    assert _inside(html, "assessment-texts", SECRETS["return"])


def test_why_an_appeal_is_late_is_on_the_case_page(client, bz, bz_staff):
    case = bz.at("under_review", "rejected")
    bz.decide(case, "rejected", decided_on=ago(50))
    bz.notify(case, delivered_on=ago(45))
    appeal = bz.appeal(case, late_justification=SECRETS["late"])
    assert appeal.late
    client.force_login(bz_staff.supervisor)

    html = client.get(case_url(case)).content.decode()

    assert _inside(html, "appeal-grounds", appeal.grounds)
    assert _inside(html, "appeal-grounds", SECRETS["late"])


def test_a_colleague_who_sees_the_case_in_the_queue_does_not_read_the_interview(client, bz, bz_staff):
    case = bz.at("under_review")
    transcript = Interview.objects.get(case=case, status=InterviewStatus.ATTENDED).transcript
    Case.objects.filter(pk=case.pk).update(assigned_to=None)  # back in the office queue
    client.force_login(bz_staff.caseworker2)

    response = client.get(case_url(case))

    assert response.status_code == 200
    html = response.content.decode()
    assert escape(transcript) not in html
    assert 'class="interview-transcript"' not in html and "assessment-texts" not in html


def test_the_panel_reads_its_records_in_a_fixed_number_of_queries(client, bz, bz_staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case = bz.at("appeal_lodged")
    client.force_login(bz_staff.supervisor)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(case_url(case)).status_code == 200
        return len(captured)

    before = queries()
    # More of everything the panel lists, by other people: no more queries to show them.
    first = Decision.objects.get(case=case, stage="first_instance")
    recommendation = Decision.objects.get(case=case, stage="recommendation")
    for n in range(3):
        Interview.objects.create(case=case, person_id=case.principal_id, scheduled_for=at_local(ago(30 + n)),
                                 place="Sala 1", interviewer=bz_staff.supervisor2, transcript=f"t{n}",
                                 notes=f"n{n}", status=InterviewStatus.ATTENDED,
                                 scheduled_by=bz_staff.supervisor2)
        EligibilityAssessment.objects.create(case=case, person_id=case.principal_id,
                                             author=bz_staff.caseworker2, status=AssessmentStatus.RETURNED,
                                             reviewed_by=bz_staff.supervisor2, reviewed_at=timezone.now(),
                                             review_comments=f"c{n}")
        Appeal.objects.create(case=case, person_id=case.principal_id, decision=first, lodged_on=ago(n),
                              grounds=f"g{n}", lodged_by=bz_staff.caseworker2, outcome=recommendation)
    assert queries() == before


def test_the_step_pages_show_the_transcript_to_who_writes_and_who_decides(client, bz, bz_staff):
    case = bz.at("interviewed")
    interview = Interview.objects.get(case=case, status=InterviewStatus.ATTENDED)
    client.force_login(bz_staff.caseworker)

    page = client.get(step_url(case, "submit_assessment")).content.decode()
    assert 'id="interview-record"' in page
    assert _inside(page, "interview-transcript", interview.transcript)
    assert _inside(page, "interview-notes", interview.notes)
    assert '<details class="mb-1 interview-transcript" open>' in page  # read while writing

    bz.submit(case)
    client.force_login(bz_staff.supervisor)
    for name in ("return_assessment", "approve_assessment"):
        page = client.get(step_url(case, name)).content.decode()
        assert _inside(page, "interview-transcript", interview.transcript), name
    bz.approve(case)
    page = client.get(step_url(case, "record_committee_recommendation")).content.decode()
    assert _inside(page, "interview-transcript", interview.transcript)
    bz.recommend(case)
    page = client.get(step_url(case, "record_minister_decision")).content.decode()
    assert _inside(page, "interview-transcript", interview.transcript)
    viewed = AuditEvent.objects.filter(action="case.view", object_id=str(case.pk))
    assert {"submit_assessment", "approve_assessment", "record_minister_decision"} <= set(
        viewed.exclude(details__step=None).values_list("details__step", flat=True))


def test_the_decision_pages_of_the_default_procedure_show_the_transcript(client, unhcr, unhcr_staff):
    case = unhcr.at("under_review")
    interview = Interview.objects.get(case=case, status=InterviewStatus.ATTENDED)
    client.force_login(unhcr_staff.supervisor)

    page = client.get(step_url(case, "decide")).content.decode()

    assert _inside(page, "interview-transcript", interview.transcript)


# --- A step the case is not at, or not yet at -------------------------------------------------------

def test_a_step_the_case_has_moved_past_sends_back_to_the_case_page(client, bz, bz_staff):
    case = bz.at("interviewed")  # the interview was recorded by someone else meanwhile
    client.force_login(bz_staff.caseworker)
    before = snapshot(case)

    response = client.get(step_url(case, "record_attendance"), follow=True)
    assert response.redirect_chain == [(case_url(case), 302)]
    html = response.content.decode()
    assert ('<div class="alert alert-warning" role="alert">'
            "The case is no longer at the step where this can be done.</div>") in html

    response = post_step(client, case, "record_attendance", {"transcript": SECRETS["transcript"]},
                         follow=True)
    assert response.redirect_chain == [(case_url(case), 302)]
    assert "The case is no longer at the step where this can be done." in response.content.decode()
    assert snapshot(case) == before
    # The refused attempt is on the record, as when the engine refuses it.
    denied = AuditEvent.objects.get(action="case.transition", outcome="denied", object_id=str(case.pk))
    assert denied.details["transition"] == "record_attendance"


def test_a_role_or_four_eyes_refusal_is_still_forbidden(client, bz, bz_staff):
    case = bz.at("under_review")
    client.force_login(bz_staff.caseworker)
    for method in ("get", "post"):
        response = getattr(client, method)(step_url(case, "approve_assessment"),
                                           {"expected_step": fresh(case).step_no, "comments": ""})
        assert response.status_code == 403, method
        assert "Your role in this office does not allow this step." in response.content.decode()

    # At another state the same user is told the case moved on (what they see on the case page).
    bz.approve(case)
    assert client.get(step_url(case, "approve_assessment")).status_code == 302


# --- Editing the application -------------------------------------------------------------------------

def application_url(case: Case) -> str:
    return reverse("rsd:application_edit", kwargs={"case_id": case.pk})


def application_post(application: Application, **changes) -> dict:
    """The form as the page sends it back, with `changes`."""
    values = {
        "arrival_date": application.arrival_date.isoformat() if application.arrival_date else "",
        "place_of_entry": application.place_of_entry, "channel": application.channel,
        "modality": application.modality, "claim_summary": application.claim_summary,
        "narrative": application.narrative, "specific_needs": application.specific_needs,
        "interpreter_language": application.interpreter_language,
        "interviewer_gender": application.interviewer_gender,
        "late_justification": application.late_justification,
    }
    values.update(changes)
    return values


def recorded(case: Case) -> tuple:
    app = Application.objects.get(case=case)
    return (app.application_date, app.arrival_date, app.place_of_entry, app.channel, app.modality,
            app.claim_summary, app.narrative, app.specific_needs, app.priority, app.late,
            app.late_justification, app.history.count())


@pytest.fixture
def registered(bz) -> Case:
    """An adult with no specific needs and no family: not a priority case."""
    case = bz.at("registered", case=bz.open(specific_needs=[]))
    assert Application.objects.get(case=case).priority is False
    return case


def test_the_application_form_is_filled_from_the_application(client, bz_staff, registered):
    app = Application.objects.get(case=registered)
    for user in (bz_staff.caseworker, bz_staff.supervisor):
        client.force_login(user)
        html = client.get(case_url(registered)).content.decode()
        assert f'id="edit-application" href="{application_url(registered)}"' in html

        response = client.get(application_url(registered))

        assert response.status_code == 200
        page = response.content.decode()
        assert escape(app.claim_summary) in page and escape(app.narrative) in page
        assert re.search(rf'name="application_date" value="{app.application_date.isoformat()}"[^>]*disabled',
                         page)
        assert 'name="expected_step"' not in page
    views = AuditEvent.objects.filter(action="case.view", object_id=str(registered.pk),
                                      details__page="application")
    assert views.count() == 2


def test_adding_a_specific_need_makes_the_case_a_priority(client, bz_staff, registered):
    app = Application.objects.get(case=registered)
    client.force_login(bz_staff.caseworker)

    response = client.post(application_url(registered), application_post(
        app, specific_needs=["violence_survivor"], place_of_entry="Santa Elena",
        application_date=ago(1).isoformat(),  # the date is fixed: this is ignored
        reason=SECRETS["contact"]))

    assert response.status_code == 302
    assert response["Location"] == case_url(registered)
    updated = Application.objects.get(case=registered)
    assert (updated.specific_needs, updated.priority, updated.place_of_entry) == (
        ["violence_survivor"], True, "Santa Elena")
    assert updated.application_date == app.application_date
    assert updated.history.first().history_change_reason == SECRETS["contact"]
    event = AuditEvent.objects.get(action="rsd.application.update", object_id=str(registered.pk))
    assert set(event.details["fields"]) == {"specific_needs", "place_of_entry"}
    assert SECRETS["contact"] not in json.dumps(event.details)
    html = client.get(case_url(registered)).content.decode()
    assert "Application updated." in html and 'id="priority-flag"' in html


def test_bad_input_comes_back_beside_its_field_and_writes_nothing(client, bz_staff, registered):
    app = Application.objects.get(case=registered)
    before = recorded(registered)
    client.force_login(bz_staff.caseworker)

    # The form's own check: the summary is required.
    response = client.post(application_url(registered), application_post(app, claim_summary=""))
    assert response.status_code == 400
    assert field_error(response.content.decode(), "claim_summary")

    # The service's: arrival after the application.
    after = (app.application_date + datetime.timedelta(days=1)).isoformat()
    response = client.post(application_url(registered), application_post(
        app, arrival_date=after, narrative=SECRETS["narrative"]))
    assert response.status_code == 400
    html = response.content.decode()
    assert "The arrival cannot be after the application." in field_error(html, "arrival_date")
    assert SECRETS["narrative"] in html  # what was typed is kept
    assert recorded(registered) == before
    assert not AuditEvent.objects.filter(action="rsd.application.update").exists()


def test_outside_the_scope_the_application_is_not_found(client, bz_staff, other_supervisor, registered):
    app = Application.objects.get(case=registered)
    before = recorded(registered)
    for user in (other_supervisor, bz_staff.auditor, bz_staff.caseworker2, bz_staff.office_admin):
        client.force_login(user)
        assert client.get(application_url(registered)).status_code == 404, user
        response = client.post(application_url(registered),
                               application_post(app, specific_needs=["disability"]))
        assert response.status_code == 404, user
    assert recorded(registered) == before
    denied = AuditEvent.objects.filter(outcome="denied", object_id=str(registered.pk))
    assert denied.filter(action="case.view").exists()
    assert denied.filter(action="rsd.application.update").exists()


def test_a_caseworker_who_does_not_hold_the_case_may_not_edit_the_application(client, bz_staff, registered):
    app = Application.objects.get(case=registered)
    Case.objects.filter(pk=registered.pk).update(assigned_to=None)  # back in the office queue
    before = recorded(registered)
    client.force_login(bz_staff.caseworker2)

    assert 'id="edit-application"' not in client.get(case_url(registered)).content.decode()
    assert client.get(application_url(registered)).status_code == 403
    response = client.post(application_url(registered), application_post(app, specific_needs=["disability"]))

    assert response.status_code == 403
    assert recorded(registered) == before
    assert AuditEvent.objects.filter(action="rsd.application.update", outcome="denied").count() == 1


def test_a_closed_case_keeps_its_application(client, bz, bz_staff, registered):
    app = Application.objects.get(case=registered)
    bz.step(registered, "withdraw", by=bz_staff.caseworker)
    before = recorded(registered)
    client.force_login(bz_staff.caseworker)

    assert 'id="edit-application"' not in client.get(case_url(registered)).content.decode()
    response = client.get(application_url(registered), follow=True)
    assert response.redirect_chain == [(case_url(registered), 302)]
    assert "The case is closed." in response.content.decode()

    response = client.post(application_url(registered), application_post(app, specific_needs=["disability"]))
    assert response.status_code == 400
    assert "The case is closed." in response.content.decode()
    assert recorded(registered) == before


def test_no_application_to_edit_before_it_is_recorded(client, bz_staff, case):
    client.force_login(bz_staff.caseworker)
    assert 'id="edit-application"' not in client.get(case_url(case)).content.decode()

    response = client.get(application_url(case), follow=True)

    assert response.redirect_chain == [(case_url(case), 302)]
    assert "The application has not been recorded yet." in response.content.decode()


def test_an_erased_applicants_application_is_not_edited(client, bz_staff, registered):
    from cases import services as case_services

    app = Application.objects.get(case=registered)
    post = application_post(app, specific_needs=["disability"])
    sealed = read_column(Application, app.pk, "specific_needs")
    case_services.erase_person(by=bz_staff.supervisor, person=fresh(registered).principal,
                               code="request", note="Solicitud de supresión de datos.")
    client.force_login(bz_staff.supervisor)

    assert 'id="edit-application"' not in client.get(case_url(registered)).content.decode()
    assert client.get(application_url(registered)).status_code == 403
    assert client.post(application_url(registered), post).status_code == 403
    assert read_column(Application, app.pk, "specific_needs") == sealed  # not written again
    assert Application.objects.get(case=registered).specific_needs is None  # its key is gone


def shown_version(page: str) -> str:
    """The version of the assessment the form was read at ('' before any draft)."""
    return re.search(r'name="version"(?: value="([^"]*)")?', page).group(1) or ""


def test_two_officers_saving_one_draft_do_not_overwrite_each_other(client, bz, bz_staff):
    case = bz.at("interviewed")
    page = as_user(client, bz_staff.supervisor).get(step_url(case, "submit_assessment")).content.decode()
    version = shown_version(page)
    draft = {"credibility": "Borrador de la supervisora", "version": version, "save_draft": "1"}
    # The caseworker saves first, from the same empty form.
    mine = {"credibility": "Borrador del gestor", "version": version, "save_draft": "1"}
    assert post_step(as_user(client, bz_staff.caseworker), case, "submit_assessment", mine).status_code == 302

    response = post_step(as_user(client, bz_staff.supervisor), case, "submit_assessment", draft)

    assert response.status_code == 400
    assert "Someone else saved this assessment a moment ago" in response.content.decode()
    assert EligibilityAssessment.objects.get(case=case).credibility == "Borrador del gestor"
    # Reading it again gives the new version, and the save goes through.
    page = client.get(step_url(case, "submit_assessment")).content.decode()
    draft["version"] = shown_version(page)
    assert post_step(client, case, "submit_assessment", draft).status_code == 302
    assert EligibilityAssessment.objects.get(case=case).credibility == "Borrador de la supervisora"


def test_the_application_form_starts_with_the_needs_noted_at_registration(client, bz):
    case = bz.open(specific_needs=["torture_survivor"])
    client.force_login(bz.staff.caseworker)

    page = client.get(step_url(case, "register")).content.decode()

    boxes = dict(re.findall(r'<input type="checkbox" name="specific_needs" value="([a-z_]+)"([^>]*)>', page))
    assert "checked" in boxes["torture_survivor"] and "checked" not in boxes["woman_at_risk"]
