"""Generated import files (Faker es_MX / es / en): never real people."""

from __future__ import annotations

import csv
import datetime
import io
import random

import openpyxl
from faker import Faker

from cases.importing import COLUMNS

LOCALES = ["es_MX", "es_ES", "en_US"]


def people_rows(n: int, *, office_code: str = "BZ-BMP", seed: int = 1) -> list[dict[str, str]]:
    """n valid rows for an office in Belize (phones are Belizean mobile numbers)."""
    fake = Faker(LOCALES)
    fake.seed_instance(seed)
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        sex = rng.choice(["female", "male"])
        given = fake.first_name_female() if sex == "female" else fake.first_name_male()
        rows.append({
            "given_names": given,
            "family_names": f"{fake.last_name()} {fake.last_name()}",
            "aliases": ";".join(fake.first_name() for _ in range(rng.randint(0, 2))),
            "date_of_birth": fake.date_of_birth(minimum_age=1, maximum_age=80).isoformat(),
            "sex": sex,
            "nationality": rng.choice(["HN", "SV", "GT", "NI;HN", "VE", ""]),
            "languages": rng.choice(["es", "es;en", "mam;es", "en", ""]),
            "phone": f"6{rng.randint(10, 29)} {rng.randint(1000, 9999)}" if i % 3 else "",
            "email": fake.email() if i % 2 else "",
            "address": fake.address().replace("\n", ", "),
            "document_type": "passport" if i % 4 else "",
            "document_number": f"P{rng.randint(1000000, 9999999)}" if i % 4 else "",
            "office_code": office_code,
            "case_kind": rng.choice(["asylum", "trafficking"]),
        })
    return rows


def to_csv(rows: list[dict[str, str]], *, bom: bool = False, delimiter: str = ",",
           columns: tuple[str, ...] | list[str] = COLUMNS) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


def to_xlsx(rows: list[dict[str, str]], *, typed: bool = True) -> bytes:
    """A workbook as a spreadsheet program writes it: dates as dates, numbers as numbers."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    for row in rows:
        values: list[object] = [row[c] for c in COLUMNS]
        if typed:
            dob = row["date_of_birth"]
            values[COLUMNS.index("date_of_birth")] = (
                datetime.datetime.fromisoformat(dob) if dob else None)
            phone = row["phone"].replace(" ", "")
            values[COLUMNS.index("phone")] = int(phone) if phone.isdigit() else row["phone"]
        sheet.append([v if v != "" else None for v in values])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
