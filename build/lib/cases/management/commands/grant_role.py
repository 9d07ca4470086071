from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import services
from cases.models import Office, Role, User


class Command(BaseCommand):
    help = ("Give a user a role in an office, e.g. the first office administrator: "
            "grant_role USERNAME OFFICE_CODE office_admin.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("office_code")
        parser.add_argument("role", choices=Role.values)

    def handle(self, *args: Any, username: str, office_code: str, role: str, **opts: Any) -> None:
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user {username!r}. Create it first (createsuperuser or the "
                               "admin).") from None
        try:
            office = Office.objects.get(code=office_code)
        except Office.DoesNotExist:
            raise CommandError(f"No office {office_code!r}. Create it in the admin first.") from None
        services.grant_membership(by=None, user=user, office=office, role=role)
        self.stdout.write(self.style.SUCCESS(f"{username} is now {role} of {office_code}."))
