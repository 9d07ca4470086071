"""The trafficking procedure's history tables, as sources of a case's timeline (cases/history.py).
The timeline shows that a perpetrator was recorded or changed, not who they are."""

from django.utils.translation import gettext_lazy as _

from cases import history
from tip.models import (
    Identification,
    ImportedReferral,
    Perpetrator,
    Referral,
    RegistrationScreen,
    RiskAssessment,
    Screening,
    SupportPlan,
    SupportService,
    TraffickingEvent,
    VictimProfile,
)


def register() -> None:
    for model, label in ((VictimProfile, _("victim profile")), (TraffickingEvent, _("trafficking event")),
                         (Perpetrator, _("perpetrator")), (Screening, _("screening")),
                         (Identification, _("identification decision")),
                         (RiskAssessment, _("risk assessment")), (SupportPlan, _("support plan")),
                         (SupportService, _("support service")), (Referral, _("referral")),
                         (RegistrationScreen, _("trafficking risk screen")),
                         (ImportedReferral, _("referral before the case came here"))):
        history.register(model, label=label, rows=history.of_case(model))
