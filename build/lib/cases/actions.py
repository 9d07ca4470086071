"""The actions `cases` records (cases.events): each name once, with its label."""

from django.utils.translation import gettext_lazy as _

ACTIONS = {
    "person.register": _("Person registered"),
    "person.update": _("Person's record changed"),
    "person.add_document": _("Identity document added"),
    "person.erase": _("Person's record erased"),
    "person.view": _("Person's record viewed"),
    "person.search": _("People searched"),
    "person.list": _("List of people viewed"),
    "case.open": _("Case opened"),
    "case.assign": _("Case assigned"),
    "case.take": _("Case taken from the queue"),
    "case.share": _("Access to a case granted"),
    "case.unshare": _("Access to a case withdrawn"),
    "case.transition": _("Procedure step taken"),
    "case.view": _("Case viewed"),
    "case.list": _("List of cases viewed"),
    "note.add": _("Note added"),
    "document.add": _("Document added"),
    "document.download": _("Document downloaded"),
    "membership.grant": _("Role granted"),
    "membership.revoke": _("Role withdrawn"),
    "staff.create": _("Staff account created"),
    "import.queue": _("Import queued"),
    "import.finish": _("Import finished"),
    "import.abandon": _("Import abandoned"),
    "key.rotate": _("Encryption keys rotated"),
}
