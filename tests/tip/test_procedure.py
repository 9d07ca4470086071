"""The trafficking procedure (tip/procedures.py): screening, identification by a second
person, support, closure with a reason and reopening; its pages."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cases import workflow
from cases.models import CaseStep, Role
from tests.tip.conftest import fresh, profile_data, today
from tip import indicators, services
from tip.models import Identification, Screening, VictimProfile
from tip.names import States, Steps
from tip.procedures import identifying_body
from tip.services import IdentificationData
from tip.vocab import Recommendation, TraffickingStatus

pytestmark = pytest.mark.usefixtures("file_root")


def _identification(**overrides) -> IdentificationData:
    values = dict(status=TraffickingStatus.ACTUAL, decided_on=today(), reasons="Resolución del Consejo.")
    values.update(overrides)
    return IdentificationData(**values)


def test_a_case_goes_from_profile_to_screening_to_identification(tip):
    case = tip.open()
    assert workflow.for_case(case).name == "tip"
    assert [t.name for t in workflow.available(case, tip.caseworker)] == [Steps.RECORD_PROFILE, Steps.CLOSE]

    services.record_profile(by=tip.caseworker, case=case, data=profile_data())
    screening = services.screen(by=tip.caseworker, case=fresh(case), present={"not_free_to_leave"},
                                notes="", screened_on=today())
    case = fresh(case)
    assert case.state == States.IDENTIFICATION
    assert screening.recommendation == Recommendation.LIKELY

    ident = services.identify(by=tip.supervisor, case=case, data=_identification())

    case = fresh(case)
    assert case.state == States.ACTIVE
    # Belize: the Anti-Trafficking in Persons Council decides.
    assert ident.deciding_body == "Anti-Trafficking in Persons (ATIPs) Council"
    assert VictimProfile.objects.get(case=case).trafficking_status == TraffickingStatus.ACTUAL
    step = CaseStep.objects.get(case=case, transition=Steps.IDENTIFY)
    assert step.details == {"identification": str(ident.pk), "status": TraffickingStatus.ACTUAL}


@pytest.mark.parametrize(("present", "expected"), [
    (set(), Recommendation.UNLIKELY),
    ({"debt"}, Recommendation.POSSIBLE),
    ({"debt", "threats", "isolated"}, Recommendation.POSSIBLE),
    ({"debt", "threats", "isolated", "unpaid"}, Recommendation.LIKELY),
    ({"forced_sex"}, Recommendation.LIKELY),
    ({"child_exploited"}, Recommendation.LIKELY),
])
def test_the_indicators_yield_a_recommendation(present, expected):
    assert indicators.recommend(present) == expected


def test_an_unknown_indicator_is_refused_and_nothing_moves(tip):
    case = tip.at(States.SCREENING)
    with pytest.raises(ValidationError) as refused:
        services.screen(by=tip.caseworker, case=case, present={"debt", "made_up"}, notes="",
                        screened_on=today())
    assert "present" in refused.value.error_dict
    assert fresh(case).state == States.SCREENING
    assert not Screening.objects.filter(case=case).exists()


def test_whoever_screened_may_not_record_the_identification(tip, make_user, office):
    # A supervisor who screened the case themselves.
    case = tip.at(States.SCREENING)
    services.screen(by=tip.supervisor, case=case, present={"debt"}, notes="", screened_on=today())

    with pytest.raises(PermissionDenied, match="four-eyes"):
        services.identify(by=tip.supervisor, case=fresh(case), data=_identification())
    assert fresh(case).state == States.IDENTIFICATION
    assert not Identification.objects.filter(case=case).exists()
    assert Steps.IDENTIFY not in [t.name for t in workflow.available(fresh(case), tip.supervisor)]

    second = make_user(Role.SUPERVISOR, office)
    services.identify(by=second, case=fresh(case), data=_identification())
    assert fresh(case).state == States.ACTIVE


def test_a_supervisor_who_screened_before_a_return_still_may_not_identify(tip, make_user, office):
    case = tip.at(States.SCREENING)
    services.screen(by=tip.supervisor, case=case, present={"debt"}, notes="", screened_on=today())
    second = make_user(Role.SUPERVISOR, office)
    services.take_step(by=second, case=fresh(case), name=Steps.RETURN_SCREENING,
                       reason="Falta información sobre el reclutamiento.")
    services.screen(by=tip.caseworker, case=fresh(case), present={"debt", "threats"}, notes="",
                    screened_on=today())

    with pytest.raises(PermissionDenied):
        services.identify(by=tip.supervisor, case=fresh(case), data=_identification())


def test_a_caseworker_may_not_record_the_identification(tip):
    case = tip.at(States.IDENTIFICATION)
    with pytest.raises(PermissionDenied):
        services.identify(by=tip.caseworker, case=case, data=_identification())


def test_the_identification_needs_reasons_and_a_decision(tip):
    case = tip.at(States.IDENTIFICATION)
    with pytest.raises(ValidationError) as refused:
        services.identify(by=tip.supervisor, case=case, data=_identification(status="Maybe", reasons=" "))
    assert set(refused.value.error_dict) == {"status", "reasons"}


def test_support_follow_up_closure_with_a_reason_and_reopening(tip):
    case = tip.at(States.FOLLOW_UP)

    with pytest.raises(ValidationError):
        services.take_step(by=tip.caseworker, case=case, name=Steps.CLOSE, reason="Cierre.", ground="")
    with pytest.raises(ValidationError):
        services.take_step(by=tip.caseworker, case=case, name=Steps.CLOSE, ground="ObjectivesMet", reason="")
    services.take_step(by=tip.caseworker, case=case, name=Steps.CLOSE_REFERRED, ground="Referred",
                       reason="Referida al albergue de la OIM.")
    case = fresh(case)
    assert case.state == States.CLOSED_REFERRED and case.closed_at
    assert CaseStep.objects.get(case=case, transition=Steps.CLOSE_REFERRED).details == {"ground": "Referred"}

    with pytest.raises(PermissionDenied):
        services.take_step(by=tip.caseworker, case=case, name=Steps.REOPEN, reason="Volvió.")
    services.take_step(by=tip.supervisor, case=case, name=Steps.REOPEN, reason="Volvió a la oficina.")
    case = fresh(case)
    assert case.state == States.ACTIVE and case.closed_at is None


def test_a_case_closed_before_its_identification_is_reopened_for_screening(tip):
    case = tip.at(States.SCREENING)
    services.take_step(by=tip.caseworker, case=case, name=Steps.CLOSE, ground="LostContact",
                       reason="No volvió a presentarse.")
    case = fresh(case)
    assert [t.name for t in workflow.available(case, tip.supervisor)] == [Steps.REOPEN_FOR_SCREENING]
    with pytest.raises(ValidationError):
        services.take_step(by=tip.supervisor, case=case, name=Steps.REOPEN, reason="Volvió.")

    services.take_step(by=tip.supervisor, case=case, name=Steps.REOPEN_FOR_SCREENING, reason="Volvió.")
    assert fresh(case).state == States.SCREENING


def test_the_identifying_body_is_configurable_per_country(settings):
    assert str(identifying_body("GT").name) == "The authority that identifies victims of trafficking"
    settings.AMPARO_TIP_IDENTIFYING_BODIES = {"GT": "Secretaría contra la Violencia Sexual, "
                                                    "Explotación y Trata de Personas (SVET)"}
    assert identifying_body("GT").name.startswith("Secretaría contra la Violencia Sexual")
    assert "ATIPs" in str(identifying_body("BZ").name)


def test_the_asylum_services_and_pages_refuse_a_trafficking_case_and_the_reverse(tip, client, case):
    trafficking = tip.open()
    with pytest.raises(ValidationError):
        services.record_profile(by=tip.caseworker, case=case, data=profile_data())
    client.force_login(tip.caseworker)
    assert client.get(reverse("tip:step", args=[case.pk, Steps.RECORD_PROFILE])).status_code == 404
    assert client.get(reverse("rsd:step", args=[trafficking.pk, "register"])).status_code == 404


# --- Pages -------------------------------------------------------------------------------

def _post(client, case, name, data):
    return client.post(reverse("tip:step", args=[case.pk, name]),
                       {"expected_step": fresh(case).step_no, **data})


def test_screening_and_identification_through_the_pages(tip, client, make_user, office):
    case = tip.at(States.SCREENING)
    client.force_login(tip.caseworker)
    page = client.get(reverse("tip:step", args=[case.pk, Steps.SCREEN]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Forced labour" in html and 'value="documents_withheld"' in html

    response = _post(client, case, Steps.SCREEN, {
        "screened_on": today().isoformat(), "indicators_general": ["debt", "threats"],
        "indicators_ForcedLabour": ["unpaid"], "notes": "Entrevista en el albergue."})
    assert response.status_code == 302
    screening = Screening.objects.get(case=case)
    assert sorted(screening.present) == ["debt", "threats", "unpaid"]
    assert screening.recommendation == Recommendation.POSSIBLE

    # The supervisor who did not screen records the decision; the page names the Council.
    client.force_login(tip.supervisor)
    page = client.get(reverse("tip:step", args=[case.pk, Steps.IDENTIFY]))
    assert "Anti-Trafficking in Persons (ATIPs) Council" in page.content.decode()
    half = _post(client, case, Steps.IDENTIFY, {"decided_on": today().isoformat(), "reasons": ""})
    assert half.status_code == 400 and fresh(case).state == States.IDENTIFICATION
    done = _post(client, case, Steps.IDENTIFY, {"status": TraffickingStatus.ACTUAL,
                                                "decided_on": today().isoformat(),
                                                "reasons": "Resolución del Consejo."})
    assert done.status_code == 302 and fresh(case).state == States.ACTIVE

    detail = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert 'id="tip-panel"' in detail and "Identified victim of trafficking" in detail


def test_the_screener_is_refused_the_identification_page(tip, client, office):
    case = tip.at(States.SCREENING)
    services.screen(by=tip.supervisor, case=case, present=set(), notes="", screened_on=today())
    client.force_login(tip.supervisor)

    response = _post(client, case, Steps.IDENTIFY, {"status": TraffickingStatus.ACTUAL,
                                                    "decided_on": today().isoformat(),
                                                    "reasons": "Intento."})
    assert response.status_code == 403
    assert fresh(case).state == States.IDENTIFICATION


def test_another_office_gets_404_on_every_page(tip, client, other_supervisor, other_caseworker):
    case = tip.at(States.ACTIVE)
    for user in (other_supervisor, other_caseworker):
        client.force_login(user)
        for url in (reverse("tip:step", args=[case.pk, Steps.START_FOLLOW_UP]),
                    reverse("tip:profile_edit", args=[case.pk]),
                    reverse("tip:event_add", args=[case.pk]),
                    reverse("tip:perpetrator_add", args=[case.pk]),
                    reverse("case_detail", args=[case.pk])):
            assert client.get(url).status_code == 404, url
            assert client.post(url, {"role": "Exploiter", "name": "X"}).status_code == 404, url
    assert fresh(case).state == States.ACTIVE


def test_the_dashboards_list_cases_awaiting_screening_and_identification(tip, client, caseworker2):
    waiting_screening = tip.at(States.SCREENING)
    waiting_decision = tip.at(States.IDENTIFICATION)

    client.force_login(tip.caseworker)
    mine = client.get(reverse("dashboard")).content.decode()
    client.force_login(tip.supervisor)
    supervised = client.get(reverse("dashboard")).content.decode()
    client.force_login(caseworker2)
    colleague = client.get(reverse("dashboard")).content.decode()

    assert waiting_screening.reference in mine.split('id="tip-screening"')[1]
    assert 'id="tip-identification"' not in mine
    part = supervised.split('id="tip-identification"')[1]
    assert waiting_decision.reference in part and waiting_screening.reference not in part
    assert waiting_screening.reference not in colleague
