"""The asylum procedure's history tables, as sources of a case's timeline (cases/history.py)."""

from django.utils.translation import gettext_lazy as _

from cases import history
from rsd.models import Appeal, Application, Decision, EligibilityAssessment, FamilyMember, Interview


def register() -> None:
    history.register(Application, label=_("application"),
                     rows=lambda case: Application.history.filter(case_id=case.pk))
    history.register(FamilyMember, label=_("family member"),
                     rows=lambda case: FamilyMember.history.filter(case_id=case.pk))
    history.register(Interview, label=_("interview"),
                     rows=lambda case: Interview.history.filter(case_id=case.pk))
    history.register(EligibilityAssessment, label=_("eligibility assessment"),
                     rows=lambda case: EligibilityAssessment.history.filter(case_id=case.pk))
    history.register(Decision, label=_("decision"),
                     rows=lambda case: Decision.history.filter(case_id=case.pk))
    history.register(Appeal, label=_("appeal"),
                     rows=lambda case: Appeal.history.filter(case_id=case.pk))
