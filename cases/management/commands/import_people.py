from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases import importing
from cases.crypto.datakeys import key_scope
from cases.models import User


class Command(BaseCommand):
    help = (
        "Import people from a digitized paper file (CSV UTF-8 or XLSX): one row is one person "
        "with one case, left in the office's unassigned queue. Every row is checked first; "
        "with any bad row nothing is written unless --skip-invalid. The people are then "
        "written in chunks (AMPARO_IMPORT_CHUNK_ROWS), each saved as it is written. Safe to "
        "re-run, also after a stop: people already imported are skipped. Columns: "
        + ", ".join(importing.COLUMNS) + "."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV or XLSX file.")
        parser.add_argument("--user", required=True,
                            help="User name of the caseworker or supervisor doing the import.")
        parser.add_argument("--skip-invalid", action="store_true",
                            help="Import the good rows and report the bad ones.")

    def handle(self, *args: Any, file: str, user: str, skip_invalid: bool = False, **opts: Any) -> None:
        self.verbosity = opts.get("verbosity", 1)
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"There is no active user named {user!r}.")
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        with translation.override(by.preferred_language), key_scope():
            self._run(by=by, path=path, data=data, skip_invalid=skip_invalid)

    def _run(self, *, by: User, path: Path, data: bytes, skip_invalid: bool) -> None:
        self._saved = 0
        self.stdout.write(_("Reading %(file)s…") % {"file": path.name})
        try:
            result = self.run_import(by=by, data=data, filename=path.name,
                                     skip_invalid=skip_invalid)
        except importing.ImportFileError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        notices = [p for p in result.problems if p.level != "error"]
        list_notices = len(notices) <= 20 or self.verbosity >= 2
        for problem in result.problems:
            if problem.level == "error":
                self.stdout.write(self.style.ERROR(str(problem)))
            elif list_notices:
                self.stdout.write(self.style.WARNING(str(problem)))
        if not list_notices:
            self.stdout.write(self.style.WARNING(_(
                "%(n)d rows were already imported and were skipped; use -v 2 to list them.")
                % {"n": len(notices)}))
        if result.unlisted:
            self.stdout.write(self.style.WARNING(ngettext(
                "%(n)s more problem is not shown: the report keeps the first ones.",
                "%(n)s more problems are not shown: the report keeps the first ones.",
                result.unlisted) % {"n": result.unlisted}))
        summary = _("%(total)d rows: %(created)d people imported, %(skipped)d already "
                    "imported, %(rejected)d rejected.") % {
            "total": result.total, "created": result.created, "skipped": result.skipped,
            "rejected": result.rejected}
        if result.rejected and not skip_invalid:
            raise CommandError(summary + " " + _(
                "Nothing was imported. Correct the rows above, or use --skip-invalid to "
                "import the good rows only."))
        self.stdout.write(self.style.SUCCESS(summary))

    def run_import(self, *, by: User, data: bytes, filename: str,
                   skip_invalid: bool) -> importing.ImportResult:
        """The import itself (a command for another kind of file overrides it)."""
        return importing.import_people(by=by, data=data, filename=filename,
                                       skip_invalid=skip_invalid, on_progress=self._progress)

    def _progress(self, phase: str, done: int, total: int) -> None:
        if phase == "validating" and done and (done % 500 == 0 or done == total):
            self.stdout.write(_("Checked %(done)d of %(total)d rows.") % {
                "done": done, "total": total})
        elif phase == "importing" and done and (done // 1000 > self._saved // 1000 or done == total):
            self.stdout.write(_("Saved %(done)d of %(total)d rows.") % {
                "done": done, "total": total})
        if phase == "importing":
            self._saved = done
