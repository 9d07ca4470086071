"""Importing HTCDS 2.0 files: the three templates and CSV become trafficking cases with their
victim profile, events and consent; re-importing adds nothing; bad rows are named by row and
field; only a supervisor of the office imports; the command and the web import."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from faker import Faker

from cases import consent, importing
from cases.crypto.datakeys import key_scope
from cases.models import (
    Case,
    CaseKind,
    ConsentPurpose,
    ImportedRow,
    ImportJob,
    ImportStatus,
    Person,
)
from tip import htcds_file
from tip.importing import KIND, import_htcds
from tip.models import Perpetrator, TraffickingEvent, VictimProfile
from tip.vocab import EventType, Exploitation, MeansOfControl, TraffickingStatus

TEMPLATES = Path(htcds_file.__file__).parent / "htcds"
WORKBOOKS = ["htcds-plain-v2.0.xlsx", "htcds-single-select-v2.0.xlsx", "htcds-multi-select-v2.0.xlsm"]
HEADER = ["prs_FirstName", "prs_SecondName", "prs_Birthdate", "prs_Gender", "prs_Citizenship",
          "con_Consent", "vic_TraffickingStatus", "vic_MethodsOfControl",
          "vic_TypeOfExploitation", "vic_ForcedLabourIndustry", "vic_LocationOfRecruitment",
          "vic_LocationOfExploitation"]


def _people(count: int, seed: int = 7) -> list[dict[str, object]]:
    fake = Faker("es_MX")
    fake.seed_instance(seed)
    return [{"prs_FirstName": fake.first_name(), "prs_SecondName": fake.last_name(),
             "prs_Birthdate": fake.date_of_birth(minimum_age=18, maximum_age=60),
             "prs_Gender": fake.random_element(["Feminine", "Masculine"]),
             "prs_Citizenship": fake.random_element(["GT", "HND", "SV"]),
             "con_Consent": i % 2 == 0,
             "vic_TraffickingStatus": "Identified victim of trafficking",
             "vic_MethodsOfControl": "Debt bondage; WithholdsDocuments",
             "vic_TypeOfExploitation": "Forced labour",
             "vic_ForcedLabourIndustry": "Agriculture, forestry and fishing",
             "vic_LocationOfRecruitment": "GTM",
             "vic_LocationOfExploitation": "Belize"}
            for i in range(count)]


def _workbook(name: str, people: list[dict[str, object]]) -> bytes:
    """The template with `people` typed in below its two header rows."""
    book = openpyxl.load_workbook(TEMPLATES / name, keep_vba=name.endswith(".xlsm"))
    sheet = book.worksheets[0]
    at = {cell.value: cell.column for cell in sheet[1] if cell.value}
    for offset, person in enumerate(people):
        for name_, value in person.items():
            sheet.cell(row=3 + offset, column=at[name_], value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv(people: list[dict[str, object]]) -> bytes:
    lines = [",".join(HEADER)]
    for person in people:
        lines.append(",".join(f'"{person.get(h, "")}"' if person.get(h, "") != "" else ""
                              for h in HEADER))
    return ("\n".join(lines) + "\n").encode()


def _run(by, office, data: bytes, name: str = "victims.csv", **kw):
    with key_scope():
        return import_htcds(by=by, office=office, data=data, filename=name, **kw)


@pytest.fixture
def upload_root(settings, tmp_path):
    settings.AMPARO_FILE_ROOT = tmp_path / "files"
    return settings.AMPARO_FILE_ROOT


@pytest.mark.parametrize("name", WORKBOOKS)
def test_each_template_becomes_trafficking_cases_with_profile_events_and_consent(
        supervisor, office, name):
    people = _people(3)

    result = _run(supervisor, office, _workbook(name, people), name)

    assert (result.total, result.created, result.rejected) == (3, 3, 0), [str(p) for p in result.problems]
    cases = list(Case.objects.filter(office=office, kind=CaseKind.TRAFFICKING).order_by("reference"))
    assert len(cases) == 3 and all(c.assigned_to_id is None for c in cases)
    profiles = VictimProfile.objects.filter(case__in=cases)
    assert {p.trafficking_status for p in profiles} == {TraffickingStatus.ACTUAL}
    for profile in profiles:
        assert set(profile.means_of_control) == {MeansOfControl.DEBT_BONDAGE,
                                                 MeansOfControl.WITHHOLDS_DOCUMENTS}
        assert profile.exploitation_types == [Exploitation.FORCED_LABOUR]
        assert profile.forced_labour_industry == "A_AgricultureForestryAndFishing"
    events = TraffickingEvent.objects.filter(case__in=cases)
    assert sorted((e.kind, str(e.country)) for e in events) == sorted(
        [(EventType.RECRUITMENT, "GT"), (EventType.EXPLOITATION, "BZ")] * 3)
    with key_scope():
        names = {(p.given_names, p.family_names) for p in Person.objects.filter(office=office)}
    assert names == {(p["prs_FirstName"], p["prs_SecondName"]) for p in people}
    # con_Consent TRUE: recording and statistics, never referrals.
    allowing = set(consent.allowing(ConsentPurpose.STATISTICS).values_list("pk", flat=True))
    assert len(allowing) == 2
    assert not consent.allowing(ConsentPurpose.REFERRAL).exists()
    assert set(consent.allowing(ConsentPurpose.DATA_COLLECTION).values_list("pk", flat=True)) == allowing


def test_csv_imports_and_the_same_file_again_adds_nothing(supervisor, office):
    data = _csv(_people(4))

    first = _run(supervisor, office, data)
    again = _run(supervisor, office, data)

    assert (first.created, first.skipped) == (4, 0)
    assert (again.created, again.skipped, again.rejected) == (0, 4, 0)
    assert Case.objects.filter(office=office).count() == 4
    assert ImportedRow.objects.filter(office=office, kind=KIND).count() == 4
    assert {str(p) for p in again.problems} == {f"Row {n}: Already imported; skipped." for n in (2, 3, 4, 5)}


def test_a_row_twice_in_the_file_is_imported_once(supervisor, office):
    person = _people(1)[0]

    result = _run(supervisor, office, _csv([person, _people(1, seed=8)[0], person]))

    assert (result.created, result.skipped) == (2, 1)
    assert [str(p) for p in result.problems] == ["Row 4: Same as row 2; imported once."]


def test_bad_rows_are_named_by_row_and_field_and_nothing_is_written(supervisor, office):
    people = _people(4)
    people[0]["vic_TypeOfExploitation"] = "Forced labour; Pirate work"  # unknown code
    people[1]["prs_Citizenship"] = "Atlantis"
    people[2]["prs_Birthdate"] = "31/02/1990"
    people[3]["con_Consent"] = "perhaps"

    result = _run(supervisor, office, _csv(people))

    assert result.rejected == 4 and result.created == 0 and not result.written
    assert [(p.row, p.column) for p in result.problems] == [
        (2, "vic_TypeOfExploitation"), (3, "prs_Citizenship"), (4, "prs_Birthdate"),
        (5, "con_Consent")]
    text = " ".join(str(p) for p in result.problems)
    assert "Pirate" not in text and "Atlantis" not in text  # never a cell's value
    assert not Case.objects.exists() and not Person.objects.exists()


def test_skip_invalid_imports_the_good_rows_and_reports_the_others(supervisor, office):
    people = _people(3)
    people[1]["vic_MethodsOfControl"] = "Telepathy"

    result = _run(supervisor, office, _csv(people), skip_invalid=True)

    assert (result.created, result.rejected) == (2, 1)
    assert [(p.row, p.column) for p in result.problems] == [(3, "vic_MethodsOfControl")]
    assert Case.objects.filter(office=office).count() == 2


def test_a_profile_the_procedure_refuses_is_a_row_error(supervisor, office):
    people = _people(1)
    people[0]["vic_TypeOfExploitation"] = "Sexual exploitation"  # with a forced-labour industry

    result = _run(supervisor, office, _csv(people))

    assert [(p.row, p.column) for p in result.problems] == [(2, "vic_ForcedLabourIndustry")]


def test_only_a_supervisor_of_the_office_imports(caseworker, other_supervisor, office):
    data = _csv(_people(1))
    for user in (caseworker, other_supervisor):
        with pytest.raises(PermissionDenied):
            _run(user, office, data)
    assert not Person.objects.exists()


def test_a_file_without_htcds_fields_is_refused_whole(supervisor, office):
    with pytest.raises(importing.ImportFileError):
        _run(supervisor, office, b"given_names,family_names\nAna,Lopez\n")


def test_the_row_cap_of_every_import(supervisor, office, settings):
    settings.AMPARO_IMPORT_MAX_ROWS = 2
    with pytest.raises(importing.ImportFileError):
        _run(supervisor, office, _csv(_people(3)))


def test_chunks_write_every_row(supervisor, office, settings):
    settings.AMPARO_IMPORT_CHUNK_ROWS = 2
    result = _run(supervisor, office, _csv(_people(5)))
    assert result.created == 5
    refs = list(Case.objects.filter(office=office).values_list("reference", flat=True))
    assert len(set(refs)) == 5


# The command


def test_command_imports_and_refuses_with_a_non_zero_exit(supervisor, office, tmp_path):
    supervisor.preferred_language = "en"
    supervisor.save()
    good = tmp_path / "good.xlsx"
    good.write_bytes(_workbook(WORKBOOKS[1], _people(2)))
    out = io.StringIO()
    call_command("import_htcds", str(good), "--office", office.code, "--user", supervisor.username,
                 stdout=out)
    assert "2 people imported" in out.getvalue()

    people = _people(2, seed=9)
    people[0]["prs_Citizenship"] = "Narnia"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv(people))
    out = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_htcds", str(bad), "--office", office.code, "--user",
                     supervisor.username, stdout=out)
    assert "Row 2, prs_Citizenship" in out.getvalue()
    call_command("import_htcds", str(bad), "--office", office.code, "--user", supervisor.username,
                 "--skip-invalid", stdout=io.StringIO())
    assert Case.objects.filter(office=office).count() == 3


def test_command_refuses_another_office_and_an_unknown_one(supervisor, other_office, tmp_path):
    supervisor.preferred_language = "en"
    supervisor.save()
    path = tmp_path / "v.csv"
    path.write_bytes(_csv(_people(1)))
    with pytest.raises(CommandError, match="supervisor of this office"):
        call_command("import_htcds", str(path), "--office", other_office.code, "--user",
                     supervisor.username, stdout=io.StringIO())
    with pytest.raises(CommandError, match="no active office"):
        call_command("import_htcds", str(path), "--office", "XX-NOPE", "--user",
                     supervisor.username, stdout=io.StringIO())
    assert not Person.objects.exists()


# The web import: the same page as people, a kind of file to choose


def test_web_import_of_an_htcds_file_runs_as_a_job(client, supervisor, office, upload_root,
                                                    django_capture_on_commit_callbacks):
    supervisor.preferred_language = "en"
    supervisor.save()
    client.force_login(supervisor)
    page = client.get(reverse("import_start"))
    assert b"import-help-htcds" in page.content and b'name="kind"' in page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("import_start"), {
            "office": office.pk, "kind": KIND,
            "file": SimpleUploadedFile("v.xlsm", _workbook(WORKBOOKS[2], _people(2)))})

    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.kind == KIND
    job.refresh_from_db()
    assert (job.status, job.created) == (ImportStatus.DONE, 2)
    assert Case.objects.filter(office=office, kind=CaseKind.TRAFFICKING).count() == 2
    listing = client.get(reverse("import_start"))
    assert b"HTCDS 2.0 trafficking cases" in listing.content


def test_web_import_of_bad_rows_reports_them_and_writes_nothing(
        client, supervisor, office, upload_root, django_capture_on_commit_callbacks):
    people = _people(2)
    people[1]["prs_Birthdate"] = "yesterday"
    client.force_login(supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("import_start"), {"office": office.pk, "kind": KIND,
                                              "file": SimpleUploadedFile("v.csv", _csv(people))})
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED and job.rejected == 1
    page = client.get(reverse("import_job", kwargs={"job_id": job.pk}))
    assert b"prs_Birthdate" in page.content
    assert not Person.objects.exists()


@pytest.mark.parametrize("who", ["caseworker", "other_supervisor"])
def test_web_import_refused_to_a_caseworker_and_to_another_office(client, request, office,
                                                                   upload_root, who):
    client.force_login(request.getfixturevalue(who))
    response = client.post(reverse("import_start"), {
        "office": office.pk, "kind": KIND, "file": SimpleUploadedFile("v.csv", _csv(_people(1)))})
    assert response.status_code in (400, 403)
    assert not ImportJob.objects.exists() and not Person.objects.exists()


# Two imports of one file at once (PostgreSQL), and erasure


@pytest.mark.postgres
def test_two_imports_of_one_file_at_once_write_each_row_once(postgres, supervisor, office,
                                                             settings, monkeypatch):
    import threading

    from django.db import connection

    from cases import services as case_services
    from tests.races import _wait_until_blocked, connect

    settings.AMPARO_IMPORT_CHUNK_ROWS = 4
    data = _csv(_people(6, seed=21))
    reached, go_on = threading.Event(), threading.Event()
    real, opened = case_services.open_case, []

    def open_case(**kwargs):
        case = real(**kwargs)
        if not go_on.is_set() and threading.current_thread().name == "first":
            opened.append(case)
            if len(opened) == 2:
                reached.set()
                assert go_on.wait(60)
        return case

    monkeypatch.setattr(case_services, "open_case", open_case)
    outs: dict[str, object] = {}

    def run(name: str) -> None:
        try:
            outs[name] = _run(supervisor, office, data)
        except BaseException as exc:  # handed back to the test
            outs[name] = exc
        finally:
            connection.close()

    first = threading.Thread(target=run, args=("first",), name="first")
    first.start()
    assert reached.wait(60), outs
    second = threading.Thread(target=run, args=("second",), name="second")
    second.start()
    watcher = connect(autocommit=True)
    try:
        _wait_until_blocked(watcher, 1)  # the second waits at the rows the first is writing
    finally:
        go_on.set()
        watcher.close()
    first.join(60)
    second.join(60)

    results = [outs["first"], outs["second"]]
    assert all(isinstance(r, importing.ImportResult) for r in results), results
    assert sum(r.created for r in results) == 6 and sum(r.skipped for r in results) == 6
    assert Person.objects.count() == Case.objects.count() == ImportedRow.objects.count() == 6


def test_erasing_an_imported_person_forgets_the_row_s_digest(supervisor, office):
    from cases import services as case_services

    _run(supervisor, office, _csv(_people(1)))
    person = Person.objects.get()
    case_services.erase_person(by=supervisor, person=person, code="request")

    assert not ImportedRow.objects.exists()


@pytest.mark.parametrize("name", WORKBOOKS[1:])
def test_every_value_of_the_templates_validation_lists_is_read(name):
    """What an office picks from a validated template's drop-down lists is never refused."""
    from tip import importing as tip_importing

    book = openpyxl.load_workbook(TEMPLATES / name, read_only=True)
    rows = list(book["validation"].iter_rows(values_only=True))
    book.close()
    at = next(i for i, r in enumerate(rows) if r and "Gender" in r)
    lists = {h: [r[i] for r in rows[at + 1:] if i < len(r) and r[i] is not None]
             for i, h in enumerate(rows[at]) if h}
    checker = tip_importing._Checker(office=None)
    fields = {"Gender": "prs_Gender", "Method of Recruitment": "vic_MethodOfRecruitment",
              "Methods of Control": "vic_MethodsOfControl",
              "Type of Exploitation": "vic_TypeOfExploitation",
              "Forced Labour Industry": "vic_ForcedLabourIndustry",
              "Type of Sex Exploitation": "vic_TypeOfSexExploitation",
              "Trafficking Status": "vic_TraffickingStatus"}
    for title, field_name in fields.items():
        refused = [v for v in lists[title]
                   if htcds_file.choice(str(v), checker.options[field_name]) is None]
        assert refused == [], title
    assert [v for v in lists["Trafficking Status Decision Making Organization"]
            if htcds_file.choice(str(v), checker.bodies) is None] == []
    assert [v for v in lists["Country"] + lists["Country Code"]
            if htcds_file.country(str(v)) is None] == []


def test_the_profile_step_starts_from_the_imported_profile(client, supervisor, office):
    from tip.names import States, Steps
    from tip.services import ProfileData, record_profile

    _run(supervisor, office, _csv(_people(1)))
    case = Case.objects.get()
    assert case.state == States.OPEN  # the procedure's first step is still the office's
    client.force_login(supervisor)
    page = client.get(reverse("tip:step", args=[case.pk, Steps.RECORD_PROFILE]))
    assert page.status_code == 200
    assert page.context["form"].initial["means_of_control"] == ["DebtBondage", "WithholdsDocuments"]

    record_profile(by=supervisor, case=case, data=ProfileData(
        exploitation_types=[Exploitation.FORCED_LABOUR], means_of_control=["DebtBondage"]))
    assert VictimProfile.objects.filter(case=case).count() == 1
    assert Case.objects.get().state == States.SCREENING


def test_websites_or_apps_and_the_age_when_trafficked_are_read_from_their_htcds_fields(
        supervisor, office):
    """Fields the templates leave out but HTCDS defines: files made by hand may carry them."""
    header = ["prs_FirstName", "prs_SecondName", "vic_AgeWhenTrafficked",
              "vic_RecruitmentWebsitesAndApps", "vic_ExploitationWebsitesAndApps"]
    good = "Rosa,Caal,16,Facebook; whatsapp,Facebook Messenger\n"
    bad = "Ana,Tzul,ciento,MySpace,\n"
    data = (",".join(header) + "\n" + good + bad).encode()

    refused = _run(supervisor, office, data)
    assert [(p.row, p.column) for p in refused.problems] == [
        (3, "vic_AgeWhenTrafficked"), (3, "vic_RecruitmentWebsitesAndApps")]
    assert "MySpace" not in " ".join(str(p) for p in refused.problems)

    result = _run(supervisor, office, (",".join(header) + "\n" + good).encode())
    assert result.created == 1
    profile = VictimProfile.objects.get()
    assert profile.age_when_trafficked == 16
    assert profile.recruitment_websites == ["Facebook", "WhatsApp"]
    assert profile.exploitation_websites == ["FacebookMessenger"]


def test_a_perpetrator_in_the_row_is_recorded_apart_sealed_one_record_per_role(supervisor, office):
    header = ["prs_FirstName", "prs_SecondName", "per_RoleInProcess", "per_RoleDetails"]
    good = 'Rosa,Caal,"Recruiter or intermediary; Transporter","Alias El Chino, tatuaje en el brazo"\n'
    bad = "Ana,Tzul,Exploiter,\n"
    refused = _run(supervisor, office, (",".join(header) + "\n" + good + bad).encode())
    assert [(p.row, p.column) for p in refused.problems] == [(3, "per_RoleDetails")]

    result = _run(supervisor, office, (",".join(header) + "\n" + good).encode())
    assert result.created == 1
    case = Case.objects.get()
    records = Perpetrator.objects.filter(case=case).order_by("role")
    assert [p.role for p in records] == ["RecruiterOrIntermediary", "Transporter"]
    assert {p.description for p in records} == {"Alias El Chino, tatuaje en el brazo"}
    assert all(p.person_id == case.principal_id for p in records)
    # Sealed: the clear column does not hold the alias.
    with connection.cursor() as cursor:
        cursor.execute("SELECT description FROM tip_perpetrator WHERE id = %s", [records[0].pk.hex])
        assert b"Chino" not in bytes(cursor.fetchone()[0])
