from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import regional
from cases.models import User


class Command(BaseCommand):
    help = "Read the answer to a regional duplicate inquiry sent from here, and record it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--user", required=True)

    def handle(self, *args: Any, file: str, user: str, **opts: Any) -> None:
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"There is no active user named {user!r}.")
        try:
            sent = regional.read_answer(by=by, data=Path(file).read_bytes())
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        except (regional.InquiryRefused, PermissionDenied) as exc:
            raise CommandError(f"Refused: {exc}") from None
        if sent.result == regional.POSSIBLE:
            self.stdout.write(f"Possible match: ask {sent.ask_office} about inquiry {sent.inquiry} "
                              "(a formal request follows, with the person's consent).")
        else:
            self.stdout.write(f"No match for inquiry {sent.inquiry}.")
