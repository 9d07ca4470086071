import base64
import fcntl
import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.crypto import keyring


def fingerprint(key: bytes) -> str:
    text = hashlib.sha256(b"amparo-regional-key\x00" + key).hexdigest()[:24].upper()
    return " ".join(text[i:i + 4] for i in range(0, 24, 4))


class Command(BaseCommand):
    help = ("The key the offices of a region share for the regional duplicate check. Without "
            "options, print its fingerprint (compare it with the other installations by phone). "
            "--create makes one, --export FILE writes it for the other installations (by a safe "
            "channel), --import FILE takes theirs. Then run 'regional_index'.")

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--create", action="store_true")
        group.add_argument("--export", metavar="FILE")
        group.add_argument("--import", dest="import_from", metavar="FILE")

    def _write(self, key: bytes) -> None:
        if os.environ.get("AMPARO_KEYS"):
            raise CommandError("The keys come from AMPARO_KEYS, which cannot be written: add "
                               "\"regional_key\" to it yourself.")
        path = keyring.key_file_path()
        with open(path.with_name(path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = keyring.read_key_data()
            held = data.get("regional_key")
            if held and base64.b64decode(held) != key:
                raise CommandError("The key file already holds another regional key; remove it "
                                   "from the file first if the region changed its key.")
            data["regional_key"] = base64.b64encode(key).decode()
            keyring.write_key_file(path, data)
        keyring.reset()

    def handle(self, *args: Any, create: bool = False, export: str | None = None,
               import_from: str | None = None, **opts: Any) -> None:
        held = keyring.provider(fresh=True).regional_key()
        if create:
            if held is not None:
                raise CommandError("A regional key is already in the key file.")
            self._write(secrets.token_bytes(32))
        elif import_from:
            try:
                key = base64.b64decode(Path(import_from).read_text().strip(), validate=True)
            except (OSError, ValueError) as exc:
                raise CommandError(f"Cannot read a regional key from {import_from}: {exc}") from None
            if len(key) != 32:
                raise CommandError("A regional key is 32 bytes, in base64.")
            self._write(key)
        elif export:
            if held is None:
                raise CommandError("There is no regional key to export: --create or --import one.")
            fd = os.open(export, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(base64.b64encode(held).decode() + "\n")
        now = keyring.provider(fresh=True).regional_key()
        if now is None:
            self.stdout.write("This installation holds no regional key.")
        else:
            self.stdout.write(f"Regional key fingerprint: {fingerprint(now)}")
