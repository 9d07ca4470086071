"""Decisions, their notification and letters, and appeals."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases import access, events, texts, updates, workflow
from cases.models import Case, CaseStep, User
from cases.workflow import configured
from rsd import selectors as rsd_selectors
from rsd.models import (
    Appeal,
    AssessmentStatus,
    CartagenaGround,
    ConventionGround,
    Decision,
    EligibilityAssessment,
    LegalBasis,
    Outcome,
    Stage,
)
from rsd.names import Clocks, States, Steps
from rsd.procedures import options_of
from rsd.services._common import (
    DECISION_STEPS,
    GROUNDS,
    as_of_lock,
    check_asylum_case,
    check_plausible,
    raise_errors,
)

# --- Decisions ----------------------------------------------------------------------------

@dataclass
class DecisionData:
    outcome: str
    legal_basis: str
    reasons: str
    decided_on: datetime.date
    grounds: list[str] = field(default_factory=list)
    meeting_date: datetime.date | None = None


def _check_decision(data: DecisionData, *, meeting: bool) -> None:
    errors: dict[str, str] = {}
    if data.outcome not in Outcome.values:
        errors["outcome"] = _("Choose the outcome.")
    bases: dict[str, set[str]] = {Outcome.RECOGNIZED: {LegalBasis.CONVENTION, LegalBasis.CARTAGENA},
                                  Outcome.COMPLEMENTARY: {LegalBasis.COMPLEMENTARY},
                                  Outcome.REJECTED: {LegalBasis.NONE}}
    expected = bases.get(data.outcome, set())
    if data.legal_basis not in expected and "outcome" not in errors:
        errors["legal_basis"] = _("This legal basis does not fit the outcome.")
    if set(data.grounds) - GROUNDS:
        errors["grounds"] = _("Unknown grounds.")
    elif data.outcome == Outcome.RECOGNIZED:
        wanted = set(ConventionGround.values if data.legal_basis == LegalBasis.CONVENTION
                     else CartagenaGround.values)
        if not set(data.grounds) & wanted:
            errors["grounds"] = _("Name the grounds of the legal basis chosen.")
    if not data.reasons.strip():
        errors["reasons"] = _("Give the reasons of the decision.")
    texts.check(errors, {"reasons": (data.reasons.strip(), texts.LONG)})
    check_plausible(errors, "decided_on", data.decided_on)
    if meeting:
        if not data.meeting_date:
            errors["meeting_date"] = _("Give the date of the Committee's meeting.")
        check_plausible(errors, "meeting_date", data.meeting_date)
    raise_errors(errors)


def record_decision(*, by: User, case: Case, step_name: str, data: DecisionData,
                    expected_step: int | None = None) -> Decision:
    """A recommendation or first-instance decision, recorded by the role the procedure names."""
    check_asylum_case(case)
    if step_name not in DECISION_STEPS:
        raise ValidationError(_("This step does not record a decision."))
    meeting = step_name == Steps.RECORD_COMMITTEE_RECOMMENDATION
    _check_decision(data, meeting=meeting)
    stage = Stage.RECOMMENDATION if meeting else Stage.FIRST_INSTANCE
    made: list[Decision] = []

    def effect(case: Case, step: CaseStep) -> dict[str, Any]:
        decision = Decision(case=case, person_id=case.principal_id, stage=stage, authority=step_name,
                            outcome=data.outcome, legal_basis=data.legal_basis,
                            grounds=sorted(set(data.grounds)), reasons=data.reasons.strip(),
                            decided_on=data.decided_on, meeting_date=data.meeting_date,
                            recorded_by=by, step=step)
        updates.stamp(decision, by=by)
        decision.save()
        made.append(decision)
        if step_name == Steps.DECIDE:  # the reviewer's decision approves the assessment
            for assessment in EligibilityAssessment.objects.filter(case=case,
                                                                   status=AssessmentStatus.SUBMITTED):
                assessment.status = AssessmentStatus.APPROVED
                assessment.reviewed_by, assessment.reviewed_at = by, timezone.now()
                updates.stamp(assessment, by=by)
                assessment.save()
        # Not "outcome": that key would become the audit event's own outcome (ok/denied).
        return {"decision": str(decision.pk), "decision_outcome": data.outcome, "stage": stage}

    workflow.fire(case=case, name=step_name, by=by, on=data.decided_on,
                  expected_step=expected_step, effect=effect)
    return made[0]


def record_notification(*, by: User, case: Case, delivered_on: datetime.date, language: str,
                        expected_step: int | None = None) -> Decision:
    """The decision letter was delivered on this date; for a refusal the appeal period starts.
    After an appeal, the appeal decision is notified and the case closes."""
    check_asylum_case(case)
    workflow.ensure_fresh(case, expected_step)
    if case.state not in (States.DECIDED, States.APPEAL_DECIDED):
        raise ValidationError(_("There is no decision to notify."))
    decision = rsd_selectors.governing_decision(case)
    if decision is None:
        raise ValidationError(_("There is no decision to notify."))
    errors: dict[str, str] = {}
    check_plausible(errors, "delivered_on", delivered_on)
    if delivered_on < decision.decided_on:
        errors["delivered_on"] = _("A decision cannot be delivered before it was taken.")
    if language not in ("en", "es"):
        errors["language"] = _("Choose the letter's language.")
    raise_errors(errors)
    positive = decision.outcome == Outcome.RECOGNIZED
    wf = workflow.for_case(case)
    first_instance = wf is not None and decision.stage == Stage.FIRST_INSTANCE
    if decision.stage == Stage.APPEAL:
        first = rsd_selectors.first_instance_decision(case)
        name = (Steps.NOTIFY_APPEAL_RECOGNITION if positive else Steps.NOTIFY_APPEAL_DISMISSAL_PROTECTED
                if first and first.outcome == Outcome.COMPLEMENTARY else "notify_appeal_dismissal")
    else:
        name = Steps.NOTIFY_RECOGNITION if positive else Steps.NOTIFY_NEGATIVE
    seen, found = case.step_no, decision
    made: list[Decision] = []

    def effect(case: Case, step: CaseStep) -> dict[str, Any]:
        fresh = as_of_lock(found, case, seen)
        made.append(fresh)
        fresh.delivered_on, fresh.letter_language = delivered_on, language
        # The period in force now, as the step's clock counts it (the same configuration).
        appeal = wf.clock_in_force(Clocks.APPEAL) if wf and first_instance else None
        if not positive and appeal:
            fresh.appeal_due_on = appeal.due(delivered_on, case.office.country.code)
        updates.stamp(fresh, by=by)
        fresh.save()
        return {"decision": str(fresh.pk)}

    workflow.fire(case=case, name=name, by=by, on=delivered_on, expected_step=expected_step,
                  effect=effect)
    return made[0]


# --- Appeal -------------------------------------------------------------------------------

def lodge_appeal(*, by: User, case: Case, lodged_on: datetime.date, grounds: str,
                 late_justification: str = "", expected_step: int | None = None) -> Appeal:
    """Record an appeal; one lodged after the deadline needs a justification."""
    check_asylum_case(case)
    workflow.ensure_fresh(case, expected_step)
    decision = rsd_selectors.first_instance_decision(case)
    if decision is None or decision.delivered_on is None:
        raise ValidationError(_("There is no notified decision to appeal."))
    errors: dict[str, str] = {}
    check_plausible(errors, "lodged_on", lodged_on)
    if lodged_on < decision.delivered_on:
        errors["lodged_on"] = _("An appeal cannot be lodged before the decision was delivered.")
    if not grounds.strip():
        errors["grounds"] = _("Write the grounds of appeal.")
    due = decision.appeal_due_on
    late = bool(due and lodged_on > due)
    if due and late and not late_justification.strip():
        errors["late_justification"] = _(
            "The appeal period ended on %(date)s: a late appeal needs a justification.") % {
                "date": due.isoformat()}
    texts.check(errors, {"grounds": (grounds.strip(), texts.LONG),
                         "late_justification": (late_justification.strip(), texts.NOTE)})
    raise_errors(errors)
    made: list[Appeal] = []

    def effect(case: Case, step: CaseStep) -> dict[str, Any]:
        appeal = Appeal(case=case, person_id=case.principal_id, decision=decision, lodged_on=lodged_on,
                        late=late, late_justification=late_justification.strip() if late else "",
                        grounds=grounds.strip(), lodged_by=by)
        updates.stamp(appeal, by=by)
        appeal.save()
        made.append(appeal)
        return {"appeal": str(appeal.pk), "late": late}

    # After a closure for want of an appeal, the same appeal comes in late (with its reasons).
    late_after_closure = case.state in (States.REJECTED_FINAL, States.COMPLEMENTARY)
    name = Steps.LODGE_LATE_APPEAL if late_after_closure else Steps.LODGE_APPEAL
    workflow.fire(case=case, name=name, by=by, on=lodged_on, expected_step=expected_step, effect=effect)
    return made[0]


def decide_appeal(*, by: User, case: Case, data: DecisionData, expected_step: int | None = None) -> Decision:
    """Allow (recognize) or dismiss (reject) the appeal; never by the first-instance decider."""
    check_asylum_case(case)
    workflow.ensure_fresh(case, expected_step)
    _check_decision(data, meeting=False)
    if data.outcome == Outcome.COMPLEMENTARY:
        raise ValidationError({"outcome": _("An appeal is allowed (recognition) or dismissed.")})
    appeal = rsd_selectors.pending_appeal(case)
    if appeal is None:
        raise ValidationError(_("No appeal is pending."))
    allow = data.outcome == Outcome.RECOGNIZED
    seen = case.step_no
    made: list[Decision] = []

    def effect(case: Case, step: CaseStep) -> dict[str, Any]:
        decision = Decision(case=case, person_id=case.principal_id, stage=Stage.APPEAL,
                            authority="appeal", outcome=data.outcome, legal_basis=data.legal_basis,
                            grounds=sorted(set(data.grounds)), reasons=data.reasons.strip(),
                            decided_on=data.decided_on, recorded_by=by, step=step)
        updates.stamp(decision, by=by)
        decision.save()
        made.append(decision)
        fresh = as_of_lock(appeal, case, seen)
        fresh.outcome = decision
        updates.stamp(fresh, by=by)
        fresh.save()
        return {"decision": str(decision.pk), "decision_outcome": data.outcome}

    workflow.fire(case=case, name=Steps.ALLOW_APPEAL if allow else Steps.DISMISS_APPEAL, by=by,
                  on=data.decided_on, expected_step=expected_step, effect=effect)
    return made[0]


# --- Decision letter ----------------------------------------------------------------------

def decision_letter(*, by: User, case: Case, language: str = "") -> bytes:
    """The letter of the decision that stands (on appeal, once there is one) as PDF.

    A first-instance refusal states the appeal deadline: before delivery is recorded it
    counts from today (the letter is handed over the day it is printed), then from delivery.
    """
    from rsd.letters import LetterContent, render_decision_letter

    if not access.can_edit_case(by, case):
        raise PermissionDenied(_("You cannot print letters for this case."))
    if case.principal.erased_at:
        raise ValidationError(_("The applicant's record was erased."))
    decision = rsd_selectors.governing_decision(case)
    if decision is None:
        raise ValidationError(_("There is no decision yet."))
    on_appeal = decision.stage == Stage.APPEAL
    language = language or decision.letter_language or rsd_selectors.letter_language(case)
    if language not in ("en", "es"):
        raise ValidationError(_("Choose the letter's language."))
    wf = workflow.for_case(case)
    options = options_of(wf)
    due = decision.appeal_due_on
    if decision.outcome != Outcome.RECOGNIZED and due is None and wf and not on_appeal:
        with configured.pinned():  # one version of the configuration for the period and its days
            appeal = wf.clock_in_force(Clocks.APPEAL)
            if appeal:
                due = appeal.due(decision.delivered_on or timezone.localdate(), case.office.country.code)
    family = [m.person for m in rsd_selectors.family_members(case).filter(derivative=True)]
    with translation.override(language):
        appeal_body = case.office.appeal_body or str(options.appeal_body)
        authority = appeal_body if on_appeal else str(
            options.authorities.get(decision.authority, decision.authority))
        body = appeal_body if decision.outcome != Outcome.RECOGNIZED else ""
    basis, grounds = decision.legal_basis, list(decision.grounds)
    first = rsd_selectors.first_instance_decision(case)
    if on_appeal and decision.outcome != Outcome.RECOGNIZED and first:
        basis, grounds = first.legal_basis, list(first.grounds)  # what stands is the first decision
    content = LetterContent(
        language=language, office_name=case.office.name, office_country=case.office.country.code,
        office_address=case.office.address,
        reference=case.reference,
        applicant_name=f"{case.principal.given_names} {case.principal.family_names}",
        family_names=[f"{p.given_names} {p.family_names}" for p in family if not p.erased_at],
        issued_on=timezone.localdate(), authority=authority, outcome=decision.outcome,
        legal_basis=basis, grounds=grounds, reasons=decision.reasons or "",
        decided_on=decision.decided_on, delivered_on=decision.delivered_on,
        appeal_due_on=None if on_appeal or decision.outcome == Outcome.RECOGNIZED else due,
        appeal_body="" if on_appeal else body, appeal=on_appeal,
    )
    # Recorded before the letter exists: printing a letter that cannot be recorded does not happen.
    events.emit("rsd.letter.print", actor=by, obj=case, decision=str(decision.pk), language=language)
    return render_decision_letter(content)
