from typing import Any

from django.core.management.base import BaseCommand

from audit import signing


class Command(BaseCommand):
    help = "Create the audit checkpoint signing key (Ed25519) if it does not exist."
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **opts: Any) -> None:
        path = signing.key_path()
        if path.exists():
            self.stdout.write(f"Audit signing key {path} exists; nothing to do.")
            return
        signing.create_key(path)
        self.stdout.write(self.style.SUCCESS(
            f"Created the audit signing key {path}. Back it up apart from the database and "
            "from the data key file: without it, checkpoints cannot be verified."))
