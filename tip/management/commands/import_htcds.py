from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError, CommandParser

from cases import importing
from cases.management.commands import import_people
from cases.models import Office, User
from tip import importing as tip_importing


class Command(import_people.Command):
    help = ("Import an HTCDS 2.0 file (the plain, single-select or multi-select Excel template, "
            "or CSV with the same header) into an office: each row becomes a person with a "
            "trafficking case, its victim profile, events and consent (con_Consent TRUE: "
            "recording the data and anonymised statistics, not referrals). Every row is checked "
            "first; with any bad row nothing is written unless --skip-invalid. Safe to re-run: "
            "rows already imported into the office are skipped. USER must supervise the office.")

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--office", required=True, help="Code of the office, e.g. MX-TAP.")

    def handle(self, *args: Any, file: str, user: str, skip_invalid: bool = False,
               **opts: Any) -> None:
        code = str(opts.pop("office"))
        self.office = Office.objects.filter(code=code.upper(), is_active=True).first()
        if self.office is None:
            raise CommandError(f"There is no active office with the code {code!r}.")
        super().handle(*args, file=file, user=user, skip_invalid=skip_invalid, **opts)

    def run_import(self, *, by: User, data: bytes, filename: str,
                   skip_invalid: bool) -> importing.ImportResult:
        try:
            return tip_importing.import_htcds(by=by, data=data, filename=filename,
                                              skip_invalid=skip_invalid, office=self.office,
                                              on_progress=self._progress)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
