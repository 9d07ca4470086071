import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.crypto import keyring


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Create the key file (development), or add a new active KEK to it before rotate_kek."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--new-kek", action="store_true",
                            help="Add a new KEK and make it the active one (old ones are kept).")

    def handle(self, *args: Any, new_kek: bool = False, **opts: Any) -> None:
        if os.environ.get("AMPARO_KEYS"):
            raise CommandError("AMPARO_KEYS is set: the keys come from the environment, not from "
                               "a file. Change AMPARO_KEYS itself, or unset it to use the key file.")
        path = keyring.key_file_path()
        if not path.exists():
            if new_kek:
                raise CommandError(f"{path} does not exist; run init_keys without --new-kek first.")
            keyring.write_key_file(path, keyring.new_key_file_data())
            self.stdout.write(self.style.SUCCESS(f"Created key file {path}. Back it up: "
                                                 "without it no data can be read."))
            keyring.reset()
            return
        if not new_kek:
            self.stdout.write(f"Key file {path} exists; nothing to do.")
            return
        data = keyring.read_key_data()
        kek_id = keyring.add_active_kek(data)
        keyring.write_key_file(path, data)
        keyring.reset()
        self.stdout.write(self.style.SUCCESS(
            f"Added KEK {kek_id} as the active KEK. Now run 'manage.py rotate_kek'."))
