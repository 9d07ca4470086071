"""One page per step of the asylum procedure: its form, what it shows of the case above the
form, and the service it calls (the framework around them is `cases.steps`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import workflow
from cases.steps import Step, StepPage
from rsd import forms as rsd_forms
from rsd import selectors as rsd_selectors
from rsd import services
from rsd.models import STEP_GROUNDS
from rsd.models import Stage as DecisionStage
from rsd.names import Steps
from rsd.procedures import options_of

# --- Shown above the forms -------------------------------------------------------------

def _authority(step: Step) -> str:
    return str(options_of(step.wf).authorities.get(step.name, ""))


# --- Register ---------------------------------------------------------------------------

def filing_note(wf: workflow.Workflow | None) -> str:
    """What the application form says about the procedure's filing limit ("" without one)."""
    limit = options_of(wf).filing_limit if wf else None
    if not limit:
        return ""
    days, unit = limit
    if unit == workflow.WORKING:
        return _("In this procedure an application is due within %(days)s working days of arrival; "
                 "a later one is accepted with a justification.") % {"days": days}
    return _("In this procedure an application is due within %(days)s calendar days of arrival; "
             "a later one is accepted with a justification.") % {"days": days}


def _application_form(step: Step, data: Any) -> forms.Form:
    principal = step.case.principal
    languages = principal.languages or []
    return rsd_forms.ApplicationForm(data, filing_note=filing_note(step.wf), initial=step.initial(
        application_date=timezone.localdate(), interpreter_language=languages[0] if languages else "",
        specific_needs=list(principal.specific_needs or [])))


def _register(step: Step, form: Any) -> tuple[str, str]:
    services.record_application(by=step.user, case=step.case, data=form.data_object(),
                                expected_step=step.expected)
    return _("Application recorded."), ""


# --- Interviews ---------------------------------------------------------------------------

def _interview_form(step: Step, data: Any) -> forms.Form:
    current = rsd_selectors.scheduled_interview(step.case)
    application = step.once("application", lambda: rsd_selectors.application_of(step.case))
    initial = step.initial(interviewer=step.case.assigned_to_id,
                       interpreter_language=application.interpreter_language if application else "")
    if current:
        initial.update(place=current.place, interviewer=current.interviewer_id,
                       interpreter_language=current.interpreter_language, interpreter=current.interpreter)
    return rsd_forms.InterviewForm(data, staff=rsd_selectors.possible_interviewers(step.case),
                                   initial=initial)


def _schedule(step: Step, form: Any) -> tuple[str, str]:
    d = form.cleaned_data
    services.schedule_interview(by=step.user, case=step.case, when=d["when"], place=d["place"],
                                interviewer=d["interviewer"],
                                interpreter_language=d["interpreter_language"],
                                interpreter=d["interpreter"], expected_step=step.expected)
    return _("Interview scheduled."), ""


def _show_interview(step: Step) -> dict[str, Any]:
    return {"interview": rsd_selectors.scheduled_interview(step.case),
            "application": step.once("application", lambda: rsd_selectors.application_of(step.case))}


def _attendance_form(step: Step, data: Any) -> forms.Form:
    return rsd_forms.AttendanceForm(data, initial=step.initial())


def _no_show_form(step: Step, data: Any) -> forms.Form:
    return rsd_forms.NoShowForm(data, initial=step.initial())


def _attended(step: Step, form: Any) -> tuple[str, str]:
    d = form.cleaned_data
    services.record_interview(by=step.user, case=step.case, attended=True, transcript=d["transcript"],
                              notes=d["notes"], expected_step=step.expected)
    return _("Interview recorded."), ""


def _no_show(step: Step, form: Any) -> tuple[str, str]:
    services.record_interview(by=step.user, case=step.case, attended=False,
                              reason=form.cleaned_data["reason"], expected_step=step.expected)
    return _("Missed interview recorded."), ""


# --- Assessment ---------------------------------------------------------------------------

def _assessment_form(step: Step, data: Any) -> forms.Form:
    sources = rsd_selectors.coi_library({step.case.office_id})
    current = rsd_selectors.current_assessment(step.case)
    initial = step.initial(version=rsd_selectors.assessment_version(current))
    if current:
        initial.update({name: getattr(current, name) or "" for name in (
            "credibility", "material_facts", "inclusion", "exclusion", "recommendation")})
        initial.update(convention_grounds=current.convention_grounds,
                       cartagena_grounds=current.cartagena_grounds,
                       exclusion_applies=current.exclusion_applies,
                       coi_sources=[s.pk for s in current.coi_sources.all() if s.is_active])
    return rsd_forms.AssessmentForm(data, sources=sources, initial=initial)


def _submit(step: Step, form: Any) -> tuple[str, str]:
    if "save_draft" in step.request.POST:
        services.save_assessment(by=step.user, case=step.case, data=form.data_object(),
                                 expected_version=step.request.POST.get("version"))
        return _("Draft saved."), reverse("rsd:step", args=[step.case.pk, step.name])
    services.submit_assessment(by=step.user, case=step.case, data=form.data_object(),
                               expected_step=step.expected, expected_version=step.request.POST.get("version"))
    return _("Assessment submitted for review."), ""


def _show_returned(step: Step) -> dict[str, Any]:
    return {"returned": rsd_selectors.returned_assessment(step.case),
            "interviews": rsd_selectors.held_interviews(step.case)}


def _review_form(step: Step, data: Any) -> forms.Form:
    return rsd_forms.ReviewForm(data, comments_required=step.name == Steps.RETURN_ASSESSMENT,
                                initial=step.initial())


def _review(step: Step, form: Any) -> tuple[str, str]:
    approve = step.name == Steps.APPROVE_ASSESSMENT
    services.review_assessment(by=step.user, case=step.case, approve=approve,
                               comments=form.cleaned_data["comments"], expected_step=step.expected)
    return (_("Assessment approved.") if approve else _("Assessment returned with comments.")), ""


def _show_assessment(step: Step) -> dict[str, Any]:
    return {"assessment": rsd_selectors.submitted_assessment(step.case),
            "interviews": rsd_selectors.held_interviews(step.case)}


# --- Decisions -------------------------------------------------------------------------------

APPEAL_OUTCOMES = {"allow_appeal": "recognized", "dismiss_appeal": "rejected"}


def _decision_form(step: Step, data: Any) -> forms.Form:
    return rsd_forms.DecisionForm(data, fixed_outcome=APPEAL_OUTCOMES.get(step.name, ""),
                                  meeting=step.name == Steps.RECORD_COMMITTEE_RECOMMENDATION,
                                  initial=step.initial(decided_on=timezone.localdate()))


def _decide(step: Step, form: Any) -> tuple[str, str]:
    services.record_decision(by=step.user, case=step.case, step_name=step.name,
                             data=form.data_object(), expected_step=step.expected)
    if step.name == Steps.RECORD_COMMITTEE_RECOMMENDATION:
        return _("The Committee's recommendation is recorded; the decision is the Minister's."), ""
    return _("Decision recorded."), ""


def _show_for_decision(step: Step) -> dict[str, Any]:
    recommendation = rsd_selectors.latest_decision(step.case, DecisionStage.RECOMMENDATION)
    return {"assessment": rsd_selectors.latest_assessment(step.case), "recommendation": recommendation,
            "authority": _authority(step), "interviews": rsd_selectors.held_interviews(step.case)}


def _decide_appeal(step: Step, form: Any) -> tuple[str, str]:
    services.decide_appeal(by=step.user, case=step.case, data=form.data_object(),
                           expected_step=step.expected)
    return _("Appeal decided."), ""


def _show_appeal(step: Step) -> dict[str, Any]:
    appeal = rsd_selectors.pending_appeal(step.case)
    return {"appeal": appeal, "decision": rsd_selectors.first_instance_decision(step.case),
            "authority": step.case.office.appeal_body or str(options_of(step.wf).appeal_body)}


# --- Notification and appeal -------------------------------------------------------------------

def _notification_form(step: Step, data: Any) -> forms.Form:
    return rsd_forms.NotificationForm(data, initial=step.initial(
        delivered_on=timezone.localdate(), language=rsd_selectors.letter_language(step.case)))


def _notify(step: Step, form: Any) -> tuple[str, str]:
    d = form.cleaned_data
    services.record_notification(by=step.user, case=step.case, delivered_on=d["delivered_on"],
                                 language=d["language"], expected_step=step.expected)
    return _("Notification recorded."), ""


def _show_decision(step: Step) -> dict[str, Any]:
    return {"decision": rsd_selectors.governing_decision(step.case)}


def _appeal_form(step: Step, data: Any) -> forms.Form:
    decision = rsd_selectors.first_instance_decision(step.case)
    note = ""
    if decision and decision.appeal_due_on:
        note = _("The appeal period ends on %(date)s; an appeal lodged later needs a justification.") % {
            "date": decision.appeal_due_on.isoformat()}
    return rsd_forms.AppealForm(data, deadline_note=note,
                                initial=step.initial(lodged_on=timezone.localdate()))


def _lodge(step: Step, form: Any) -> tuple[str, str]:
    d = form.cleaned_data
    services.lodge_appeal(by=step.user, case=step.case, lodged_on=d["lodged_on"], grounds=d["grounds"],
                          late_justification=d["late_justification"], expected_step=step.expected)
    return _("Appeal recorded."), ""


# --- Steps that carry reasons only ------------------------------------------------------------



def _ground_choices(name: str) -> list[tuple[str, Any]] | None:
    grounds = STEP_GROUNDS.get(name)
    return grounds.choices if grounds else None


def _plain_form(step: Step, data: Any) -> forms.Form:
    return rsd_forms.PlainStepForm(data, grounds=_ground_choices(step.name),
                                   reason_required=step.transition.needs_reason, initial=step.initial())


def _plain(step: Step, form: Any) -> tuple[str, str]:
    d = form.cleaned_data
    services.take_step(by=step.user, case=step.case, name=step.name, reason=d["reason"],
                       ground=d.get("ground", ""), expected_step=step.expected)
    return _("Recorded: %(step)s.") % {"step": step.transition.label}, ""


_INTERVIEW = "rsd/_show_interview.html"
_ASSESSMENT = "rsd/_show_assessment.html"
_DECISION = "rsd/_show_decision.html"

PAGES: dict[str, StepPage] = {
    Steps.REGISTER: StepPage(_application_form, _register),
    Steps.SCHEDULE_INTERVIEW: StepPage(_interview_form, _schedule, _show_interview, _INTERVIEW),
    Steps.RESCHEDULE_INTERVIEW: StepPage(_interview_form, _schedule, _show_interview, _INTERVIEW),
    Steps.RECORD_ATTENDANCE: StepPage(_attendance_form, _attended, _show_interview, _INTERVIEW),
    Steps.RECORD_NO_SHOW: StepPage(_no_show_form, _no_show, _show_interview, _INTERVIEW),
    Steps.SUBMIT_ASSESSMENT: StepPage(_assessment_form, _submit, _show_returned,
                                      "rsd/_show_for_assessment.html",
                                      buttons=(("save_draft", gettext_lazy("Save draft")),)),
    Steps.RETURN_ASSESSMENT: StepPage(_review_form, _review, _show_assessment, _ASSESSMENT),
    Steps.APPROVE_ASSESSMENT: StepPage(_review_form, _review, _show_assessment, _ASSESSMENT),
    **{name: StepPage(_decision_form, _decide, _show_for_decision, "rsd/_show_for_decision.html")
       for name in services.DECISION_STEPS},
    Steps.ALLOW_APPEAL: StepPage(_decision_form, _decide_appeal, _show_appeal, "rsd/_show_appeal.html"),
    Steps.DISMISS_APPEAL: StepPage(_decision_form, _decide_appeal, _show_appeal, "rsd/_show_appeal.html"),
    **{name: StepPage(_notification_form, _notify, _show_decision, "rsd/_show_notification.html")
       for name in (Steps.NOTIFY_RECOGNITION, Steps.NOTIFY_NEGATIVE, Steps.NOTIFY_APPEAL_RECOGNITION,
                    Steps.NOTIFY_APPEAL_DISMISSAL, Steps.NOTIFY_APPEAL_DISMISSAL_PROTECTED)},
    Steps.LODGE_LATE_APPEAL: StepPage(_appeal_form, _lodge, _show_decision, _DECISION),
    Steps.LODGE_APPEAL: StepPage(_appeal_form, _lodge, _show_decision, _DECISION),
    **{name: StepPage(_plain_form, _plain, _show_decision, _DECISION) for name in services.PLAIN_STEPS},
}
