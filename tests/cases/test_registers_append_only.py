"""On PostgreSQL the breach log and the register of transfers refuse, below the application,
what must never happen to them (cases 0032): no row deleted, no transfer entry changed,
nothing that a breach report said changed; the assessment of a breach still changes. The
application's own database role is not even granted it, and cannot switch the triggers off."""

from __future__ import annotations

import datetime

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from cases import breaches, transfers
from cases.models import Breach, Transfer
from tests.audit.test_roles import (
    app_role,  # noqa: F401  (a fixture)
    connect_as,
    django_as,
)
from tests.cases.rawsql import write_column

pytestmark = pytest.mark.postgres


@pytest.fixture
def breach(postgres, caseworker, office):
    return breaches.report_breach(by=caseworker, office=office, nature="confidentiality",
                                  description="Se perdió una memoria USB",
                                  discovered_at=timezone.now() - datetime.timedelta(hours=2))


@pytest.fixture
def entry(postgres, supervisor, office, other_office):
    return transfers.record_transfer(by=supervisor, office=office, to_office=other_office,
                                     transferred_on=timezone.localdate(), channel="paper",
                                     categories="expedientes", purpose="Traslado")


def _refused(sql: str, params: list) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), \
            connection.cursor() as cur:
        cur.execute(sql, params)
    return str(caught.value)


def test_a_transfer_entry_is_neither_deleted_nor_changed(entry):
    assert "append-only" in _refused("DELETE FROM cases_transfer WHERE id = %s", [entry.pk])
    assert "append-only" in _refused(
        "UPDATE cases_transfer SET people_count = 99 WHERE id = %s", [entry.pk])
    assert "append-only" in _refused(
        "UPDATE cases_transfer SET transferred_on = %s WHERE id = %s",
        [datetime.date(2020, 1, 1), entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        Transfer.objects.filter(pk=entry.pk).delete()  # past the model's own refusal
    with pytest.raises(DatabaseError), transaction.atomic():
        write_column(Transfer, entry.pk, "purpose", b"\x00")
    kept = Transfer.objects.get(pk=entry.pk)
    assert (kept.people_count, kept.purpose) == (1, "Traslado")


def test_a_breach_is_never_deleted_and_its_report_never_changed(breach, other_office):
    assert "append-only" in _refused("DELETE FROM cases_breach WHERE id = %s", [breach.pk])
    for column, value in (("nature", "integrity"), ("office_id", other_office.pk),
                          ("discovered_at", timezone.now() - datetime.timedelta(days=9)),
                          ("description", b"\x00")):
        message = _refused(f"UPDATE cases_breach SET {column} = %s WHERE id = %s",  # noqa: S608
                           [value, breach.pk])
        assert "never changed" in message, column
    with pytest.raises(DatabaseError), transaction.atomic():
        Breach.objects.filter(pk=breach.pk).delete()
    kept = Breach.objects.get(pk=breach.pk)
    assert (kept.nature, kept.description) == ("confidentiality", "Se perdió una memoria USB")


def test_the_assessment_of_a_breach_still_changes(breach, supervisor, case):
    with connection.cursor() as cur:
        cur.execute("UPDATE cases_breach SET risk = 'high' WHERE id = %s", [breach.pk])
    breaches.name_people(by=supervisor, breach=breach, references=case.reference)
    breaches.manage_breach(by=supervisor, breach=breach, risk="low", status="closed",
                           categories="nombres", people_count=3, occurred_from=None,
                           occurred_to=None, actions="Borrado remoto",
                           focal_point_notified_at=None, people_notified_at=None)
    kept = Breach.objects.get(pk=breach.pk)
    assert (kept.risk, kept.status, kept.people_count) == ("low", "closed", 3)
    assert kept.description == "Se perdió una memoria USB"


# As the application's own database role (manage.py db_roles): it is not granted what the
# registers refuse, cannot switch their triggers off, and still does its work.

ROLE_REFUSED = [
    "DELETE FROM cases_transfer",
    "UPDATE cases_transfer SET people_count = 99",
    "TRUNCATE cases_transfer",
    "DELETE FROM cases_breach",
    "UPDATE cases_breach SET nature = 'integrity'",  # granted UPDATE; the trigger refuses
    "TRUNCATE cases_breach",
    "ALTER TABLE cases_transfer DISABLE TRIGGER cases_transfer_append_only",
    "ALTER TABLE cases_breach DISABLE TRIGGER USER",
    "DROP TRIGGER cases_breach_report_fixed ON cases_breach",
    "DROP FUNCTION amparo_register_append_only() CASCADE",
    "SET session_replication_role = replica",
]


@pytest.mark.parametrize("sql", ROLE_REFUSED)
def test_the_application_s_role_gets_past_neither_grants_nor_triggers(app_role, entry, breach,  # noqa: F811
                                                                     sql):
    with connect_as(app_role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(sql)
    assert Transfer.objects.filter(pk=entry.pk, people_count=1).exists()
    assert Breach.objects.filter(pk=breach.pk, nature="confidentiality").exists()


def test_the_application_s_role_keeps_the_registers(app_role, entry, breach, supervisor, office,  # noqa: F811
                                                   other_office, case):
    with django_as(app_role):
        with connection.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone()[0] == app_role
        fixed = transfers.record_transfer(by=supervisor, office=office, to_office=other_office,
                                          transferred_on=timezone.localdate(), channel="paper",
                                          categories="expedientes", purpose="Corrección",
                                          people_count=2, corrects=entry)
        [named] = breaches.name_people(by=supervisor, breach=breach, references=case.reference)
        breaches.unname_person(by=supervisor, breach=breach, link_id=named.pk)
        breaches.manage_breach(by=supervisor, breach=breach, risk="low", status="contained",
                               categories="nombres", people_count=3, occurred_from=None,
                               occurred_to=None, actions="", focal_point_notified_at=None,
                               people_notified_at=None)
        with pytest.raises(DatabaseError), transaction.atomic():
            Transfer.objects.filter(pk=entry.pk).delete()
    assert Transfer.objects.get(pk=fixed.pk).corrects_id == entry.pk
    assert Breach.objects.get(pk=breach.pk).status == "contained"
