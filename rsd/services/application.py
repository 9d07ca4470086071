"""The application and the family: what the claim is and who it covers."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access, events, restriction, texts, updates, workflow
from cases import services as case_services
from cases.intake import PersonData
from cases.models import Case, CaseKind, CaseParticipant, CaseStep, ParticipantRole, Person, User
from cases.workflow import configured
from rsd import selectors as rsd_selectors
from rsd.models import Application, ClaimChannel, FamilyMember, InterviewerGender, Modality, Relationship
from rsd.names import Steps
from rsd.procedures import options_of
from rsd.services._common import check_asylum_case, check_plausible, raise_errors


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
    limit = options_of(wf).filing_limit
    if not limit or not arrival:
        return False
    days, unit = limit
    last = workflow.add_days(arrival, days, unit=unit, country=case.office.country.code)
    return applied > last


def _is_child(person: Person, today: datetime.date) -> bool:
    if person.date_of_birth:
        dob: datetime.date = person.date_of_birth
        return (today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))) < 18
    return person.birth_year is not None and today.year - person.birth_year < 18


def _priority(case: Case, needs: list[str]) -> bool:
    """Children and specific needs are scheduled first (UNHCR procedural standards)."""
    if needs or case.principal.specific_needs:
        return True
    today = timezone.localdate()
    people = [case.principal, *(m.person for m in rsd_selectors.family_members(case))]
    return any(_is_child(p, today) for p in people)


def _check_application(case: Case, data: ApplicationData) -> tuple[workflow.Workflow, bool]:
    """Validate an application; returns the procedure and whether it was filed late."""
    errors: dict[str, str] = {}
    check_plausible(errors, "application_date", data.application_date)
    check_plausible(errors, "arrival_date", data.arrival_date)
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
    texts.check(errors, {"place_of_entry": (data.place_of_entry.strip(), texts.PLACE),
                         "claim_summary": (data.claim_summary.strip(), texts.NOTE),
                         "narrative": (data.narrative.strip(), texts.LONG),
                         "late_justification": (data.late_justification.strip(), texts.NOTE)})
    wf = workflow.for_case(case) if case.procedure else workflow.for_kind(
        CaseKind.ASYLUM, case.office.country.code)
    if wf is None:
        raise ValidationError(_("No asylum procedure is configured."))
    late = False
    if not errors:
        case.procedure = case.procedure or wf.name
        late = filing_is_late(case=case, arrival=data.arrival_date, applied=data.application_date)
        if late and not data.late_justification.strip():
            limit = options_of(wf).filing_limit or (0, workflow.CALENDAR)
            message = (_("The application comes more than %(days)s working days after arrival: "
                         "record why.") if limit[1] == workflow.WORKING else
                       _("The application comes more than %(days)s days after arrival: record why."))
            errors["late_justification"] = message % {"days": limit[0]}
    raise_errors(errors)
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
    check_asylum_case(case)
    with configured.pinned():  # the filing limit and the step's clocks: one configuration
        return _record_application(by=by, case=case, data=data, expected_step=expected_step)


def _record_application(*, by: User, case: Case, data: ApplicationData,
                        expected_step: int | None) -> Application:
    wf, late = _check_application(case, data)
    made: list[Application] = []

    def effect(case: Case, step: CaseStep) -> dict[str, Any]:
        application = Application(case=case, person_id=case.principal_id, recorded_by=by,
                                  application_date=data.application_date)
        _fill_application(application, data, late)
        # Needs noted when the person was registered are the application's too.
        application.specific_needs = sorted(
            set(application.specific_needs) | set(case.principal.specific_needs or []))
        application.priority = _priority(case, application.specific_needs)
        updates.stamp(application, by=by)
        application.save()
        made.append(application)
        return {"late": late, "priority": application.priority, "modality": data.modality}

    workflow.fire(case=case, name=Steps.REGISTER, by=by, on=data.application_date,
                  expected_step=expected_step, effect=effect, workflow=wf)
    return made[0]


@transaction.atomic
def update_application(*, by: User, case: Case, data: ApplicationData, reason: str = "") -> Application:
    """Correct or complete the application while the case is open (specific needs found at
    the interview, a corrected arrival date). The application date is fixed: clocks run from it."""
    check_asylum_case(case)
    texts.ensure(reason, texts.NOTE, field="reason")
    case = Case.objects.select_for_update(of=("self",)).select_related("office").get(pk=case.pk)
    if not access.can_edit_case(by, case):
        raise PermissionDenied(_("You cannot change this case."))
    if case.closed_at:
        raise ValidationError(_("The case is closed."))
    restriction.ensure_processing_allowed(Person.objects.get(pk=case.principal_id))
    application = rsd_selectors.application_of(case)
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
    updates.stamp(application, by=by, reason=reason)
    application.save()
    events.emit("rsd.application.update", actor=by, obj=case, fields=changed)
    return application


@transaction.atomic
def add_family_member(*, by: User, case: Case, data: PersonData, relationship: str,
                      accompanying: bool, derivative: bool) -> FamilyMember:
    """Register a relative in the case's office and add them to the application."""
    check_asylum_case(case)
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not access.can_edit_case(by, case):
        raise PermissionDenied(_("You cannot change this case."))
    if case.closed_at:
        raise ValidationError(_("The case is closed."))
    restriction.ensure_processing_allowed(Person.objects.get(pk=case.principal_id))
    if relationship not in Relationship.values:
        raise ValidationError({"relationship": _("Choose the relationship.")})
    person = case_services.register_person(by=by, office=case.office, data=data)
    part = CaseParticipant(case=case, person=person, role=ParticipantRole.FAMILY_MEMBER)
    updates.stamp(part, by=by)
    part.save()
    member = FamilyMember(case=case, person=person, relationship=relationship,
                          accompanying=accompanying, derivative=derivative, added_by=by)
    updates.stamp(member, by=by)
    member.save()
    application = rsd_selectors.application_of(case)
    if application and not application.priority and _priority(case, application.specific_needs):
        updates.model_update(application, by=by, priority=True)
    events.emit("rsd.family_member.add", actor=by, obj=case, person=str(person.pk),
                relationship=relationship)
    return member
