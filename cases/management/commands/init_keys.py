import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.crypto import keyring


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Create the key file (development), or add a new active KEK to it before rotate_kek."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--new-kek", action="store_true",
                            help="Add a new KEK and make it the active one (old ones are kept).")
        parser.add_argument("--new-index-key", action="store_true",
                            help="Add a new search index key generation and make it the active "
                            "one; then run 'manage.py reindex_people'.")
        parser.add_argument("--retire-index-keys", action="store_true",
                            help="Remove the index key generations a finished re-index left unused.")

    def handle(self, *args: Any, new_kek: bool = False, new_index_key: bool = False,
               retire_index_keys: bool = False, **opts: Any) -> None:
        if os.environ.get("AMPARO_KEYS"):
            raise CommandError("AMPARO_KEYS is set: the keys come from the environment, not from "
                               "a file. Change AMPARO_KEYS itself, or unset it to use the key file.")
        path = keyring.key_file_path()
        if not path.exists():
            if new_kek or new_index_key or retire_index_keys:
                raise CommandError(f"{path} does not exist; run init_keys without --new-kek first.")
            keyring.write_key_file(path, keyring.new_key_file_data())
            self.stdout.write(self.style.SUCCESS(f"Created key file {path}. Back it up: "
                                                 "without it no data can be read."))
            keyring.reset()
            return
        if new_index_key or retire_index_keys:
            self._index_keys(path, new=new_index_key)
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

    def _index_keys(self, path: Path, *, new: bool) -> None:
        from cases import events
        from cases.crypto import blind
        from cases.models import IndexRebuild, PersonIndex

        data = keyring.read_key_data()
        if new:
            generation = keyring.add_index_generation(data, blind.planned_bits())
            keyring.write_key_file(path, data)
            keyring.reset()
            events.emit("key.new_index_key", generation=generation, via="command")
            self.stdout.write(self.style.SUCCESS(
                f"Added index key generation {generation} as the active one. New entries use it "
                "now; run 'manage.py reindex_people' to re-index everyone."))
            return
        active = int(data.get("active_index", 1))
        if len(data.get("index_keys", {})) <= 1:
            self.stdout.write(f"Only index key generation {active} is held; nothing to retire.")
            return
        if (not IndexRebuild.objects.filter(generation=active, finished_at__isnull=False).exists()
                or PersonIndex.objects.exclude(generation=active).exists()):
            raise CommandError(f"The re-index with generation {active} has not finished: run "
                               "'manage.py reindex_people' first; searches still need the old keys.")
        retired = keyring.retire_index_generations(data)
        keyring.write_key_file(path, data)
        keyring.reset()
        events.emit("key.retire_index_keys", generation=active, retired=retired, via="command")
        self.stdout.write(self.style.SUCCESS(
            f"Retired index key generations {retired or 'none'}; {active} stays."))
