"""What changes trafficking cases: the victim profile, events and perpetrators, and the
procedure's steps (screening, identification, support, closure). Each checks who may do it;
the steps go through the workflow engine (`cases.workflow.fire`)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases import access, events, restriction, texts, updates, workflow
from cases.models import Case, CaseKind, CaseStep, Person, User
from tip import indicators
from tip.models import (
    Identification,
    ImportedReferral,
    Perpetrator,
    Screening,
    TraffickingEvent,
    VictimProfile,
)
from tip.names import Steps
from tip.procedures import IMPORT_PATHS, identifying_body
from tip.vocab import (
    CaseStatus,
    ClosureReason,
    DecidingBodyType,
    EventType,
    Exploitation,
    Industry,
    MeansOfControl,
    MigrationStatus,
    PerpetratorRole,
    RecruitmentMethod,
    ReferralDirection,
    ReferralReason,
    RelationToRecruiter,
    SexualExploitation,
    TraffickingStatus,
    WebsiteOrApp,
    code_for,
)

EARLIEST = datetime.date(1950, 1, 1)
PLAIN_STEPS = (Steps.RETURN_SCREENING, Steps.START_FOLLOW_UP, Steps.RESUME, Steps.CLOSE,
               Steps.CLOSE_REFERRED, Steps.REOPEN, Steps.REOPEN_FOR_SCREENING)
# The steps that record a ground, and the grounds each may record (kept in the step's details).
STEP_GROUNDS: dict[str, type[ClosureReason]] = {Steps.CLOSE: ClosureReason,
                                                 Steps.CLOSE_REFERRED: ClosureReason}


def check_tip_case(case: Case) -> None:
    if case.kind != CaseKind.TRAFFICKING:
        raise ValidationError(_("This is not a trafficking case."))


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError(errors)


def _check_date(errors: dict[str, str], name: str, day: datetime.date | None) -> None:
    if day is None:
        return
    if day > timezone.localdate():
        errors[name] = _("This date is in the future.")
    elif day < EARLIEST:
        errors[name] = _("This date is not plausible: check the year.")


def _check_codes(errors: dict[str, str], name: str, codes: list[str], allowed: list[str]) -> None:
    if set(codes) - set(allowed):
        errors[name] = _("Choose from the list.")


# --- The victim profile (the first step) ----------------------------------------------------

@dataclass
class ProfileData:
    age_when_trafficked: int | None = None
    relation_to_recruiter: str = ""
    recruitment_methods: list[str] = field(default_factory=list)
    means_of_control: list[str] = field(default_factory=list)
    exploitation_types: list[str] = field(default_factory=list)
    sexual_exploitation_types: list[str] = field(default_factory=list)
    recruitment_websites: list[str] = field(default_factory=list)
    exploitation_websites: list[str] = field(default_factory=list)
    forced_labour_industry: str = ""
    migration_status: str = ""
    narrative: str = ""


PROFILE_FIELDS = ("age_when_trafficked", "relation_to_recruiter", "recruitment_methods",
                  "means_of_control", "exploitation_types", "sexual_exploitation_types",
                  "recruitment_websites", "exploitation_websites", "forced_labour_industry",
                  "migration_status", "narrative")
MULTI_FIELDS = ("recruitment_methods", "means_of_control", "exploitation_types",
                "sexual_exploitation_types", "recruitment_websites", "exploitation_websites")


def _check_profile(data: ProfileData) -> None:
    errors: dict[str, str] = {}
    if data.age_when_trafficked is not None and not 0 <= data.age_when_trafficked <= 120:
        errors["age_when_trafficked"] = _("Give an age between 0 and 120.")
    for name, allowed in (("relation_to_recruiter", RelationToRecruiter.values),
                          ("forced_labour_industry", Industry.values),
                          ("migration_status", MigrationStatus.values)):
        value = getattr(data, name)
        if value and value not in allowed:
            errors[name] = _("Choose from the list.")
    for name, allowed in (("recruitment_methods", RecruitmentMethod.values),
                          ("means_of_control", MeansOfControl.values),
                          ("exploitation_types", Exploitation.values),
                          ("sexual_exploitation_types", SexualExploitation.values),
                          ("recruitment_websites", WebsiteOrApp.values),
                          ("exploitation_websites", WebsiteOrApp.values)):
        _check_codes(errors, name, getattr(data, name), allowed)
    if data.sexual_exploitation_types and Exploitation.SEXUAL not in data.exploitation_types:
        errors["sexual_exploitation_types"] = _("Only for sexual exploitation.")
    if data.forced_labour_industry and Exploitation.FORCED_LABOUR not in data.exploitation_types:
        errors["forced_labour_industry"] = _("Only for forced labour.")
    texts.check(errors, {"narrative": (data.narrative.strip(), texts.LONG)})
    _raise(errors)


def check_profile(data: ProfileData) -> None:
    """ValidationError keyed by field if the profile cannot be recorded (an import checks
    its rows with it before writing any)."""
    _check_profile(data)


def import_profile(*, by: User, case: Case, data: ProfileData, status: str = "",
                   decided_by: str = "") -> VictimProfile:
    """The victim profile a file of records brings with a new case (HTCDS vic_ fields), with
    the trafficking status decided before the case came here. It is written with the case,
    in the import's transaction, outside the procedure: the case stays open, and recording
    the profile as the procedure's first step starts from it (docs/architecture.md#htcds-import)."""
    check_tip_case(case)
    _check_profile(data)
    errors: dict[str, str] = {}
    if status and status not in TraffickingStatus.values:
        errors["trafficking_status"] = _("Choose from the list.")
    if decided_by and decided_by not in DecidingBodyType.values:
        errors["status_decided_by"] = _("Choose from the list.")
    _raise(errors)
    if not access.can_edit_case(by, case) or VictimProfile.objects.filter(case=case).exists():
        raise PermissionDenied(_("You cannot change this case."))
    profile = VictimProfile(case=case, person_id=case.principal_id, recorded_by=by,
                            status_decided_by=decided_by, **_profile_values(data))
    if status:
        profile.trafficking_status = status
    updates.stamp(profile, by=by, reason=str(_("Imported from an HTCDS file.")))
    profile.save()
    events.emit("tip.profile.import", actor=by, obj=case, profile=str(profile.pk))
    return profile


# --- What an HTCDS file says of the case itself (cas_ fields) -------------------------------

@dataclass
class ImportedReferralData:
    """One of the case's referrals as the file records it (cas_…Referral…)."""

    direction: str
    referred_on: datetime.date | None = None
    reason: str = ""
    organisation: str = ""
    caseworker: str = ""
    details: str = ""


@dataclass
class ImportedCaseData:
    """The case's HTCDS status (a CaseStatus code; "" is Active), the day it was opened at
    the file's organisation, why and when it closed, and its referrals."""

    status: str = ""
    opened_on: datetime.date | None = None
    closure_reason: str = ""
    closed_on: datetime.date | None = None
    trafficking_status: str = ""
    referrals: list[ImportedReferralData] = field(default_factory=list)


CLOSED_STATUSES = (CaseStatus.CLOSED, CaseStatus.CLOSED_REFERRED)


def closure_ground(status: str, reason: str) -> str:
    """The reason for closure as a code: the one the file's text names (by code or English
    label), or else "referred" for a case closed and referred, "other" for one closed."""
    with translation.override("en"):
        named = code_for(ClosureReason, reason) if reason.strip() else None
    if named:
        return named
    return ClosureReason.REFERRED if status == CaseStatus.CLOSED_REFERRED else ClosureReason.OTHER


def check_imported_case(data: ImportedCaseData) -> None:
    """ValidationError keyed by field ("status", "opened_on", "closure_reason", "closed_on",
    and "<direction>.<field>" for a referral's) if the case cannot be brought where its file
    says: an import checks its rows with it before writing any."""
    errors: dict[str, str] = {}
    if data.status and data.status not in CaseStatus.values:
        errors["status"] = _("Choose from the list.")
    closed = data.status in CLOSED_STATUSES
    if closed and not data.closure_reason.strip():
        errors["closure_reason"] = _("A closed case needs its reason for closure.")
    elif data.closure_reason.strip() and not closed:
        errors["closure_reason"] = _("Only for a closed case: its status says it is not closed.")
    texts.check(errors, {"closure_reason": (data.closure_reason.strip(), texts.NOTE)})
    if data.closed_on and not closed:
        errors["closed_on"] = _("Only for a closed case: its status says it is not closed.")
    _check_date(errors, "opened_on", data.opened_on)
    _check_date(errors, "closed_on", data.closed_on)
    if data.opened_on and data.closed_on and data.closed_on < data.opened_on:
        errors.setdefault("closed_on", _("The case closes before it was opened."))
    if data.trafficking_status and data.trafficking_status not in TraffickingStatus.values:
        errors["trafficking_status"] = _("Choose from the list.")
    seen: set[str] = set()
    for ref in data.referrals:
        at = f"{ref.direction}."
        if ref.direction not in ReferralDirection.values or ref.direction in seen:
            errors[at + "direction"] = _("Choose from the list.")
        seen.add(ref.direction)
        if ref.reason and ref.reason not in ReferralReason.values:
            errors[at + "reason"] = _("Choose from the list.")
        _check_date(errors, at + "referred_on", ref.referred_on)
        if (ref.direction == ReferralDirection.OUTGOING and ref.referred_on and data.opened_on
                and ref.referred_on < data.opened_on):
            errors.setdefault(at + "referred_on", _("The case is referred on before it was opened."))
        texts.check(errors, {at + "organisation": (ref.organisation.strip(), texts.SHORT),
                             at + "caseworker": (ref.caseworker.strip(), texts.SHORT),
                             at + "details": (ref.details.strip(), texts.NOTE)})
    _raise(errors)


def _import_path(status: str, data: ImportedCaseData) -> list[workflow.PastStep]:
    """The steps that bring a new case to the state of `status` (tip.procedures.IMPORT_PATHS):
    each takes effect on the day the case opened (today when the file does not say), the
    closure on the day it closed, with the file's reason for closure."""
    start = data.opened_on or timezone.localdate()
    steps = []
    for name in IMPORT_PATHS[status or CaseStatus.ACTIVE]:
        if name in STEP_GROUNDS:
            steps.append(workflow.PastStep(
                name, data.closed_on or timezone.localdate(), data.closure_reason.strip(),
                {"ground": closure_ground(status, data.closure_reason)}))
        elif name == Steps.IDENTIFY and data.trafficking_status:
            steps.append(workflow.PastStep(name, start, details={"status": data.trafficking_status}))
        else:
            steps.append(workflow.PastStep(name, start))
    return steps


def import_case(*, by: User, case: Case, data: ImportedCaseData) -> None:
    """What the file says of a case an import has just opened, in the import's transaction:
    the day it was opened (the case's `opened_at`, at noon of that day, so that statistics
    count it in its year), its referrals, sealed but for their codes and dates, and its status,
    reached along the procedure's transitions as steps taken before the case came here
    (cases.workflow.record_past_steps; docs/architecture.md#htcds-import)."""
    check_tip_case(case)
    check_imported_case(data)
    if not access.can_edit_case(by, case) or case.step_no:
        raise PermissionDenied(_("You cannot change this case."))
    reason = str(_("Imported from an HTCDS file."))
    if data.opened_on:
        opened = timezone.make_aware(datetime.datetime.combine(data.opened_on, datetime.time(12)))
        updates.model_update(case, by=by, reason=reason, opened_at=opened)
    for ref in data.referrals:
        record = ImportedReferral(case=case, person_id=case.principal_id, direction=ref.direction,
                                  referred_on=ref.referred_on, reason=ref.reason,
                                  organisation=ref.organisation.strip(),
                                  caseworker=ref.caseworker.strip(), details=ref.details.strip(),
                                  recorded_by=by)
        updates.stamp(record, by=by, reason=reason)
        record.save()
        events.emit("tip.referral.import", actor=by, obj=case, referral=str(record.pk),
                    direction=ref.direction, reason=ref.reason)
    workflow.record_past_steps(case=case, steps=_import_path(data.status, data), by=by,
                               source="htcds")


def _profile_values(data: ProfileData) -> dict[str, Any]:
    values = {name: getattr(data, name) for name in PROFILE_FIELDS}
    for name in MULTI_FIELDS:
        values[name] = sorted(set(values[name]))
    values["narrative"] = data.narrative.strip()
    return values


def record_profile(*, by: User, case: Case, data: ProfileData,
                   expected_step: int | None = None) -> VictimProfile:
    """The first step: the victim context as first told."""
    check_tip_case(case)
    workflow.ensure_fresh(case, expected_step)
    _check_profile(data)
    made: list[VictimProfile] = []

    def effect(case: Case, step: CaseStep) -> dict[str, Any]:
        profile = VictimProfile.objects.filter(case=case).first()
        if profile is None:  # a reopened case keeps its profile
            profile = VictimProfile(case=case, person_id=case.principal_id, recorded_by=by)
        for name, value in _profile_values(data).items():
            setattr(profile, name, value)
        updates.stamp(profile, by=by)
        profile.save()
        made.append(profile)
        return {"profile": str(profile.pk)}

    workflow.fire(case=case, name=Steps.RECORD_PROFILE, by=by, expected_step=expected_step,
                  effect=effect)
    return made[0]


def _editable(by: User, case: Case) -> Case:
    """The case, locked, if `by` may change it now."""
    check_tip_case(case)
    case = Case.objects.select_for_update(of=("self",)).select_related("principal").get(pk=case.pk)
    if not access.can_edit_case(by, case) or case.principal.erased_at:
        raise PermissionDenied(_("You cannot change this case."))
    if case.closed_at:
        raise ValidationError(_("The case is closed."))
    restriction.ensure_processing_allowed(Person.objects.get(pk=case.principal_id))
    return case


def update_profile(*, by: User, case: Case, data: ProfileData, reason: str) -> VictimProfile:
    """Correct or complete the profile while the case is open."""
    _check_profile(data)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the profile changes.")})
    texts.ensure(reason, texts.SHORT, field="reason")
    with transaction.atomic():
        case = _editable(by, case)
        profile = VictimProfile.objects.select_for_update().filter(case=case).first()
        if profile is None:
            raise ValidationError(_("The victim profile has not been recorded yet."))
        updates.model_update(profile, by=by, reason=reason, **_profile_values(data))
        events.emit("tip.profile.update", actor=by, obj=case, profile=str(profile.pk))
    return profile


# --- Events and perpetrators ---------------------------------------------------------------

@dataclass
class EventData:
    kind: str
    country: str
    place: str = ""
    started_on: datetime.date | None = None
    ended_on: datetime.date | None = None
    description: str = ""


def add_event(*, by: User, case: Case, data: EventData) -> TraffickingEvent:
    errors: dict[str, str] = {}
    if data.kind not in EventType.values:
        errors["kind"] = _("Choose the type of event.")
    if not data.country:
        errors["country"] = _("Give the country.")
    _check_date(errors, "started_on", data.started_on)
    _check_date(errors, "ended_on", data.ended_on)
    if data.ended_on and (data.started_on is None or data.ended_on < data.started_on):
        errors["ended_on"] = _("A period ends after it starts.")
    texts.check(errors, {"place": (data.place.strip(), texts.SHORT),
                         "description": (data.description.strip(), texts.NOTE)})
    _raise(errors)
    with transaction.atomic():
        case = _editable(by, case)
        event = TraffickingEvent(case=case, person_id=case.principal_id, kind=data.kind,
                                 country=data.country, place=data.place.strip(),
                                 started_on=data.started_on, ended_on=data.ended_on,
                                 description=data.description.strip(), recorded_by=by)
        updates.stamp(event, by=by)
        event.save()
        events.emit("tip.event.add", actor=by, obj=case, event=str(event.pk), kind=data.kind,
                    country=data.country)
    return event


@dataclass
class PerpetratorData:
    role: str
    name: str = ""
    relation_to_victim: str = ""
    description: str = ""


def add_perpetrator(*, by: User, case: Case, data: PerpetratorData) -> Perpetrator:
    errors: dict[str, str] = {}
    if data.role not in PerpetratorRole.values:
        errors["role"] = _("Choose the role.")
    if data.relation_to_victim and data.relation_to_victim not in RelationToRecruiter.values:
        errors["relation_to_victim"] = _("Choose from the list.")
    if not (data.name.strip() or data.description.strip()):
        errors["name"] = _("Give a name, an alias or a description.")
    texts.check(errors, {"name": (data.name.strip(), texts.SHORT),
                         "description": (data.description.strip(), texts.NOTE)})
    _raise(errors)
    with transaction.atomic():
        case = _editable(by, case)
        perpetrator = Perpetrator(case=case, person_id=case.principal_id, role=data.role,
                                  relation_to_victim=data.relation_to_victim,
                                  name=data.name.strip(), description=data.description.strip(),
                                  recorded_by=by)
        updates.stamp(perpetrator, by=by)
        perpetrator.save()
        events.emit("tip.perpetrator.add", actor=by, obj=case, perpetrator=str(perpetrator.pk),
                    role=data.role)
    return perpetrator


# --- Screening and identification ------------------------------------------------------------

def screen(*, by: User, case: Case, present: set[str], notes: str, screened_on: datetime.date,
           expected_step: int | None = None) -> Screening:
    """The indicator questionnaire; its recommendation goes to the identifying body."""
    check_tip_case(case)
    workflow.ensure_fresh(case, expected_step)
    errors: dict[str, str] = {}
    asked = indicators.for_office(case.office_id)  # the office's questionnaire
    known = {i.code for i in asked}
    if present - known:
        errors["present"] = _("Unknown indicators.")
    _check_date(errors, "screened_on", screened_on)
    texts.check(errors, {"notes": (notes.strip(), texts.NOTE)})
    _raise(errors)
    recommendation = indicators.recommend(present, asked)
    made: list[Screening] = []

    def effect(case: Case, step: CaseStep) -> dict[str, Any]:
        screening = Screening(case=case, person_id=case.principal_id, step=step,
                              screened_on=screened_on, present=sorted(present),
                              recommendation=recommendation, notes=notes.strip(), screened_by=by)
        updates.stamp(screening, by=by)
        screening.save()
        made.append(screening)
        return {"screening": str(screening.pk), "recommendation": recommendation}

    workflow.fire(case=case, name=Steps.SCREEN, by=by, on=screened_on, expected_step=expected_step,
                  effect=effect)
    return made[0]


@dataclass
class IdentificationData:
    status: str
    decided_on: datetime.date
    reasons: str
    body_type: str = ""


def identify(*, by: User, case: Case, data: IdentificationData,
             expected_step: int | None = None) -> Identification:
    """The authorised body's decision, recorded by a supervisor who did not screen the case
    (the engine's four-eyes rule). The victim profile takes the status."""
    check_tip_case(case)
    workflow.ensure_fresh(case, expected_step)
    errors: dict[str, str] = {}
    if data.status not in TraffickingStatus.values:
        errors["status"] = _("Choose the decision.")
    if data.body_type and data.body_type not in DecidingBodyType.values:
        errors["body_type"] = _("Choose from the list.")
    _check_date(errors, "decided_on", data.decided_on)
    if not data.reasons.strip():
        errors["reasons"] = _("Give the reasons of the decision.")
    texts.check(errors, {"reasons": (data.reasons.strip(), texts.LONG)})
    _raise(errors)
    body = identifying_body(case.office.country.code)
    made: list[Identification] = []

    def effect(case: Case, step: CaseStep) -> dict[str, Any]:
        ident = Identification(case=case, person_id=case.principal_id, step=step, status=data.status,
                               deciding_body=str(body.name), body_type=data.body_type or body.body_type,
                               decided_on=data.decided_on, reasons=data.reasons.strip(),
                               recorded_by=by)
        updates.stamp(ident, by=by)
        ident.save()
        profile = VictimProfile.objects.filter(case=case).first()
        if profile is not None:
            updates.model_update(profile, by=by, trafficking_status=data.status,
                                 status_decided_by=ident.body_type)
        made.append(ident)
        return {"identification": str(ident.pk), "status": data.status}

    workflow.fire(case=case, name=Steps.IDENTIFY, by=by, on=data.decided_on,
                  expected_step=expected_step, effect=effect)
    return made[0]


def take_step(*, by: User | None, case: Case, name: str, reason: str = "", ground: str = "",
              expected_step: int | None = None) -> CaseStep:
    """Follow-up, closure (with its reason), reopening, return for screening."""
    check_tip_case(case)
    if name not in PLAIN_STEPS:
        raise ValidationError(_("This step needs its own form."))
    grounds = STEP_GROUNDS.get(name)
    if grounds and ground not in grounds.values:
        raise ValidationError({"ground": _("Choose the reason for closure.")})
    return workflow.fire(case=case, name=name, by=by, reason=reason, expected_step=expected_step,
                         effect=lambda case, step: {"ground": ground} if grounds else {})
