from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404

from cases import case_packages, office_keys, regional, selectors
from cases.models import User


class Command(BaseCommand):
    help = ("Write a regional duplicate inquiry about a person for an office of another "
            "installation: keyed tokens only, no name, date or number; signed by the person's "
            "office.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("person_id")
        parser.add_argument("--to", required=True, dest="to_office")
        parser.add_argument("--user", required=True)
        parser.add_argument("--out", required=True)

    def handle(self, *args: Any, person_id: str, to_office: str, user: str, out: str,
               **opts: Any) -> None:
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"There is no active user named {user!r}.")
        try:
            person = selectors.get_person(by, person_id)
        except Http404:
            raise CommandError(f"No person {person_id} that {user} may see.") from None
        to = case_packages.partner(to_office)
        if to is None:
            raise CommandError(f"No key is registered for the office {to_office!r}.")
        try:
            data = regional.inquire(by=by, person=person, to=to)
        except (PermissionDenied, office_keys.NoOfficeKeys) as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        Path(out).write_bytes(data)
        self.stdout.write(f"Wrote the inquiry to {out}.")
