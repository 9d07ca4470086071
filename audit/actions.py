"""The actions the audit app records itself (logins, the auditor's own reads)."""

from django.utils.translation import gettext_lazy as _

ACTIONS = {
    "auth.login": _("Logged in"),
    "auth.logout": _("Logged out"),
    "auth.login_failed": _("Failed login"),
    "auth.lockout": _("Login refused: account locked"),
    "audit.search": _("Audit log searched"),
    "audit.export": _("Audit log exported"),
    "audit.timeline": _("Case timeline viewed"),
    "audit.key_rotated": _("Audit signing key rotated"),
}
