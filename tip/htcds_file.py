"""Reading an HTCDS 2.0 file: the Excel templates (plain, single-select, multi-select) and
CSV with the same header (docs/domain/trafficking.md#reading-htcds-files).

Row 1 holds field names (`prs_FirstName`), row 2 may hold their labels; columns without a
field name (the templates' row numbers) are ignored, and so are rows with nothing under a
field. Values come back as text; `choice`, `choices`, `country` and `boolean` turn them into
codes, accepting an HTCDS value name or its English label, as the validated templates enter
them. The file itself is read by cases.importing, under the limits of every import.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pycountry
from django.utils.translation import gettext as _

from cases.importing import ImportFileError, read_rows

FIELD = re.compile(r"^(prs|vic|per|cas|hte|spl|con|org)_[A-Za-z0-9_]+$")
SEPARATOR = ";"
_TRUE = {"true", "yes", "y", "1", "x", "si", "sí", "verdadero"}
_FALSE = {"false", "no", "n", "0", "falso"}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAY_FIRST = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass(frozen=True)
class HtcdsTable:
    fields: list[str]  # in the order of the file's columns
    rows: Iterator[tuple[int, dict[str, str]]]  # (row number in the file, field -> text)


def _label(field: str) -> str:
    """'vic_TypeOfExploitation' -> 'typeofexploitation', as a label row writes it, squeezed."""
    return _squeeze(field.split("_", 1)[1])


def _squeeze(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def read(*, data: bytes, filename: str = "") -> HtcdsTable:
    """The fields and rows of an HTCDS file; ImportFileError if it is not one."""
    rows = ((n, cells) for n, cells in read_rows(data=data, filename=filename) if any(cells))
    first = next(rows, None)
    if first is None:
        raise ImportFileError(_("The file is empty."))
    number, header = first
    columns: dict[int, str] = {}
    unknown = []
    for at, name in enumerate(header):
        if not name:
            continue
        if not FIELD.match(name):
            unknown.append(name)
            continue
        if name in columns.values():
            raise ImportFileError(_("The field %(field)s appears twice in row %(row)d."),
                                  params={"field": name, "row": number})
        columns[at] = name
    if not columns:
        raise ImportFileError(
            _("Row %(row)d holds no HTCDS field names. The first row of an HTCDS file names "
              "its fields, such as prs_FirstName or vic_TypeOfExploitation."),
            params={"row": number})
    if unknown:
        raise ImportFileError(
            _("Row %(row)d names columns that are not HTCDS fields: %(names)s. Leave the "
              "template's field names as they are."),
            params={"row": number, "names": ", ".join(unknown[:5])})
    return HtcdsTable(list(columns.values()), _records(columns, rows))


def _records(columns: dict[int, str], rows: Iterator[tuple[int, list[str]]]
             ) -> Iterator[tuple[int, dict[str, str]]]:
    first = True
    for number, cells in rows:
        record = {field: cells[at].strip() if at < len(cells) else ""
                  for at, field in columns.items()}
        if not any(record.values()):
            continue
        if first:
            first = False
            named = [(f, v) for f, v in record.items() if v]
            if sum(_squeeze(v) == _label(f) for f, v in named) * 2 >= len(named):
                continue  # the labels' row
        yield number, record


def split(value: str) -> list[str]:
    """The values of a multi-select cell."""
    return [part.strip() for part in value.split(SEPARATOR) if part.strip()]


def choice(value: str, options: Iterable[tuple[str, str]]) -> str | None:
    """The code of `value` among (code, English label) options, by code or label; None if
    it is neither. Case, spaces and punctuation do not matter."""
    wanted = _squeeze(value)
    for code, label in options:
        if wanted in (_squeeze(code), _squeeze(str(label))):
            return code
    return None


def choices(value: str, options: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(codes, values that are no option) of a multi-select cell."""
    options = list(options)
    codes, wrong = [], []
    for part in split(value):
        code = choice(part, options)
        if code is None:
            wrong.append(part)
        elif code not in codes:
            codes.append(code)
    return codes, wrong


# Names in the templates' list of countries that pycountry spells otherwise.
_COUNTRY_NAMES = {"congo, democratic republic of the": "CD", "holy see": "VA", "turkey": "TR"}


def country(value: str) -> str | None:
    """ISO 3166 alpha-2 of an alpha-2 or alpha-3 code or an English name; None if unknown."""
    text = value.strip()
    if text.lower() in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[text.lower()]
    # UN style, as the templates' own list writes them: "Bolivia (Plurinational State of)".
    for name in (text, re.sub(r"^(.*) \((.*)\)$", r"\1, \2", text)):
        try:
            return pycountry.countries.lookup(name).alpha_2
        except LookupError:
            continue
    return None


def boolean(value: str) -> bool | None:
    text = value.strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def date(value: str) -> datetime.date | None:
    """A date as YYYY-MM-DD (what a spreadsheet's date cell becomes) or DD/MM/YYYY."""
    text = value.strip().split("T", 1)[0].split(" ", 1)[0]
    if _ISO.match(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            return None
    day_first = _DAY_FIRST.match(value.strip())
    if day_first:
        day, month, year = (int(g) for g in day_first.groups())
        try:
            return datetime.date(year, month, day)
        except ValueError:
            return None
    return None
