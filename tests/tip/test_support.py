"""Support of a trafficking case (tip/support.py): risk assessments replace each other and keep
their history; the support plan and its services, overdue ones on the dashboards; the office's
directory of organisations; referrals gated by the person's consent to referral, a
supervisor's audited override, and a withdrawal that refuses the next referral at once."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from cases import consent
from cases.models import ConsentPurpose
from tests.races import race_on_case
from tests.tip.conftest import fresh, today
from tip import support
from tip.dashboard import section
from tip.models import Referral, RiskAssessment, SupportOrganisation, SupportPlan, SupportService
from tip.names import States
from tip.support import NoConsent, OrganisationData, ReferralData, RiskData, ServiceData
from tip.vocab import OrganisationType, ReferralStatus, RiskLevel, ServiceKind, ServiceStatus

DAY = datetime.timedelta(days=1)


def _raw(table: str, column: str, pk) -> bytes:
    with connection.cursor() as cursor:
        # The hex form: SQLite binds no UUID; PostgreSQL reads it as one.
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk.hex])  # noqa: S608 (names are ours)
        return bytes(cursor.fetchone()[0])


def _risk(**overrides) -> RiskData:
    values = dict(individual=RiskLevel.HIGH, household=RiskLevel.MEDIUM, community=RiskLevel.LOW,
                  assessed_on=today(), individual_notes="Amenazas del reclutador por WhatsApp.")
    values.update(overrides)
    return RiskData(**values)


@pytest.fixture
def organisation(supervisor, office) -> SupportOrganisation:
    return support.add_organisation(by=supervisor, office=office, data=OrganisationData(
        name="Casa Refugio Esperanza", org_type=OrganisationType.NGO, country="BZ",
        phone="+501 222 0000", email="contacto@esperanza.example.org"))


# --- Risk ----------------------------------------------------------------------------------------

def test_a_new_risk_assessment_replaces_the_current_one_and_the_old_stays(tip, caseworker, supervisor):
    case = tip.at(States.ACTIVE)
    first = support.assess_risk(by=caseworker, case=case, data=_risk())
    second = support.assess_risk(by=supervisor, case=fresh(case), data=_risk(individual=RiskLevel.LOW))

    current = RiskAssessment.objects.get(case=case, replaced_at__isnull=True)
    assert current == second and current.assessed_by == supervisor
    first.refresh_from_db()
    assert first.replaced_at is not None and first.individual == RiskLevel.HIGH
    assert b"WhatsApp" not in _raw("tip_riskassessment", "individual_notes", first.pk)
    assert AuditEvent.objects.filter(action="tip.risk.assess").count() == 2


def test_risk_needs_a_level_per_dimension_and_a_past_date(tip, caseworker):
    case = tip.at(States.SCREENING)
    with pytest.raises(ValidationError) as exc:
        support.assess_risk(by=caseworker, case=case, data=_risk(household="extreme",
                                                                 assessed_on=today() + DAY))
    assert set(exc.value.message_dict) == {"household", "assessed_on"}
    assert not RiskAssessment.objects.exists()


def test_only_who_works_on_the_case_assesses_it(tip, caseworker2, other_supervisor):
    case = tip.at(States.ACTIVE)
    for outsider in (caseworker2, other_supervisor):
        with pytest.raises(PermissionDenied):
            support.assess_risk(by=outsider, case=fresh(case), data=_risk())
    assert not RiskAssessment.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_assessments_at_once_leave_one_current(postgres, tip, caseworker, supervisor):
    case = tip.at(States.ACTIVE)
    results = race_on_case(case, [
        lambda: support.assess_risk(by=caseworker, case=fresh(case), data=_risk()),
        lambda: support.assess_risk(by=supervisor, case=fresh(case), data=_risk(community=RiskLevel.HIGH)),
    ])
    assert all(isinstance(r, RiskAssessment) for r in results), results
    assert RiskAssessment.objects.filter(case=case).count() == 2
    assert RiskAssessment.objects.filter(case=case, replaced_at__isnull=True).count() == 1


# --- Plan and services ---------------------------------------------------------------------------

def test_a_service_makes_the_plan_and_an_overdue_one_shows_on_both_dashboards(
        tip, caseworker, supervisor, other_supervisor, organisation):
    case = tip.at(States.ACTIVE)
    late = support.add_service(by=caseworker, case=case, data=ServiceData(
        kind=ServiceKind.SHELTER, provider=organisation, planned_start=today() - 30 * DAY,
        planned_end=today() - DAY))
    support.add_service(by=caseworker, case=fresh(case), data=ServiceData(
        kind=ServiceKind.MEDICAL, planned_start=today(), planned_end=today() + 30 * DAY))

    plan = SupportPlan.objects.get(case=case)
    assert plan.services.count() == 2
    for user in (caseworker, supervisor):
        context = section(user).context
        assert [s.pk for s in context["overdue_services"]] == [late.pk]
        assert context["overdue_services_total"] == 1
    assert section(other_supervisor).context["overdue_services_total"] == 0

    support.update_service(by=caseworker, service=late, data=ServiceData(
        kind=ServiceKind.SHELTER, provider=organisation, planned_start=today() - 30 * DAY,
        planned_end=today() - DAY, status=ServiceStatus.DELIVERED, actual_start=today() - 29 * DAY,
        actual_end=today(), outcome="Se alojó en la casa refugio."))
    assert section(caseworker).context["overdue_services_total"] == 0
    assert b"refugio" not in _raw("tip_supportservice", "outcome", late.pk)


def test_the_overdue_panel_shows_the_first_services_with_their_case_and_counts_the_rest(
        tip, caseworker, organisation):
    """Twelve overdue: the ten due longest ago, each with its case's reference and principal,
    the service's kind, end and status; the count says twelve. The principal is read as a
    table lists it (names only), not whole (address, phone...)."""
    case = tip.at(States.ACTIVE)
    for days_late in range(12, 0, -1):
        support.add_service(by=caseworker, case=fresh(case), data=ServiceData(
            kind=ServiceKind.SHELTER, provider=organisation, planned_start=today() - 40 * DAY,
            planned_end=today() - days_late * DAY))
    with CaptureQueriesContext(connection) as queries:
        context = section(caseworker).context
        rows = [(s.case.reference, str(s.case.principal), s.get_kind_display(),
                 s.planned_end, s.get_status_display()) for s in context["overdue_services"]]
    assert context["overdue_services_total"] == 12
    assert rows == [(case.reference, str(case.principal), str(ServiceKind.SHELTER.label),
                     today() - d * DAY, str(ServiceStatus.PLANNED.label)) for d in range(12, 2, -1)]
    read = " ".join(q["sql"] for q in queries.captured_queries)
    assert "given_names" in read and "address" not in read and '"phone"' not in read


def test_a_plan_review_date_passed_shows_on_the_dashboards(tip, caseworker, supervisor):
    case = tip.at(States.FOLLOW_UP)
    support.save_plan(by=caseworker, case=case, objectives="Vivienda segura y empleo.",
                      review_on=today() - DAY)
    for user in (caseworker, supervisor):
        assert [p.case_id for p in section(user).context["overdue_reviews"]] == [case.pk]
    support.save_plan(by=caseworker, case=fresh(case), objectives="Vivienda segura y empleo.",
                      review_on=today() + 90 * DAY)
    assert section(supervisor).context["overdue_reviews_total"] == 0
    plan = SupportPlan.objects.get(case=case)
    assert b"Vivienda" not in _raw("tip_supportplan", "objectives", plan.pk)
    assert plan.history.count() == 3  # made, then two saves


def test_service_dates_and_status_are_checked(tip, caseworker, other_supervisor, other_office):
    case = tip.at(States.ACTIVE)
    elsewhere = support.add_organisation(by=other_supervisor, office=other_office, data=OrganisationData(
        name="Clínica San Juan", org_type=OrganisationType.HEALTH, country="GT"))
    with pytest.raises(ValidationError) as exc:
        support.add_service(by=caseworker, case=case, data=ServiceData(
            kind="massage", provider=elsewhere, planned_start=today(), planned_end=today() - DAY,
            status=ServiceStatus.DELIVERED))
    assert set(exc.value.message_dict) == {"kind", "provider", "planned_end", "actual_start",
                                           "actual_end"}
    assert not SupportService.objects.exists()


def test_a_closed_case_takes_no_service(tip, caseworker):
    case = tip.at(States.CLOSED)
    with pytest.raises(ValidationError):
        support.add_service(by=caseworker, case=case, data=ServiceData(kind=ServiceKind.LEGAL))


# --- Directory -----------------------------------------------------------------------------------

def test_the_directory_is_managed_by_the_office_s_supervisors_and_administrators(
        office, caseworker, office_admin, other_supervisor, organisation):
    data = OrganisationData(name="Defensoría del Pueblo", org_type=OrganisationType.LEGAL, country="BZ")
    with pytest.raises(PermissionDenied):
        support.add_organisation(by=caseworker, office=office, data=data)
    with pytest.raises(PermissionDenied):
        support.add_organisation(by=other_supervisor, office=office, data=data)
    with pytest.raises(PermissionDenied):
        support.update_organisation(by=other_supervisor, organisation=organisation, data=data)
    made = support.add_organisation(by=office_admin, office=office, data=data)
    assert made.office == office
    with pytest.raises(ValidationError) as exc:  # one name per directory, whatever its case
        support.add_organisation(by=office_admin, office=office, data=OrganisationData(
            name="casa refugio esperanza", org_type="Charity", country=""))
    assert set(exc.value.message_dict) == {"name", "org_type", "country"}


# --- Referrals -----------------------------------------------------------------------------------

def _referral(organisation, **overrides) -> ReferralData:
    values = dict(organisation=organisation, service_kind=ServiceKind.SHELTER, referred_on=today(),
                  details="Necesita albergue esta noche.")
    values.update(overrides)
    return ReferralData(**values)


def test_no_referral_without_consent_then_one_after_it_is_recorded(tip, caseworker, organisation):
    case = tip.at(States.ACTIVE)
    with pytest.raises(NoConsent):
        support.refer(by=caseworker, case=case, data=_referral(organisation))
    assert not Referral.objects.exists()
    refused = AuditEvent.objects.get(action="tip.referral.add")
    assert refused.outcome == "refused"

    consent.record(by=caseworker, person=case.principal, purpose=ConsentPurpose.REFERRAL, given=True,
                   language="es")
    referral = support.refer(by=caseworker, case=fresh(case), data=_referral(organisation))
    assert (referral.status, referral.without_consent) == (ReferralStatus.SENT, False)
    assert b"albergue" not in _raw("tip_referral", "details", referral.pk)


def test_a_withdrawal_refuses_the_next_referral_at_once(tip, caseworker, organisation):
    case = tip.at(States.ACTIVE)
    consent.record(by=caseworker, person=case.principal, purpose=ConsentPurpose.REFERRAL, given=True,
                   language="es")
    support.refer(by=caseworker, case=case, data=_referral(organisation))
    consent.record(by=caseworker, person=case.principal, purpose=ConsentPurpose.REFERRAL, given=False,
                   language="es")
    with pytest.raises(NoConsent):
        support.refer(by=caseworker, case=fresh(case), data=_referral(organisation))
    assert Referral.objects.count() == 1


def test_consent_to_another_purpose_does_not_open_referrals(tip, caseworker, organisation):
    case = tip.at(States.ACTIVE)
    for purpose in (ConsentPurpose.DATA_COLLECTION, ConsentPurpose.STATISTICS, ConsentPurpose.SHARING):
        consent.record(by=caseworker, person=case.principal, purpose=purpose, given=True, language="es")
    with pytest.raises(NoConsent):
        support.refer(by=caseworker, case=case, data=_referral(organisation))


def test_a_supervisor_overrides_with_a_written_reason_sealed_and_audited(
        tip, caseworker, supervisor, organisation):
    case = tip.at(States.ACTIVE)
    with pytest.raises(PermissionDenied):
        support.refer(by=caseworker, case=case, data=_referral(organisation, override="Urgente."))
    referral = support.refer(by=supervisor, case=fresh(case), data=_referral(
        organisation, override="Riesgo inminente: la persona no puede firmar hoy."))
    assert referral.without_consent and referral.override_reason.startswith("Riesgo")
    assert b"inminente" not in _raw("tip_referral", "override_reason", referral.pk)
    override = AuditEvent.objects.get(action="consent.override")
    assert override.details["purpose"] == ConsentPurpose.REFERRAL
    assert override.details["referral"] == str(referral.pk)
    assert "inminente" not in str(override.details)


def test_a_referral_goes_to_an_active_organisation_of_the_case_s_office(
        tip, caseworker, supervisor, organisation, other_supervisor, other_office):
    case = tip.at(States.ACTIVE)
    consent.record(by=caseworker, person=case.principal, purpose=ConsentPurpose.REFERRAL, given=True,
                   language="es")
    elsewhere = support.add_organisation(by=other_supervisor, office=other_office, data=OrganisationData(
        name="Albergue Frontera", org_type=OrganisationType.NGO, country="GT"))
    support.update_organisation(by=supervisor, organisation=organisation, data=OrganisationData(
        name=organisation.name, org_type=organisation.org_type, country="BZ", is_active=False))
    for place in (elsewhere, SupportOrganisation.objects.get(pk=organisation.pk)):
        with pytest.raises(ValidationError) as exc:
            support.refer(by=caseworker, case=fresh(case), data=_referral(place))
        assert "organisation" in exc.value.message_dict


def test_a_referral_s_status_moves_forward_only(tip, caseworker, supervisor, organisation):
    case = tip.at(States.ACTIVE)
    referral = support.refer(by=supervisor, case=case, data=_referral(organisation, override="Urgente."))
    with pytest.raises(ValidationError):
        support.update_referral(by=caseworker, referral=referral, status=ReferralStatus.COMPLETED)
    support.update_referral(by=caseworker, referral=referral, status=ReferralStatus.ACCEPTED)
    support.update_referral(by=caseworker, referral=referral, status=ReferralStatus.COMPLETED)
    with pytest.raises(ValidationError):
        support.update_referral(by=caseworker, referral=referral, status=ReferralStatus.DECLINED)
    assert Referral.objects.get().status == ReferralStatus.COMPLETED


# --- Pages ---------------------------------------------------------------------------------------

def test_the_referral_page_refuses_without_consent_and_keeps_the_input(client, tip, caseworker,
                                                                      organisation):
    case = tip.at(States.ACTIVE)
    client.force_login(caseworker)
    url = reverse("tip:referral_add", kwargs={"case_id": case.pk})
    assert "override" not in client.get(url).context["form"].fields  # a caseworker cannot override

    response = client.post(url, {"organisation": organisation.pk, "service_kind": "shelter",
                                 "referred_on": today().isoformat(), "details": "Urgente hoy",
                                 "override": "ignored for a caseworker"})
    assert response.status_code == 400
    assert "not consented to referral" in response.content.decode()
    assert "Urgente hoy" in response.content.decode()
    assert not Referral.objects.exists()


def test_half_filled_service_form_comes_back(client, tip, caseworker):
    case = tip.at(States.ACTIVE)
    client.force_login(caseworker)
    response = client.post(reverse("tip:service_add", kwargs={"case_id": case.pk}),
                           {"planned_end": "2026-99-01", "status": "planned"})
    assert response.status_code == 400
    assert set(response.context["form"].errors) >= {"kind", "planned_end"}
    assert not SupportService.objects.exists()


def test_the_case_page_and_the_dashboard_show_the_support(client, tip, caseworker, organisation):
    case = tip.at(States.ACTIVE)
    support.assess_risk(by=caseworker, case=case, data=_risk())
    support.add_service(by=caseworker, case=fresh(case), data=ServiceData(
        kind=ServiceKind.PSYCHOSOCIAL, provider=organisation, planned_end=today() - DAY))
    client.force_login(caseworker)
    page = client.get(reverse("case_detail", kwargs={"case_id": case.pk})).content.decode()
    assert 'id="risk-individual"' in page and "WhatsApp" in page
    assert "service-overdue" in page and "Casa Refugio Esperanza" in page
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert 'class="overdue-service"' in dashboard and case.reference in dashboard


def test_the_directory_page_lists_and_adds(client, office, caseworker, supervisor, organisation):
    client.force_login(caseworker)
    page = client.get(reverse("tip:organisations"))
    assert page.status_code == 200 and page.context["form"] is None
    assert "Casa Refugio Esperanza" in page.content.decode()
    client.force_login(supervisor)
    response = client.post(reverse("tip:organisations"), {
        "office": office.pk, "name": "Clínica Belmopán", "org_type": "HealthServiceOrganisation",
        "country": "BZ", "is_active": "on"})
    assert response.status_code == 302
    assert SupportOrganisation.objects.filter(name="Clínica Belmopán", office=office).exists()


def test_the_person_s_copy_holds_plan_services_and_referrals_the_risk_only_when_internal(
        tip, caseworker, supervisor, organisation):
    from tip import subject_export

    case = tip.at(States.ACTIVE)
    support.assess_risk(by=caseworker, case=case, data=_risk())
    support.add_service(by=caseworker, case=fresh(case), data=ServiceData(
        kind=ServiceKind.LEGAL, provider=organisation, outcome="Asesoría sobre su estatus."))
    support.refer(by=supervisor, case=fresh(case), data=_referral(organisation, override="Urgente."))

    sections, withheld = subject_export.sections(case.principal, internal=False)
    by_key = {s.key: s for s in sections}
    assert {"tip.plans", "tip.services", "tip.referrals"} <= set(by_key)
    assert "tip.risks" not in by_key and withheld
    assert by_key["tip.services"].records[0]["outcome"] == "Asesoría sobre su estatus."
    assert "override_reason" not in by_key["tip.referrals"].records[0]
    internal = {s.key: s for s in subject_export.sections(case.principal, internal=True)[0]}
    assert internal["tip.risks"].records[0]["individual_notes"].startswith("Amenazas")
    assert internal["tip.referrals"].records[0]["override_reason"] == "Urgente."


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_and_a_referral_at_once_never_refer_after_the_withdrawal(
        postgres, tip, caseworker, organisation):
    from tests.races import race

    case = tip.at(States.ACTIVE)
    person = case.principal
    consent.record(by=caseworker, person=person, purpose=ConsentPurpose.REFERRAL, given=True, language="es")
    results = race([
        lambda: support.refer(by=caseworker, case=fresh(case), data=_referral(organisation)),
        lambda: consent.record(by=caseworker, person=person, purpose=ConsentPurpose.REFERRAL,
                               given=False, language="es"),
    ], lambda holder: holder.execute("SELECT id FROM cases_person WHERE id = %s FOR UPDATE", [person.pk]))

    referred, withdrawn = results
    assert not isinstance(withdrawn, Exception), withdrawn
    if isinstance(referred, Exception):
        assert isinstance(referred, NoConsent)
        assert not Referral.objects.exists()
    else:
        assert referred.recorded_at <= withdrawn.recorded_at
    assert not consent.allows(person, ConsentPurpose.REFERRAL)
