from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.models import User
from tip import ctdc, exports


class Command(BaseCommand):
    help = ("Write an anonymised CSV in the shape of CTDC's global dataset: the trafficking "
            "cases of the offices USER supervises, only for people whose consent allows "
            "anonymised statistics, k-anonymous over gender, age band, citizenship and "
            "country of exploitation.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--user", required=True, help="User name of a supervisor.")
        parser.add_argument("--k", type=int, default=ctdc.DEFAULT_K,
                            help=f"No combination of the quasi-identifiers held by fewer "
                                 f"records (default {ctdc.DEFAULT_K}, as CTDC publishes).")

    def handle(self, *args: Any, file: str, user: str, k: int, **opts: Any) -> None:
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"There is no active user named {user!r}.")
        if k < 1:
            raise CommandError("--k must be at least 1.")
        path = Path(file)
        tmp = path.with_name(path.name + ".part")
        try:
            with open(tmp, "w", newline="", encoding="utf-8") as out:
                report = exports.export(by=by, out=out, k=k)
            tmp.replace(path)
        except PermissionDenied as exc:
            tmp.unlink(missing_ok=True)
            raise CommandError(str(exc)) from None
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise CommandError(f"Cannot write {file}: {exc.strerror}.") from None
        cells = ", ".join(f"{c} {n}" for c, n in report.cells_generalised.items())
        self.stdout.write(f"Wrote {report.records_out} records to {file} (k = {report.k}): "
                          f"{report.records_generalised} generalised ({cells} cells), "
                          f"{report.records_suppressed} left out, of {report.records_in}.")
