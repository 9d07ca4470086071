from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import office_keys, regional
from cases.models import User


class Command(BaseCommand):
    help = ("Answer a regional duplicate inquiry addressed to an office here: the signed answer "
            "says only 'possible match, ask office X' or 'no match'.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--user", required=True)
        parser.add_argument("--out", required=True)

    def handle(self, *args: Any, file: str, user: str, out: str, **opts: Any) -> None:
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"There is no active user named {user!r}.")
        try:
            data = regional.answer(by=by, data=Path(file).read_bytes())
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        except (regional.InquiryRefused, PermissionDenied, office_keys.NoOfficeKeys) as exc:
            raise CommandError(f"Refused: {exc}") from None
        Path(out).write_bytes(data)
        self.stdout.write(f"Wrote the answer to {out}.")
