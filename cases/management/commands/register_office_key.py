from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import case_packages
from cases.crypto.packages import PublicBundle
from cases.models import User


class Command(BaseCommand):
    help = ("Register another installation's office key bundle (the JSON that its "
            "'office_key' prints), so that case packages can go to it and come from it. Check "
            "the printed fingerprint with the other office by phone.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--user", required=True, help="User name of an office administrator.")

    def handle(self, *args: Any, file: str, user: str, **opts: Any) -> None:
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"There is no active user named {user!r}.")
        try:
            bundle = PublicBundle.from_json(Path(file).read_bytes())
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        except ValueError as exc:
            raise CommandError(f"{file} is not an office key bundle: {exc}.") from None
        try:
            key, new = case_packages.register_partner_key(by=by, bundle=bundle)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        said = "Registered" if new else "Already registered"
        self.stdout.write(f"{said}: {key.office_code} ({key.name}, {key.country}), "
                          f"fingerprint {key.fingerprint}")
