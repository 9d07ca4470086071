"""Interviews: scheduled, held or missed."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import texts, updates, workflow
from cases.models import Case, CaseStep, User
from rsd import selectors as rsd_selectors
from rsd.models import Interview, InterviewStatus
from rsd.names import States, Steps
from rsd.services._common import as_of_lock, check_asylum_case, raise_errors


def schedule_interview(*, by: User, case: Case, when: datetime.datetime, place: str, interviewer: User,
                       interpreter_language: str = "", interpreter: str = "",
                       expected_step: int | None = None) -> Interview:
    check_asylum_case(case)
    errors: dict[str, str] = {}
    if when <= timezone.now():
        errors["when"] = _("Choose a time in the future.")
    elif when > timezone.now() + datetime.timedelta(days=730):
        errors["when"] = _("Choose a time within the next two years.")
    if not place.strip():
        errors["place"] = _("Say where the interview takes place.")
    texts.check(errors, {"place": (place.strip(), texts.PLACE),
                         "interpreter": (interpreter.strip(), texts.SHORT)})
    if not rsd_selectors.possible_interviewers(case).filter(pk=interviewer.pk).exists():
        errors["interviewer"] = _("%(name)s cannot see this case: the interviewer is the assigned "
                                  "caseworker or a supervisor of the office.") % {"name": interviewer}
    raise_errors(errors)
    scheduled = case.state == States.INTERVIEW_SCHEDULED
    name = Steps.RESCHEDULE_INTERVIEW if scheduled else Steps.SCHEDULE_INTERVIEW
    made: list[Interview] = []

    def effect(case: Case, step: CaseStep) -> dict[str, Any]:
        end_scheduled_interviews(by=by, case=case, status=InterviewStatus.RESCHEDULED)
        interview = Interview(case=case, person_id=case.principal_id, scheduled_for=when,
                              place=place.strip(), interviewer=interviewer, scheduled_by=by,
                              interpreter_language=interpreter_language, interpreter=interpreter.strip())
        updates.stamp(interview, by=by)
        interview.save()
        made.append(interview)
        return {"interview": str(interview.pk), "interviewer": interviewer.pk}

    workflow.fire(case=case, name=name, by=by, expected_step=expected_step, effect=effect)
    return made[0]


def record_interview(*, by: User, case: Case, attended: bool, transcript: str = "", notes: str = "",
                     reason: str = "", expected_step: int | None = None) -> Interview:
    """Record that the scheduled interview took place (with its transcript) or was missed."""
    check_asylum_case(case)
    workflow.ensure_fresh(case, expected_step)
    interview = rsd_selectors.scheduled_interview(case)
    if interview is None:
        raise ValidationError(_("No interview is scheduled."))
    if attended and not transcript.strip():
        raise ValidationError({"transcript": _("Write the transcript, or a full summary of it.")})
    errors: dict[str, str] = {}
    texts.check(errors, {"transcript": (transcript.strip(), texts.TRANSCRIPT),
                         "notes": (notes.strip(), texts.NOTE)})
    raise_errors(errors)
    # The office's day, not UTC's; not before it (the step's guard, checked under the lock).
    day = timezone.localdate(interview.scheduled_for)
    seen, found = case.step_no, interview
    made: list[Interview] = []

    def effect(case: Case, step: CaseStep) -> dict[str, Any]:
        fresh = as_of_lock(found, case, seen)
        made.append(fresh)
        fresh.status = InterviewStatus.ATTENDED if attended else InterviewStatus.NO_SHOW
        fresh.transcript = transcript.strip()
        fresh.notes = notes.strip()
        updates.stamp(fresh, by=by)
        fresh.save()
        return {"interview": str(fresh.pk)}

    workflow.fire(case=case, name=Steps.RECORD_ATTENDANCE if attended else Steps.RECORD_NO_SHOW, by=by,
                  reason=reason, on=day,  # a missed interview, too, was missed that day
                  expected_step=expected_step, effect=effect)
    return made[0]


def end_scheduled_interviews(*, by: User | None, case: Case, status: str) -> None:
    """Give the interviews still scheduled `status` (rescheduled, cancelled). Runs inside
    the step that ends them, which locks the case and records itself."""
    for interview in Interview.objects.filter(case=case, status=InterviewStatus.SCHEDULED):
        interview.status = status
        updates.stamp(interview, by=by)
        interview.save()
