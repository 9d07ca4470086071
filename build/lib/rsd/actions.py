"""The actions the asylum procedure records (cases.events), with their labels."""

from django.utils.translation import gettext_lazy as _

ACTIONS = {
    "rsd.application.update": _("Application corrected"),
    "rsd.family_member.add": _("Family member added to the claim"),
    "rsd.assessment.save": _("Eligibility assessment saved"),
    "rsd.letter.print": _("Decision letter printed"),
    "rsd.coi.add": _("Country information source added"),
    "rsd.coi.retire": _("Country information source retired"),
    "rsd.coi.download": _("Country information source downloaded"),
}
