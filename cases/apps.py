from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _create_role_groups(sender: object, using: str = "default", **kwargs: object) -> None:
    from cases.services import ensure_role_groups

    # On the database migrate ran on (the owner's alias under `migrate --database owner`).
    ensure_role_groups(using=using)


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cases import (
            actions,
            checks,  # noqa: F401  (registers the system checks)
            configuration,
            dashboard,
            events,
            history,
            lockout,
            login_places,
            middleware,
            notifications,  # noqa: F401  (connects its receiver to cases.events.recorded)
            sessions,
            two_factor,
        )
        from cases.crypto import datakeys
        from cases.keystore import ModelKeyStore

        datakeys.use_store(ModelKeyStore())

        events.declare(actions.ACTIONS)
        history.register_cases()
        configuration.connect()
        dashboard.register(configuration.dashboard_section)
        post_migrate.connect(_create_role_groups, sender=self)
        user_logged_in.connect(middleware.session_opened, dispatch_uid="amparo-session-opened")
        # After session_opened: the session's clocks are set when its row is saved.
        user_logged_in.connect(sessions.logged_in, dispatch_uid="amparo-sessions-logged-in")
        user_logged_in.connect(lockout.logged_in, dispatch_uid="cases.lockout.logged_in")
        user_logged_in.connect(login_places.logged_in, dispatch_uid="cases.login_places.logged_in")
        two_factor.connect()
