from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TipConfig(AppConfig):
    name = "tip"
    verbose_name = _("Trafficking in persons")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cases import dashboard, events, sections, steps
        from tip import actions, procedures
        from tip import dashboard as tip_dashboard
        from tip import erasure as tip_erasure
        from tip import history as tip_history
        from tip import importing as tip_importing
        from tip import registration as tip_registration
        from tip import reminders as tip_reminders
        from tip import retention as tip_retention
        from tip import subject_export as tip_subject_export
        from tip.steps import PAGES

        procedures.build()
        steps.register_pages(procedures.STEP_URL, PAGES)
        dashboard.register(tip_dashboard.section)
        events.declare(actions.ACTIONS)
        tip_history.register()
        tip_erasure.register()
        tip_subject_export.register()
        tip_retention.register()
        tip_importing.register()
        sections.register("case", "tip_registration_screen", tip_registration.card)
        tip_reminders.register()
