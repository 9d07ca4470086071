"""The chain's link hash covers the position and is keyed: without the chain key nobody can
re-link events after removing or reordering some; links made before the key (scheme 1, plain
SHA-256) still verify, and only before the first keyed link."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit import chain, signing, verify
from audit.models import AuditEvent, ChainLink
from cases import events
from tests.audit.conftest import raw
from tests.audit.test_chain import emit_events, failure, position_of, rewrite_links

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_actions")]


def test_the_link_hash_covers_the_position_and_the_key():
    # Given one event row and the hash before it
    emit_events(1)
    row = AuditEvent.objects.values_list(*chain.FIELDS).get()
    prev = "a" * 64
    # Then the same event at another position has another hash
    assert chain.link_hash(prev, 5, row) != chain.link_hash(prev, 6, row)
    # And the hash is an HMAC with the chain key, not the public SHA-256 of the same bytes
    whole = chain.encodings(row)[1]
    unkeyed = hashlib.sha256(b"%s|%d|%s" % (prev.encode(), 5, whole)).hexdigest()
    assert chain.link_hash(prev, 5, row, scheme=chain.UNKEYED) == unkeyed
    assert chain.link_hash(prev, 5, row) != unkeyed
    message = b"%s|%d|%s" % (prev.encode(), 5, whole)
    assert chain.link_hash(prev, 5, row) == hmac.new(signing.chain_key(), message,
                                                     hashlib.sha256).hexdigest()
    # And the chain key is not the MAC key; the MAC is the same HMAC as before
    assert signing.chain_key() != signing.mac_key()
    inner = chain.encodings(row)[0]
    assert row[-1] == chain.mac_of(signing.mac_key(), inner) == hmac.new(
        signing.mac_key(), inner, hashlib.sha256).hexdigest()


def test_new_links_are_keyed():
    emit_events(3)
    assert set(ChainLink.objects.values_list("scheme", flat=True)) == {chain.KEYED}
    report = verify.verify()
    assert report.ok and report.unkeyed == 0


def test_a_tail_cut_and_relinked_with_the_public_hash_is_caught():
    # Given a keyed chain; an attacker without the key deletes event 4 and links 5 and 6
    # in its place with the plain SHA-256 anyone can compute
    ids = emit_events(6)
    raw("DELETE FROM audit_chainlink WHERE position >= 4")
    raw("DELETE FROM audit_auditevent WHERE id = %s", [ids[3]])
    rewrite_links(4, ids[4:], scheme=chain.UNKEYED)
    # Then the first unkeyed link after the keyed ones fails
    found = failure()
    assert (found.position, found.event_id) == (4, ids[4])
    assert found.reason == "an unkeyed link after a keyed one: the chain was re-linked"


def test_a_chain_relinked_with_a_made_up_key_is_caught(settings, tmp_path, audit_files):
    # Given a keyed chain, re-linked from position 3 with a key that is not the chain key
    ids = emit_events(6)
    settings.AMPARO_AUDIT_KEY_FILE = tmp_path / "attacker.pem"
    rewrite_links(3, [ids[2], ids[4], ids[3], ids[5]])
    settings.AMPARO_AUDIT_KEY_FILE = audit_files.key
    # Then verification fails at the first re-linked position
    found = failure()
    assert (found.position, found.event_id, found.reason) == (3, ids[2], "event or link altered")


def test_unkeyed_links_from_before_the_key_still_verify():
    # Given a chain whose first links were made before the chain was keyed (scheme 1)
    ids = emit_events(4)
    rewrite_links(1, ids, scheme=chain.UNKEYED)
    # When new events are linked after them, keyed
    emit_events(2)
    schemes = list(ChainLink.objects.order_by("position").values_list("scheme", flat=True))
    assert schemes == [1, 1, 1, 1, 2, 2]
    # Then the whole chain verifies, and says how much of it is unkeyed
    report = verify.verify()
    assert report.ok, report.failure
    assert report.unkeyed == 4
    assert "4 links from before the chain was keyed (scheme 1, plain SHA-256)" in report.notes


def test_an_unknown_scheme_fails():
    emit_events(3)
    raw("UPDATE audit_chainlink SET scheme = 7 WHERE position = 2")
    found = failure()
    assert (found.position, found.reason) == (2, "unknown hash scheme 7")


def test_a_link_inserted_without_a_scheme_is_taken_as_keyed():
    # Raw SQL that names no scheme gets the keyed one: nobody downgrades by omission
    ids = emit_events(2)
    raw("DELETE FROM audit_chainlink WHERE position = 2")
    row = AuditEvent.objects.filter(id=ids[1]).values_list(*chain.FIELDS).get()
    prev = ChainLink.objects.get(position=1).hash
    raw("INSERT INTO audit_chainlink (position, event_id, prev_hash, hash, linked_at) "
        "VALUES (%s, %s, %s, %s, %s)",
        [2, ids[1], prev, chain.link_hash(prev, 2, row, scheme=chain.UNKEYED),
         connection.ops.adapt_datetimefield_value(timezone.now())])
    assert ChainLink.objects.get(position=2).scheme == chain.KEYED
    assert failure().reason == "event or link altered"


def insert_event_before_key_ids(i: int) -> None:
    """An event as written before events named their signing key (audit 0004): its columns
    only, with the MAC of the key in use."""
    row = AuditEvent(id=i + 1, uid=uuid.uuid4(), at=timezone.now(), actor_username="",
                     action="test.touch", object_type="test.thing", object_id=str(i),
                     outcome="ok", details={})
    row.mac = chain.event_mac(signing.mac_key(), tuple(getattr(row, f) for f in chain.FIELDS))
    columns = [AuditEvent._meta.get_field(f).column for f in chain.FIELDS]
    values = [AuditEvent._meta.get_field(f).get_db_prep_save(getattr(row, f), connection)
              for f in chain.FIELDS]
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO audit_auditevent ({', '.join(columns)}) "  # noqa: S608
                    f"VALUES ({', '.join(['%s'] * len(columns))})", values)


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_an_existing_chain_verifiable(settings):
    # Given the audit tables as before migration 0003, holding a chain made the old way
    settings.AMPARO_AUDIT_LINKER = "background"  # events only; the links are written below
    executor = MigrationExecutor(connection)
    executor.migrate([("audit", "0002_append_only_triggers")])
    try:
        for i in range(3):
            insert_event_before_key_ids(i)
        rows = AuditEvent.objects.order_by("id").values_list(*chain.FIELDS)
        prev, now = chain.GENESIS, connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cur:
            for position, row in enumerate(rows, start=1):
                digest = chain.link_hash(prev, position, row, scheme=chain.UNKEYED)
                cur.execute("INSERT INTO audit_chainlink (position, event_id, prev_hash, hash, "
                            "linked_at) VALUES (%s, %s, %s, %s, %s)",
                            [position, row[0], prev, digest, now])
                prev = digest
    finally:
        # When the migration runs
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    # Then the old links are scheme 1, unchanged, and the chain verifies
    assert list(ChainLink.objects.values_list("scheme", flat=True)) == [1, 1, 1]
    assert ChainLink.objects.get(position=3).hash == prev
    report = verify.verify()
    assert report.ok, report.failure
    assert report.unkeyed == 3
    # And the chain goes on, keyed
    events.emit("test.touch", object_type="test.thing", object_id="after")
    assert chain.link_pending() == 1
    assert ChainLink.objects.get(position=4).scheme == chain.KEYED
    assert verify.verify().ok
    assert position_of(AuditEvent.objects.latest("id").pk) == 4
