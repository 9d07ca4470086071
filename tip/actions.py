"""The actions the trafficking procedure records (cases.events), with their labels."""

from django.utils.translation import gettext_lazy as _

ACTIONS = {
    "tip.profile.update": _("Victim profile corrected"),
    "tip.profile.import": _("Victim profile imported from an HTCDS file"),
    "tip.event.add": _("Trafficking event recorded"),
    "tip.perpetrator.add": _("Perpetrator recorded"),
    "tip.export_ctdc": _("Trafficking statistics exported in the CTDC format"),
    "tip.risk.assess": _("Risk assessed"),
    "tip.plan.save": _("Support plan saved"),
    "tip.service.add": _("Support service added"),
    "tip.service.update": _("Support service updated"),
    "tip.organisation.add": _("Organisation added to the directory"),
    "tip.organisation.update": _("Organisation of the directory changed"),
    "tip.referral.add": _("Case referred to an organisation"),
    "tip.referral.update": _("Referral status changed"),
    "tip.referral.import": _("Referral made before the case came here, imported from an HTCDS file"),
    "tip.registration_screen": _("Trafficking risk screen at asylum registration"),
}
