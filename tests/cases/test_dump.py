"""A database dump, its history tables and the files directory reveal no personal data.

People are registered through the services and through the web form, edited once (so
history rows exist), given notes and an uploaded document; then the whole database is
dumped and searched for every name, document number and date of birth, as text and as
the hex that dumps use for binary columns. Asylum applicants with specific needs, places of
entry and interview rooms, one of them erased with a note, are searched for the same way,
and the erased one's rows in the dump must hold none of the clear values an erasure clears.
"""

from __future__ import annotations

import datetime
import os
import random
import sqlite3
import subprocess
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from faker import Faker

from cases import services
from cases.crypto import blind
from cases.models import Case, Person
from rsd import services as rsd_services
from tests.cases.rawsql import read_column
from tests.conftest import pdf_bytes

pytestmark = pytest.mark.usefixtures("file_root")


@dataclass
class Secrets:
    people: list[Person] = field(default_factory=list)
    texts: set[str] = field(default_factory=set)  # searched as given
    digits: set[str] = field(default_factory=set)  # dates and numbers without separators

    def add_name(self, value: str) -> None:
        self.texts.add(value)
        for token in value.replace("-", " ").split():
            if len(token) >= 6:
                self.texts.add(token)
                if len(blind.fold(token)) >= 6:
                    self.texts.add(blind.fold(token))

    def add_document(self, number: str) -> None:
        self.texts.add(number)
        self.digits.add(blind.normalize_document(number))

    def add_date(self, d: datetime.date) -> None:
        self.texts.update({
            d.isoformat(), d.strftime("%d/%m/%Y"), d.strftime("%m/%d/%Y"),
            d.strftime("%d.%m.%Y"), d.strftime("%d-%m-%Y"), d.strftime("%Y/%m/%d"),
        })
        self.digits.update({d.strftime("%Y%m%d"), d.strftime("%d%m%Y")})

    def needles(self) -> dict[str, bytes]:
        """Every secret as UTF-8 bytes and as the hex a dump shows for a binary column."""
        out: dict[str, bytes] = {}
        for value in self.texts | self.digits:
            raw = value.encode()
            out[value] = raw.lower()
            out[f"hex({value})"] = raw.hex().encode()
            if value.lower() != value:
                out[f"hex({value.lower()})"] = value.lower().encode().hex().encode()
        return out


def _unique_name(fake: Faker, used: set[str]) -> tuple[str, str]:
    while True:
        given = f"{fake.first_name()} {fake.first_name()}"
        family = f"{fake.last_name()} {fake.last_name()}"
        if given not in used and family not in used:
            used.update({given, family})
            return given, family


@pytest.fixture
def registered(client, caseworker, office, person_data) -> Secrets:
    """Six people with generated identities, edited once, one of them through the web form."""
    seed = random.randrange(10**6)
    fake = Faker("es_MX")
    fake.seed_instance(seed)
    secrets_ = Secrets()
    used: set[str] = set()

    for i in range(5):
        given, family = _unique_name(fake, used)
        alias = f"{fake.first_name()}{fake.last_name()}"
        dob = fake.date_between(datetime.date(1950, 1, 1), datetime.date(2005, 12, 31))
        passport = fake.bothify("??#######").upper()
        national = fake.numerify("####-####-#####")
        person = services.register_person(by=caseworker, office=office, data=person_data(
            given_names=given, family_names=family, aliases=[alias], date_of_birth=dob,
            address=fake.street_address(),
            documents=[services.IdentityDocumentData("passport", passport, "MX"),
                       services.IdentityDocumentData("national_id", national, "MX")],
        ))
        secrets_.people.append(person)
        for value in (given, family, alias):
            secrets_.add_name(value)
        secrets_.add_document(passport)
        secrets_.add_document(national)
        secrets_.add_date(dob)
        if i < 2:
            case = services.open_case(by=caseworker, person=person, kind="trafficking")
            story = f"Relato: {given} {family} fue retenida en {fake.city()}"
            services.add_note(by=caseworker, case=case, text=story)
            secrets_.texts.add(story)

    # Through the web form, as a clerk would.
    given, family = _unique_name(fake, used)
    dob = fake.date_between(datetime.date(1950, 1, 1), datetime.date(2005, 12, 31))
    number = fake.bothify("??-###-###-##").upper()
    client.force_login(caseworker)
    response = client.post(reverse("person_create"), {
        "office": office.pk, "given_names": given, "family_names": family, "sex": "female",
        "date_of_birth": dob.isoformat(), "document_type": "passport",
        "document_number": number, "document_country": "GT", "languages": ["es", "quc"],
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    web_person = Person.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[-1])
    assert web_person.given_names == given
    secrets_.people.append(web_person)
    secrets_.add_name(given)
    secrets_.add_name(family)
    secrets_.add_document(number)
    secrets_.add_date(dob)

    # One edit each: history rows hold the old and the new values, and a change reason
    # that names the person (reasons are sealed like the values).
    for person in secrets_.people:
        fresh = Person.objects.get(pk=person.pk)
        new_address = fake.street_address()
        services.update_person(by=caseworker, person=fresh,
                               reason=f"Cambio de domicilio de {fresh.family_names}",
                               data=person_data(
                                   given_names=fresh.given_names,
                                   family_names=fresh.family_names,
                                   date_of_birth=fresh.date_of_birth,
                                   aliases=fresh.aliases,
                                   address=new_address,
                                   documents=[services.IdentityDocumentData(
                                       d.document_type, d.number, "MX")
                                       for d in fresh.documents.order_by("pk")],
                               ))
    assert Person.history.count() == 2 * len(secrets_.people)
    secrets_.seed = seed  # type: ignore[attr-defined]
    return secrets_


def _assert_clean(dump: bytes, secrets_: Secrets, where: str) -> None:
    haystack = dump.lower()
    leaked = sorted(label for label, needle in secrets_.needles().items() if needle in haystack)
    assert leaked == [], f"{where} reveals {leaked} (Faker seed {secrets_.seed})"


def _positive_controls(dump: bytes, person: Person, *, as_hex: bool) -> None:
    """The dump is real: plain values are in it, and so is this person's ciphertext."""
    assert b"Refugees Department" in dump
    blob = read_column(Person, person.pk, "given_names")
    if as_hex:
        assert blob.hex().encode() in dump.lower()
    else:
        assert blob in dump


@pytest.mark.django_db(transaction=True)
def test_a_sqlite_database_file_reveals_no_personal_data(tmp_path, registered):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite file dump; the PostgreSQL dump has its own test")
    copy = tmp_path / "copy.sqlite3"

    connection.ensure_connection()
    target = sqlite3.connect(copy)
    connection.connection.backup(target)
    sql_dump = "\n".join(target.iterdump()).encode()
    target.close()
    file_bytes = copy.read_bytes()

    _positive_controls(file_bytes, registered.people[0], as_hex=False)
    _positive_controls(sql_dump, registered.people[0], as_hex=True)
    _assert_clean(file_bytes, registered, "the SQLite database file")
    _assert_clean(sql_dump, registered, "the SQL dump")


@pytest.mark.postgres
def test_a_pg_dump_reveals_no_personal_data(postgres, registered):
    params = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": params.get("PASSWORD") or ""}
    command = ["pg_dump", "--no-owner", "--dbname", params["NAME"],
               "--host", params.get("HOST") or "127.0.0.1",
               "--port", str(params.get("PORT") or 5432),
               "--username", params.get("USER") or "postgres"]

    result = subprocess.run(command, capture_output=True, env=env, timeout=120, check=False)

    assert result.returncode == 0, result.stderr.decode()
    _positive_controls(result.stdout, registered.people[0], as_hex=True)
    _assert_clean(result.stdout, registered, "pg_dump")


# --- Specific needs, places and the note on an erasure --------------------------------------

NEEDS = ["lgbtiq", "torture_survivor"]
ERASED_NEEDS = ["older_person", "medical_condition"]


@dataclass
class Applicants:
    secrets: Secrets
    kept: Person
    erased: Person


def _asylum(caseworker, person: Person, *, place_of_entry: str, room: str, needs: list[str],
            days_since_arrival: int) -> None:
    """An asylum application with its place of entry and needs, corrected once (a history
    row), and its interview scheduled in `room`."""
    case = services.open_case(by=caseworker, person=person, kind="asylum")
    today = timezone.localdate()
    data = rsd_services.ApplicationData(
        application_date=today, arrival_date=today - datetime.timedelta(days=days_since_arrival),
        place_of_entry="Garita provisional",
        channel="border", claim_summary="Resumen de la solicitud.", specific_needs=needs,
        interpreter_language="quc", interviewer_gender="female")
    rsd_services.record_application(by=caseworker, case=case, data=data)
    data.place_of_entry = place_of_entry
    rsd_services.update_application(by=caseworker, case=Case.objects.get(pk=case.pk), data=data,
                                    reason="Lugar de entrada corregido")
    rsd_services.schedule_interview(
        by=caseworker, case=Case.objects.get(pk=case.pk), place=room, interviewer=caseworker,
        when=timezone.now() + datetime.timedelta(days=3), interpreter_language="quc")


@pytest.fixture
def applicants(caseworker, supervisor, office, person_data) -> Applicants:
    secrets_ = Secrets()
    kept = services.register_person(by=caseworker, office=office, data=person_data(
        given_names="Yesenia Itzel", family_names="Quiej Xalbal", specific_needs=NEEDS,
        nationalities=["SV"], languages=["quc"], documents=[]))
    erased = services.register_person(by=caseworker, office=office, data=person_data(
        given_names="Xiomara Ixchel", family_names="Cojtí Tzul", specific_needs=ERASED_NEEDS,
        sex="female", date_of_birth=datetime.date(1961, 2, 17), nationalities=["GT"],
        languages=["quc"],
        documents=[services.IdentityDocumentData("passport", "GT7781302", "GT")]))
    _asylum(caseworker, kept, place_of_entry="Paso Xalbal del Usumacinta", needs=["woman_at_risk"],
            room="Casa Refugio Quetzaltepec, sala 7", days_since_arrival=3)
    _asylum(caseworker, erased, place_of_entry="Aduana Ixcanal de Zacapa", needs=["disability"],
            room="Albergue Cayalá Tzununá", days_since_arrival=5)
    note = "Oficio JZ-7781/2026: solicitud de Xiomara Cojtí Tzul"
    services.erase_person(by=supervisor, person=erased, code="court_order", note=note)
    for value in ("Paso Xalbal del Usumacinta", "Aduana Ixcanal de Zacapa", "Garita provisional",
                  "Casa Refugio Quetzaltepec, sala 7", "Albergue Cayalá Tzununá", note,
                  "JZ-7781/2026", "Xiomara Cojtí", *NEEDS, *ERASED_NEEDS, "woman_at_risk",
                  "disability"):
        secrets_.texts.add(value)
    for token in ("Quetzaltepec", "Usumacinta", "Ixcanal", "Tzununá"):
        secrets_.add_name(token)
    secrets_.seed = 0  # type: ignore[attr-defined]  # fixed values, no Faker seed
    return Applicants(secrets_, kept, erased)


def _copy_rows(dump: bytes, table: str) -> list[dict[str, str]]:
    """The rows of `table` in a pg_dump, as {column: text as dumped} ("\\N" for NULL)."""
    text = dump.decode()
    start = text.index(f"COPY public.{table} (")
    header, _, rest = text[start:].partition("\n")
    columns = header[header.index("(") + 1:header.index(")")].split(", ")
    rows = []
    for line in rest.split("\n"):
        if line == "\\.":
            break
        rows.append(dict(zip([c.strip('"') for c in columns], line.split("\t"), strict=True)))
    return rows


def _pg_dump() -> bytes:
    params = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": params.get("PASSWORD") or ""}
    command = ["pg_dump", "--no-owner", "--dbname", params["NAME"],
               "--host", params.get("HOST") or "127.0.0.1",
               "--port", str(params.get("PORT") or 5432),
               "--username", params.get("USER") or "postgres"]
    result = subprocess.run(command, capture_output=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


# What an erasure leaves in the rows that stay clear, table by table (the column naming the
# person, then the values expected).
ERASED_ROWS = {
    "cases_person": ("id", {"sex": "unknown", "birth_year": "\\N", "nationalities": "[]",
                            "languages": "[]", "fingerprint": ""}),
    "cases_historicalperson": ("id", {"sex": "unknown", "birth_year": "\\N", "nationalities": "[]",
                                      "languages": "[]", "fingerprint": ""}),
    "cases_identitydocument": ("person_id", {"issuing_country": ""}),
    "cases_historicalidentitydocument": ("person_id", {"issuing_country": ""}),
    "rsd_application": ("person_id", {"arrival_date": "\\N", "interpreter_language": "",
                                      "interviewer_gender": "any"}),
    "rsd_historicalapplication": ("person_id", {"arrival_date": "\\N", "interpreter_language": "",
                                                "interviewer_gender": "any"}),
    "rsd_interview": ("person_id", {"interpreter_language": ""}),
    "rsd_historicalinterview": ("person_id", {"interpreter_language": ""}),
}


@pytest.mark.postgres
def test_a_pg_dump_reveals_no_needs_places_or_erasure_notes(postgres, applicants):
    dump = _pg_dump()

    kept = _copy_rows(dump, "cases_person")
    assert [r["nationalities"] for r in kept if r["id"] == str(applicants.kept.pk)] == ['["SV"]']
    _assert_clean(dump, applicants.secrets, "pg_dump")
    erased = str(applicants.erased.pk)
    for table, (column, expected) in ERASED_ROWS.items():
        rows = [r for r in _copy_rows(dump, table) if r[column] == erased]
        assert rows, table
        for row in rows:
            assert {k: row[k] for k in expected} == expected, table
    for table, column in (("cases_person", "erasure_note"), ("cases_historicalperson", "erasure_note")):
        notes = [r[column] for r in _copy_rows(dump, table) if r["id"] == erased and r[column] != "\\N"]
        assert notes and all(n.startswith("\\\\x") for n in notes), table  # sealed, as bytea


@pytest.mark.django_db(transaction=True)
def test_a_sqlite_file_reveals_no_needs_places_or_erasure_notes(tmp_path, applicants):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite file dump; the PostgreSQL dump has its own test")
    connection.ensure_connection()
    target = sqlite3.connect(tmp_path / "copy.sqlite3")
    connection.connection.backup(target)
    sql_dump = "\n".join(target.iterdump()).encode()
    target.close()

    assert b"Refugees Department" in sql_dump
    _assert_clean(sql_dump, applicants.secrets, "the SQL dump")
    _assert_clean((tmp_path / "copy.sqlite3").read_bytes(), applicants.secrets,
                  "the SQLite database file")


def test_the_files_directory_holds_no_plaintext(file_root, caseworker, person):
    case = services.open_case(by=caseworker, person=person, kind="asylum")
    statement = "Declaracion de Maria Jose Nunez Perez, pasaporte A123456, nacida 1990-05-03"

    services.add_document(by=caseworker, case=case, title="Declaración", filename="decl.pdf",
                          data=pdf_bytes(statement))

    stored = [p for p in file_root.rglob("*") if p.is_file()]
    assert len(stored) == 1 and stored[0].stat().st_size > len(statement)
    raw = stored[0].read_bytes()
    for needle in (statement, "Maria Jose", "A123456", "1990-05-03", "%PDF", "decl.pdf"):
        assert needle.encode() not in raw, needle
    assert "decl" not in stored[0].name and "Declar" not in stored[0].name
