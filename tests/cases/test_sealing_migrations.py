"""The migrations that seal specific needs, places and erasure notes (cases 0020, rsd 0003):
rows written in clear before them read the same after them, sealed, in live and history
tables alike; people erased before lose what an erasure now clears; and migrating back
gives the clear values again."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from cases import keystore
from cases.crypto import datakeys
from cases.crypto.datakeys import key_scope
from cases.models import IdentityDocument, Person
from rsd.models import Application, Interview
from tests.cases.rawsql import read_column

# Upgrades of existing data happen on deployments, which run PostgreSQL: CI migrates back
# and forth there (each way takes minutes).
pytestmark = pytest.mark.ci_postgresql

BEFORE = [("cases", "0018_two_factor"), ("rsd", "0002_priority_index")]
SEALED = {("cases", "0019_sealed_needs"), ("rsd", "0003_sealed_needs_and_places")}
NOW = timezone.now()
TODAY = datetime.date(2026, 10, 1)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.fixture
def before_sealing(transactional_db):
    """The schema as it was before the sealing migrations; the latest again afterwards."""
    try:
        yield _migrate(BEFORE)
    finally:
        _migrate(_latest())


def _history(model, row, **values):
    """A history row as simple-history wrote them (the old schema: clear columns)."""
    fields = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields
              if not f.attname.startswith("history_") and f.attname != "id"}
    fields.update(values)
    return model.objects.create(id=row.id, history_date=NOW, history_type="~", **fields)


def _write_old_rows(apps):
    """People, an application and an interview, written in clear as before the migrations:
    one person live, one erased (key destroyed), each with history rows."""
    office = apps.get_model("cases", "Office").objects.create(
        code="BZ-BMP", name="Refugees Department", country="BZ")
    user = apps.get_model("cases", "User").objects.create(username="clerk")
    OldPerson = apps.get_model("cases", "Person")
    OldHistoricalPerson = apps.get_model("cases", "HistoricalPerson")
    people = {}
    for name, needs, erased in (("kept", ["lgbtiq", "torture_survivor"], False),
                                ("erased", ["woman_at_risk"], True)):
        pid = uuid.uuid4()
        datakeys.create_data_key(subject_id=pid)
        person = OldPerson.objects.create(
            id=pid, office=office, registered_by=user, sex="female", birth_year=1990,
            nationalities=["HN"], languages=["es", "quc"], specific_needs=needs,
            fingerprint="f" * 64, created_at=NOW, updated_at=NOW)
        apps.get_model("cases", "IdentityDocument").objects.create(
            id=uuid.uuid4(), person=person, document_type="passport", issuing_country="HN")
        _history(OldHistoricalPerson, person, specific_needs=needs[:1])
        if erased:
            datakeys.destroy(subject_id=pid)
            person.erased_at = NOW
            person.erasure_reason = "Solicitud de Ana Lucía Pérez, expediente 44/2026"
            person.fingerprint = ""
            person.save()
            _history(OldHistoricalPerson, person)
        people[name] = person
    OldCase = apps.get_model("cases", "Case")
    OldApplication = apps.get_model("rsd", "Application")
    OldInterview = apps.get_model("rsd", "Interview")
    records = {}
    for name, person in people.items():
        case = OldCase.objects.create(id=uuid.uuid4(), reference=f"BZ-BMP-2026-00000{len(records) + 1}",
                                      office=office, kind="asylum", principal=person, opened_by=user,
                                      opened_at=NOW, updated_at=NOW)
        application = OldApplication.objects.create(
            id=uuid.uuid4(), case=case, person=person, application_date=TODAY,
            arrival_date=TODAY - datetime.timedelta(days=3), place_of_entry="Paso de Benque Viejo",
            channel="border", specific_needs=person.specific_needs, interpreter_language="quc",
            interviewer_gender="female", priority=True, recorded_by=user, recorded_at=NOW)
        _history(apps.get_model("rsd", "HistoricalApplication"), application,
                 place_of_entry="Frontera Santa Elena")
        interview = OldInterview.objects.create(
            id=uuid.uuid4(), case=case, person=person, scheduled_for=NOW,
            place="Sala 2, Oficina de Belmopan", interviewer=user, interpreter_language="quc",
            scheduled_by=user, created_at=NOW)
        _history(apps.get_model("rsd", "HistoricalInterview"), interview, place="Sala 1")
        records[name] = (application, interview)
    return office, people, records


def test_clear_values_are_sealed_and_read_the_same(before_sealing):
    # One test for the three checks: each migration back and forth takes tens of seconds.
    office, people, records = _write_old_rows(before_sealing)
    kept, erased = people["kept"], people["erased"]

    _migrate(_latest())

    _check_sealed(kept, records["kept"])
    _check_erasure_note(office, erased)
    _check_erased_cleared(erased)
    # The person who was not erased keeps all of it.
    assert Person.objects.filter(pk=kept.pk).values_list("sex", flat=True).get() == "female"
    assert Application.objects.get(pk=records["kept"][0].pk).interviewer_gender == "female"


def _check_sealed(kept, records):
    with key_scope():
        person = Person.objects.get(pk=kept.pk)
        assert person.specific_needs == ["lgbtiq", "torture_survivor"]
        assert [h.specific_needs for h in Person.history.filter(id=kept.pk)] == [["lgbtiq"]]
        assert (person.sex, person.nationalities, person.languages) == ("female", ["HN"], ["es", "quc"])
        application = Application.objects.get(person_id=kept.pk)
        assert (application.specific_needs, application.place_of_entry) == (
            ["lgbtiq", "torture_survivor"], "Paso de Benque Viejo")
        assert (application.arrival_date, application.interpreter_language) == (
            TODAY - datetime.timedelta(days=3), "quc")
        assert [h.place_of_entry for h in Application.history.filter(person_id=kept.pk)] == [
            "Frontera Santa Elena"]
        assert Interview.objects.get(person_id=kept.pk).place == "Sala 2, Oficina de Belmopan"
        assert [h.place for h in Interview.history.filter(person_id=kept.pk)] == ["Sala 1"]
    for model, pk, column, clear in (
            (Person, kept.pk, "specific_needs", b"lgbtiq"),
            (Application, records[0].pk, "specific_needs", b"lgbtiq"),
            (Application, records[0].pk, "place_of_entry", b"Benque"),
            (Interview, records[1].pk, "place", b"Belmopan")):
        blob = read_column(model, pk, column)
        assert blob is not None and clear not in blob, (model, column)


def _check_erasure_note(office, erased):
    with key_scope():
        person = Person.objects.get(pk=erased.pk)
        assert person.erasure_code == "other"
        assert person.erasure_key == keystore.office_subject(office.pk)
        assert person.erasure_note == "Solicitud de Ana Lucía Pérez, expediente 44/2026"
        last = Person.history.filter(id=erased.pk).latest("history_id")
        assert (last.erasure_code, last.erasure_note) == (
            "other", "Solicitud de Ana Lucía Pérez, expediente 44/2026")
    assert b"Solicitud" not in read_column(Person, erased.pk, "erasure_note")
    assert b"Solicitud" not in read_column(Person.history.model, last.history_id, "erasure_note")


def _check_erased_cleared(erased):
    fields = ("sex", "birth_year", "nationalities", "languages", "fingerprint", "specific_needs")
    cleared = ("unknown", None, [], [], "", None)
    assert tuple(Person.objects.filter(pk=erased.pk).values_list(*fields).get()) == cleared
    assert all(tuple(r) == cleared for r in Person.history.filter(id=erased.pk).values_list(*fields))
    assert set(IdentityDocument.objects.filter(person_id=erased.pk)
               .values_list("issuing_country", flat=True)) == {""}
    app_fields = ("arrival_date", "interpreter_language", "interviewer_gender", "specific_needs",
                  "place_of_entry")
    app_cleared = (None, "", "any", None, None)
    assert tuple(Application.objects.filter(person_id=erased.pk).values_list(*app_fields).get()) == (
        app_cleared)
    assert [tuple(r) for r in Application.history.filter(person_id=erased.pk)
            .values_list(*app_fields)] == [app_cleared]
    assert list(Interview.objects.filter(person_id=erased.pk)
                .values_list("interpreter_language", "place")) == [("", None)]


def test_migrating_back_gives_the_clear_values_again(before_sealing):
    _office, people, records = _write_old_rows(before_sealing)
    _migrate(_latest())

    apps = _migrate(BEFORE)

    OldPerson = apps.get_model("cases", "Person")
    assert OldPerson.objects.get(pk=people["kept"].pk).specific_needs == ["lgbtiq", "torture_survivor"]
    assert OldPerson.objects.get(pk=people["erased"].pk).erasure_reason == (
        "Solicitud de Ana Lucía Pérez, expediente 44/2026")
    assert OldPerson.objects.get(pk=people["erased"].pk).specific_needs == []
    assert apps.get_model("cases", "HistoricalPerson").objects.filter(
        id=people["kept"].pk).get().specific_needs == ["lgbtiq"]
    application = apps.get_model("rsd", "Application").objects.get(pk=records["kept"][0].pk)
    assert (application.specific_needs, application.place_of_entry) == (
        ["lgbtiq", "torture_survivor"], "Paso de Benque Viejo")
    assert apps.get_model("rsd", "Interview").objects.get(pk=records["kept"][1].pk).place == (
        "Sala 2, Oficina de Belmopan")


def test_the_migrations_under_test_exist():
    """This file migrates to these two by name: a renumbering must update it."""
    assert set(MigrationLoader(None).graph.nodes) >= SEALED
