"""Importing people from digitized paper files (CSV or XLSX): one row, one person, one case.

Every row is checked before anything is written. Problems name the row and the column,
never the cell's value: the values are personal data and reports are stored and printed.
A row whose person is already registered in the office (same keyed fingerprint, confirmed
after decryption) is skipped, so importing the same file twice creates no duplicates.
"""

from __future__ import annotations

import csv
import datetime
import io
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import openpyxl
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases import access, events, intake, selectors, services
from cases.crypto import blind, datakeys, files
from cases.intake import IdentityDocumentData, PersonData
from cases.models import (
    CaseKind,
    ImportJob,
    ImportStatus,
    Office,
    Person,
    Role,
    Sex,
    User,
)

log = logging.getLogger(__name__)

COLUMNS = (
    "given_names", "family_names", "aliases", "date_of_birth", "sex", "nationality",
    "languages", "phone", "email", "address", "document_type", "document_number",
    "office_code", "case_kind",
)
# The names cases.intake gives the fields that the file calls otherwise.
_COLUMN_OF = {"nationalities": "nationality"}
PROGRESS_EVERY = 25

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# on_progress(phase, done, total): phase is "validating" or "importing".
ProgressCallback = Callable[[str, int, int], None]


class ImportFileError(ValidationError):
    """The file as a whole cannot be imported (format, encoding, header)."""


@dataclass(frozen=True)
class RowProblem:
    row: int | None  # None: the file as a whole
    column: str
    message: str | Promise  # lazy, so that it can be stored in every language
    params: dict[str, object] | None = None
    level: str = "error"  # "error" rejects the row; "skipped" is a notice

    @property
    def text(self) -> str:
        return str(self.message) % self.params if self.params else str(self.message)

    def as_dict(self) -> dict[str, object]:
        """Stored with the message in each language of the interface: the report is read
        later, by people who may not read the uploader's language."""
        texts = {}
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                texts[code] = self.text
        return {"row": self.row, "column": self.column, "message": texts, "level": self.level}

    def __str__(self) -> str:
        where = _("Row %(row)s") % {"row": self.row} if self.row else _("File")
        return f"{where}, {self.column}: {self.text}" if self.column else f"{where}: {self.text}"


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    skipped: int = 0
    rejected: int = 0
    written: bool = False
    problems: list[RowProblem] = field(default_factory=list)


@dataclass
class _Row:
    row: int
    office: Office
    kind: str
    data: PersonData


# Reading the file


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheets store document and phone numbers as floats
    return str(value).strip()


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        book.close()
    # A damaged workbook fails anywhere in zipfile, XML parsing or openpyxl itself.
    except Exception as exc:
        log.info("unreadable xlsx upload: %s", type(exc).__name__)
        raise ImportFileError(_("The file is not a readable XLSX workbook. Open it in a "
                                "spreadsheet program and save it again as XLSX or CSV.")) from None
    for number, values in enumerate(rows, start=1):
        yield number, [_cell_text(v) for v in values]


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    if b"\x00" in data:
        raise ImportFileError(_("The file is neither CSV text nor an XLSX workbook."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(_("The CSV file is not UTF-8 text. Save it as “CSV UTF-8” "
                                "or as XLSX and upload it again.")) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first_line:  # spreadsheets in Spanish locales write ';' or tabs
        delimiter = ";" if ";" in first_line else ("\t" if "\t" in first_line else ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, values in enumerate(reader, start=1):
            yield number, [v.strip() for v in values]
    except csv.Error:
        raise ImportFileError(
            _("The CSV file cannot be read after row %(row)d. Check its quotes, or save it "
              "again from a spreadsheet program."), params={"row": number}
        ) from None


def read_table(*, data: bytes, filename: str = "") -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Return (header, [(row number, cells)]) of a CSV or XLSX file; ImportFileError if bad."""
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    name = filename.lower()
    if data[:4] == b"PK\x03\x04":
        rows = list(_xlsx_rows(data))
    elif name.endswith((".xlsx", ".xlsm")):
        raise ImportFileError(_("The file is not a readable XLSX workbook. Open it in a "
                                "spreadsheet program and save it again as XLSX or CSV."))
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or name.endswith(".xls"):
        raise ImportFileError(_("Old Excel files (.xls) cannot be imported. Save the file "
                                "as XLSX or as CSV UTF-8."))
    else:
        rows = list(_csv_rows(data))
    rows = [(n, cells) for n, cells in rows if any(cells)]
    if not rows:
        raise ImportFileError(_("The file is empty."))
    (_n, header), body = rows[0], rows[1:]
    header = [h.strip().lower() for h in header]
    while header and not header[-1]:
        header.pop()
    _check_header(header)
    if not body:
        raise ImportFileError(_("The file has a header row but no people in it."))
    return header, body


def _check_header(header: list[str]) -> None:
    # Never echo header cells: a file without a header row has a person in its first row.
    problems = []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        problems.append(ValidationError(
            _("The first row must name the columns. Missing columns: %(cols)s."),
            params={"cols": ", ".join(missing)}))
    unknown = [str(i) for i, h in enumerate(header, start=1) if h not in COLUMNS]
    if unknown:
        problems.append(ValidationError(
            _("Columns %(positions)s of the first row are not among the expected columns "
              "(%(cols)s)."), params={"positions": ", ".join(unknown), "cols": ", ".join(COLUMNS)}))
    repeated = sorted({h for h in header if h in COLUMNS and header.count(h) > 1})
    if repeated:
        problems.append(ValidationError(_("These columns appear more than once: %(cols)s."),
                                        params={"cols": ", ".join(repeated)}))
    if problems:
        raise ImportFileError(problems)


# Checking a row


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(";") if v.strip()]


class _Checker:
    def __init__(self, *, by: User, office: Office | None) -> None:
        self.by = by
        self.only_office = office
        self.offices: dict[str, Office | None] = {}

    def office(self, code: str) -> Office | None:
        if code not in self.offices:
            self.offices[code] = Office.objects.filter(code=code, is_active=True).first()
        return self.offices[code]

    def check(self, number: int, cells: dict[str, str]) -> tuple[_Row | None, list[RowProblem]]:
        problems: list[RowProblem] = []

        def bad(column: str, message: str | Promise, params: dict[str, object] | None = None) -> None:
            problems.append(RowProblem(number, column, message, params))

        for column in ("office_code", "case_kind"):
            if not cells[column]:
                bad(column, _("This column is required."))

        office = None
        code = cells["office_code"].upper()
        if code:
            office = self.office(code)
            if office is None:
                bad("office_code", _("No active office has this code."))
            elif self.only_office is not None and office != self.only_office:
                bad("office_code", _("This import is for office %(code)s only."),
                    {"code": self.only_office.code})
                office = None
            elif not selectors.can_register(self.by, office):
                bad("office_code", _("You are not staff of office %(code)s."), {"code": code})
                office = None

        kind = cells["case_kind"].lower()
        if kind and kind not in CaseKind.values:
            bad("case_kind", _("Use one of: %(values)s."), {"values": ", ".join(CaseKind.values)})

        dob = None
        if cells["date_of_birth"]:
            dob = self._date(cells["date_of_birth"], bad)

        phone = cells["phone"]
        # A local number is read in the office's country: without a known office only an
        # international number can be checked (the row is refused for its office anyway).
        if office is None and not phone.startswith("+"):
            phone = ""
        doc_type, doc_number = cells["document_type"].lower(), cells["document_number"]
        data = PersonData(
            given_names=cells["given_names"], family_names=cells["family_names"],
            sex=cells["sex"].lower() or Sex.UNKNOWN, date_of_birth=dob,
            aliases=_split(cells["aliases"]),
            nationalities=[c.upper() for c in _split(cells["nationality"])],
            languages=[c.lower() for c in _split(cells["languages"])], phone=phone,
            email=cells["email"], address=cells["address"],
            documents=[IdentityDocumentData(doc_type, doc_number)] if doc_type or doc_number else [],
        )
        # The person rules are the services' own (cases.intake): a row passes them here or
        # fails them, with its row and column, before anything is written.
        try:
            data = intake.clean_person(data, country=office.country.code if office else "")
        except ValidationError as exc:
            for name, errors in exc.error_dict.items():
                column = _COLUMN_OF.get(name, name)
                if any(p.column == column for p in problems):
                    continue  # a date that could not be read: said already
                first = errors[0]
                if first.code == "required":
                    bad(column, _("This column is required."))
                else:
                    bad(column, first.message, first.params)

        if problems or office is None:
            # In the order of the columns, whichever check found them.
            problems.sort(key=lambda p: COLUMNS.index(p.column) if p.column in COLUMNS
                          else len(COLUMNS))
            return None, problems
        return _Row(number, office, kind, data), []

    @staticmethod
    def _date(value: str, bad: Callable[[str, str | Promise], None]) -> datetime.date | None:
        """Read a date written as the file format asks; intake judges whether it is plausible."""
        try:
            if not _ISO_DATE.match(value):
                raise ValueError
            return datetime.date.fromisoformat(value)
        except ValueError:
            bad("date_of_birth", _("Enter the date as YYYY-MM-DD, e.g. 1990-05-31."))
            return None


def _registered(row: _Row) -> Person | None:
    """The person of this row if already registered in its office (confirmed by decryption)."""
    candidates = list(Person.objects.filter(
        office=row.office, fingerprint=row.data.fingerprint(), erased_at__isnull=True
    ))
    datakeys.preload([p.pk for p in candidates])
    for person in candidates:
        if (blind.fold(person.given_names or "") == blind.fold(row.data.given_names)
                and blind.fold(person.family_names or "") == blind.fold(row.data.family_names)
                and person.date_of_birth == row.data.date_of_birth):
            return person
    return None


# The service


def import_people(
    *,
    by: User,
    data: bytes,
    filename: str = "",
    skip_invalid: bool = False,
    office: Office | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportResult:
    """Check every row of a file, then register each person and open their case, unassigned.

    With bad rows nothing is written unless skip_invalid. `office` limits the rows to one
    office. Raises ImportFileError when the file itself cannot be read.
    """
    progress = on_progress or (lambda phase, done, total: None)
    header, body = read_table(data=data, filename=filename)
    result = ImportResult(total=len(body))
    checker = _Checker(by=by, office=office)
    good: list[_Row] = []
    first_row_of: dict[tuple[int, str], int] = {}
    progress("validating", 0, result.total)
    for i, (number, values) in enumerate(body, start=1):
        if len(values) > len(header) and any(values[len(header):]):
            result.problems.append(RowProblem(
                number, "", _("This row has more cells than the header has columns.")))
            result.rejected += 1
            continue
        cells = dict(zip(header, values + [""] * (len(header) - len(values)), strict=False))
        row, problems = checker.check(number, cells)
        if row is None:
            result.problems += problems
            result.rejected += 1
        else:
            key = (row.office.pk, row.data.fingerprint())
            if key in first_row_of:
                result.problems.append(RowProblem(
                    number, "", _("Same person as row %(row)d; imported once."),
                    {"row": first_row_of[key]}, level="skipped"))
                result.skipped += 1
            elif _registered(row):
                result.problems.append(RowProblem(
                    number, "", _("Already imported; skipped."), level="skipped"))
                result.skipped += 1
            else:
                first_row_of[key] = number
                good.append(row)
        if i % PROGRESS_EVERY == 0 or i == result.total:
            progress("validating", i, result.total)
    if not result.rejected or skip_invalid:
        _write(by=by, rows=good, result=result, progress=progress)
    result.problems.sort(key=lambda p: p.row or 0)
    return result


def _write(*, by: User, rows: list[_Row], result: ImportResult,
           progress: ProgressCallback) -> None:
    progress("importing", 0, len(rows))
    with transaction.atomic():
        # Imports into the same office queue up here, so a file uploaded twice at once
        # still creates each person only once (the check below runs again under the lock).
        office_ids = sorted({r.office.pk for r in rows})
        list(Office.objects.select_for_update().filter(pk__in=office_ids).order_by("pk"))
        for i, row in enumerate(rows, start=1):
            if _registered(row):
                result.problems.append(RowProblem(
                    row.row, "", _("Already imported; skipped."), level="skipped"))
                result.skipped += 1
                continue
            person = services.register_person(by=by, office=row.office, data=row.data)
            services.open_case(by=by, person=person, kind=row.kind, assign_to_me=False,
                               reason=str(_("Imported from a file.")))
            result.created += 1
            if i % PROGRESS_EVERY == 0 or i == len(rows):
                progress("importing", i, len(rows))
    result.written = result.created > 0


# Import jobs from the web: the upload is sealed until the task has run


def queue_import(*, by: User, office: Office, data: bytes, filename: str = "",
                 skip_invalid: bool = False) -> ImportJob:
    """Store an uploaded file sealed under a new job's key and queue the import task."""
    if office.pk not in access.offices_where(by, Role.SUPERVISOR):
        raise PermissionDenied(_("Only a supervisor of this office can import people into it."))
    if not data.strip():
        raise ValidationError({"file": _("The file is empty.")})
    job_id = uuid.uuid4()
    name = ""
    try:
        with transaction.atomic():
            datakeys.create_data_key(subject_id=job_id)
            name = files.store(subject_id=job_id, table=ImportJob._meta.db_table, row_id=job_id,
                               data=data)
            job = ImportJob.objects.create(
                id=job_id, office=office, created_by=by, skip_invalid=skip_invalid,
                storage_name=name,
                # The file name may name a person: keep only its extension.
                file_extension=_extension(filename),
            )
            events.emit("import.queue", actor=by, obj=job, size=len(data),
                        file_type=job.file_extension)
            transaction.on_commit(lambda: _dispatch(job_id))
    except Exception:
        if name:  # no sealed file without its job
            files.delete(name)
        raise
    return job


def _extension(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return ext if ext.isalnum() and len(ext) <= 8 else ""


def _dispatch(job_id: uuid.UUID) -> None:
    from cases.tasks import run_import_job_task

    run_import_job_task.delay(str(job_id))


def run_import_job(*, job_id: uuid.UUID | str) -> ImportJob | None:
    """Run a queued job once; afterwards its key is destroyed and its file deleted."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.VALIDATING, started_at=now)
    if not claimed:
        return None  # already ran (a redelivered message) or no such job
    job = ImportJob.objects.select_related("office", "created_by").get(pk=job_id)

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "validating":
            ImportJob.objects.filter(pk=job.pk).update(processed=done, total=total)
        elif done == 0:  # the writes become visible together when they commit
            ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.IMPORTING)

    with translation.override(job.created_by.preferred_language):
        try:
            data = files.load(subject_id=job.pk, table=ImportJob._meta.db_table, row_id=job.pk,
                              name=job.storage_name)
            result = import_people(
                by=job.created_by, data=data, filename=f"upload.{job.file_extension}",
                skip_invalid=job.skip_invalid, office=job.office, on_progress=progress,
            )
        except ImportFileError as exc:
            job.status = ImportStatus.FAILED
            job.report = [RowProblem(None, "", e.message, e.params).as_dict()
                          for e in exc.error_list]
        except Exception:
            log.exception("import job %s stopped", job.pk)
            job.status = ImportStatus.FAILED
            job.report = [RowProblem(None, "", _(
                "The import stopped on an unexpected error; nothing was written. "
                "Try again, or tell your system administrator.")).as_dict()]
        else:
            refused = bool(result.rejected) and not job.skip_invalid
            job.status = ImportStatus.FAILED if refused else ImportStatus.DONE
            job.total, job.processed = result.total, result.total
            job.created, job.skipped, job.rejected = (
                result.created, result.skipped, result.rejected)
            job.report = [p.as_dict() for p in result.problems]
        finally:
            _shred(job)
    job.finished_at = timezone.now()
    job.save()
    events.emit("import.finish", actor=job.created_by, obj=job, status=job.status,
                created=job.created, skipped=job.skipped, rejected=job.rejected)
    return job


def _shred(job: ImportJob) -> None:
    datakeys.destroy(subject_id=job.pk)
    if job.storage_name:
        files.delete(job.storage_name)
        job.storage_name = ""


def shred_stale_jobs(*, older_than: datetime.timedelta = datetime.timedelta(hours=6)) -> int:
    """Fail and shred jobs whose worker never finished them (lost message, dead worker).

    The import is all-or-nothing, so such a job wrote nothing; its sealed file must not
    wait for ever."""
    cutoff = timezone.now() - older_than
    stale = ImportJob.objects.filter(
        status__in=[ImportStatus.QUEUED, ImportStatus.VALIDATING, ImportStatus.IMPORTING],
        created_at__lt=cutoff,
    )
    count = 0
    for job_id in stale.values_list("pk", flat=True):
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
                continue
            _shred(job)
            job.status = ImportStatus.FAILED
            job.report = [RowProblem(None, "", _(
                "The import never finished (the worker stopped); nothing was written. "
                "Upload the file again.")).as_dict()]
            job.finished_at = timezone.now()
            job.save()
            events.emit("import.abandon", obj=job)
            count += 1
    return count
