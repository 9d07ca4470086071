from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import case_packages
from cases.crypto.packages import PackageRefused
from cases.models import User


class Command(BaseCommand):
    help = ("Import a case package from an office of another installation: checks that it "
            "is for an office here, from a registered key and unchanged, then creates the "
            "person (or finds them) and the case. A package imported before creates nothing. "
            "Refused: a message, exit status 1 and nothing written.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--user", required=True,
                            help="User name of a caseworker or supervisor of the receiving office.")

    def handle(self, *args: Any, file: str, user: str, **opts: Any) -> None:
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"There is no active user named {user!r}.")
        try:
            size = Path(file).stat().st_size
            if size > case_packages.max_bytes():  # not read at all
                refused = case_packages.refused_for_size(by=by, size=size)
                raise CommandError(f"Refused: {case_packages.refusal_message(refused)}")
            data = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        try:
            received, new = case_packages.import_package(by=by, data=data)
        except PackageRefused as refused:
            raise CommandError(f"Refused: {case_packages.refusal_message(refused)}") from None
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError("Refused: " + " ".join(exc.messages)) from None
        said = "Imported as" if new else "Already imported as"
        documents = f", {received.case.documents.count()} documents" if new else ""
        self.stdout.write(f"{said} case {received.case.reference} (their reference "
                          f"{received.sender_reference}), package {received.package_id}"
                          f"{documents}")
