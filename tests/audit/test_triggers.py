"""On PostgreSQL the audit tables are append-only: triggers refuse UPDATE and DELETE, from
raw SQL and from the ORM alike, and the row stays as it was."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit import chain, verify
from audit.models import AuditEvent, ChainLink, Checkpoint
from audit.services import sign_checkpoint
from cases import events

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("test_actions")]

STATEMENTS = {
    "audit_auditevent": ("UPDATE audit_auditevent SET action = 'x' WHERE id = %s",
                         "DELETE FROM audit_auditevent WHERE id = %s"),
    "audit_chainlink": ("UPDATE audit_chainlink SET hash = 'x' WHERE position = %s",
                        "DELETE FROM audit_chainlink WHERE position = %s"),
    "audit_checkpoint": ("UPDATE audit_checkpoint SET hash = 'x' WHERE position = %s",
                         "DELETE FROM audit_checkpoint WHERE position = %s"),
}


@pytest.fixture
def logged(postgres):
    """Three committed events, linked, with a signed checkpoint."""
    for i in range(3):
        with transaction.atomic():
            events.emit("test.touch", object_type="test.thing", object_id=str(i))
    assert sign_checkpoint() is not None
    event = AuditEvent.objects.order_by("id").first()
    return {
        "audit_auditevent": (AuditEvent, event.pk),
        "audit_chainlink": (ChainLink, 1),
        "audit_checkpoint": (Checkpoint, 3),
    }


def _snapshot(model, pk):
    return model.objects.filter(pk=pk).values().get()


@pytest.mark.parametrize("table", list(STATEMENTS))
@pytest.mark.parametrize("verb", ["UPDATE", "DELETE"])
def test_raw_sql_changes_are_refused(logged, table, verb):
    # Given a row of an audit table
    model, pk = logged[table]
    before = _snapshot(model, pk)
    sql = STATEMENTS[table][0 if verb == "UPDATE" else 1]
    # When it is changed or deleted with SQL
    with pytest.raises(DatabaseError, match=f"append-only: {verb} on {table} refused"), \
            transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, [pk])
    # Then the row is as it was
    assert _snapshot(model, pk) == before


@pytest.mark.parametrize("table", list(STATEMENTS))
def test_orm_update_and_delete_are_refused(logged, table):
    model, pk = logged[table]
    before = _snapshot(model, pk)
    field = {"audit_auditevent": "action", "audit_chainlink": "hash",
             "audit_checkpoint": "hash"}[table]
    # When the ORM updates the row in bulk
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        model.objects.filter(pk=pk).update(**{field: "x"})
    # When a loaded instance is changed and saved
    instance = model.objects.get(pk=pk)
    setattr(instance, field, "x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        instance.save()
    # When the ORM deletes it, one instance or the whole table
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        model.objects.get(pk=pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        model.objects.all().delete()
    # Then nothing changed, and the log still verifies
    assert _snapshot(model, pk) == before
    assert model.objects.count() == (1 if table == "audit_checkpoint" else 3)
    assert verify.verify().ok


def test_inserting_stays_possible(logged):
    # The triggers refuse changes, not new events
    with transaction.atomic():
        events.emit("test.touch", object_type="test.thing", object_id="later")
    assert ChainLink.objects.count() == 4
    assert chain.link_pending() == 0
    assert verify.verify().ok


def test_every_audit_table_has_its_trigger(postgres):
    with connection.cursor() as cur:
        # Of the audit app's tables (the registers in `cases` have append-only triggers too).
        cur.execute("SELECT tgrelid::regclass::text FROM pg_trigger "
                    "WHERE tgname LIKE %s AND tgenabled = 'O' "
                    "AND tgrelid::regclass::text LIKE 'audit\\_%%'", ["%_append_only"])
        tables = sorted(row[0] for row in cur.fetchall())
    assert tables == sorted(STATEMENTS)
