from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RsdConfig(AppConfig):
    name = "rsd"
    verbose_name = _("Asylum procedure")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cases import dashboard, events, listing, steps
        from rsd import actions, procedures
        from rsd import dashboard as rsd_dashboard
        from rsd import erasure as rsd_erasure
        from rsd import history as rsd_history
        from rsd import retention as rsd_retention
        from rsd import selectors as rsd_selectors
        from rsd import subject_export as rsd_subject_export
        from rsd.steps import PAGES

        procedures.build()
        steps.register_pages(procedures.STEP_URL, PAGES)
        dashboard.register(rsd_dashboard.section)
        events.declare(actions.ACTIONS)
        rsd_history.register()
        listing.register_flag(rsd_selectors.PRIORITY)
        rsd_erasure.register()
        rsd_subject_export.register()
        rsd_retention.register()
