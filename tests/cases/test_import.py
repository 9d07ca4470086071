"""Importing people from CSV and XLSX files: the service and the management command."""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from cases import importing, selectors
from cases.models import Case, DataKey, IdentityDocument, Person, PersonIndex, Role
from cases.services import IdentityDocumentData, PersonData
from tests.cases.importdata import people_rows, to_csv, to_xlsx

pytestmark = pytest.mark.django_db


def _nothing_written() -> None:
    assert Person.objects.count() == 0
    assert Case.objects.count() == 0
    assert DataKey.objects.count() == 0
    assert IdentityDocument.objects.count() == 0


def _person_for(row: dict[str, str]) -> Person:
    """Find the imported person of a row the way the import does: fingerprint, then decrypt."""
    docs = [IdentityDocumentData(row["document_type"], row["document_number"])] if (
        row["document_number"]) else []
    data = PersonData(
        given_names=row["given_names"], family_names=row["family_names"],
        date_of_birth=datetime.date.fromisoformat(row["date_of_birth"]), documents=docs,
    )
    (person,) = Person.objects.filter(fingerprint=data.fingerprint())
    return person


def _assert_imported(row: dict[str, str], *, by, office) -> None:
    person = _person_for(row)
    assert person.office == office
    assert person.given_names == row["given_names"]
    assert person.family_names == row["family_names"]
    assert person.aliases == [a for a in row["aliases"].split(";") if a]
    assert person.date_of_birth == datetime.date.fromisoformat(row["date_of_birth"])
    assert person.birth_year == person.date_of_birth.year
    assert person.sex == row["sex"]
    assert person.nationalities == sorted(c for c in row["nationality"].split(";") if c)
    assert person.languages == sorted(c for c in row["languages"].split(";") if c)
    if row["phone"]:
        assert person.phone == "+501" + row["phone"].replace(" ", "")
    else:
        assert person.phone == ""
    assert person.email == row["email"]
    assert person.address == row["address"]
    assert person.registered_by == by
    assert person.history.get().history_user == by
    docs = list(person.documents.all())
    if row["document_number"]:
        assert [(d.document_type, d.number) for d in docs] == [
            (row["document_type"], row["document_number"])]
    else:
        assert docs == []
    assert PersonIndex.objects.filter(person=person, kind="name").exists()
    (case,) = Case.objects.filter(principal=person)
    assert case.kind == row["case_kind"]
    assert case.office == office
    assert case.assigned_to is None
    assert case.opened_by == by
    assert case.history.get().history_user == by


# Good files


def test_csv_imports_people_with_cases_in_the_unassigned_queue(caseworker, office, caseworker2):
    rows = people_rows(8)
    result = importing.import_people(by=caseworker, data=to_csv(rows), filename="intake.csv")
    assert (result.total, result.created, result.skipped, result.rejected) == (8, 8, 0, 0)
    assert result.written and result.problems == []
    for row in rows:
        _assert_imported(row, by=caseworker, office=office)
    # Every caseworker of the office sees the new cases in the queue.
    assert selectors.unassigned_queue(caseworker2).count() == 8


def test_xlsx_with_typed_cells_imports_the_same(supervisor, office):
    rows = people_rows(6, seed=7)
    result = importing.import_people(by=supervisor, data=to_xlsx(rows), filename="intake.xlsx")
    assert (result.created, result.rejected) == (6, 0)
    for row in rows:
        _assert_imported(row, by=supervisor, office=office)


def test_xlsx_is_recognised_by_content_not_name(caseworker):
    result = importing.import_people(by=caseworker, data=to_xlsx(people_rows(2)),
                                     filename="export")
    assert result.created == 2


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_with_bom_and_spreadsheet_delimiters(caseworker, office, delimiter):
    rows = people_rows(3, seed=3)
    data = to_csv(rows, bom=True, delimiter=delimiter)
    result = importing.import_people(by=caseworker, data=data, filename="x.csv")
    assert (result.created, result.rejected) == (3, 0)
    _assert_imported(rows[0], by=caseworker, office=office)


def test_values_are_normalised(caseworker, office):
    row = people_rows(1)[0] | {
        "sex": "Female", "nationality": "hn; sv", "languages": "ES;Mam", "document_type": "Passport",
        "document_number": "P1234567", "office_code": "bz-bmp", "case_kind": "Trafficking",
        "phone": "+501 610-1234", "date_of_birth": "1988-02-29",
    }
    columns = list(importing.COLUMNS)[::-1]  # column order does not matter
    result = importing.import_people(by=caseworker, data=to_csv([row], columns=columns))
    assert result.created == 1, result.problems
    person = Person.objects.get()
    assert (person.sex, person.nationalities, person.languages, person.phone) == (
        "female", ["HN", "SV"], ["es", "mam"], "+5016101234")
    assert Case.objects.get().kind == "trafficking"


def test_blank_lines_are_ignored_and_rows_keep_their_numbers(caseworker):
    rows = people_rows(2)
    rows[1]["case_kind"] = "refugee"
    lines = to_csv(rows).decode().splitlines()
    data = "\n".join([lines[0], "", lines[1], ",,,,", lines[2]]).encode()
    result = importing.import_people(by=caseworker, data=data)
    assert [(p.row, p.column) for p in result.problems] == [(5, "case_kind")]


# Bad rows

BAD_CELLS = [
    # column, value, expected fragment of the message
    ("given_names", "", "required"),
    ("family_names", "", "required"),
    ("given_names", "Zacarías" * 30, "Longer than 200"),
    ("date_of_birth", "31/05/1990", "YYYY-MM-DD"),
    ("date_of_birth", "1990-02-30", "YYYY-MM-DD"),
    ("date_of_birth", "2999-01-01", "future"),
    ("date_of_birth", "1850-01-01", "year of birth"),
    ("sex", "mujer", "Use one of"),
    ("nationality", "Honduras", "ISO 3166"),
    ("nationality", "HN;QQ", "ISO 3166"),
    ("nationality", "HND", "ISO 3166"),
    ("languages", "español", "language codes"),
    ("phone", "12", "phone number"),
    ("phone", "+1 555", "phone number"),
    ("email", "zacarias.at.example.org", "email"),
    ("document_type", "cedula", "Use one of"),
    ("office_code", "", "required"),
    ("office_code", "MX-NOPE", "No active office"),
    ("case_kind", "", "required"),
    ("case_kind", "refugio", "Use one of"),
]


def test_every_bad_cell_is_reported_with_row_and_column_and_nothing_is_written(caseworker):
    rows = people_rows(len(BAD_CELLS) + 2)
    for row, (column, value, _fragment) in zip(rows[1:], BAD_CELLS, strict=False):
        row[column] = value
        if column == "document_type":
            row["document_number"] = "P7654321"
    rows[-1]["document_type"], rows[-1]["document_number"] = "passport", ""
    rows.append(people_rows(1, seed=99)[0] | {"document_type": "", "document_number": "X99887766"})
    result = importing.import_people(by=caseworker, data=to_csv(rows))

    expected = [(i + 3, column) for i, (column, _v, _f) in enumerate(BAD_CELLS)]
    expected += [(len(rows), "document_number"), (len(rows) + 1, "document_type")]
    assert [(p.row, p.column) for p in result.problems] == expected
    assert all(p.level == "error" for p in result.problems)
    for problem, (_column, value, fragment) in zip(result.problems, BAD_CELLS, strict=False):
        assert fragment.lower() in problem.text.lower(), problem
        if value:
            assert value not in problem.text
            assert value.lower() not in str(problem).lower()
    assert (result.total, result.rejected, result.created, result.written) == (
        len(rows), len(BAD_CELLS) + 2, 0, False)
    _nothing_written()


def test_several_problems_in_one_row_are_all_reported(caseworker):
    row = people_rows(1)[0] | {"given_names": "", "sex": "x", "email": "nope", "case_kind": ""}
    result = importing.import_people(by=caseworker, data=to_csv([row]))
    # In the order of the columns
    assert [p.column for p in result.problems] == ["given_names", "sex", "email", "case_kind"]
    assert {p.row for p in result.problems} == {2}
    assert result.rejected == 1


def test_row_with_more_cells_than_the_header(caseworker):
    data = to_csv(people_rows(1)) .rstrip(b"\r\n") + b",surplus\r\n"
    result = importing.import_people(by=caseworker, data=data)
    assert [(p.row, p.column) for p in result.problems] == [(2, "")]
    assert "surplus" not in result.problems[0].text
    _nothing_written()


def test_skip_invalid_writes_the_good_rows_and_reports_the_rest(caseworker, office):
    rows = people_rows(5)
    rows[1]["date_of_birth"] = "05/03/1990"
    rows[3]["office_code"] = "CR-SJO"
    result = importing.import_people(by=caseworker, data=to_csv(rows), skip_invalid=True)
    assert (result.created, result.rejected, result.written) == (3, 2, True)
    assert [(p.row, p.column) for p in result.problems] == [(3, "date_of_birth"), (5, "office_code")]
    assert Person.objects.count() == Case.objects.count() == 3
    for row in (rows[0], rows[2], rows[4]):
        _assert_imported(row, by=caseworker, office=office)


# Re-import


def test_importing_the_same_file_again_creates_no_duplicates(caseworker, office):
    rows = people_rows(6)
    data = to_csv(rows)
    assert importing.import_people(by=caseworker, data=data).created == 6
    again = importing.import_people(by=caseworker, data=data)
    assert (again.created, again.skipped, again.rejected) == (0, 6, 0)
    assert [p.row for p in again.problems] == [2, 3, 4, 5, 6, 7]
    assert {p.text for p in again.problems} == {"Already imported; skipped."}
    assert {p.level for p in again.problems} == {"skipped"}
    assert Person.objects.count() == Case.objects.count() == 6


def test_reimport_in_another_format_with_one_new_row(caseworker):
    rows = people_rows(4)
    importing.import_people(by=caseworker, data=to_csv(rows[:3]))
    rows[0]["address"] = "Otra dirección 12"  # the same person, an updated address: still skipped
    result = importing.import_people(by=caseworker, data=to_xlsx(rows))
    assert (result.created, result.skipped) == (1, 3)
    assert Person.objects.count() == 4


def test_same_person_twice_in_one_file_is_imported_once(caseworker):
    rows = people_rows(2)
    twin = dict(rows[0], given_names=rows[0]["given_names"].upper(), case_kind="trafficking")
    result = importing.import_people(by=caseworker, data=to_csv([*rows, twin]))
    assert (result.created, result.skipped) == (2, 1)
    assert [(p.row, p.level) for p in result.problems] == [(4, "skipped")]
    assert "row 2" in result.problems[0].text


def test_a_fingerprint_match_is_confirmed_by_decryption(caseworker, office, monkeypatch):
    rows = people_rows(2)
    importing.import_people(by=caseworker, data=to_csv(rows[:1]))
    # Pretend every row hashes to the first person's fingerprint: a collision.
    stored = Person.objects.get().fingerprint
    monkeypatch.setattr(importing.PersonData, "fingerprint", lambda self: stored)
    result = importing.import_people(by=caseworker, data=to_csv(rows))
    assert (result.created, result.skipped) == (1, 1)
    assert Person.objects.count() == 2


def test_an_erased_person_is_not_an_earlier_import(caseworker, supervisor):
    rows = people_rows(1)
    importing.import_people(by=caseworker, data=to_csv(rows))
    importing.services.erase_person(by=supervisor, person=Person.objects.get(), code="request")
    assert importing.import_people(by=caseworker, data=to_csv(rows)).created == 1


def test_people_in_another_office_are_not_duplicates(caseworker, make_user, office, other_office):
    importing.services.grant_membership(by=None, user=caseworker, office=other_office,
                                        role=Role.CASEWORKER)
    row = people_rows(1)[0]
    importing.import_people(by=caseworker, data=to_csv([row]))
    moved = row | {"office_code": "CR-SJO", "phone": "8812 3456"}
    result = importing.import_people(by=caseworker, data=to_csv([moved]))
    assert result.created == 1
    assert sorted(Person.objects.values_list("office__code", flat=True)) == ["BZ-BMP", "CR-SJO"]
    assert Person.objects.get(office=other_office).phone == "+50688123456"


# Who may import where


def test_rows_of_an_office_the_user_is_not_staff_of_are_rejected(caseworker, other_office):
    rows = people_rows(3)
    rows[1]["office_code"] = "CR-SJO"
    result = importing.import_people(by=caseworker, data=to_csv(rows))
    assert [(p.row, p.column, p.text) for p in result.problems] == [
        (3, "office_code", "You are not staff of office CR-SJO.")]
    _nothing_written()


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.OFFICE_ADMIN, Role.SYSTEM_ADMIN])
def test_roles_without_case_work_cannot_import(make_user, office, role):
    user = make_user(role, office)
    result = importing.import_people(by=user, data=to_csv(people_rows(2)))
    assert {(p.column, p.text) for p in result.problems} == {
        ("office_code", "You are not staff of office BZ-BMP.")}
    _nothing_written()


def test_an_inactive_office_takes_no_imports(caseworker, office):
    office.is_active = False
    office.save()
    result = importing.import_people(by=caseworker, data=to_csv(people_rows(1)))
    assert [p.text for p in result.problems] == ["No active office has this code."]


def test_the_office_argument_limits_the_rows(caseworker, office, other_office):
    importing.services.grant_membership(by=None, user=caseworker, office=other_office,
                                        role=Role.SUPERVISOR)
    rows = people_rows(2)
    result = importing.import_people(by=caseworker, data=to_csv(rows), office=other_office)
    assert {p.text for p in result.problems} == {"This import is for office CR-SJO only."}


# Bad files


def _file_error(by, data: bytes, filename: str = "") -> list[str]:
    with pytest.raises(importing.ImportFileError) as exc:
        importing.import_people(by=by, data=data, filename=filename)
    _nothing_written()
    return exc.value.messages


def test_empty_files(caseworker):
    assert _file_error(caseworker, b"") == ["The file is empty."]
    assert _file_error(caseworker, b"\xef\xbb\xbf\r\n\r\n") == ["The file is empty."]
    header_only = to_csv([])
    assert _file_error(caseworker, header_only) == [
        "The file has a header row but no people in it."]


def test_missing_and_unknown_columns_are_named_without_echoing_cells(caseworker):
    columns = [c for c in importing.COLUMNS if c not in ("phone", "case_kind")] + ["notes"]
    (message, unknown) = _file_error(caseworker, to_csv(people_rows(1), columns=columns))
    assert message == ("The first row must name the columns. Missing columns: phone, case_kind.")
    assert unknown.startswith("Columns 13 of the first row are not among the expected columns")


def test_a_file_without_header_does_not_echo_its_first_person(caseworker):
    rows = people_rows(2)
    data = b"\n".join(to_csv(rows).splitlines()[1:])
    messages = _file_error(caseworker, data)
    text = " ".join(messages)
    assert "Missing columns" in text
    for value in rows[0].values():
        if len(value) > 3:
            assert value not in text


def test_repeated_column(caseworker):
    columns = [*importing.COLUMNS, "email"]
    assert _file_error(caseworker, to_csv(people_rows(1), columns=columns)) == [
        "These columns appear more than once: email."]


def test_files_that_are_not_csv_or_xlsx(caseworker, settings):
    png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
    assert "neither CSV" in _file_error(caseworker, png, "photo.png")[0]
    assert "neither CSV" in _file_error(caseworker, b"%PDF-1.4\x00\x01", "scan.pdf")[0]
    latin1 = to_csv(people_rows(1)) + "Núñez".encode("latin-1")
    assert "not UTF-8" in _file_error(caseworker, latin1, "intake.csv")[0]
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    assert ".xls" in _file_error(caseworker, ole, "old.xls")[0]


def test_corrupt_xlsx(caseworker):
    good = to_xlsx(people_rows(2))
    truncated = good[: len(good) // 2]
    assert "not a readable XLSX" in _file_error(caseworker, truncated, "x.xlsx")[0]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    assert "not a readable XLSX" in _file_error(caseworker, buf.getvalue(), "x.xlsx")[0]
    assert "not a readable XLSX" in _file_error(caseworker, b"plain text", "x.xlsx")[0]


def test_broken_csv_quotes(caseworker):
    big = to_csv(people_rows(1)) + b'"' + b"x" * (200 * 1024) + b"\n"
    assert "cannot be read after row 2" in _file_error(caseworker, big, "x.csv")[0]


def test_an_error_while_writing_leaves_nothing_of_its_chunk(caseworker, monkeypatch):
    calls = []

    def open_case(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(**kwargs)

    real = importing.services.open_case
    monkeypatch.setattr(importing.services, "open_case", open_case)
    with pytest.raises(RuntimeError):
        importing.import_people(by=caseworker, data=to_csv(people_rows(4)))
    _nothing_written()  # the four rows are one chunk (AMPARO_IMPORT_CHUNK_ROWS, 200)


def test_an_error_while_writing_keeps_the_saved_chunks_and_a_new_run_completes(
        caseworker, office, monkeypatch, settings):
    settings.AMPARO_IMPORT_CHUNK_ROWS = 2
    rows = people_rows(5)
    calls = []
    real = importing.services.open_case

    def open_case(**kwargs):
        calls.append(1)
        if len(calls) == 4:  # the second person of the second chunk
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(importing.services, "open_case", open_case)
    with pytest.raises(RuntimeError):
        importing.import_people(by=caseworker, data=to_csv(rows))
    # The first chunk is saved whole; nothing of the second (person, key, documents) is left.
    assert Person.objects.count() == Case.objects.count() == DataKey.objects.count() == 2
    for row in rows[:2]:
        _assert_imported(row, by=caseworker, office=office)

    monkeypatch.setattr(importing.services, "open_case", real)
    again = importing.import_people(by=caseworker, data=to_csv(rows))
    assert (again.created, again.skipped) == (3, 2)
    for row in rows:
        _assert_imported(row, by=caseworker, office=office)


# The management command


@pytest.fixture
def clerk(caseworker):
    """The command speaks the user's language; these tests read English."""
    caseworker.preferred_language = "en"
    caseworker.save()
    return caseworker


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_command_imports_and_prints_a_summary(clerk, office, tmp_path):
    rows = people_rows(3)
    out = io.StringIO()
    call_command("import_people", _write(tmp_path, "intake.xlsx", to_xlsx(rows)),
                 user=clerk.username, stdout=out)
    text = out.getvalue()
    assert "Checked 3 of 3 rows." in text
    assert "3 rows: 3 people imported, 0 already imported, 0 rejected." in text
    assert Person.objects.count() == 3
    for row in rows:
        _assert_imported(row, by=clerk, office=office)

    out = io.StringIO()
    call_command("import_people", _write(tmp_path, "intake.xlsx", to_xlsx(rows)),
                 user=clerk.username, stdout=out)
    assert "Row 2: Already imported; skipped." in out.getvalue()
    assert "3 rows: 0 people imported, 3 already imported, 0 rejected." in out.getvalue()
    assert Person.objects.count() == 3


def test_command_rejects_the_file_when_a_row_is_bad(clerk, tmp_path):
    rows = people_rows(3)
    rows[2]["email"] = "zacarias-at-example"
    out = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("import_people", _write(tmp_path, "f.csv", to_csv(rows)),
                     user=clerk.username, stdout=out)
    assert "Row 4, email: Enter a valid email address." in out.getvalue()
    assert "zacarias" not in out.getvalue() + str(exc.value)
    assert "Nothing was imported" in str(exc.value)
    assert exc.value.returncode == 1
    _nothing_written()

    out = io.StringIO()
    call_command("import_people", _write(tmp_path, "f.csv", to_csv(rows)),
                 user=clerk.username, skip_invalid=True, stdout=out)
    assert "3 rows: 2 people imported, 0 already imported, 1 rejected." in out.getvalue()
    assert Person.objects.count() == 2


def test_command_reports_in_the_users_language(caseworker, tmp_path):
    assert caseworker.preferred_language == "es"
    with pytest.raises(CommandError, match="El archivo está vacío"):
        call_command("import_people", _write(tmp_path, "f.csv", b""), user=caseworker.username,
                     stdout=io.StringIO())


def test_command_errors_are_clear(clerk, tmp_path):
    with pytest.raises(CommandError, match="no active user named 'nobody'"):
        call_command("import_people", _write(tmp_path, "f.csv", b"x"), user="nobody")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_people", str(tmp_path / "missing.csv"), user=clerk.username)
    with pytest.raises(CommandError, match=r"The file is empty\."):
        call_command("import_people", _write(tmp_path, "f.csv", b""), user=clerk.username,
                     stdout=io.StringIO())
    with pytest.raises(CommandError, match="not a readable XLSX"):
        call_command("import_people", _write(tmp_path, "f.xlsx", b"PK\x03\x04junk"),
                     user=clerk.username, stdout=io.StringIO())


def test_reimport_is_robust_to_accents_and_case(caseworker):
    row = people_rows(1)[0] | {"given_names": "José Ángel", "family_names": "Núñez Peña"}
    importing.import_people(by=caseworker, data=to_csv([row]))
    again = importing.import_people(by=caseworker, data=to_xlsx([row]))
    assert again.skipped == 1
