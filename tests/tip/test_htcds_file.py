"""Reading the three HTCDS 2.0 templates and CSV with their header."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import openpyxl
import pytest
from faker import Faker

from cases.importing import ImportFileError
from tip import htcds_file

TEMPLATES = Path(htcds_file.__file__).parent / "htcds"
WORKBOOKS = ["htcds-plain-v2.0.xlsx", "htcds-single-select-v2.0.xlsx", "htcds-multi-select-v2.0.xlsm"]
EXPLOITATION = [("ForcedLabour", "Forced labour"), ("SexualExploitation", "Sexual exploitation"),
                ("ChildLabour", "Child labour"), ("ForcedBegging", "Forced begging")]


def _people(count: int) -> list[dict[str, str]]:
    fake = Faker("es_MX")
    fake.seed_instance(11)
    return [{"prs_FirstName": fake.first_name(), "prs_SecondName": fake.last_name(),
             "prs_Birthdate": fake.date_of_birth(minimum_age=12, maximum_age=60),
             "prs_Gender": fake.random_element(["Feminine", "Masculine", "NonConforming"]),
             "prs_Citizenship": fake.random_element(["MX", "GTM", "Honduras", "SV"]),
             "con_Consent": fake.random_element([True, False]),
             "vic_TypeOfExploitation": "; ".join(
                 label for _, label in fake.random_elements(EXPLOITATION, length=2, unique=True))}
            for _ in range(count)]


def _filled(name: str, people: list[dict]) -> bytes:
    """The template with `people` typed in below its two header rows, as an office would."""
    book = openpyxl.load_workbook(TEMPLATES / name, keep_vba=name.endswith(".xlsm"))
    sheet = book.worksheets[0]
    at = {cell.value: cell.column for cell in sheet[1] if cell.value}
    for offset, person in enumerate(people):
        for field, value in person.items():
            sheet.cell(row=3 + offset, column=at[field], value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("name", WORKBOOKS)
def test_each_template_reads_as_its_fields_and_the_rows_typed_in(name):
    people = _people(6)

    table = htcds_file.read(data=_filled(name, people), filename=name)
    rows = list(table.rows)

    assert table.fields[:3] == ["cas_CaseOwner", "prs_Salutation", "prs_FirstName"]
    assert "vic_TypeOfExploitation" in table.fields and len(table.fields) >= 35
    # The labels' row and the template's thousand numbered empty rows are not people.
    assert [n for n, _ in rows] == [3, 4, 5, 6, 7, 8]
    for (_, record), person in zip(rows, people, strict=True):
        assert record["prs_FirstName"] == person["prs_FirstName"]
        assert htcds_file.date(record["prs_Birthdate"]) == person["prs_Birthdate"]
        assert htcds_file.boolean(record["con_Consent"]) is person["con_Consent"]
        codes, wrong = htcds_file.choices(record["vic_TypeOfExploitation"], EXPLOITATION)
        assert wrong == [] and len(codes) == 2
        assert htcds_file.country(record["prs_Citizenship"]) in {"MX", "GT", "HN", "SV"}


def test_csv_with_the_same_header_and_multi_select_values():
    text = ("prs_FirstName,prs_Gender,vic_MethodsOfControl,prs_Citizenship\n"
            "Ana,Feminine,DebtBondage; Physical threats ;;,hnd\n"
            ",,,\n"
            "Luis,Masculine,,BLZ\n")

    table = htcds_file.read(data=text.encode(), filename="cases.csv")
    rows = list(table.rows)

    assert table.fields == ["prs_FirstName", "prs_Gender", "vic_MethodsOfControl", "prs_Citizenship"]
    assert [n for n, _ in rows] == [2, 4]
    assert htcds_file.split(rows[0][1]["vic_MethodsOfControl"]) == ["DebtBondage", "Physical threats"]
    codes, wrong = htcds_file.choices(
        "DebtBondage; Physical threats; Locks the door",
        [("DebtBondage", "Debt bondage"), ("PhysicalThreats", "Physical threats")])
    assert codes == ["DebtBondage", "PhysicalThreats"] and wrong == ["Locks the door"]
    assert [htcds_file.country(r["prs_Citizenship"]) for _, r in rows] == ["HN", "BZ"]


@pytest.mark.parametrize(("text", "message"), [
    ("name,surname\nAna,Pérez\n", "holds no HTCDS field names"),
    ("prs_FirstName,prs_FirstName\nAna,Ana\n", "appears twice"),
    ("prs_FirstName,Notes\nAna,x\n", "not HTCDS fields: Notes"),
    ("\n\n", "empty"),
])
def test_a_file_that_is_not_htcds_is_refused_with_what_is_wrong(text, message):
    with pytest.raises(ImportFileError) as refused:
        htcds_file.read(data=text.encode(), filename="x.csv")

    assert message in str(refused.value.message % refused.value.params
                          if refused.value.params else refused.value.message)


def test_a_damaged_workbook_is_refused():
    data = _filled(WORKBOOKS[1], _people(1))
    with pytest.raises(ImportFileError):
        htcds_file.read(data=data[: len(data) // 2], filename="cut.xlsx")


def test_the_row_cap_of_every_import_holds(settings):
    settings.AMPARO_IMPORT_MAX_ROWS = 3
    text = "prs_FirstName\n" + "".join(f"P{n}\n" for n in range(5))

    table = htcds_file.read(data=text.encode(), filename="many.csv")
    with pytest.raises(ImportFileError):
        list(table.rows)


@pytest.mark.parametrize(("value", "expected"), [
    ("1990-05-31", datetime.date(1990, 5, 31)), ("1990-05-31T00:00:00", datetime.date(1990, 5, 31)),
    ("31/05/1990", datetime.date(1990, 5, 31)), ("31/02/1990", None), ("1990-5-31", None),
    ("19900531", None), ("", None), ("mañana", None),
])
def test_dates(value, expected):
    assert htcds_file.date(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("TRUE", True), ("Sí", True), ("1", True), ("False", False), ("no", False), ("", None),
    ("maybe", None)])
def test_booleans(value, expected):
    assert htcds_file.boolean(value) is expected


def test_countries_by_code_or_name_and_unknown():
    assert [htcds_file.country(v) for v in ["gt", "GTM", "Guatemala", "Bolivia (Plurinational State of)",
                                             "XX", "Narnia"]] == ["GT", "GT", "GT", "BO", None, None]
