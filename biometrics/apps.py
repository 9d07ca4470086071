from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BiometricsConfig(AppConfig):
    name = "biometrics"
    verbose_name = _("Biometrics")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from biometrics import actions, pages
        from biometrics import erasure as biometrics_erasure
        from biometrics import retention as biometrics_retention
        from biometrics import subject_export as biometrics_subject_export
        from cases import events, sections

        events.declare(actions.ACTIONS)
        biometrics_erasure.register()
        biometrics_retention.register()
        biometrics_subject_export.register()
        sections.register("person", "biometrics", pages.person_section)
        sections.register("case", "biometrics", pages.case_section)
        sections.register("duplicate", "biometrics", pages.duplicate_section)
