from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import sessions
from cases.models import User


class Command(BaseCommand):
    help = ("End the sessions of one account (--user USERNAME) or of everyone (--all), without "
            "changing a password. Recorded in the audit log; safe to run again.")

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--user", default="", help="the user name whose sessions end")
        which.add_argument("--all", action="store_true", dest="everyone",
                           help="end every session of every account")

    def handle(self, *args: Any, user: str = "", everyone: bool = False, **opts: Any) -> None:
        if everyone:
            ended = sessions.end_everyone(by=None, reason=sessions.COMMAND)
            self.stdout.write(self.style.SUCCESS(f"Ended {ended} sessions of every account."))
            return
        account = User.objects.filter(username=user).first()
        if account is None:
            raise CommandError(f"No user {user!r}.")
        ended = sessions.end_all_sessions(by=None, user=account, reason=sessions.COMMAND)
        self.stdout.write(self.style.SUCCESS(f"Ended {ended} sessions of {user}."))
