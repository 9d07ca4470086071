"""The actions the statistics record (cases.events), with their labels."""

from django.utils.translation import gettext_lazy as _

ACTIONS = {
    "stats.export": _("Statistics exported"),
    "stats.unhcr_tables": _("UNHCR annual tables written"),
}
