from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import lockout
from cases.models import User


class Command(BaseCommand):
    help = ("Lift the login lock of a user name (from every address), or of an address with "
            "--address. Recorded in the audit log.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", default="")
        parser.add_argument("--address", default="",
                            help="lift the lock of this IP address (all user names) instead")

    def handle(self, *args: Any, username: str = "", address: str = "", **opts: Any) -> None:
        if bool(username) == bool(address):
            raise CommandError("Give a user name or --address ADDRESS (one of the two).")
        if username and not User.objects.filter(username=username).exists():
            raise CommandError(f"No user {username!r}.")
        if address and lockout.bucket(address) == lockout.UNKNOWN_ADDRESS:
            raise CommandError(f"{address!r} is not an IP address.")
        removed = lockout.unlock(by=None, username=username, address=address)
        what = username or lockout.bucket(address)
        if removed:
            self.stdout.write(self.style.SUCCESS(f"Lifted the login lock of {what} "
                                                 f"({removed} counters removed)."))
        else:
            self.stdout.write(f"{what} had no failed logins counted; nothing to lift.")
