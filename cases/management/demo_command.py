"""The base of every command that writes demo data (seed_demo and the seed_*_demo commands).

Demo data comes with logins whose password is in the source, so these commands run only where
the settings allow them (`AMPARO_DEMO_COMMANDS`: settings.dev and settings.test, never
settings.prod). They refuse before they open the database (docs/architecture.md#demo-commands).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _


class DemoCommand(BaseCommand):
    """A management command that loads demo data; refuses unless AMPARO_DEMO_COMMANDS is on."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        if not getattr(settings, "AMPARO_DEMO_COMMANDS", False):
            raise CommandError(_(
                "%(command)s loads demo data with logins whose password is published, and these "
                "settings (%(settings)s) do not allow demo commands. Run it only on a demonstration "
                "or development installation (settings.dev), never on a server with real records."
            ) % {"command": self._name(), "settings": settings.SETTINGS_MODULE})
        return super().execute(*args, **options)

    def _name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]
