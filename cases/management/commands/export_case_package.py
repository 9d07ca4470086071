from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import case_packages, office_keys, selectors
from cases.models import User


class Command(BaseCommand):
    help = ("Write a case as a package for an office of another installation: signed with "
            "this office's key, readable only with the receiving office's. Recorded in the "
            "register of transfers and the audit log.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference", help="The case's reference, e.g. BZ-BMP-2026-000012.")
        parser.add_argument("--to", required=True, dest="to_office",
                            help="Code of the receiving office, as its registered key names it.")
        parser.add_argument("--user", required=True, help="User name of a supervisor of the case's office.")
        parser.add_argument("--out", required=True, help="The package file to write.")
        parser.add_argument("--parts", default="identity,history",
                            help="What goes, comma-separated: identity (always), contact, history, "
                                 "documents (the case's scans and photos).")
        parser.add_argument("--reason", default="", help="Why the case goes (the register of transfers "
                            "and the package say it).")
        parser.add_argument("--override-consent", default="", metavar="REASON",
                            help="Send although the person has not consented to sharing, for "
                                 "this reason (audited).")

    def handle(self, *args: Any, reference: str, to_office: str, user: str, out: str, parts: str,
               reason: str, override_consent: str = "", **opts: Any) -> None:
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"There is no active user named {user!r}.")
        case = selectors.case_by_reference(by, reference)
        if case is None:
            raise CommandError(f"No case {reference!r} that {user} may see.")
        to = case_packages.partner(to_office)
        if to is None:
            raise CommandError(f"No key is registered for the office {to_office!r}: register its "
                               "bundle with 'register_office_key' first.")
        wanted = {p.strip() for p in parts.split(",") if p.strip()}
        try:
            data = case_packages.export_case(by=by, case=case, to=to, parts=wanted,
                                             reason=reason or f"Sent to {to.office_code}",
                                             create_keys=True, override=override_consent)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except office_keys.NoOfficeKeys as exc:
            raise CommandError(str(exc)) from None
        path = Path(out)
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise CommandError(f"Cannot write {out}: {exc.strerror}. The transfer is recorded; "
                               "run the command again to write a new package.") from None
        self.stdout.write(f"Wrote {out} ({len(data)} bytes) for {to.office_code}, "
                          f"fingerprint {to.fingerprint}")
