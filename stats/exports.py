"""Writing tables as CSV and XLSX (openpyxl in write-only mode: rows stream out); text cells
are made safe to open in a spreadsheet (`cases.spreadsheets`)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import IO, Any

from openpyxl import Workbook

from cases.spreadsheets import safe_cell


def write_csv(out: IO[str], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in columns])
    writer.writerows([safe_cell(v) for v in row] for row in rows)


def write_xlsx(out: IO[bytes], sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]
               ) -> None:
    """One sheet per (title, columns, rows)."""
    book = Workbook(write_only=True)
    for title, columns, rows in sheets:
        sheet = book.create_sheet(title=title[:31])
        sheet.append([safe_cell(c) for c in columns])
        for row in rows:
            sheet.append([safe_cell(v) for v in row])
    book.save(out)
