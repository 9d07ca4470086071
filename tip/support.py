"""What changes the support of a trafficking case: risk assessments, the support plan and its
services, the office's directory of organisations and referrals to them
(docs/domain/trafficking.md#support). Each checks who may do it and emits its event."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access, consent, events, texts, updates
from cases.models import Case, ConsentPurpose, Office, Person, Role, User
from tip.models import Referral, RiskAssessment, SupportOrganisation, SupportPlan, SupportService
from tip.services import EARLIEST, _check_date, _editable, _raise, check_tip_case
from tip.vocab import OrganisationType, ReferralStatus, RiskLevel, ServiceKind, ServiceStatus

# How far ahead a plan's dates may go: further is a typing mistake.
HORIZON = datetime.timedelta(days=5 * 366)
# Services still owed: past their planned end, they are overdue.
OWED = (ServiceStatus.PLANNED, ServiceStatus.IN_PROGRESS)
# Where a referral may go from each status.
REFERRAL_NEXT: dict[str, tuple[str, ...]] = {
    ReferralStatus.SENT: (ReferralStatus.ACCEPTED, ReferralStatus.DECLINED),
    ReferralStatus.ACCEPTED: (ReferralStatus.COMPLETED, ReferralStatus.DECLINED),
    ReferralStatus.DECLINED: (),
    ReferralStatus.COMPLETED: (),
}
MANAGERS = (Role.SUPERVISOR, Role.OFFICE_ADMIN)


def _check_plan_date(errors: dict[str, str], name: str, day: datetime.date | None) -> None:
    if day is None:
        return
    if day < EARLIEST:
        errors[name] = _("This date is not plausible: check the year.")
    elif day > timezone.localdate() + HORIZON:
        errors[name] = _("This date is too far ahead: check the year.")


def _check_period(errors: dict[str, str], start: str, end: str,
                  days: dict[str, datetime.date | None]) -> None:
    if days[start] and days[end] and days[end] < days[start]:  # type: ignore[operator]
        errors[end] = _("A period ends after it starts.")


# --- Risk assessment ---------------------------------------------------------------------------

@dataclass
class RiskData:
    individual: str
    household: str
    community: str
    assessed_on: datetime.date
    individual_notes: str = ""
    household_notes: str = ""
    community_notes: str = ""


def assess_risk(*, by: User, case: Case, data: RiskData) -> RiskAssessment:
    """A new assessment; it replaces the current one, which stays in the case's history."""
    errors: dict[str, str] = {}
    for name in ("individual", "household", "community"):
        if getattr(data, name) not in RiskLevel.values:
            errors[name] = _("Choose the level of risk.")
    _check_date(errors, "assessed_on", data.assessed_on)
    texts.check(errors, {f"{n}_notes": (getattr(data, f"{n}_notes").strip(), texts.NOTE)
                         for n in ("individual", "household", "community")})
    _raise(errors)
    with transaction.atomic():
        case = _editable(by, case)  # the case row lock serialises two assessments at once
        RiskAssessment.objects.filter(case=case, replaced_at__isnull=True).update(
            replaced_at=timezone.now())
        made = RiskAssessment(case=case, person_id=case.principal_id, individual=data.individual,
                              household=data.household, community=data.community,
                              individual_notes=data.individual_notes.strip(),
                              household_notes=data.household_notes.strip(),
                              community_notes=data.community_notes.strip(),
                              assessed_on=data.assessed_on, assessed_by=by)
        updates.stamp(made, by=by)
        made.save()
        events.emit("tip.risk.assess", actor=by, obj=case, assessment=str(made.pk),
                    individual=data.individual, household=data.household, community=data.community)
    return made


# --- The support plan and its services ----------------------------------------------------------

def _plan_for(by: User, case: Case) -> SupportPlan:
    plan = SupportPlan.objects.select_for_update().filter(case=case).first()
    if plan is None:
        plan = SupportPlan(case=case, person_id=case.principal_id, objectives="", recorded_by=by)
        updates.stamp(plan, by=by)
        plan.save()
    return plan


def save_plan(*, by: User, case: Case, objectives: str, review_on: datetime.date | None) -> SupportPlan:
    errors: dict[str, str] = {}
    _check_plan_date(errors, "review_on", review_on)
    texts.check(errors, {"objectives": (objectives.strip(), texts.LONG)})
    _raise(errors)
    with transaction.atomic():
        case = _editable(by, case)
        plan = _plan_for(by, case)
        changed = updates.model_update(plan, by=by, objectives=objectives.strip(), review_on=review_on)
        events.emit("tip.plan.save", actor=by, obj=case, plan=str(plan.pk), changed=sorted(changed),
                    review_on=review_on.isoformat() if review_on else "")
    return plan


@dataclass
class ServiceData:
    kind: str
    provider: SupportOrganisation | None = None
    planned_start: datetime.date | None = None
    planned_end: datetime.date | None = None
    actual_start: datetime.date | None = None
    actual_end: datetime.date | None = None
    status: str = ServiceStatus.PLANNED
    outcome: str = ""


def _check_service(case: Case, data: ServiceData) -> None:
    errors: dict[str, str] = {}
    if data.kind not in ServiceKind.values:
        errors["kind"] = _("Choose the service.")
    if data.status not in ServiceStatus.values:
        errors["status"] = _("Choose the status.")
    if data.provider is not None and data.provider.office_id != case.office_id:
        errors["provider"] = _("Choose an organisation of the case's office.")
    for name in ("planned_start", "planned_end"):
        _check_plan_date(errors, name, getattr(data, name))
    for name in ("actual_start", "actual_end"):
        _check_date(errors, name, getattr(data, name))
    days = {n: getattr(data, n) for n in ("planned_start", "planned_end", "actual_start", "actual_end")}
    _check_period(errors, "planned_start", "planned_end", days)
    _check_period(errors, "actual_start", "actual_end", days)
    if data.status == ServiceStatus.DELIVERED and not data.actual_end:
        errors["actual_end"] = _("Give the date the service ended.")
    if data.status in (ServiceStatus.IN_PROGRESS, ServiceStatus.DELIVERED) and not data.actual_start:
        errors["actual_start"] = _("Give the date the service started.")
    texts.check(errors, {"outcome": (data.outcome.strip(), texts.NOTE)})
    _raise(errors)


def add_service(*, by: User, case: Case, data: ServiceData) -> SupportService:
    """A service of the case's plan (the plan is made, without objectives, if there is none)."""
    check_tip_case(case)
    _check_service(case, data)
    with transaction.atomic():
        case = _editable(by, case)
        plan = _plan_for(by, case)
        service = SupportService(plan=plan, case=case, person_id=case.principal_id, kind=data.kind,
                                 provider=data.provider, planned_start=data.planned_start,
                                 planned_end=data.planned_end, actual_start=data.actual_start,
                                 actual_end=data.actual_end, status=data.status,
                                 outcome=data.outcome.strip(), recorded_by=by)
        updates.stamp(service, by=by)
        service.save()
        events.emit("tip.service.add", actor=by, obj=case, service=str(service.pk), kind=data.kind,
                    status=data.status)
    return service


def update_service(*, by: User, service: SupportService, data: ServiceData) -> SupportService:
    case = service.case
    check_tip_case(case)
    _check_service(case, data)
    with transaction.atomic():
        case = _editable(by, case)
        service = SupportService.objects.select_for_update().get(pk=service.pk, case=case)
        changed = updates.model_update(
            service, by=by, kind=data.kind, provider=data.provider, planned_start=data.planned_start,
            planned_end=data.planned_end, actual_start=data.actual_start, actual_end=data.actual_end,
            status=data.status, outcome=data.outcome.strip())
        events.emit("tip.service.update", actor=by, obj=case, service=str(service.pk),
                    status=data.status, changed=sorted(changed))
    return service


# --- The directory of organisations --------------------------------------------------------------

@dataclass
class OrganisationData:
    name: str
    org_type: str
    country: str
    phone: str = ""
    email: str = ""
    address: str = ""
    is_active: bool = True


def may_manage_directory(user: User, office: Office) -> bool:
    return bool(access.roles_in(user, office.pk) & set(MANAGERS))


def _check_organisation(office: Office, data: OrganisationData,
                        current: SupportOrganisation | None = None) -> None:
    errors: dict[str, str] = {}
    name = data.name.strip()
    if not name:
        errors["name"] = _("Give the organisation's name.")
    elif len(name) > 200:
        errors["name"] = _("Shorten the name to 200 characters.")
    elif (SupportOrganisation.objects.filter(office=office, name__iexact=name)
          .exclude(pk__in=[current.pk] if current else []).exists()):
        errors["name"] = _("The directory already has an organisation of this name.")
    if data.org_type not in OrganisationType.values:
        errors["org_type"] = _("Choose the type of organisation.")
    if not data.country:
        errors["country"] = _("Give the country.")
    _raise(errors)


def add_organisation(*, by: User, office: Office, data: OrganisationData) -> SupportOrganisation:
    if not may_manage_directory(by, office):
        raise PermissionDenied(_("Only the office's supervisors and administrators manage its directory."))
    _check_organisation(office, data)
    with transaction.atomic():
        made = SupportOrganisation(
            office=office, name=data.name.strip(), org_type=data.org_type, country=data.country,
            phone=data.phone.strip(), email=data.email.strip(), address=data.address.strip(),
            is_active=data.is_active)
        updates.stamp(made, by=by)
        made.save()
        events.emit("tip.organisation.add", actor=by, obj=made, office_id=office.pk,
                    org_type=data.org_type)
    return made


def update_organisation(*, by: User, organisation: SupportOrganisation,
                        data: OrganisationData) -> SupportOrganisation:
    office = organisation.office
    if not may_manage_directory(by, office):
        raise PermissionDenied(_("Only the office's supervisors and administrators manage its directory."))
    _check_organisation(office, data, organisation)
    with transaction.atomic():
        organisation = SupportOrganisation.objects.select_for_update().get(pk=organisation.pk)
        changed = updates.model_update(
            organisation, by=by, name=data.name.strip(), org_type=data.org_type, country=data.country,
            phone=data.phone.strip(), email=data.email.strip(), address=data.address.strip(),
            is_active=data.is_active)
        events.emit("tip.organisation.update", actor=by, obj=organisation, office_id=office.pk,
                    changed=sorted(changed))
    return organisation


# --- Referrals ----------------------------------------------------------------------------------

@dataclass
class ReferralData:
    organisation: SupportOrganisation
    service_kind: str
    referred_on: datetime.date
    details: str = ""
    override: str = ""  # a supervisor's written reason to refer without consent


class NoConsent(ValidationError):
    """The person has not consented to referral and nobody overrode it."""


def refer(*, by: User, case: Case, data: ReferralData) -> Referral:
    """Refer the case, if the person's current answer for referral is yes; else only a
    supervisor of the case's office, with a written reason (sealed on the referral, audited
    as `consent.override`). The consent is read under the person's row lock, the one a new
    answer takes: a withdrawal recorded first refuses this referral."""
    check_tip_case(case)
    errors: dict[str, str] = {}
    if data.service_kind not in ServiceKind.values:
        errors["service_kind"] = _("Choose the service.")
    if data.organisation.office_id != case.office_id or not data.organisation.is_active:
        errors["organisation"] = _("Choose an organisation of the case's office.")
    _check_date(errors, "referred_on", data.referred_on)
    texts.check(errors, {"details": (data.details.strip(), texts.NOTE),
                         "override": (data.override.strip(), texts.NOTE)})
    _raise(errors)
    override = data.override.strip()
    if override and Role.SUPERVISOR not in access.roles_in(by, case.office_id):
        raise PermissionDenied(_("Only a supervisor of the case's office refers without consent."))
    refused = False
    with transaction.atomic():
        case = _editable(by, case)
        person = Person.objects.select_for_update().get(pk=case.principal_id)
        allowed = consent.allows(person, ConsentPurpose.REFERRAL)
        if not allowed and not override:
            refused = True
        else:
            referral = Referral(case=case, person=person, organisation=data.organisation,
                                service_kind=data.service_kind, referred_on=data.referred_on,
                                details=data.details.strip(), without_consent=not allowed,
                                override_reason="" if allowed else override, referred_by=by)
            updates.stamp(referral, by=by)
            referral.save()
            if not allowed:
                events.emit("consent.override", actor=by, obj=person, purpose=ConsentPurpose.REFERRAL,
                            case=str(case.pk), referral=str(referral.pk))
            events.emit("tip.referral.add", actor=by, obj=case, referral=str(referral.pk),
                        organisation=str(data.organisation.pk), service=data.service_kind,
                        without_consent=not allowed)
    if refused:  # on the record, after the (empty) transaction
        events.emit("tip.referral.add", actor=by, obj=case, outcome="refused", reason="no_consent")
        raise NoConsent({"override" if Role.SUPERVISOR in access.roles_in(by, case.office_id)
                         else "organisation": _(
            "The person has not consented to referral. Record their consent on their page "
            "first; a supervisor may refer without it, writing why.")})
    return referral


def update_referral(*, by: User, referral: Referral, status: str) -> Referral:
    case = referral.case
    check_tip_case(case)
    with transaction.atomic():
        case = _editable(by, case)
        referral = Referral.objects.select_for_update().get(pk=referral.pk, case=case)
        if status not in REFERRAL_NEXT.get(referral.status, ()):
            raise ValidationError({"status": _("A referral cannot go from %(old)s to this status.")
                                   % {"old": referral.get_status_display()}})
        old = referral.status
        updates.model_update(referral, by=by, status=status)
        events.emit("tip.referral.update", actor=by, obj=case, referral=str(referral.pk),
                    old=old, status=status)
    return referral
