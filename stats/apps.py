from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    name = "stats"
    verbose_name = _("Statistics")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cases import dashboard, events
        from stats import actions, facts
        from stats import dashboard as stats_dashboard

        events.declare(actions.ACTIONS)
        dashboard.register(stats_dashboard.section)
        facts.connect()
