from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from audit import actions, checks, receivers, roles  # noqa: F401  (system checks; signal receivers)
        from audit import dashboard as audit_dashboard
        from cases import dashboard, events

        events.declare(actions.ACTIONS)
        dashboard.register(audit_dashboard.section)
        post_migrate.connect(roles.regrant_after_migrate, sender=self)
