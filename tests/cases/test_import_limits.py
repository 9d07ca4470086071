"""The limits of an import: rows per file, what a workbook may unpack to, the size of a
report. Crafted files are refused before they are read, quickly and in little memory."""

from __future__ import annotations

import io
import re
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Callable

import pytest
from django.core.management import CommandError, call_command

from cases import importing
from cases.models import Case, ImportJob, Person
from tests.cases.importdata import people_rows, to_csv, to_xlsx

pytestmark = pytest.mark.django_db

SHEET = "xl/worksheets/sheet1.xml"


def _refused(by, data: bytes, filename: str = "people.xlsx") -> tuple[str, float, int]:
    """The message refusing the file, the seconds it took and the peak of memory allocated."""
    people = Person.objects.count()
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(importing.ImportFileError) as exc:
            importing.import_people(by=by, data=data, filename=filename)
        seconds = time.monotonic() - started
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert Person.objects.count() == people
    return " ".join(exc.value.messages), seconds, peak


def _rewrite(data: bytes, name: str, change: Callable[[bytes], bytes]) -> bytes:
    """The workbook with one member's content changed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            dst.writestr(info.filename, change(content) if info.filename == name else content)
    return out.getvalue()


def _with_dimension(data: bytes, ref: str) -> bytes:
    return _rewrite(data, SHEET, lambda xml: re.sub(rb'<dimension ref="[^"]*"\s*/>',
                                                    f'<dimension ref="{ref}"/>'.encode(), xml))


MB = 1024 * 1024


# Rows per file


def test_a_file_of_more_rows_than_the_limit_is_refused(caseworker, settings):
    settings.AMPARO_IMPORT_MAX_ROWS = 5
    rows = people_rows(6)
    message, _s, _m = _refused(caseworker, to_csv(rows), "people.csv")
    assert message == "The file has more than 5 rows. Split it into files of at most 5 rows."
    message, _s, _m = _refused(caseworker, to_xlsx(rows))
    assert message.startswith("The file has more than 5 rows.")
    # Blank rows count: the limit bounds the reading, not only the people.
    padded = to_csv(rows[:4]) + b"\r\n\r\n"
    assert "more than 5 rows" in _refused(caseworker, padded, "people.csv")[0]
    assert importing.import_people(by=caseworker, data=to_csv(rows[:5])).created == 5


def test_a_csv_one_row_over_the_default_limit_is_refused_in_little_memory(caseworker):
    limit = importing.max_rows()
    assert limit == 100_000
    line = b",,,,,,,,,,,,BZ-BMP,asylum\r\n"
    data = ",".join(importing.COLUMNS).encode() + b"\r\n" + line * (limit + 1)
    message, seconds, peak = _refused(caseworker, data, "people.csv")
    assert message.startswith("The file has more than 100000 rows.")
    assert peak < 8 * MB, peak  # the rows are counted as they are read, never held
    assert seconds < 20


def test_the_command_refuses_a_file_over_the_limit(caseworker, tmp_path, settings):
    settings.AMPARO_IMPORT_MAX_ROWS = 2
    caseworker.preferred_language = "en"
    caseworker.save()
    path = tmp_path / "people.csv"
    path.write_bytes(to_csv(people_rows(3)))
    with pytest.raises(CommandError, match=r"^The file has more than 2 rows\."):
        call_command("import_people", str(path), user=caseworker.username, stdout=io.StringIO())
    assert Person.objects.count() == 0


# Workbooks that declare or unpack to more than they hold


def test_a_workbook_declaring_a_huge_sheet_is_refused_before_its_rows_are_read(caseworker):
    data = _with_dimension(to_xlsx(people_rows(2)), "A1:Z1048576")
    assert len(data) < 20_000
    message, seconds, peak = _refused(caseworker, data)
    assert message.startswith("The file has more than 100000 rows.")
    assert seconds < 2 and peak < 10 * MB, (seconds, peak)


def test_a_workbook_declaring_too_many_columns_is_refused(caseworker):
    data = _with_dimension(to_xlsx(people_rows(2)), "A1:XFD3")
    message, seconds, peak = _refused(caseworker, data)
    assert message.startswith("The sheet has more than 64 columns")
    assert seconds < 2 and peak < 10 * MB


def test_a_declared_size_is_not_trusted(caseworker, office):
    # Declared smaller than it is: every row is still read and imported.
    rows = people_rows(6)
    data = _with_dimension(to_xlsx(rows), "A1:B2")
    assert importing.import_people(by=caseworker, data=data).created == 6
    # Not declared at all, with a row a million rows down: counted while read, and refused.
    far = _rewrite(to_xlsx(people_rows(2)), SHEET, lambda xml: re.sub(
        rb'<dimension ref="[^"]*"\s*/>', b"", xml).replace(
        b"</sheetData>",
        b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'))
    message, seconds, peak = _refused(caseworker, far)
    assert message.startswith("The file has more than 100000 rows.")
    assert seconds < 10 and peak < 10 * MB, (seconds, peak)


def _bomb(member: str, size: int) -> bytes:
    """A workbook one of whose members unpacks to `size` bytes of blanks (a few KB packed)."""
    def pad(xml: bytes) -> bytes:
        if member == SHEET:
            return xml.replace(b"</sheetData>", b" " * size + b"</sheetData>")
        return xml
    data = _rewrite(to_xlsx(people_rows(2)), SHEET, pad)
    if member != SHEET:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as src, \
                zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                dst.writestr(info.filename, src.read(info))
            dst.writestr(member, b'<?xml version="1.0"?><sst>' + b" " * size + b"</sst>")
        data = out.getvalue()
    return data


@pytest.mark.parametrize("member, size", [(SHEET, 48 * MB), ("xl/sharedStrings.xml", 9 * MB)])
def test_a_workbook_that_unpacks_beyond_the_limit_is_refused_unopened(caseworker, settings,
                                                                      member, size):
    settings.AMPARO_IMPORT_MAX_UNPACKED_BYTES = 32 * MB  # shared strings: a quarter of it
    data = _bomb(member, size)
    assert len(data) < 200_000
    message, seconds, peak = _refused(caseworker, data)
    assert message == ("Unpacked, this workbook would take more than 32 MB. Save it as CSV "
                       "UTF-8, or split it into smaller files.")
    assert seconds < 2 and peak < 10 * MB, (seconds, peak)


def test_a_member_lying_about_its_size_cannot_unpack_more(caseworker, settings):
    settings.AMPARO_IMPORT_MAX_UNPACKED_BYTES = 32 * MB
    data = bytearray(_bomb(SHEET, 48 * MB))
    # The central directory entry of the sheet: say it unpacks to 4 KB.
    entry = data.rfind(b"PK\x01\x02", 0, data.rfind(SHEET.encode()) + 1)
    struct.pack_into("<I", data, entry + 24, 4096)
    message, seconds, peak = _refused(caseworker, bytes(data))
    assert "not a readable XLSX workbook" in message
    assert seconds < 2 and peak < 10 * MB, (seconds, peak)


def test_an_archive_of_too_many_members_is_refused(caseworker):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for i in range(importing._MAX_MEMBERS + 1):
            archive.writestr(f"x/{i}", b"")
    assert "not a readable XLSX" in _refused(caseworker, out.getvalue())[0]


# The report


def test_the_report_keeps_the_first_problems_and_counts_them_all(caseworker, settings, tmp_path):
    settings.AMPARO_IMPORT_REPORT_MAX = 3
    rows = people_rows(10)
    for row in rows:
        row["sex"] = "?"
    rows[6]["email"] = "not-an-address"
    result = importing.import_people(by=caseworker, data=to_csv(rows))
    assert [(p.row, p.column) for p in result.problems] == [(2, "sex"), (3, "sex"), (4, "sex")]
    assert (result.rejected, result.unlisted) == (10, 8)
    assert result.report.counts() == {"errors": {"sex": 10, "email": 1}, "skipped": 0}

    caseworker.preferred_language = "en"
    caseworker.save()
    path = tmp_path / "people.csv"
    path.write_bytes(to_csv(rows))
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_people", str(path), user=caseworker.username, stdout=out)
    lines = out.getvalue().splitlines()
    assert [line for line in lines if line.startswith("Row")] == [
        "Row 2, sex: Use one of: female, male, intersex, unknown.",
        "Row 3, sex: Use one of: female, male, intersex, unknown.",
        "Row 4, sex: Use one of: female, male, intersex, unknown."]
    assert "8 more problems are not shown: the report keeps the first ones." in lines


def test_the_report_keeps_the_first_rows_whichever_pass_found_them(caseworker, settings):
    settings.AMPARO_IMPORT_REPORT_MAX = 3
    rows = people_rows(8)
    importing.import_people(by=caseworker, data=to_csv(rows[:3]))
    for row in rows[5:]:
        row["case_kind"] = "other"
    result = importing.import_people(by=caseworker, data=to_csv(rows), skip_invalid=True)
    # The errors of rows 7-9 were found first, the repeated people of rows 2-4 while writing.
    assert [(p.row, p.level) for p in result.problems] == [(2, "skipped"), (3, "skipped"),
                                                           (4, "skipped")]
    assert (result.created, result.skipped, result.rejected, result.unlisted) == (2, 3, 3, 3)


def test_the_job_page_says_how_many_problems_it_does_not_show(
        client, supervisor, office, settings, file_root, django_capture_on_commit_callbacks):
    settings.AMPARO_IMPORT_REPORT_MAX = 2
    supervisor.preferred_language = "en"
    supervisor.save()
    rows = people_rows(5)
    for row in rows:
        row["nationality"] = "Honduras"
    with django_capture_on_commit_callbacks(execute=True):
        job = importing.queue_import(by=supervisor, office=office, data=to_csv(rows))
    job = ImportJob.objects.get(pk=job.pk)
    assert len(job.report) == 2 and job.report_counts == {"errors": {"nationality": 5},
                                                          "skipped": 0}
    client.force_login(supervisor)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "3 more problems are not shown: the report keeps the first ones." in page
    assert "<code>nationality</code> 5" in page
    assert "Honduras" not in page
    assert Case.objects.count() == 0
