"""The asylum procedure's history tables, as sources of a case's timeline (cases/history.py)."""

from django.utils.translation import gettext_lazy as _

from cases import history
from rsd.models import Appeal, Application, Decision, EligibilityAssessment, FamilyMember, Interview


def register() -> None:
    for model, label in ((Application, _("application")), (FamilyMember, _("family member")),
                         (Interview, _("interview")),
                         (EligibilityAssessment, _("eligibility assessment")),
                         (Decision, _("decision")), (Appeal, _("appeal"))):
        history.register(model, label=label, rows=history.of_case(model))
