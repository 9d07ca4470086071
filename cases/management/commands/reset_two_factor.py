from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import services
from cases.models import User


class Command(BaseCommand):
    help = ("Remove a user's second factors (a lost phone, for an account no office administrator "
            "may reset, such as a superuser's) and give it a new temporary password, printed "
            "once: reset_two_factor USERNAME. Check who is asking first (README, 'A lost "
            "phone').")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--identity-check", required=True, choices=sorted(services.IDENTITY_CHECKS),
                            help="How you made sure the person asking is the account's owner: "
                            "in_person, or call_back (to a number you already had).")

    def handle(self, *args: Any, username: str, identity_check: str, **opts: Any) -> None:
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None
        password = services.reset_two_factor(by=None, user=user, identity_check=identity_check,
                                             via="command")
        if password is None:
            self.stdout.write(f"{username} has no two-factor authentication to reset.")
            return
        self.stdout.write(self.style.SUCCESS(
            f"{username}: two-factor authentication reset and their sessions ended. Temporary "
            f"password, to hand over in person or read out on the call-back (shown only now):"))
        self.stdout.write(password)
        self.stdout.write(
            "It must be replaced at the next login, where they also set up a new second factor.")
