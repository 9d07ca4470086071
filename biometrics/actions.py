"""The actions the biometrics app records (cases.events), with their labels."""

from django.utils.translation import gettext_lazy as _

ACTIONS = {
    "biometrics.enrol": _("Fingerprint enrolled"),
    "biometrics.refuse": _("Fingerprint capture refused"),
    "biometrics.photo": _("Face photo taken"),
    "biometrics.view_print": _("Fingerprint image viewed"),
    "biometrics.view_photo": _("Face photo viewed"),
    "biometrics.dedupe": _("Fingerprints searched for duplicates after an enrolment"),
    "biometrics.search": _("Fingerprint search among every enrolled person"),
    "biometrics.search_view": _("Fingerprint search results viewed"),
    "biometrics.verify": _("Identity verified by fingerprint"),
}
