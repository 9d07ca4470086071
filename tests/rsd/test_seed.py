"""The asylum demo: cases moved along their procedure by the real services, safe to re-run."""

import itertools
from io import StringIO

import pytest
from django.core.management import call_command

from cases import workflow
from cases.models import Case, CaseKind, CaseStep
from rsd.models import Application, CoiSource, Decision

pytestmark = pytest.mark.django_db


def seed_asylum() -> str:
    out = StringIO()
    call_command("seed_asylum_demo", stdout=out)
    return out.getvalue()


def test_the_demo_cases_follow_their_procedures_and_a_second_run_adds_nothing():
    call_command("seed_demo", people=120, stdout=StringIO())

    first = seed_asylum()
    in_procedure = Case.objects.filter(kind=CaseKind.ASYLUM).exclude(procedure="")
    steps, decisions = CaseStep.objects.count(), Decision.objects.count()
    second = seed_asylum()

    assert "Asylum demo:" in first and "nothing added" in second
    assert (CaseStep.objects.count(), Decision.objects.count()) == (steps, decisions)
    assert in_procedure.count() >= 10
    assert len(set(in_procedure.values_list("state", flat=True))) >= 5
    assert CoiSource.objects.filter(is_active=True).values("office").distinct().count() == 4
    for case in in_procedure:
        wf = workflow.for_case(case)
        assert wf.name == {"BZ": "rsd.bz", "CR": "rsd.cr", "MX": "rsd.mx"}[case.office.country.code]
        assert case.state in wf.states
        chain = list(CaseStep.objects.filter(case=case).order_by("number"))
        assert [s.number for s in chain] == list(range(1, case.step_no + 1))
        assert all(a.target == b.source for a, b in itertools.pairwise(chain))
        assert chain[-1].target == case.state
        assert Application.objects.get(case=case).claim_summary  # sealed, and opens


def test_a_rerun_leaves_alone_the_cases_people_opened_or_assigned(person_data):
    from cases import services as case_services
    from cases.crypto.datakeys import key_scope
    from cases.models import Office, User

    call_command("seed_demo", people=60, stdout=StringIO())
    seed_asylum()
    office = Office.objects.get(code="MX-TAP")
    worker = User.objects.get(username="mx-tap-caseworker1")
    boss = User.objects.get(username="mx-tap-supervisor")
    with key_scope():
        # A caseworker registers someone and opens an asylum case, as in the browser.
        someone = case_services.register_person(by=worker, office=office, data=person_data())
        by_hand = case_services.open_case(by=worker, person=someone, kind=CaseKind.ASYLUM)
        # A supervisor assigns one of the demo's queue cases.
        queued = Case.objects.filter(office=office, kind=CaseKind.ASYLUM, state="open",
                                     assigned_to__isnull=True).order_by("reference").first()
        assert queued is not None
        case_services.assign_case(by=boss, case=queued, assignee=worker)
    touched = {by_hand.pk: by_hand.step_no, queued.pk: queued.step_no}

    call_command("seed_demo", people=120, stdout=StringIO())  # the demo grows
    second = seed_asylum()

    for case in Case.objects.filter(pk__in=touched):
        assert (case.state, case.procedure, case.step_no) == ("open", "", touched[case.pk])
    assert not CaseStep.objects.filter(case_id__in=touched).exists()
    # The demo's own new cases are still moved along.
    assert "Asylum demo:" in second and "nothing added" not in second
