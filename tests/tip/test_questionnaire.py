"""An office's own screening questionnaire (tip.models.ScreeningQuestionnaire): the default
indicators minus those a system administrator left out for the office, in the administration
site, audited; the screening page and the service ask only the office's indicators."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from tests.tip.conftest import fresh, today
from tip import indicators, services
from tip.models import ScreeningQuestionnaire
from tip.names import States
from tip.vocab import Recommendation


def test_an_office_without_a_questionnaire_asks_every_indicator(office):
    assert indicators.for_office(office.pk) == indicators.DEFAULT


def test_the_system_administrator_leaves_indicators_out_for_one_office(client, system_admin, office,
                                                                        other_office, tip):
    client.force_login(system_admin)
    response = client.post(reverse("admin:tip_screeningquestionnaire_add"), {
        "office": office.pk, "omitted": ["forced_marriage", "child_exploited"]})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ScreeningQuestionnaire.objects.get().omitted == ["child_exploited", "forced_marriage"]
    asked = {i.code for i in indicators.for_office(office.pk)}
    assert "forced_marriage" not in asked and "deceived" in asked
    assert len(indicators.for_office(other_office.pk)) == len(indicators.DEFAULT)
    event = AuditEvent.objects.get(action="config.change")
    assert event.object_type == "tip.screeningquestionnaire"
    assert event.details["fields"] == ["office", "omitted"]

    # The screening page of a case of the office asks the office's indicators only.
    case = tip.at(States.OPEN)
    services.record_profile(by=tip.caseworker, case=fresh(case),
                            data=services.ProfileData(exploitation_types=["ForcedLabour"]))
    client.force_login(tip.caseworker)
    page = client.get(reverse("tip:step", args=[case.pk, "screen"])).content.decode()
    assert 'value="deceived"' in page and 'value="forced_marriage"' not in page
    # The service refuses an indicator the office does not ask, and moves nothing.
    with pytest.raises(ValidationError):
        services.screen(by=tip.caseworker, case=fresh(case), present={"forced_marriage"}, notes="",
                        screened_on=today())
    assert fresh(case).state == States.SCREENING
    made = services.screen(by=tip.caseworker, case=fresh(case), present={"not_free_to_leave"},
                           notes="", screened_on=today())
    assert made.recommendation == Recommendation.LIKELY


def test_at_least_one_indicator_is_kept_and_other_roles_never_reach_it(client, system_admin, supervisor,
                                                                       office):
    client.force_login(system_admin)
    response = client.post(reverse("admin:tip_screeningquestionnaire_add"), {
        "office": office.pk, "omitted": [i.code for i in indicators.DEFAULT]})
    assert response.status_code == 200 and not ScreeningQuestionnaire.objects.exists()
    client.force_login(supervisor)
    response = client.post(reverse("admin:tip_screeningquestionnaire_add"), {
        "office": office.pk, "omitted": ["debt"]})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not ScreeningQuestionnaire.objects.exists()
