"""Cells of the files staff open in a spreadsheet (CSV, XLSX): text that begins like a
formula is quoted, so that a name, a reason or an office typed as "=HYPERLINK(...)" is shown,
never run; NUL characters, which some readers take as the end of the file, are dropped."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Text as it may go into a cell; numbers, dates and None as they are."""
    if not isinstance(value, str):
        return value
    text = value.replace("\x00", "")
    return "'" + text if text.startswith(FORMULA_START) else text


def safe_text(value: object) -> str:
    """Any value as the text of a safe cell ("" for None)."""
    return str(safe_cell("" if value is None else str(value)))
