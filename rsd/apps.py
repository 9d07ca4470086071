from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RsdConfig(AppConfig):
    name = "rsd"
    verbose_name = _("Asylum procedure")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rsd import procedures

        procedures.build()
