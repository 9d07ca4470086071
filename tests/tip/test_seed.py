"""The trafficking demo: cases moved along the procedure by the real services, safe to re-run."""

import itertools
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from cases import services as case_services
from cases.crypto.datakeys import key_scope
from cases.models import Case, CaseKind, CaseStep, Consent, ConsentPurpose, Office, User
from tip.models import (
    Perpetrator,
    Referral,
    RegistrationScreen,
    RiskAssessment,
    SupportOrganisation,
    SupportPlan,
    SupportService,
    TraffickingEvent,
    VictimProfile,
)
from tip.names import States

pytestmark = pytest.mark.django_db


def seed_tip() -> str:
    out = StringIO()
    call_command("seed_tip_demo", stdout=out)
    return out.getvalue()


def test_the_demo_has_a_case_in_every_state_and_a_second_run_adds_nothing():
    call_command("seed_demo", people=160, stdout=StringIO())
    call_command("seed_asylum_demo", stdout=StringIO())

    first = seed_tip()
    in_procedure = Case.objects.filter(kind=CaseKind.TRAFFICKING).exclude(procedure="")
    support = (RiskAssessment, SupportPlan, SupportService, SupportOrganisation, Referral)
    counts = (CaseStep.objects.count(), Perpetrator.objects.count(), TraffickingEvent.objects.count(),
              *(m.objects.count() for m in support))
    screens = RegistrationScreen.objects.count()
    second = seed_tip()
    second_screens = RegistrationScreen.objects.count()
    assert second_screens == screens

    assert "Trafficking demo:" in first and "nothing added" in second
    assert (CaseStep.objects.count(), Perpetrator.objects.count(),
            TraffickingEvent.objects.count(), *(m.objects.count() for m in support)) == counts
    in_support = in_procedure.filter(state__in=(States.ACTIVE, States.FOLLOW_UP))
    assert in_support.exists()
    assert SupportPlan.objects.count() == in_support.count() == Referral.objects.count()
    overdue = SupportService.objects.filter(planned_end__lt=timezone.localdate(),
                                            status__in=("planned", "in_progress"))
    assert set(overdue.values_list("case_id", flat=True)) == set(in_support.values_list("pk", flat=True))
    assert not Referral.objects.filter(without_consent=True).exists()
    # Victims allow anonymised statistics, but those waiting for their screening declined;
    # a second run asks nobody again.
    answers = {c.person_id: c.given for c in Consent.objects.filter(
        purpose=ConsentPurpose.STATISTICS, person__participations__case__in=in_procedure)}
    assert answers == {c.principal_id: c.state != States.SCREENING for c in in_procedure}
    assert Consent.objects.filter(purpose=ConsentPurpose.STATISTICS).count() == len(answers)
    # An asylum case per office screened at registration and referred, with consent.
    screens = RegistrationScreen.objects.select_related("case", "referred_case")
    assert screens.exists() and screens.count() == second_screens
    for screen in screens:
        assert screen.case.kind == CaseKind.ASYLUM and screen.suggested
        assert screen.referred_case.principal_id == screen.case.principal_id
        assert screen.referred_case.kind == CaseKind.TRAFFICKING
    assert set(in_procedure.values_list("state", flat=True)) == {s.value for s in States} - {"open"}
    for case in in_procedure:
        chain = list(CaseStep.objects.filter(case=case).order_by("number"))
        assert [s.number for s in chain] == list(range(1, case.step_no + 1))
        assert all(a.target == b.source for a, b in itertools.pairwise(chain))
        assert chain[-1].target == case.state
        assert VictimProfile.objects.get(case=case).narrative  # sealed, and opens
        assert Perpetrator.objects.filter(case=case).count() == 2


def test_a_rerun_leaves_alone_a_case_someone_moved(person_data):
    call_command("seed_demo", people=80, stdout=StringIO())
    office = Office.objects.get(code="BZ-BMP")
    worker = User.objects.get(username="bz-bmp-caseworker1")
    with key_scope():
        someone = case_services.register_person(by=worker, office=office, data=person_data())
        by_hand = case_services.open_case(by=worker, person=someone, kind=CaseKind.TRAFFICKING)
    seed_tip()

    by_hand.refresh_from_db()
    assert (by_hand.state, by_hand.procedure, by_hand.step_no) == ("open", "", 0)
    assert not VictimProfile.objects.filter(case=by_hand).exists()
