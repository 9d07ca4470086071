import os
from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Compile the translation catalogues (.po to .mo) without GNU gettext."
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **opts: Any) -> None:
        count = 0
        for root in settings.LOCALE_PATHS:
            for po_path in Path(root).glob("*/LC_MESSAGES/*.po"):
                try:
                    catalogue = polib.pofile(str(po_path))
                except (OSError, ValueError) as exc:
                    raise CommandError(f"{po_path}: {exc}") from exc
                # Written beside, then renamed: a process reading the catalogue (a server,
                # a test run started at the same time) never sees half a file.
                mo_path = po_path.with_suffix(".mo")
                partial = mo_path.with_name(f".{mo_path.name}.{os.getpid()}")
                catalogue.save_as_mofile(str(partial))
                os.replace(partial, mo_path)
                count += 1
        self.stdout.write(f"Compiled {count} catalogue(s).")
