"""Every write of the asylum procedure. Steps go through `cases.workflow.fire`, which locks
the case, checks role, guards and four-eyes, and records the step with its audit event;
the functions here validate what the step carries and write it inside that transaction."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

import filetype
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_countries import countries

from cases import events, selectors, workflow
from cases import services as case_services
from cases.models import (
    Case,
    CaseDeadline,
    CaseKind,
    CaseParticipant,
    CaseStep,
    Office,
    ParticipantRole,
    Role,
    User,
)
from rsd.models import (
    Appeal,
    Application,
    AssessmentStatus,
    CartagenaGround,
    ClaimChannel,
    CoiSource,
    ConventionGround,
    Decision,
    EligibilityAssessment,
    FamilyMember,
    Interview,
    InterviewerGender,
    InterviewStatus,
    LegalBasis,
    Modality,
    Outcome,
    Relationship,
    Stage,
)
from rsd.procedures import OPTIONS

GROUNDS = set(ConventionGround.values) | set(CartagenaGround.values)
DECISION_STEPS = ("decide", "record_committee_recommendation", "record_minister_decision",
                  "record_commission_decision")
REOPEN_GROUNDS = ("new_evidence", "changed_circumstances", "wrongly_decided")
CANCEL_GROUNDS = ("inclusion_not_met", "exclusion_applied")


def _today() -> datetime.date:
    return timezone.localdate()


def _asylum_case(case: Case) -> None:
    if case.kind != CaseKind.ASYLUM:
        raise ValidationError(_("This is not an asylum case."))


def _not_future(errors: dict[str, str], name: str, day: datetime.date | None) -> None:
    if day and day > _today():
        errors[name] = _("This date is in the future.")


EARLIEST = datetime.date(1951, 7, 28)  # the Refugee Convention: nothing in a file is older


def _plausible(errors: dict[str, str], name: str, day: datetime.date | None) -> None:
    """Not in the future, not before 1951: a mistyped year would start a clock long expired."""
    if day and day < EARLIEST:
        errors[name] = _("This date is not plausible: check the year.")
    _not_future(errors, name, day)


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError(errors)


# --- Application ------------------------------------------------------------------------

@dataclass
class ApplicationData:
    application_date: datetime.date
    channel: str
    arrival_date: datetime.date | None = None
    place_of_entry: str = ""
    modality: str = Modality.REGULAR
    claim_summary: str = ""
    narrative: str = ""
    specific_needs: list[str] = field(default_factory=list)
    interpreter_language: str = ""
    interviewer_gender: str = InterviewerGender.ANY
    late_justification: str = ""


def filing_is_late(*, case: Case, arrival: datetime.date | None, applied: datetime.date) -> bool:
    """Whether the procedure's filing limit after arrival was passed (Belize, Mexico)."""
    wf = workflow.for_case(case)
    limit = OPTIONS.get(wf.name if wf else "", {}).get("filing_limit")
    if not limit or not arrival:
        return False
    days, unit = limit
    last = workflow.add_days(arrival, days, unit=unit, country=case.office.country.code)
    return applied > last


def _is_child(person, today: datetime.date) -> bool:
    if person.date_of_birth:
        dob = person.date_of_birth
        return (today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))) < 18
    return bool(person.birth_year) and today.year - person.birth_year < 18


def _priority(case: Case, needs: list[str]) -> bool:
    """Children and specific needs are scheduled first (UNHCR procedural standards)."""
    if needs or case.principal.specific_needs:
        return True
    today = _today()
    people = [case.principal, *(m.person for m in FamilyMember.objects.filter(case=case)
                                .select_related("person"))]
    return any(_is_child(p, today) for p in people)


def _check_application(case: Case, data: ApplicationData) -> tuple[workflow.Workflow, bool]:
    """Validate an application; returns the procedure and whether it was filed late."""
    errors: dict[str, str] = {}
    _plausible(errors, "application_date", data.application_date)
    _plausible(errors, "arrival_date", data.arrival_date)
    if data.arrival_date and data.application_date and data.arrival_date > data.application_date:
        errors["arrival_date"] = _("The arrival cannot be after the application.")
    if data.channel not in ClaimChannel.values:
        errors["channel"] = _("Choose how the claim was made.")
    if data.modality not in Modality.values:
        errors["modality"] = _("Choose a processing modality.")
    if data.interviewer_gender not in InterviewerGender.values:
        errors["interviewer_gender"] = _("Choose a preference.")
    if not data.claim_summary.strip():
        errors["claim_summary"] = _("Summarise the claim in a few lines.")
    wf = workflow.for_case(case) if case.procedure else workflow.for_kind(
        CaseKind.ASYLUM, case.office.country.code)
    if wf is None:
        raise ValidationError(_("No asylum procedure is configured."))
    late = False
    if not errors:
        case.procedure = case.procedure or wf.name
        late = filing_is_late(case=case, arrival=data.arrival_date, applied=data.application_date)
        if late and not data.late_justification.strip():
            limit = OPTIONS[wf.name]["filing_limit"]
            message = (_("The application comes more than %(days)s working days after arrival: "
                         "record why.") if limit[1] == workflow.WORKING else
                       _("The application comes more than %(days)s days after arrival: record why."))
            errors["late_justification"] = message % {"days": limit[0]}
    _raise(errors)
    return wf, late


APPLICATION_FIELDS = ("arrival_date", "place_of_entry", "channel", "modality", "claim_summary",
                      "narrative", "specific_needs", "interpreter_language", "interviewer_gender",
                      "late", "late_justification")


def _fill_application(application: Application, data: ApplicationData, late: bool) -> None:
    application.arrival_date = data.arrival_date
    application.place_of_entry = data.place_of_entry.strip()
    application.channel, application.modality = data.channel, data.modality
    application.claim_summary = data.claim_summary.strip()
    application.narrative = data.narrative.strip()
    application.specific_needs = sorted(set(data.specific_needs))
    application.interpreter_language = data.interpreter_language
    application.interviewer_gender = data.interviewer_gender
    application.late = late
    application.late_justification = data.late_justification.strip() if late else ""


def record_application(*, by: User, case: Case, data: ApplicationData,
                       expected_step: int | None = None) -> Application:
    """Record the claim; the case enters its country's procedure."""
    _asylum_case(case)
    wf, late = _check_application(case, data)

    def effect(case: Case, step: CaseStep) -> dict:
        application = Application(case=case, person_id=case.principal_id, recorded_by=by,
                                  application_date=data.application_date)
        _fill_application(application, data, late)
        application.priority = _priority(case, application.specific_needs)
        application._history_user = by
        application.save()
        return {"late": late, "priority": application.priority, "modality": data.modality}

    workflow.fire(case=case, name="register", by=by, on=data.application_date,
                  expected_step=expected_step, effect=effect, workflow=wf)
    return Application.objects.get(case=case)


@transaction.atomic
def update_application(*, by: User, case: Case, data: ApplicationData, reason: str = "") -> Application:
    """Correct or complete the application while the case is open (specific needs found at
    the interview, a corrected arrival date). The application date is fixed: clocks run from it."""
    _asylum_case(case)
    case = Case.objects.select_for_update(of=("self",)).select_related("office").get(pk=case.pk)
    if not selectors.can_edit_case(by, case):
        raise PermissionDenied(_("You cannot change this case."))
    if case.closed_at:
        raise ValidationError(_("The case is closed."))
    application = Application.objects.filter(case=case).first()
    if application is None:
        raise ValidationError(_("The application has not been recorded yet."))
    data.application_date = application.application_date
    late = _check_application(case, data)[1]
    before = {name: getattr(application, name) for name in APPLICATION_FIELDS}
    _fill_application(application, data, late)
    changed = [name for name in APPLICATION_FIELDS if getattr(application, name) != before[name]]
    if not changed:
        return application
    application.priority = application.priority or _priority(case, application.specific_needs)
    application._history_user = by
    application._change_reason = reason.strip()
    application.save()
    events.emit("rsd.application.update", actor=by, obj=case, fields=changed)
    return application


@transaction.atomic
def add_family_member(*, by: User, case: Case, data: case_services.PersonData, relationship: str,
                      accompanying: bool, derivative: bool) -> FamilyMember:
    """Register a relative in the case's office and add them to the application."""
    _asylum_case(case)
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not selectors.can_edit_case(by, case):
        raise PermissionDenied(_("You cannot change this case."))
    if case.closed_at:
        raise ValidationError(_("The case is closed."))
    if relationship not in Relationship.values:
        raise ValidationError({"relationship": _("Choose the relationship.")})
    person = case_services.register_person(by=by, office=case.office, data=data)
    part = CaseParticipant(case=case, person=person, role=ParticipantRole.FAMILY_MEMBER)
    part._history_user = by
    part.save()
    member = FamilyMember(case=case, person=person, relationship=relationship,
                          accompanying=accompanying, derivative=derivative, added_by=by)
    member._history_user = by
    member.save()
    application = Application.objects.filter(case=case).first()
    if application and not application.priority and _priority(case, application.specific_needs):
        application.priority = True
        application._history_user = by
        application.save(update_fields=["priority"])
    events.emit("rsd.family_member.add", actor=by, obj=case, person=str(person.pk),
                relationship=relationship)
    return member


# --- Interviews ---------------------------------------------------------------------------

def schedule_interview(*, by: User, case: Case, when: datetime.datetime, place: str, interviewer: User,
                       interpreter_language: str = "", interpreter: str = "",
                       expected_step: int | None = None) -> Interview:
    _asylum_case(case)
    errors: dict[str, str] = {}
    if when <= timezone.now():
        errors["when"] = _("Choose a time in the future.")
    elif when > timezone.now() + datetime.timedelta(days=730):
        errors["when"] = _("Choose a time within the next two years.")
    if not place.strip():
        errors["place"] = _("Say where the interview takes place.")
    from rsd.selectors import possible_interviewers

    if not possible_interviewers(case).filter(pk=interviewer.pk).exists():
        errors["interviewer"] = _("%(name)s cannot see this case: the interviewer is the assigned "
                                  "caseworker or a supervisor of the office.") % {"name": interviewer}
    _raise(errors)
    name = "reschedule_interview" if case.state == "interview_scheduled" else "schedule_interview"

    def effect(case: Case, step: CaseStep) -> dict:
        _set_scheduled_interviews(case, InterviewStatus.RESCHEDULED, by)
        interview = Interview(case=case, person_id=case.principal_id, scheduled_for=when,
                              place=place.strip(), interviewer=interviewer, scheduled_by=by,
                              interpreter_language=interpreter_language, interpreter=interpreter.strip())
        interview._history_user = by
        interview.save()
        return {"interview": str(interview.pk), "interviewer": interviewer.pk}

    workflow.fire(case=case, name=name, by=by, expected_step=expected_step, effect=effect)
    return Interview.objects.get(case=case, status=InterviewStatus.SCHEDULED)


def record_interview(*, by: User, case: Case, attended: bool, transcript: str = "", notes: str = "",
                     reason: str = "", expected_step: int | None = None) -> Interview:
    """Record that the scheduled interview took place (with its transcript) or was missed."""
    _asylum_case(case)
    workflow.ensure_fresh(case, expected_step)
    interview = Interview.objects.filter(case=case, status=InterviewStatus.SCHEDULED).first()
    if interview is None:
        raise ValidationError(_("No interview is scheduled."))
    if attended and not transcript.strip():
        raise ValidationError({"transcript": _("Write the transcript, or a full summary of it.")})
    day = timezone.localdate(interview.scheduled_for)  # the office's day, not UTC's
    if day > _today():
        raise ValidationError(_("The interview is set for %(date)s: record it on or after that day.")
                              % {"date": day.isoformat()})

    def effect(case: Case, step: CaseStep) -> dict:
        fresh = Interview.objects.select_for_update().get(pk=interview.pk)
        fresh.status = InterviewStatus.ATTENDED if attended else InterviewStatus.NO_SHOW
        fresh.transcript = transcript.strip()
        fresh.notes = notes.strip()
        fresh._history_user = by
        fresh.save()
        return {"interview": str(fresh.pk)}

    workflow.fire(case=case, name="record_attendance" if attended else "record_no_show", by=by,
                  reason=reason, on=day,  # a missed interview, too, was missed that day
                  expected_step=expected_step, effect=effect)
    interview.refresh_from_db()
    return interview


# --- Assessment ---------------------------------------------------------------------------

@dataclass
class AssessmentData:
    credibility: str = ""
    material_facts: str = ""
    inclusion: str = ""
    convention_grounds: list[str] = field(default_factory=list)
    cartagena_grounds: list[str] = field(default_factory=list)
    exclusion: str = ""
    exclusion_applies: bool = False
    coi_source_ids: list[int] = field(default_factory=list)
    recommendation: str = ""


def current_assessment(case: Case) -> EligibilityAssessment | None:
    return (EligibilityAssessment.objects.filter(case=case)
            .exclude(status=AssessmentStatus.APPROVED).order_by("-updated_at").first())


def _check_assessment(case: Case, data: AssessmentData, complete: bool) -> list[CoiSource]:
    errors: dict[str, str] = {}
    if set(data.convention_grounds) - set(ConventionGround.values):
        errors["convention_grounds"] = _("Unknown grounds.")
    if set(data.cartagena_grounds) - set(CartagenaGround.values):
        errors["cartagena_grounds"] = _("Unknown grounds.")
    sources = list(CoiSource.objects.filter(pk__in=data.coi_source_ids, office=case.office, is_active=True))
    if len(sources) != len(set(data.coi_source_ids)):
        errors["coi_sources"] = _("Cite sources from this office's library only.")
    if data.recommendation and data.recommendation not in Outcome.values:
        errors["recommendation"] = _("Choose a recommendation.")
    if complete:
        for name in ("credibility", "material_facts", "inclusion"):
            if not getattr(data, name).strip():
                errors[name] = _("This part of the assessment is needed before review.")
        if not data.recommendation:
            errors["recommendation"] = _("Choose a recommendation.")
        if data.recommendation == Outcome.RECOGNIZED:
            if not (data.convention_grounds or data.cartagena_grounds):
                errors["convention_grounds"] = _("A recognition needs at least one ground.")
            if data.exclusion_applies:
                errors["exclusion_applies"] = _("An exclusion clause applies: recognition is not possible.")
        if data.exclusion_applies and not data.exclusion.strip():
            errors["exclusion"] = _("Explain the exclusion considerations.")
    _raise(errors)
    return sources


def _fill(assessment: EligibilityAssessment, data: AssessmentData) -> None:
    for name in ("credibility", "material_facts", "inclusion", "exclusion"):
        setattr(assessment, name, getattr(data, name).strip())
    assessment.convention_grounds = sorted(set(data.convention_grounds))
    assessment.cartagena_grounds = sorted(set(data.cartagena_grounds))
    assessment.exclusion_applies = data.exclusion_applies
    assessment.recommendation = data.recommendation


def assessment_version(assessment: EligibilityAssessment | None) -> str:
    """What a form shows was read at: a later save by someone else is not overwritten."""
    return assessment.updated_at.isoformat() if assessment and assessment.updated_at else ""


def _check_version(case: Case, expected: str | None) -> EligibilityAssessment | None:
    current = current_assessment(case)
    if expected is not None and assessment_version(current) != expected:
        raise ValidationError(_("Someone else saved this assessment a moment ago. Nothing of yours was "
                                "saved: look at their version before you go on."))
    return current


@transaction.atomic
def save_assessment(*, by: User, case: Case, data: AssessmentData,
                    expected_version: str | None = None) -> EligibilityAssessment:
    """Save a draft of the eligibility assessment (nothing moves)."""
    _asylum_case(case)
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not selectors.can_edit_case(by, case):
        raise PermissionDenied(_("You cannot change this case."))
    if case.state != "interviewed":
        raise ValidationError(_("The assessment is written after the interview, before review."))
    sources = _check_assessment(case, data, complete=False)
    assessment = _check_version(case, expected_version) or EligibilityAssessment(
        case=case, person_id=case.principal_id, author=by)
    _fill(assessment, data)
    assessment.status = AssessmentStatus.DRAFT
    assessment._history_user = by
    assessment.save()
    assessment.coi_sources.set(sources)
    events.emit("rsd.assessment.save", actor=by, obj=case, assessment=str(assessment.pk))
    return assessment


def submit_assessment(*, by: User, case: Case, data: AssessmentData, expected_step: int | None = None,
                      expected_version: str | None = None) -> EligibilityAssessment:
    _asylum_case(case)
    sources = _check_assessment(case, data, complete=True)

    def effect(case: Case, step: CaseStep) -> dict:
        assessment = _check_version(case, expected_version) or EligibilityAssessment(
            case=case, person_id=case.principal_id, author=by)
        _fill(assessment, data)
        assessment.author = by
        assessment.status = AssessmentStatus.SUBMITTED
        assessment.submitted_at = timezone.now()
        assessment._history_user = by
        assessment.save()
        assessment.coi_sources.set(sources)
        return {"assessment": str(assessment.pk), "recommendation": data.recommendation}

    workflow.fire(case=case, name="submit_assessment", by=by, expected_step=expected_step, effect=effect)
    return EligibilityAssessment.objects.filter(case=case).order_by("-updated_at").first()


def review_assessment(*, by: User, case: Case, approve: bool, comments: str = "",
                      expected_step: int | None = None) -> EligibilityAssessment:
    """Return the assessment with comments, or approve it for the deciding body (BZ, CR)."""
    _asylum_case(case)
    workflow.ensure_fresh(case, expected_step)
    assessment = EligibilityAssessment.objects.filter(case=case, status=AssessmentStatus.SUBMITTED).first()
    if assessment is None:
        raise ValidationError(_("No assessment is waiting for review."))

    def effect(case: Case, step: CaseStep) -> dict:
        fresh = EligibilityAssessment.objects.select_for_update().get(pk=assessment.pk)
        fresh.status = AssessmentStatus.APPROVED if approve else AssessmentStatus.RETURNED
        fresh.reviewed_by, fresh.reviewed_at = by, timezone.now()
        if comments.strip():  # an approval without comments keeps those of an earlier return
            fresh.review_comments = comments.strip()
        fresh._history_user = by
        fresh.save()
        return {"assessment": str(fresh.pk)}

    workflow.fire(case=case, name="approve_assessment" if approve else "return_assessment", by=by,
                  reason=comments, expected_step=expected_step, effect=effect)
    assessment.refresh_from_db()
    return assessment


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
    expected = {Outcome.RECOGNIZED: {LegalBasis.CONVENTION, LegalBasis.CARTAGENA},
                Outcome.COMPLEMENTARY: {LegalBasis.COMPLEMENTARY},
                Outcome.REJECTED: {LegalBasis.NONE}}.get(data.outcome, set())
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
    _plausible(errors, "decided_on", data.decided_on)
    if meeting:
        if not data.meeting_date:
            errors["meeting_date"] = _("Give the date of the Committee's meeting.")
        _plausible(errors, "meeting_date", data.meeting_date)
    _raise(errors)


def record_decision(*, by: User, case: Case, step_name: str, data: DecisionData,
                    expected_step: int | None = None) -> Decision:
    """A recommendation or first-instance decision, recorded by the role the procedure names."""
    _asylum_case(case)
    if step_name not in DECISION_STEPS:
        raise ValidationError(_("This step does not record a decision."))
    meeting = step_name == "record_committee_recommendation"
    _check_decision(data, meeting=meeting)
    stage = Stage.RECOMMENDATION if meeting else Stage.FIRST_INSTANCE

    def effect(case: Case, step: CaseStep) -> dict:
        decision = Decision(case=case, person_id=case.principal_id, stage=stage, authority=step_name,
                            outcome=data.outcome, legal_basis=data.legal_basis,
                            grounds=sorted(set(data.grounds)), reasons=data.reasons.strip(),
                            decided_on=data.decided_on, meeting_date=data.meeting_date,
                            recorded_by=by, step=step)
        decision._history_user = by
        decision.save()
        if step_name == "decide":  # the reviewer's decision approves the assessment
            for assessment in EligibilityAssessment.objects.filter(case=case,
                                                                   status=AssessmentStatus.SUBMITTED):
                assessment.status = AssessmentStatus.APPROVED
                assessment.reviewed_by, assessment.reviewed_at = by, timezone.now()
                assessment._history_user = by
                assessment.save()
        # Not "outcome": that key would become the audit event's own outcome (ok/denied).
        return {"decision": str(decision.pk), "decision_outcome": data.outcome, "stage": stage}

    step = workflow.fire(case=case, name=step_name, by=by, on=data.decided_on,
                         expected_step=expected_step, effect=effect)
    return Decision.objects.get(step=step)


def first_instance_decision(case: Case) -> Decision | None:
    return (Decision.objects.filter(case=case, stage=Stage.FIRST_INSTANCE)
            .order_by("-recorded_at").first())


def appeal_decision(case: Case) -> Decision | None:
    return Decision.objects.filter(case=case, stage=Stage.APPEAL).order_by("-recorded_at").first()


def governing_decision(case: Case) -> Decision | None:
    """The decision that stands: the appeal decision once there is one, else the first."""
    first = first_instance_decision(case)
    appeal = appeal_decision(case)
    if appeal and first and appeal.recorded_at > first.recorded_at:
        return appeal
    return first


def record_notification(*, by: User, case: Case, delivered_on: datetime.date, language: str,
                        expected_step: int | None = None) -> Decision:
    """The decision letter was delivered on this date; for a refusal the appeal period starts.
    After an appeal, the appeal decision is notified and the case closes."""
    _asylum_case(case)
    workflow.ensure_fresh(case, expected_step)
    if case.state not in ("decided", "appeal_decided"):
        raise ValidationError(_("There is no decision to notify."))
    decision = governing_decision(case)
    if decision is None:
        raise ValidationError(_("There is no decision to notify."))
    errors: dict[str, str] = {}
    _plausible(errors, "delivered_on", delivered_on)
    if delivered_on < decision.decided_on:
        errors["delivered_on"] = _("A decision cannot be delivered before it was taken.")
    if language not in ("en", "es"):
        errors["language"] = _("Choose the letter's language.")
    _raise(errors)
    positive = decision.outcome == Outcome.RECOGNIZED
    wf = workflow.for_case(case)
    appeal = wf.clock("appeal") if wf and decision.stage == Stage.FIRST_INSTANCE else None
    if decision.stage == Stage.APPEAL:
        first = first_instance_decision(case)
        name = ("notify_appeal_recognition" if positive else "notify_appeal_dismissal_protected"
                if first and first.outcome == Outcome.COMPLEMENTARY else "notify_appeal_dismissal")
    else:
        name = "notify_recognition" if positive else "notify_negative"

    def effect(case: Case, step: CaseStep) -> dict:
        fresh = Decision.objects.select_for_update().get(pk=decision.pk)
        fresh.delivered_on, fresh.letter_language = delivered_on, language
        if not positive and appeal:
            fresh.appeal_due_on = appeal.due(delivered_on, case.office.country.code)
        fresh._history_user = by
        fresh.save()
        return {"decision": str(fresh.pk)}

    workflow.fire(case=case, name=name, by=by, on=delivered_on, expected_step=expected_step,
                  effect=effect)
    decision.refresh_from_db()
    return decision


# --- Appeal -------------------------------------------------------------------------------

def lodge_appeal(*, by: User, case: Case, lodged_on: datetime.date, grounds: str,
                 late_justification: str = "", expected_step: int | None = None) -> Appeal:
    """Record an appeal; one lodged after the deadline needs a justification."""
    _asylum_case(case)
    workflow.ensure_fresh(case, expected_step)
    decision = first_instance_decision(case)
    if decision is None or decision.delivered_on is None:
        raise ValidationError(_("There is no notified decision to appeal."))
    errors: dict[str, str] = {}
    _plausible(errors, "lodged_on", lodged_on)
    if lodged_on < decision.delivered_on:
        errors["lodged_on"] = _("An appeal cannot be lodged before the decision was delivered.")
    if not grounds.strip():
        errors["grounds"] = _("Write the grounds of appeal.")
    late = bool(decision.appeal_due_on and lodged_on > decision.appeal_due_on)
    if late and not late_justification.strip():
        errors["late_justification"] = _(
            "The appeal period ended on %(date)s: a late appeal needs a justification.") % {
                "date": decision.appeal_due_on.isoformat()}
    _raise(errors)

    def effect(case: Case, step: CaseStep) -> dict:
        appeal = Appeal(case=case, person_id=case.principal_id, decision=decision, lodged_on=lodged_on,
                        late=late, late_justification=late_justification.strip() if late else "",
                        grounds=grounds.strip(), lodged_by=by)
        appeal._history_user = by
        appeal.save()
        return {"appeal": str(appeal.pk), "late": late}

    # After a closure for want of an appeal, the same appeal comes in late (with its reasons).
    name = "lodge_late_appeal" if case.state in ("rejected_final", "complementary") else "lodge_appeal"
    workflow.fire(case=case, name=name, by=by, on=lodged_on, expected_step=expected_step, effect=effect)
    return Appeal.objects.filter(case=case).order_by("-lodged_on").first()


def decide_appeal(*, by: User, case: Case, data: DecisionData, expected_step: int | None = None) -> Decision:
    """Allow (recognize) or dismiss (reject) the appeal; never by the first-instance decider."""
    _asylum_case(case)
    workflow.ensure_fresh(case, expected_step)
    _check_decision(data, meeting=False)
    if data.outcome == Outcome.COMPLEMENTARY:
        raise ValidationError({"outcome": _("An appeal is allowed (recognition) or dismissed.")})
    appeal = Appeal.objects.filter(case=case, outcome__isnull=True).order_by("-lodged_on").first()
    if appeal is None:
        raise ValidationError(_("No appeal is pending."))
    allow = data.outcome == Outcome.RECOGNIZED

    def effect(case: Case, step: CaseStep) -> dict:
        decision = Decision(case=case, person_id=case.principal_id, stage=Stage.APPEAL,
                            authority="appeal", outcome=data.outcome, legal_basis=data.legal_basis,
                            grounds=sorted(set(data.grounds)), reasons=data.reasons.strip(),
                            decided_on=data.decided_on, recorded_by=by, step=step)
        decision._history_user = by
        decision.save()
        fresh = Appeal.objects.select_for_update().get(pk=appeal.pk)
        fresh.outcome = decision
        fresh._history_user = by
        fresh.save()
        return {"decision": str(decision.pk), "decision_outcome": data.outcome}

    step = workflow.fire(case=case, name="allow_appeal" if allow else "dismiss_appeal", by=by,
                         on=data.decided_on, expected_step=expected_step, effect=effect)
    return Decision.objects.get(step=step)


# --- Steps that carry only reasons ---------------------------------------------------------

PLAIN_STEPS = ("record_contact", "propose_abandonment", "confirm_abandonment", "keep_open",
               "close_unappealed", "close_with_protection", "withdraw", "reopen",
               "propose_cancellation", "cancel_recognition", "keep_recognition")


def take_step(*, by: User | None, case: Case, name: str, reason: str = "", ground: str = "",
              expected_step: int | None = None) -> CaseStep:
    """Withdrawal, abandonment, closure, reopening, cancellation: a reason (and a ground)."""
    _asylum_case(case)
    if name not in PLAIN_STEPS:
        raise ValidationError(_("This step needs its own form."))
    grounds = {"reopen": REOPEN_GROUNDS, "propose_cancellation": CANCEL_GROUNDS}.get(name)
    if grounds and ground not in grounds:
        raise ValidationError({"ground": _("Choose the ground.")})
    wf = workflow.for_case(case)
    closing = bool(wf and name in wf.transitions and wf.state(wf.transitions[name].target).closed)

    def effect(case: Case, step: CaseStep) -> dict:
        if closing:  # nobody should wait in an interview room for a closed case
            _set_scheduled_interviews(case, InterviewStatus.CANCELLED, by)
        return {"ground": ground} if grounds else {}

    return workflow.fire(case=case, name=name, by=by, reason=reason, expected_step=expected_step,
                         effect=effect)


def _set_scheduled_interviews(case: Case, status: str, by: User | None) -> None:
    for interview in Interview.objects.filter(case=case, status=InterviewStatus.SCHEDULED):
        interview.status = status
        interview._history_user = by
        interview.save()


# --- Country-of-origin information ------------------------------------------------------------

COI_DOCUMENT_TYPE = "application/pdf"


def check_coi_document(data: bytes) -> str | None:
    """Why this file cannot go into the library, or None: a PDF (by its content) within the
    upload limit."""
    if not data:
        return _("The file is empty.")
    if len(data) > settings.AMPARO_UPLOAD_MAX_BYTES:
        return _("The file is larger than %(mb)d MB.") % {
            "mb": settings.AMPARO_UPLOAD_MAX_BYTES // (1024 * 1024)}
    kind = filetype.guess(data)
    if kind is None or kind.mime != COI_DOCUMENT_TYPE:
        return _("Attach the document as a PDF file.")
    return None


@transaction.atomic
def add_coi_source(*, by: User, office: Office, title: str, publisher: str, published_on: datetime.date,
                   country: str = "", url: str = "", document: bytes | None = None) -> CoiSource:
    """Add a report to the office's library: with a link, a PDF document, or both."""
    if office.pk not in selectors.offices_where(by, Role.CASEWORKER, Role.SUPERVISOR):
        raise PermissionDenied(_("You cannot add sources to this office's library."))
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = _("Give the title.")
    if not publisher.strip():
        errors["publisher"] = _("Give the publisher.")
    _plausible(errors, "published_on", published_on)
    if country and country not in countries:
        errors["country"] = _("Choose a country from the list.")
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            errors["url"] = _("Enter a web address starting with http:// or https://.")
    if document is not None:
        why = check_coi_document(document)
        if why:
            errors["document"] = why
    if not url and document is None and "url" not in errors:
        errors["url"] = _("Give a link or attach the document.")
    _raise(errors)
    source = CoiSource(office=office, title=title.strip(), publisher=publisher.strip(),
                       published_on=published_on, country=country, url=url, added_by=by)
    if document is not None:
        # Named by us: the uploader's file name stays out of the file system.
        source.document.save(f"{uuid.uuid4().hex}.pdf", ContentFile(document), save=False)
    source.save()
    events.emit("rsd.coi.add", actor=by, obj=source, office_id=office.pk)
    return source


@transaction.atomic
def retire_coi_source(*, by: User, source: CoiSource) -> None:
    """Take a source out of the library; assessments that cite it keep the citation."""
    if source.office_id not in selectors.offices_where(by, Role.SUPERVISOR):
        raise PermissionDenied(_("Only a supervisor of this office can retire a source."))
    CoiSource.objects.filter(pk=source.pk).update(is_active=False)
    events.emit("rsd.coi.retire", actor=by, obj=source, office_id=source.office_id)


# --- Periodic sweeps ------------------------------------------------------------------------

def sweep(*, limit: int = 500) -> dict[str, int]:
    """Propose abandoned files for closure and close refusals left unappealed (a daily task).

    The task only proposes abandonment: a supervisor confirms it. Each case is its own
    transaction; a case someone is working on right now is simply taken next time.
    """
    today = _today()
    counts = {"proposed": 0, "closed": 0}
    for names, state, clock, key in (
        (("propose_abandonment",), "no_show", "contact", "proposed"),
        (("close_unappealed", "close_with_protection"), "appeal_period", "appeal", "closed"),
    ):
        # Oldest deadline first, every candidate looked at: cases a guard keeps waiting (one
        # missed interview) must not crowd out those that are due.
        due = (CaseDeadline.objects.filter(clock=clock, met_at__isnull=True, due_on__lt=today,
                                           case__kind=CaseKind.ASYLUM, case__state=state)
               .order_by("due_on", "case_id").values_list("case_id", flat=True))
        for case_id in due.iterator(chunk_size=500):
            if counts[key] >= limit:
                break
            case = Case.objects.select_related("office").get(pk=case_id)
            wf = workflow.for_case(case)
            # A guard may say not yet (too few missed interviews) or pick the closing step.
            name = next((n for n in names if wf and not workflow.refusal(case, wf.transition(n), None)),
                        None)
            if name is None:
                continue
            try:
                workflow.fire(case=case, name=name, by=None)
            except (ValidationError, PermissionDenied):
                continue  # it moved on meanwhile
            counts[key] += 1
    return counts


# --- Decision letter ----------------------------------------------------------------------

def letter_language(case: Case) -> str:
    """Spanish for Spanish speakers, English otherwise (the two languages letters come in)."""
    return "es" if "es" in (case.principal.languages or []) else "en"


def decision_letter(*, by: User, case: Case, language: str = "") -> bytes:
    """The letter of the decision that stands (on appeal, once there is one) as PDF.

    A first-instance refusal states the appeal deadline: before delivery is recorded it
    counts from today (the letter is handed over the day it is printed), then from delivery.
    """
    from rsd.letters import LetterContent, render_decision_letter

    if not selectors.can_edit_case(by, case):
        raise PermissionDenied(_("You cannot print letters for this case."))
    if case.principal.erased_at:
        raise ValidationError(_("The applicant's record was erased."))
    decision = governing_decision(case)
    if decision is None:
        raise ValidationError(_("There is no decision yet."))
    on_appeal = decision.stage == Stage.APPEAL
    language = language or decision.letter_language or letter_language(case)
    if language not in ("en", "es"):
        raise ValidationError(_("Choose the letter's language."))
    wf = workflow.for_case(case)
    options = OPTIONS.get(wf.name if wf else "", OPTIONS["rsd.unhcr"])
    due = decision.appeal_due_on
    appeal = wf.clock("appeal") if wf else None
    if decision.outcome != Outcome.RECOGNIZED and due is None and appeal and not on_appeal:
        due = appeal.due(decision.delivered_on or _today(), case.office.country.code)
    family = [m.person for m in FamilyMember.objects.filter(case=case, derivative=True)
              .select_related("person")]
    with translation.override(language):
        authority = str(options["appeal_body"] if on_appeal
                        else options["authorities"].get(decision.authority, decision.authority))
        body = str(options["appeal_body"]) if decision.outcome != Outcome.RECOGNIZED else ""
    basis, grounds = decision.legal_basis, list(decision.grounds)
    first = first_instance_decision(case)
    if on_appeal and decision.outcome != Outcome.RECOGNIZED and first:
        basis, grounds = first.legal_basis, list(first.grounds)  # what stands is the first decision
    content = LetterContent(
        language=language, office_name=case.office.name, office_country=case.office.country.code,
        reference=case.reference,
        applicant_name=f"{case.principal.given_names} {case.principal.family_names}",
        family_names=[f"{p.given_names} {p.family_names}" for p in family if not p.erased_at],
        issued_on=_today(), authority=authority, outcome=decision.outcome,
        legal_basis=basis, grounds=grounds, reasons=decision.reasons or "",
        decided_on=decision.decided_on, delivered_on=decision.delivered_on,
        appeal_due_on=None if on_appeal or decision.outcome == Outcome.RECOGNIZED else due,
        appeal_body="" if on_appeal else body, appeal=on_appeal,
    )
    # Recorded before the letter exists: printing a letter that cannot be recorded does not happen.
    events.emit("rsd.letter.print", actor=by, obj=case, decision=str(decision.pk), language=language)
    return render_decision_letter(content)
