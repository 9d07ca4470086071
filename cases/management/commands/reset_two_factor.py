from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from cases import events, sessions, two_factor
from cases.models import User


class Command(BaseCommand):
    help = ("Remove a user's authenticator app and backup codes (a lost phone, for an account no "
            "office administrator may reset, such as a superuser's): reset_two_factor USERNAME.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **opts: Any) -> None:
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None
        with transaction.atomic():  # recorded, or not done
            removed = two_factor.remove_devices(user)
            if removed:
                events.emit("two_factor.reset", obj=user, devices=removed, via="command")
                sessions.end_all_sessions(by=None, user=user, reason=sessions.TWO_FACTOR)
        self.stdout.write(self.style.SUCCESS(
            f"{username}: two-factor authentication reset and sessions ended; they set up an "
            "app at the next login."
            if removed else f"{username} has no two-factor authentication to reset."))
