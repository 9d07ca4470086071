"""The hash chain and verify_audit: an intact log verifies; every kind of tampering with raw
SQL (edit, delete, insert, reorder, rewritten links, a chain rewritten after a signed
checkpoint, a tampered or dangling checkpoint) is caught at the event where it happened.

Tampering runs on both backends: on PostgreSQL the append-only triggers are switched off
inside the test's transaction first (tests/audit/test_triggers.py shows they are on)."""

from __future__ import annotations

import datetime
import io
import json
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from audit import chain, signing, verify
from audit.models import AuditEvent, ChainLink
from audit.services import sign_checkpoint
from cases import events
from tests.audit.conftest import raw

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_actions")]

COPIED = ("at", "actor_id", "actor_username", "office_id", "action", "object_type",
          "object_id", "request_id", "ip", "outcome", "details", "mac")


# Helpers: what an attacker with SQL access to the database does


def emit_events(n: int, *, actor=None, office=None) -> list[int]:
    """n events, linked; returns the ids of all linked events in chain order."""
    for i in range(n):
        events.emit("test.touch", actor=actor, object_type="test.thing", object_id=str(i),
                    office_id=office.pk if office else None, number=i)
    chain.link_pending()
    return list(ChainLink.objects.order_by("position").values_list("event_id", flat=True))


def position_of(event_id: int) -> int:
    return ChainLink.objects.get(event_id=event_id).position


def failure() -> chain.Failure:
    report = verify.verify()
    assert not report.ok, "verification passed on a tampered log"
    return report.failure


def uid_param(value: uuid.UUID):
    return AuditEvent._meta.get_field("uid").get_db_prep_value(value, connection)


def json_param() -> str:
    return "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"


def insert_copy(source_id: int, **overrides: str) -> int:
    """INSERT ... SELECT a copy of an event under a new uid, with some columns replaced."""
    exprs, params = [], []
    for column in COPIED:
        if column in overrides:
            exprs.append("%s")
            params.append(overrides[column])
        else:
            exprs.append(column)
    raw(f"INSERT INTO audit_auditevent (uid, {', '.join(COPIED)}) "  # noqa: S608
        f"SELECT %s, {', '.join(exprs)} FROM audit_auditevent WHERE id = %s",
        [uid_param(uuid.uuid4()), *params, source_id])
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()


def rewrite_links(from_position: int, event_ids: list[int], *, scheme: int = chain.KEYED) -> None:
    """Replace the chain from `from_position` on with consistent links over `event_ids`:
    with the chain key (an attacker who stole the signing key), or with the unkeyed SHA-256
    of links made before the chain was keyed (anyone can compute it)."""
    raw("DELETE FROM audit_chainlink WHERE position >= %s", [from_position])
    prev = (ChainLink.objects.get(position=from_position - 1).hash if from_position > 1
            else chain.GENESIS)
    rows = {r[0]: r for r in AuditEvent.objects.filter(id__in=event_ids).values_list(*chain.FIELDS)}
    linked_at = connection.ops.adapt_datetimefield_value(timezone.now())
    for position, event_id in enumerate(event_ids, start=from_position):
        digest = chain.link_hash(prev, position, rows[event_id], scheme=scheme)
        raw("INSERT INTO audit_chainlink (position, event_id, prev_hash, hash, linked_at, scheme) "
            "VALUES (%s, %s, %s, %s, %s, %s)", [position, event_id, prev, digest, linked_at, scheme])
        prev = digest


def remac(event_id: int) -> None:
    """Recompute an event's MAC: possible only for someone who holds the MAC key."""
    row = AuditEvent.objects.filter(id=event_id).values_list(*chain.FIELDS).get()
    raw("UPDATE audit_auditevent SET mac = %s WHERE id = %s",
        [chain.event_mac(signing.mac_key(), row), event_id])


# Linking


@pytest.mark.django_db(transaction=True)
def test_events_are_linked_in_order_when_their_transaction_commits():
    # Given three events written in one transaction
    with transaction.atomic():
        for i in range(3):
            events.emit("test.touch", object_type="test.thing", object_id=str(i))
        # Then none is linked before the commit
        assert ChainLink.objects.count() == 0
    # When it commits, they are linked, in the order they were written
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    links = list(ChainLink.objects.order_by("position").values_list(
        "position", "event_id", "prev_hash", "hash"))
    assert [link[:2] for link in links] == [(1, ids[0]), (2, ids[1]), (3, ids[2])]
    # And each link holds the hash of the one before it, starting from the genesis
    assert links[0][2] == chain.GENESIS
    assert [link[2] for link in links[1:]] == [link[3] for link in links[:-1]]

    # When a later transaction writes another event
    with transaction.atomic():
        events.emit("test.touch", object_type="test.thing", object_id="3")
    # Then it extends the same chain
    assert ChainLink.objects.order_by("-position").values_list("position", "prev_hash").first() == (
        4, links[-1][3])
    assert verify.verify().ok


@pytest.mark.django_db(transaction=True)
def test_an_event_of_a_rolled_back_transaction_leaves_nothing():
    # Given an event written in a transaction that then fails
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit("test.touch", object_type="test.thing", object_id="gone")
        raise RuntimeError("the action failed")
    # Then neither the event nor a link remains, and the log verifies
    assert AuditEvent.objects.count() == 0
    assert ChainLink.objects.count() == 0
    assert verify.verify().ok


@pytest.mark.django_db(transaction=True)
def test_events_after_a_rolled_back_savepoint_are_still_linked_at_commit():
    # Given a transaction whose first event is written in a savepoint that is rolled back
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            events.emit("test.touch", object_type="test.thing", object_id="undone")
            raise RuntimeError("the inner part failed")
        # and two more events after it
        events.emit("test.touch", object_type="test.thing", object_id="a")
        events.emit("test.touch", object_type="test.thing", object_id="b")
        assert ChainLink.objects.count() == 0
    # Then, at commit, those two are linked, once each and in order
    linked = list(ChainLink.objects.order_by("position").values_list("event__object_id", flat=True))
    assert linked == ["a", "b"]
    assert verify.verify().ok


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_does_not_keep_the_next_ones_from_being_linked():
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit("test.touch", object_type="test.thing", object_id="gone")
        raise RuntimeError("the action failed")
    for name in ("one", "two"):
        with transaction.atomic():
            events.emit("test.touch", object_type="test.thing", object_id=name)
        # Each transaction's event is linked as soon as it commits
        assert ChainLink.objects.order_by("-position").values_list(
            "event__object_id", flat=True).first() == name
    events.emit("test.touch", object_type="test.thing", object_id="autocommit")
    assert ChainLink.objects.count() == 3
    assert verify.verify().ok


def test_the_event_holds_request_id_and_address_of_the_request(client, caseworker, case):
    # Given a logged-in caseworker
    client.force_login(caseworker)
    # When they open the case page with a request id from the proxy
    client.get(f"/cases/{case.pk}/", HTTP_X_REQUEST_ID="req-123", REMOTE_ADDR="10.1.2.3")
    # Then the view event carries them, and the event's MAC covers them
    event = AuditEvent.objects.get(action="case.view")
    assert (event.request_id, event.ip) == ("req-123", "10.1.2.3")
    chain.link_pending()
    assert verify.verify().ok


# verify_audit on an intact log


def test_verify_audit_passes_on_an_intact_log(caseworker, office):
    # Given linked events and a signed checkpoint, then more events after it
    emit_events(5, actor=caseworker, office=office)
    signed = sign_checkpoint()
    total = emit_events(3, actor=caseworker, office=office)
    out = io.StringIO()
    # When the command runs
    call_command("verify_audit", stdout=out)
    # Then it reports every event and the checkpoint as verified
    assert signed is not None and signed.position == len(total) - 3
    assert f"Audit log intact: {len(total)} events, 1 signed checkpoints verified." in out.getvalue()


def test_verify_audit_notes_that_nothing_was_signed_yet(caseworker, office):
    emit_events(2, actor=caseworker, office=office)
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "Note: no signed checkpoint yet." in out.getvalue()


def test_the_checkpoint_command_signs_the_head_once(audit_files):
    # Given events
    ids = emit_events(4)
    out = io.StringIO()
    # When the checkpoint command runs twice
    call_command("audit_checkpoint", stdout=out)
    call_command("audit_checkpoint", stdout=out)
    # Then the head was signed once, into the sink, and the second run had nothing to do
    (line,) = audit_files.lines()
    assert line["position"] == len(ids)
    assert line["hash"] == ChainLink.objects.get(position=len(ids)).hash
    assert f"Signed checkpoint at position {len(ids)}" in out.getvalue()
    assert "Nothing new to sign." in out.getvalue()


# Tampering with events


def _command_fails_at(position: int | None, event_id: int | None, reason: str) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit", stdout=io.StringIO())
    where = f"position {position}" if position else "outside the chain"
    assert f"FAILED at {where}, event {event_id}: " in str(caught.value)
    assert reason in str(caught.value)
    assert caught.value.returncode != 0


@pytest.mark.parametrize(("column", "value"), [
    ("action", "person.view"),
    ("object_id", "999"),
    ("outcome", "denied"),
    ("actor_username", "someone-else"),
])
def test_an_edited_event_fails_at_its_position(column, value):
    # Given a chain of ten events
    ids = emit_events(10)
    target = ids[6]
    # When one column of the seventh event is changed with SQL
    assert raw(f"UPDATE audit_auditevent SET {column} = %s WHERE id = %s", [value, target]) == 1  # noqa: S608
    # Then verification fails at that event, and names it
    found = failure()
    assert (found.position, found.event_id) == (position_of(target), target)
    assert "MAC" in found.reason
    _command_fails_at(position_of(target), target, "event forged or altered (MAC)")


def test_edited_details_fail_at_that_event():
    ids = emit_events(5)
    target = ids[2]
    raw(f"UPDATE audit_auditevent SET details = {json_param()} WHERE id = %s",  # noqa: S608
        [json.dumps({"number": 99}), target])
    found = failure()
    assert (found.position, found.event_id) == (position_of(target), target)


def test_an_edit_with_a_recomputed_mac_still_breaks_the_link_hash():
    # Given a chain; an attacker who holds the MAC key changes an event and its MAC
    ids = emit_events(6)
    target = ids[3]
    raw("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["case.view", target])
    remac(target)
    # Then the stored link hash no longer matches at that event
    found = failure()
    assert (found.position, found.event_id, found.reason) == (
        position_of(target), target, "event or link altered")


def test_a_deleted_event_fails_at_its_position():
    ids = emit_events(8)
    target = ids[4]
    position = position_of(target)
    assert raw("DELETE FROM audit_auditevent WHERE id = %s", [target]) == 1
    found = failure()
    assert (found.position, found.event_id, found.reason) == (position, target, "event deleted")
    _command_fails_at(position, target, "event deleted")


def test_a_deleted_event_with_its_link_leaves_a_gap_at_its_position():
    ids = emit_events(8)
    target = ids[4]
    position = position_of(target)
    raw("DELETE FROM audit_chainlink WHERE event_id = %s", [target])
    raw("DELETE FROM audit_auditevent WHERE id = %s", [target])
    found = failure()
    assert found.position == position
    assert "position missing" in found.reason


def test_a_deleted_event_with_the_chain_relinked_after_it_breaks_the_next_link():
    # Given a chain; an event is deleted and the later links renumbered, but their hashes
    # kept (recomputing them is the "rewrite" case below)
    ids = emit_events(8)
    target = ids[4]
    position = position_of(target)
    later = ids[5:]
    hashes = dict(ChainLink.objects.values_list("event_id", "hash"))
    prevs = dict(ChainLink.objects.values_list("event_id", "prev_hash"))
    raw("DELETE FROM audit_chainlink WHERE position >= %s", [position])
    raw("DELETE FROM audit_auditevent WHERE id = %s", [target])
    linked_at = connection.ops.adapt_datetimefield_value(timezone.now())
    for offset, event_id in enumerate(later):
        raw("INSERT INTO audit_chainlink (position, event_id, prev_hash, hash, linked_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            [position + offset, event_id, prevs[event_id], hashes[event_id], linked_at])
    # Then verification fails where the deleted event was: the next one does not follow
    found = failure()
    assert (found.position, found.event_id) == (position, ids[5])
    assert found.reason == "link does not follow the previous one"


def test_an_inserted_event_with_a_made_up_mac_fails_outside_the_chain():
    # Given a chain, and a forged event inserted but not (yet) linked
    ids = emit_events(5)
    forged = insert_copy(ids[1], action="person.view", object_id="42", mac="ab" * 32)
    # Then verification names the forged event even though it is in no link
    found = failure()
    assert (found.position, found.event_id) == (None, forged)
    assert "MAC" in found.reason
    _command_fails_at(None, forged, "event forged or altered (MAC)")


def test_an_inserted_event_linked_by_the_application_fails_at_its_position():
    # Given a forged event that the periodic linking then takes into the chain
    ids = emit_events(5)
    forged = insert_copy(ids[1], action="case.view", mac="0" * 64)
    chain.link_pending()
    # Then verification fails at its position
    found = failure()
    assert (found.position, found.event_id) == (position_of(forged), forged)
    assert found.position == len(ids) + 1


def test_an_inserted_copy_with_a_real_mac_and_other_content_fails_in_the_middle():
    # Given a chain; the attacker inserts an event that carries a real event's MAC but says
    # something else, and rebuilds the links so it sits in the middle of the chain
    ids = emit_events(8)
    forged = insert_copy(ids[2], object_id="777")
    position = position_of(ids[3])
    rewrite_links(position, [forged, *ids[3:]])
    # Then verification fails at the inserted event
    found = failure()
    assert (found.position, found.event_id) == (position, forged)
    assert "MAC" in found.reason


def test_an_exact_copy_of_an_event_under_a_new_uid_fails_too():
    # The uid is under the MAC: a replayed event (same content, new uid) is caught
    ids = emit_events(4)
    forged = insert_copy(ids[1])
    chain.link_pending()
    found = failure()
    assert (found.position, found.event_id) == (position_of(forged), forged)


def test_swapped_event_contents_fail_at_the_first_swapped_position():
    # Given a chain; two events exchange everything but their ids (their MACs still match)
    ids = emit_events(8)
    first, second = ids[2], ids[5]
    columns = ("uid", *COPIED)
    rows = {r[0]: r[1:] for r in AuditEvent.objects.filter(id__in=[first, second]).values_list(
        "id", *columns)}
    for event_id in (first, second):  # free both uids first (they are unique)
        raw("UPDATE audit_auditevent SET uid = %s WHERE id = %s", [uid_param(uuid.uuid4()), event_id])
    for target, source in ((first, second), (second, first)):
        values = dict(zip(columns, rows[source], strict=True))
        sets, params = [], []
        for column, value in values.items():
            if column == "details":
                sets.append(f"details = {json_param()}")
                params.append(json.dumps(value))
            elif column == "uid":
                sets.append("uid = %s")
                params.append(uid_param(value))
            elif column == "at":
                sets.append("at = %s")
                params.append(connection.ops.adapt_datetimefield_value(value))
            else:
                sets.append(f"{column} = %s")
                params.append(value)
        raw(f"UPDATE audit_auditevent SET {', '.join(sets)} WHERE id = %s",  # noqa: S608
            [*params, target])
    assert AuditEvent.objects.get(id=first).object_id == str(5)
    # Then verification fails at the first of the two positions
    found = failure()
    assert (found.position, found.event_id) == (position_of(first), first)
    assert found.reason == "event or link altered"


def test_swapped_links_fail_at_the_first_swapped_position():
    # Given a chain; two links exchange their events (the chain order is changed)
    ids = emit_events(8)
    first, second = ids[1], ids[6]
    p1, p2 = position_of(first), position_of(second)
    raw("UPDATE audit_chainlink SET event_id = %s WHERE position = %s", [-1, p1])
    raw("UPDATE audit_chainlink SET event_id = %s WHERE position = %s", [first, p2])
    raw("UPDATE audit_chainlink SET event_id = %s WHERE position = %s", [second, p1])
    found = failure()
    assert (found.position, found.event_id) == (p1, second)


# Tampering with links


def test_an_edited_link_hash_fails_at_that_link():
    ids = emit_events(7)
    position = position_of(ids[3])
    raw("UPDATE audit_chainlink SET hash = %s WHERE position = %s", ["f" * 64, position])
    found = failure()
    assert (found.position, found.event_id, found.reason) == (
        position, ids[3], "event or link altered")


def test_an_edited_previous_hash_fails_at_that_link():
    ids = emit_events(7)
    position = position_of(ids[5])
    raw("UPDATE audit_chainlink SET prev_hash = %s WHERE position = %s", ["e" * 64, position])
    found = failure()
    assert (found.position, found.event_id, found.reason) == (
        position, ids[5], "link does not follow the previous one")


def test_a_removed_link_older_than_the_grace_period_is_caught(settings):
    # Given an event older than the linking grace period that is in no link: its link was
    # removed (a fresh unlinked event is only waiting to be linked)
    ids = emit_events(4)
    target = ids[-1]
    raw("DELETE FROM audit_chainlink WHERE event_id = %s", [target])
    assert verify.verify().ok  # just written: still within the grace period
    old = timezone.now() - chain.LINK_GRACE - datetime.timedelta(minutes=1)
    raw("UPDATE audit_auditevent SET at = %s WHERE id = %s",
        [connection.ops.adapt_datetimefield_value(old), target])
    remac(target)  # the attacker's edit is not what should be caught here
    # Then verification names it
    found = failure()
    assert (found.position, found.event_id, found.reason) == (
        None, target, "event never linked into the chain")


# Checkpoints


def test_a_chain_rewritten_after_a_checkpoint_fails_at_the_checkpoint(audit_files):
    # Given a chain of ten events whose head is signed into the sink
    ids = emit_events(10)
    signed = sign_checkpoint()
    assert signed is not None
    # When an attacker who stole the MAC key (but cannot reach the sink) edits the fourth
    # event, recomputes its MAC and every later link, consistently
    target = ids[3]
    raw("UPDATE audit_auditevent SET action = %s, object_id = %s WHERE id = %s",
        ["auth.logout", "0", target])
    remac(target)
    rewrite_links(position_of(target), ids[3:])
    assert ChainLink.objects.get(position=signed.position).hash != signed.hash
    # Then the rewrite is consistent in itself: without the sink (the checkpoint and the
    # witnessed heads) nothing is caught
    kept = {path: path.read_text() for path in (audit_files.checkpoints, audit_files.heads)}
    for path in kept:
        path.unlink()
    assert verify.verify().ok
    for path, text in kept.items():
        path.write_text(text)
    # And with it, verification fails at the checkpoint's position
    found = failure()
    assert (found.position, found.event_id) == (signed.position, ids[signed.position - 1])
    assert "differs from the signed checkpoint" in found.reason
    _command_fails_at(signed.position, ids[signed.position - 1], "differs from the signed checkpoint")


def test_a_rewrite_is_caught_at_the_first_checkpoint_after_it():
    # Given two checkpoints, at 5 and at 10
    ids = emit_events(5)
    first = sign_checkpoint()
    ids = emit_events(5)
    second = sign_checkpoint()
    assert (first.position, second.position) == (len(ids) - 5, len(ids))
    # When a reordering before the first checkpoint is relinked consistently
    start = first.position - 3
    rewrite_links(start, [ids[start], ids[start - 1], *ids[start + 1:]])
    # Then the first checkpoint catches it
    found = failure()
    assert found.position == first.position
    assert "differs from the signed checkpoint" in found.reason


def test_deleted_and_relinked_events_after_the_last_checkpoint_are_not_what_is_signed():
    # Given a signed head; events before it are deleted and the chain relinked and
    # re-extended to the same length
    ids = emit_events(6)
    signed = sign_checkpoint()
    extra = emit_events(1)[-1]
    victim = ids[2]
    raw("DELETE FROM audit_chainlink WHERE event_id = %s", [victim])
    raw("DELETE FROM audit_auditevent WHERE id = %s", [victim])
    rewrite_links(position_of(ids[3]) - 1, [*ids[3:], extra])
    found = failure()
    assert found.position == signed.position
    assert "differs from the signed checkpoint" in found.reason


@pytest.mark.parametrize("field", ["hash", "position", "signed_at"])
def test_a_tampered_checkpoint_line_fails_its_signature(audit_files, field):
    # Given a signed checkpoint
    emit_events(4)
    signed = sign_checkpoint()
    # When its line in the sink is edited
    (line,) = audit_files.lines()
    line[field] = {"hash": "0" * 64, "position": signed.position - 1,
                   "signed_at": "2020-01-01T00:00:00+00:00"}[field]
    audit_files.write_lines([line])
    # Then verification fails on the checkpoint's signature
    found = failure()
    assert found.position == line["position"]
    assert found.reason == "checkpoint signature does not verify"


def test_a_checkpoint_signed_with_another_key_is_refused(audit_files, settings, tmp_path):
    # Given a chain head signed with a key that is not the audit key
    emit_events(3)
    head = ChainLink.objects.order_by("-position").first()
    settings.AMPARO_AUDIT_KEY_FILE = tmp_path / "other-key.pem"
    foreign = signing.sign(position=head.position, head_hash=head.hash,
                           signed_at=timezone.now().isoformat())
    settings.AMPARO_AUDIT_KEY_FILE = audit_files.key
    signing.append_to_sink(foreign)
    # Then it does not verify
    found = failure()
    assert found.position == head.position
    assert found.reason.startswith("checkpoint signature does not verify")
    assert foreign.key_id in found.reason and "not in the keyring" in found.reason


def test_events_removed_from_the_end_leave_a_checkpoint_beyond_the_chain():
    # Given a signed head at position 8
    ids = emit_events(8)
    signed = sign_checkpoint()
    # When the last two events and their links are deleted
    for event_id in ids[-2:]:
        raw("DELETE FROM audit_chainlink WHERE event_id = %s", [event_id])
        raw("DELETE FROM audit_auditevent WHERE id = %s", [event_id])
    # Then the chain verifies up to its new end, and the checkpoint beyond it is named
    found = failure()
    assert (found.position, found.event_id) == (signed.position, None)
    assert "beyond the end of the chain" in found.reason
    assert verify.verify().links == len(ids) - 2


def test_an_unreadable_checkpoint_line_fails_the_command(audit_files):
    # Given a sink whose line was overwritten with something that is not a checkpoint
    emit_events(3)
    sign_checkpoint()
    audit_files.checkpoints.write_text("{not json\n")
    # Then the command fails cleanly (exit status, message), naming the line
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit", stdout=io.StringIO())
    assert "FAILED" in str(caught.value)
    assert "line 1: not a checkpoint" in str(caught.value)
