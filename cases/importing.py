"""Importing people from digitized paper files (CSV or XLSX): one row, one person, one case.

Every row is checked before anything is written. Problems name the row and the column,
never the cell's value: the values are personal data and reports are stored and printed.
A row whose person is already registered in the office (same keyed fingerprint, confirmed
after decryption) is skipped, so importing the same file twice creates no duplicates.

The file is read as a stream within limits, and the rows are written in chunks, each in a
transaction of its own that records how far the import got; how this keeps an office
working during an import and lets a stopped import resume: docs/architecture.md#imports.
"""

from __future__ import annotations

import bisect
import csv
import datetime
import functools
import hashlib
import io
import itertools
import logging
import re
import struct
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import openpyxl
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases import access, events, intake, selectors, services
from cases.crypto import blind, datakeys, files
from cases.crypto.datakeys import key_scope
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
from cases.models.imports import MAX_ATTEMPTS, lease

log = logging.getLogger(__name__)

COLUMNS = (
    "given_names", "family_names", "aliases", "date_of_birth", "sex", "nationality",
    "languages", "phone", "email", "address", "document_type", "document_number",
    "office_code", "case_kind",
)
# The names cases.intake gives the fields that the file calls otherwise.
_COLUMN_OF = {"nationalities": "nationality"}
PROGRESS_EVERY = 25
MAX_COLUMNS = 64  # a workbook's cells further right are not read
_MAX_MEMBERS = 1000  # files in a workbook's archive (a real one holds a few dozen)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# on_progress(phase, done, total): phase is "validating" or "importing".
ProgressCallback = Callable[[str, int, int], None]


# Limits (settings; README, "Importing paper files")


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def max_rows() -> int:
    """Rows a file may hold below its header, blank rows included."""
    return _setting("AMPARO_IMPORT_MAX_ROWS", 100_000)


def chunk_rows() -> int:
    """People written per transaction."""
    return max(1, _setting("AMPARO_IMPORT_CHUNK_ROWS", 200))


def report_max() -> int:
    """Problems a report keeps (all are counted)."""
    return max(0, _setting("AMPARO_IMPORT_REPORT_MAX", 1000))


def max_unpacked() -> int:
    """Bytes a workbook may take once unpacked."""
    return _setting("AMPARO_IMPORT_MAX_UNPACKED_BYTES", 200 * 1024 * 1024)


class ImportFileError(ValidationError):
    """The file as a whole cannot be imported (format, encoding, header, size)."""


class Superseded(Exception):
    """Another run holds the import job now: this one stops without writing."""


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
        return dict(self._stored)

    @functools.cached_property
    def _stored(self) -> dict[str, object]:
        texts = {}
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                texts[code] = self.text
        return {"row": self.row, "column": self.column, "message": texts, "level": self.level}

    def __str__(self) -> str:
        where = _("Row %(row)s") % {"row": self.row} if self.row else _("File")
        return f"{where}, {self.column}: {self.text}" if self.column else f"{where}: {self.text}"


@dataclass(frozen=True)
class StoredProblem:
    """A report entry read back from a job, its message already in every language."""

    entry: dict[str, Any]

    @property
    def row(self) -> int | None:
        row = self.entry.get("row")
        return row if isinstance(row, int) else None

    @property
    def level(self) -> str:
        return str(self.entry.get("level", "error"))

    def as_dict(self) -> dict[str, object]:
        return dict(self.entry)

    def __str__(self) -> str:
        message = self.entry.get("message", "")
        if isinstance(message, dict):
            lang = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
            message = message.get(lang) or next(iter(message.values()), "")
        return str(message)


Problem = RowProblem | StoredProblem


class Report:
    """The problems of an import: every one counted, the first `limit` by row kept."""

    def __init__(self, limit: int, kept: Iterable[Problem] = (),
                 counts: dict[str, Any] | None = None) -> None:
        self.limit = limit
        self._keys: list[tuple[int, int]] = []
        self._kept: list[Problem] = []
        self._seq = itertools.count()
        counts = counts or {}
        self.errors: dict[str, int] = dict(counts.get("errors", {}))
        self.skipped = int(counts.get("skipped", 0))
        for problem in kept:
            self._keep(problem)
        self.changed = False  # since it was last stored

    def add(self, problem: RowProblem) -> None:
        if problem.level == "error":
            self.errors[problem.column] = self.errors.get(problem.column, 0) + 1
        else:
            self.skipped += 1
        self.changed = True
        self._keep(problem)

    def _keep(self, problem: Problem) -> None:
        key = (problem.row or 0, next(self._seq))
        if len(self._kept) >= self.limit:
            if not self._kept or key >= self._keys[-1]:
                return
            self._keys.pop()
            self._kept.pop()
        at = bisect.bisect(self._keys, key)
        self._keys.insert(at, key)
        self._kept.insert(at, problem)

    @property
    def problems(self) -> list[Problem]:
        return list(self._kept)

    @property
    def unlisted(self) -> int:
        return max(0, sum(self.errors.values()) + self.skipped - len(self._kept))

    def counts(self) -> dict[str, Any]:
        return {"errors": dict(self.errors), "skipped": self.skipped}

    def stored(self) -> list[dict[str, object]]:
        return [p.as_dict() for p in self._kept]


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    skipped: int = 0
    rejected: int = 0
    written: bool = False
    report: Report = field(default_factory=lambda: Report(report_max()))

    @property
    def problems(self) -> list[Problem]:
        """The first problems by row (report_max() of them); `unlisted` says how many more."""
        return self.report.problems

    @property
    def unlisted(self) -> int:
        return self.report.unlisted


@dataclass
class _Row:
    row: int
    office: Office
    kind: str
    data: PersonData
    fingerprint: str


# Reading the file: a CSV upload as it is, a workbook's first sheet converted to CSV text
# once; then each pass over the rows reads that text again, a row at a time.


def _unreadable_workbook() -> ImportFileError:
    return ImportFileError(_("The file is not a readable XLSX workbook. Open it in a "
                             "spreadsheet program and save it again as XLSX or CSV."))


def _too_many_rows() -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(max)d rows. Split it into files of at most %(max)d rows."),
        params={"max": max_rows()})


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


def _check_unpacked_size(data: bytes) -> None:
    """Refuse a workbook that would unpack beyond the limit (a zip bomb) before it is opened.

    The sizes are the archive's own statements, and zipfile stops reading a member at its
    stated size (a member that holds more fails its checksum), so they bound what openpyxl
    can unpack. The shared strings are held in memory while the sheet is read: they get a
    quarter of the limit."""
    # The number of members, from the end of the archive, before zipfile reads them all.
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or len(data) < end + 22:
        raise _unreadable_workbook()
    (members,) = struct.unpack("<H", data[end + 10:end + 12])
    if members > _MAX_MEMBERS:
        raise _unreadable_workbook()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise _unreadable_workbook() from None
    limit = max_unpacked()
    strings = sum(i.file_size for i in infos if i.filename.lower().endswith("sharedstrings.xml"))
    if len(infos) > _MAX_MEMBERS or sum(i.file_size for i in infos) > limit or strings > limit // 4:
        raise ImportFileError(
            _("Unpacked, this workbook would take more than %(mb)d MB. Save it as CSV UTF-8, "
              "or split it into smaller files."), params={"mb": limit // (1024 * 1024)})


def _workbook_as_csv(data: bytes) -> bytes:
    _check_unpacked_size(data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    # A damaged workbook fails anywhere in zipfile, XML parsing or openpyxl itself.
    except Exception as exc:
        log.info("unreadable xlsx upload: %s", type(exc).__name__)
        raise _unreadable_workbook() from None
    try:
        return _sheet_as_csv(book.worksheets[0])
    except ImportFileError:
        raise
    except Exception as exc:
        log.info("unreadable xlsx upload: %s", type(exc).__name__)
        raise _unreadable_workbook() from None
    finally:
        book.close()


def _sheet_as_csv(sheet: Any) -> bytes:
    limit = max_rows() + 1  # and the header
    # The size the sheet declares refuses a file before its rows are read; it may be
    # wrong either way, so the rows are then read as they are and counted.
    if (sheet.max_row or 0) > limit:
        raise _too_many_rows()
    if (sheet.max_column or 0) > MAX_COLUMNS:
        raise ImportFileError(
            _("The sheet has more than %(max)d columns; a file of people has the %(n)d "
              "columns listed on the import page."), params={"max": MAX_COLUMNS, "n": len(COLUMNS)})
    sheet.reset_dimensions()
    out = io.BytesIO()
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text)
    for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS),
                                    start=1):
        if number > limit:
            raise _too_many_rows()
        end = len(values)
        while end and values[end - 1] is None:
            end -= 1
        writer.writerow([_cell_text(v) for v in values[:end]])
    text.flush()
    text.detach()
    return out.getvalue()


@dataclass(frozen=True)
class _Source:
    """A file of people as CSV text."""

    text: bytes
    delimiter: str = ","

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Each row with its number in the file, blank rows too; ImportFileError past the
        header and max_rows() rows, or where the text cannot be read."""
        limit = max_rows() + 1
        stream = io.TextIOWrapper(io.BytesIO(self.text), encoding="utf-8-sig", newline="")
        reader = csv.reader(stream, delimiter=self.delimiter)
        number = 0
        try:
            for number, values in enumerate(reader, start=1):
                if number > limit:
                    raise _too_many_rows()
                yield number, [v.strip() for v in values]
        except csv.Error:
            raise ImportFileError(
                _("The CSV file cannot be read after row %(row)d. Check its quotes, or save it "
                  "again from a spreadsheet program."), params={"row": number}
            ) from None
        except UnicodeDecodeError:
            raise ImportFileError(_("The CSV file is not UTF-8 text. Save it as “CSV UTF-8” "
                                    "or as XLSX and upload it again.")) from None

    def table(self) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
        """(header, the rows below it that are not blank); ImportFileError if the file is
        empty, has no people or its header is wrong."""
        rows = ((n, cells) for n, cells in self.rows() if any(cells))
        first = next(rows, None)
        if first is None:
            raise ImportFileError(_("The file is empty."))
        header = [h.strip().lower() for h in first[1]]
        while header and not header[-1]:
            header.pop()
        _check_header(header)
        second = next(rows, None)
        if second is None:
            raise ImportFileError(_("The file has a header row but no people in it."))
        return header, itertools.chain([second], rows)


def _source(*, data: bytes, filename: str) -> _Source:
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    name = filename.lower()
    if data[:4] == b"PK\x03\x04":
        return _Source(_workbook_as_csv(data))
    if name.endswith((".xlsx", ".xlsm")):
        raise _unreadable_workbook()
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or name.endswith(".xls"):
        raise ImportFileError(_("Old Excel files (.xls) cannot be imported. Save the file "
                                "as XLSX or as CSV UTF-8."))
    if b"\x00" in data:
        raise ImportFileError(_("The file is neither CSV text nor an XLSX workbook."))
    newline = data.find(b"\n", 0, 65_536)
    first_line = data[:newline if newline >= 0 else 65_536].decode("utf-8", errors="replace")
    delimiter = ","
    if "," not in first_line:  # spreadsheets in Spanish locales write ';' or tabs
        delimiter = ";" if ";" in first_line else ("\t" if "\t" in first_line else ",")
    return _Source(data, delimiter)


def read_rows(*, data: bytes, filename: str = "") -> Iterator[tuple[int, list[str]]]:
    """Every row of a CSV or XLSX file (its first sheet), blank ones too, with its number,
    under the same limits as a file of people; for files with a header of their own."""
    return _source(data=data, filename=filename).rows()


def as_csv(*, data: bytes, filename: str = "") -> bytes:
    """The file as CSV text: a workbook's first sheet converted once (then read as often as
    needed with read_rows(filename="upload.csv")), CSV as it is; ImportFileError as read_rows."""
    return _source(data=data, filename=filename).text


def read_table(*, data: bytes, filename: str = "") -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """(header, the rows with people, each with its number in the file) of a CSV or XLSX
    file, read as they are iterated; ImportFileError if the file cannot be imported."""
    return _source(data=data, filename=filename).table()


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
        return _Row(number, office, kind, data, data.fingerprint()), []

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


def _check_row(checker: _Checker, header: list[str], number: int,
               values: list[str]) -> tuple[_Row | None, list[RowProblem]]:
    if len(values) > len(header) and any(values[len(header):]):
        return None, [RowProblem(number, "", _("This row has more cells than the header has columns."))]
    cells = dict(zip(header, values + [""] * (len(header) - len(values)), strict=False))
    return checker.check(number, cells)


def _same_person(row: _Row) -> bytes:
    """What makes two rows of a file the same person: the parts of the fingerprint, in the
    same office (an unkeyed digest: it never leaves this import's memory)."""
    data = row.data
    document = data.documents[0].number if data.documents else ""
    parts = [str(row.office.pk), blind.fold(data.given_names), blind.fold(data.family_names),
             data.date_of_birth.isoformat() if data.date_of_birth else "",
             blind.normalize_document(document)]
    return hashlib.sha256("|".join(parts).encode()).digest()[:16]


def _registered(row: _Row) -> Person | None:
    """The person of this row if already registered in its office (confirmed by decryption)."""
    candidates = list(Person.objects.filter(
        office=row.office, fingerprint=row.fingerprint, erased_at__isnull=True
    ))
    datakeys.preload([p.pk for p in candidates])
    for person in candidates:
        if (blind.fold(person.given_names or "") == blind.fold(row.data.given_names)
                and blind.fold(person.family_names or "") == blind.fold(row.data.family_names)
                and person.date_of_birth == row.data.date_of_birth):
            return person
    return None


_LOCK_SPACE = 0x496D7074  # "Impt": the advisory locks of people being imported


def _lock_people(rows: list[_Row]) -> None:
    """Until this transaction ends, another import of one of these people waits, then finds
    them registered (PostgreSQL; SQLite writes one transaction at a time). Taken in one
    order, all at once, so two imports cannot wait on each other."""
    if connection.vendor != "postgresql" or not rows:
        return
    keys = sorted({
        int.from_bytes(hashlib.blake2b(f"{r.office.pk}|{r.fingerprint}".encode(),
                                       digest_size=4).digest(), "big", signed=True)
        for r in rows})
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_advisory_xact_lock(%s::int, k)) "
                       "FROM unnest(%s::int[]) AS k", [_LOCK_SPACE, keys])


# What an import has committed


class Ledger:
    """How far an import got: data rows whose writing is committed (`done`, counted from
    the first row below the header), people created, rows skipped while writing, and the
    case numbers drawn ahead for the chunk being written. The command keeps it in memory;
    an import job keeps it on its row (JobLedger), so that a run that dies is resumed
    after its last chunk."""

    def __init__(self) -> None:
        self.done = 0
        self.created = 0
        self.skipped = 0
        self.total = 0
        self.blocks: dict[int, list[int]] = {}  # office id: [year, next number, last number]
        self.report: Report | None = None  # a resumed run's report so far

    @property
    def resuming(self) -> bool:
        return self.done > 0

    def checking(self, done: int, total: int) -> None:
        """Rows checked so far."""

    def writing(self) -> None:
        """The checks are over; chunks are written from now on."""

    def lock(self) -> None:
        """In a chunk's or a draw's transaction, before it writes: Superseded if another run
        took over."""

    def save_blocks(self) -> None:
        """In a draw's transaction: keep the numbers drawn."""

    def save_chunk(self, *, done: int, created: int, skipped: int, report: Report) -> None:
        """In a chunk's transaction: keep how far the import got."""


class JobLedger(Ledger):
    def __init__(self, job: ImportJob, worker: uuid.UUID) -> None:
        super().__init__()
        self.job, self.worker = job, worker
        self.done, self.created, self.skipped = job.rows_done, job.created, job.skipped
        block = job.reserved or {}
        if block:
            self.blocks[job.office_id] = [block["year"], block["next"], block["last"]]
        if self.done:
            self.report = Report(report_max(), [StoredProblem(e) for e in job.report],
                                 job.report_counts)

    def _update(self, **fields: Any) -> None:
        fields["heartbeat_at"] = timezone.now()
        if not ImportJob.objects.filter(pk=self.job.pk, worker=self.worker).update(**fields):
            raise Superseded

    def checking(self, done: int, total: int) -> None:
        self._update(processed=done, total=total)

    def writing(self) -> None:
        self._update(status=ImportStatus.IMPORTING, processed=self.done)

    def lock(self) -> None:
        held = (ImportJob.objects.select_for_update().filter(pk=self.job.pk)
                .values_list("worker", "rows_done").first())
        if held != (self.worker, self.done):
            raise Superseded

    def _reserved(self) -> dict[str, int]:
        block = self.blocks.get(self.job.office_id)
        return dict(zip(("year", "next", "last"), block, strict=True)) if block else {}

    def save_blocks(self) -> None:
        self._update(reserved=self._reserved())

    def save_chunk(self, *, done: int, created: int, skipped: int, report: Report) -> None:
        fields: dict[str, Any] = {"rows_done": done, "processed": done, "created": created,
                                  "skipped": skipped, "reserved": self._reserved()}
        if report.changed:
            fields.update(report=report.stored(), report_counts=report.counts())
        self._update(**fields)
        report.changed = False


# Case numbers are drawn a chunk at a time, in a short transaction of their own, so that
# no transaction holds an office's counter while it writes people.


def _draw_numbers(ledger: Ledger, need: dict[int, tuple[Office, int]]) -> None:
    year = timezone.localdate().year
    for office_id, (office, count) in need.items():
        block = ledger.blocks.get(office_id)
        if block and block[0] == year and block[2] - block[1] + 1 >= count:
            continue  # drawn by a run that stopped before this chunk was saved
        with transaction.atomic():
            ledger.lock()
            if block:
                services.return_references(office=office, year=block[0], first=block[1],
                                           last=block[2])
            ledger.blocks[office_id] = list(services.draw_references(office=office, count=count))
            ledger.save_blocks()


def _take_number(ledger: Ledger, office: Office) -> str:
    """A number drawn ahead, or "" (none left: open_case draws its own)."""
    block = ledger.blocks.get(office.pk)
    if not block or block[1] > block[2]:
        return ""
    block[1] += 1
    return services.case_reference(office, block[0], block[1] - 1)


def _write_chunk(*, by: User, rows: list[_Row], through: int, passed: int, ledger: Ledger,
                 report: Report, offices: dict[int, Office]) -> None:
    """Write a chunk of rows in one transaction, with the ledger's new position `through`;
    `passed`: rows of the chunk skipped as repeated in the file."""
    registered = set(Person.objects.filter(
        office__in=list(offices.values()), fingerprint__in=[r.fingerprint for r in rows],
        erased_at__isnull=True).values_list("office_id", "fingerprint"))
    need: dict[int, tuple[Office, int]] = {}
    for row in rows:
        if (row.office.pk, row.fingerprint) not in registered:
            need[row.office.pk] = (row.office, need.get(row.office.pk, (row.office, 0))[1] + 1)
    _draw_numbers(ledger, need)
    created = 0
    skipped = passed
    reason = str(_("Imported from a file."))
    with key_scope(), transaction.atomic():  # the chunk's keys leave memory with it
        ledger.lock()
        _lock_people(rows)
        known = set(Person.objects.filter(
            office__in=list(offices.values()), fingerprint__in=[r.fingerprint for r in rows],
            erased_at__isnull=True).values_list("office_id", "fingerprint"))
        for row in rows:
            if (row.office.pk, row.fingerprint) in known and _registered(row):
                report.add(RowProblem(row.row, "", _("Already imported; skipped."),
                                      level="skipped"))
                skipped += 1
                continue
            person = services.register_person(by=by, office=row.office, data=row.data)
            services.open_case(by=by, person=person, kind=row.kind, assign_to_me=False,
                               reason=reason, reference=_take_number(ledger, row.office))
            created += 1
        for office_id, (year, first, last) in ledger.blocks.items():
            if first <= last:  # not used: a person was found registered after all
                services.return_references(office=offices[office_id], year=year, first=first,
                                           last=last)
        ledger.blocks = {}
        ledger.save_chunk(done=through, created=ledger.created + created,
                          skipped=ledger.skipped + skipped, report=report)
    ledger.done = through
    ledger.created += created
    ledger.skipped += skipped


# The service

_REJECTED, _REPEATED = "rejected", "repeated"


def import_people(
    *,
    by: User,
    data: bytes,
    filename: str = "",
    skip_invalid: bool = False,
    office: Office | None = None,
    on_progress: ProgressCallback | None = None,
    ledger: Ledger | None = None,
) -> ImportResult:
    """Check every row of a file, then register each person and open their case, unassigned,
    a chunk of rows per transaction.

    With bad rows nothing is written unless skip_invalid. `office` limits the rows to one
    office. `ledger` keeps how far the import got (an import job's, see run_import_job): given
    the ledger of a run that stopped, the import carries on after its last chunk. Raises
    ImportFileError when the file itself cannot be read. Call it outside any transaction:
    each chunk commits on its own.
    """
    progress = on_progress or (lambda phase, done, total: None)
    ledger = ledger or Ledger()
    source = _source(data=data, filename=filename)
    _header, counted = source.table()
    total = sum(1 for _row in counted)
    result = ImportResult(total=total)
    ledger.total = total
    checker = _Checker(by=by, office=office)

    # 1. Check every row; keep only which rows not to write.
    report = Report(report_max())
    skip: dict[int, str] = {}
    first_row_of: dict[bytes, int] = {}
    progress("validating", 0, total)
    ledger.checking(0, total)
    header, rows = source.table()
    for index, (number, values) in enumerate(rows, start=1):
        row, problems = _check_row(checker, header, number, values)
        if row is None:
            for problem in problems:
                report.add(problem)
            skip[index] = _REJECTED
            result.rejected += 1
        else:
            key = _same_person(row)
            if key in first_row_of:
                report.add(RowProblem(
                    number, "", _("Same person as row %(row)d; imported once."),
                    {"row": first_row_of[key]}, level="skipped"))
                skip[index] = _REPEATED
            else:
                first_row_of[key] = number
        if index % PROGRESS_EVERY == 0 or index == total:
            progress("validating", index, total)
            ledger.checking(index, total)
    del first_row_of
    if result.rejected and not skip_invalid:
        result.skipped = sum(1 for why in skip.values() if why == _REPEATED)
        result.report = report
        return result

    # 2. Write the others, a chunk at a time. A resumed run keeps the report it had.
    if ledger.resuming and ledger.report is not None:
        report = ledger.report
    result.report = report
    size = chunk_rows()
    offices = {o.pk: o for o in [*checker.offices.values(), office] if o is not None}
    ledger.writing()
    progress("importing", ledger.done, total)
    chunk: list[_Row] = []
    passed = 0
    through = ledger.done
    header, rows = source.table()
    for index, (number, values) in enumerate(rows, start=1):
        if index <= ledger.done:
            continue
        why = skip.get(index)
        if why == _REPEATED:
            passed += 1
        elif why is None:
            row, _problems = _check_row(checker, header, number, values)
            if row is None:  # an office closed, a role withdrawn, since the check
                raise RuntimeError(f"row {number} passed the checks and now fails them")
            chunk.append(row)
        through = index
        if len(chunk) >= size:
            _write_chunk(by=by, rows=chunk, through=through, passed=passed, ledger=ledger,
                         report=report, offices=offices)
            progress("importing", ledger.done, total)
            chunk, passed = [], 0
    if through > ledger.done:
        _write_chunk(by=by, rows=chunk, through=through, passed=passed, ledger=ledger,
                     report=report, offices=offices)
        progress("importing", ledger.done, total)
    result.created, result.skipped = ledger.created, ledger.skipped
    result.written = result.created > 0
    return result


# Kinds of file: people (above), and those apps register (a file of trafficking cases from
# tip). `cases` imports no app: an app registers its importer from AppConfig.ready().


class Importer(Protocol):
    def __call__(self, *, by: User, data: bytes, filename: str = "", skip_invalid: bool = False,
                 office: Office | None = None, on_progress: ProgressCallback | None = None,
                 ledger: Ledger | None = None) -> ImportResult: ...


@dataclass(frozen=True)
class ImportKind:
    code: str
    label: str | Promise
    run: Importer
    help_template: str = ""  # what the import page says of the file's columns
    accept: str = ""  # the file types the upload field offers, beyond CSV and XLSX


PEOPLE = "people"
KINDS: dict[str, ImportKind] = {
    PEOPLE: ImportKind(PEOPLE, _("People (one person and one case per row)"), import_people,
                       "cases/_import_people_help.html"),
}


def register_kind(kind: ImportKind) -> None:
    """Add (or replace: ready() may run twice in tests) a kind of file."""
    KINDS[kind.code] = kind


# Helpers for importers of other kinds: a chunk draws its case numbers in a transaction of
# its own, before the chunk's, and gives back those it did not use.


def draw_numbers(ledger: Ledger, need: dict[int, tuple[Office, int]]) -> None:
    _draw_numbers(ledger, need)


def take_number(ledger: Ledger, office: Office) -> str:
    return _take_number(ledger, office)


def return_unused(ledger: Ledger, offices: dict[int, Office]) -> None:
    for office_id, (year, first, last) in ledger.blocks.items():
        if first <= last:
            services.return_references(office=offices[office_id], year=year, first=first,
                                       last=last)
    ledger.blocks = {}


def lock_keys(space: int, keys: Iterable[str]) -> None:
    """Transaction-level advisory locks on these strings (PostgreSQL; SQLite writes one
    transaction at a time), all at once in one order, so two imports never wait on each
    other."""
    if connection.vendor != "postgresql":
        return
    ints = sorted({int.from_bytes(hashlib.blake2b(k.encode(), digest_size=4).digest(), "big",
                                  signed=True) for k in keys})
    if not ints:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_advisory_xact_lock(%s::int, k)) "
                       "FROM unnest(%s::int[]) AS k", [space, ints])


# Import jobs from the web: the upload is sealed until the task has run


def queue_import(*, by: User, office: Office, data: bytes, filename: str = "",
                 skip_invalid: bool = False, kind: str = PEOPLE) -> ImportJob:
    """Store an uploaded file sealed under a new job's key and queue the import task."""
    if office.pk not in access.offices_where(by, Role.SUPERVISOR):
        raise PermissionDenied(_("Only a supervisor of this office can import people into it."))
    if kind not in KINDS:
        raise ValidationError({"kind": _("Choose the kind of file.")})
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
                storage_name=name, kind=kind,
                # The file name may name a person: keep only its extension.
                file_extension=_extension(filename),
            )
            events.emit("import.queue", actor=by, obj=job, size=len(data),
                        file_type=job.file_extension, kind=kind)
            transaction.on_commit(lambda: _dispatch(job_id))
    except Exception:
        if name:  # no sealed file without its job
            files.delete(name)
        raise
    return job


def resume_import(*, by: User, job: ImportJob) -> ImportJob:
    """A supervisor of the job's office resumes an interrupted import (its worker stopped)."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.office_id not in access.offices_where(by, Role.SUPERVISOR):
            raise PermissionDenied(_("Only a supervisor of this office can import people into it."))
        if not job.can_resume:
            raise ValidationError(_("This import is not interrupted: there is nothing to resume."))
        events.emit("import.resume", actor=by, obj=job, rows_done=job.rows_done, via="page")
        job_id = job.pk
        transaction.on_commit(lambda: _dispatch(job_id))
    return job


def _extension(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return ext if ext.isalnum() and len(ext) <= 8 else ""


def _dispatch(job_id: uuid.UUID) -> None:
    """Queue the job's task. With a broker (CELERY_BROKER_URL) a worker runs it; without
    one (the quick start) it runs here, eagerly."""
    from cases.tasks import run_import_job_task

    run_import_job_task.delay(str(job_id))


def _claim(job_id: uuid.UUID | str) -> uuid.UUID | None:
    """Take a queued job, or an interrupted one (see ImportJob.is_interrupted), for this run."""
    worker, now = uuid.uuid4(), timezone.now()
    idle = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - lease())
    claimable = Q(status=ImportStatus.QUEUED) | (
        Q(status__in=ImportJob.STARTED) & idle & Q(attempts__lt=MAX_ATTEMPTS))
    claimed = ImportJob.objects.filter(claimable, pk=job_id).exclude(storage_name="").update(
        status=ImportStatus.VALIDATING, worker=worker, heartbeat_at=now, processed=0,
        attempts=F("attempts") + 1,
        started_at=Coalesce("started_at", models.Value(now, output_field=models.DateTimeField())))
    return worker if claimed else None


def run_import_job(*, job_id: uuid.UUID | str) -> ImportJob | None:
    """Run a queued job, or resume an interrupted one after its last saved chunk; at the end
    its key is destroyed and its file deleted. Does nothing (None) for a job that finished
    or that a live run holds: a redelivered message writes nothing twice."""
    worker = _claim(job_id)
    if worker is None:
        return None
    job = ImportJob.objects.select_related("office", "created_by").get(pk=job_id)
    ledger = JobLedger(job, worker)
    counts: dict[str, Any] = {}
    skipped = ledger.skipped
    with translation.override(job.created_by.preferred_language):
        try:
            data = files.load(subject_id=job.pk, table=ImportJob._meta.db_table, row_id=job.pk,
                              name=job.storage_name)
            run = import_people if job.kind == PEOPLE else KINDS[job.kind].run
            result = run(
                by=job.created_by, data=data, filename=f"upload.{job.file_extension}",
                skip_invalid=job.skip_invalid, office=job.office, ledger=ledger,
            )
        except Superseded:
            log.info("import job %s: another run holds it; this one stops", job.pk)
            return None
        except ImportFileError as exc:
            status = ImportStatus.FAILED
            report = [RowProblem(None, "", e.message, e.params).as_dict() for e in exc.error_list]
        except Exception:
            log.exception("import job %s stopped", job.pk)
            status = ImportStatus.FAILED
            if ledger.created:
                stopped = RowProblem(None, "", _(
                    "The import stopped on an unexpected error. People imported before it "
                    "stopped: %(n)d. Upload the file again to import the rest (people already "
                    "imported are skipped), or tell your system administrator."),
                    {"n": ledger.created})
            else:
                stopped = RowProblem(None, "", _(
                    "The import stopped on an unexpected error; nothing was written. "
                    "Try again, or tell your system administrator."))
            report = [stopped.as_dict()]
        else:
            refused = bool(result.rejected) and not job.skip_invalid
            status = ImportStatus.FAILED if refused else ImportStatus.DONE
            job.total, job.processed, job.rejected = result.total, result.total, result.rejected
            skipped = result.skipped
            report, counts = result.report.stored(), result.report.counts()
    with transaction.atomic():
        held = ImportJob.objects.select_for_update().filter(pk=job.pk, worker=worker).first()
        if held is None or held.status not in ImportJob.STARTED:
            return None  # another run took the job over and finishes it
        _return_reserved(job.office, held.reserved)
        job.total = job.total or ledger.total
        job.status, job.report, job.report_counts = status, report, counts
        job.created, job.skipped, job.rows_done = ledger.created, skipped, ledger.done
        job.reserved, job.heartbeat_at = {}, timezone.now()
        job.finished_at = timezone.now()
        _shred(job)
        job.save()
        events.emit("import.finish", actor=job.created_by, obj=job, status=job.status,
                    created=job.created, skipped=job.skipped, rejected=job.rejected,
                    attempts=job.attempts)
    return job


def _return_reserved(office: Office, reserved: dict[str, int]) -> None:
    """Give back the numbers a job drew for a chunk it never saved, if still the last ones."""
    if reserved and reserved["next"] <= reserved["last"]:
        services.return_references(office=office, year=reserved["year"],
                                   first=reserved["next"], last=reserved["last"])


def _shred(job: ImportJob) -> None:
    datakeys.destroy(subject_id=job.pk)
    if job.storage_name:
        files.delete(job.storage_name)
        job.storage_name = ""


def shred_stale_jobs(*, older_than: datetime.timedelta = datetime.timedelta(hours=6)) -> int:
    """Resume interrupted jobs; fail and shred those that will not finish: queued and never
    started within `older_than` (a lost message), or interrupted and either older than that
    or stopped MAX_ATTEMPTS times. Returns how many were given up.

    A job given up keeps the people its saved chunks wrote; its sealed file must not wait
    for ever."""
    now = timezone.now()
    cutoff = now - older_than
    idle = Q(status__in=ImportJob.STARTED) & (
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - lease()))
    hopeless = (Q(status=ImportStatus.QUEUED, created_at__lt=cutoff)
                | (idle & (Q(created_at__lt=cutoff) | Q(attempts__gte=MAX_ATTEMPTS))))
    count = 0
    for job_id in ImportJob.objects.filter(hopeless).values_list("pk", flat=True):
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().select_related("office").get(pk=job_id)
            if not job.is_running or (job.status in ImportJob.STARTED and not job.is_interrupted):
                continue
            _return_reserved(job.office, job.reserved)
            _shred(job)
            job.status = ImportStatus.FAILED
            if job.created:
                message = RowProblem(None, "", _(
                    "The import never finished (the worker stopped). People imported before "
                    "it stopped: %(n)d. Upload the file again to import the rest: people "
                    "already imported are skipped."), {"n": job.created})
            else:
                message = RowProblem(None, "", _(
                    "The import never finished (the worker stopped); nothing was written. "
                    "Upload the file again."))
            job.report = [message.as_dict(), *job.report]
            job.reserved = {}
            job.finished_at = timezone.now()
            job.save()
            events.emit("import.abandon", obj=job, created=job.created)
            count += 1
    resumable = ImportJob.objects.filter(idle, created_at__gte=cutoff, attempts__lt=MAX_ATTEMPTS)
    for job_id, office_id in resumable.exclude(storage_name="").values_list("pk", "office_id"):
        events.emit("import.resume", object_type=ImportJob._meta.label_lower,
                    object_id=str(job_id), office_id=office_id, via="sweep")
        _dispatch(job_id)
    return count
