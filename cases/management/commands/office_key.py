from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import office_keys
from cases.models import Office


class Command(BaseCommand):
    help = ("Print an office's public key bundle for case packages (its signing and "
            "encryption keys, with the fingerprint to read out over the phone), as JSON. "
            "The keys are made the first time and kept in the key file beside the KEKs.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("office_code")

    def handle(self, *args: Any, office_code: str, **opts: Any) -> None:
        office = Office.objects.filter(code=office_code).first()
        if office is None:
            raise CommandError(f"No office with the code {office_code!r}.")
        try:
            bundle = office_keys.bundle(office, create=True)
        except office_keys.NoOfficeKeys as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(bundle.to_json())
        self.stderr.write(f"Fingerprint of {office.code}: {bundle.fingerprint}")
