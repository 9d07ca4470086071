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
