"""The witness (heads.log in the sink): every linker batch appends its head, signed and
chained to the line before, right after the commit; verify_audit compares the chain with
it, so events cut from the end of the chain after the last checkpoint are caught, and so is
a witness file cut short. A stale checkpoint fails too."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from audit import chain, signing, tasks, verify, witness
from audit.models import AuditEvent, ChainLink
from audit.services import sign_checkpoint
from cases import events
from tests.audit.conftest import raw

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("test_actions")]


def emit(n: int, *, start: int = 0) -> list[int]:
    """n events, each in its own transaction (linked and witnessed at its commit)."""
    for i in range(start, start + n):
        with transaction.atomic():
            events.emit("test.touch", object_type="test.thing", object_id=str(i))
    return list(ChainLink.objects.order_by("position").values_list("event_id", flat=True))


def failure() -> chain.Failure:
    report = verify.verify()
    assert not report.ok, "verification passed"
    return report.failure


def cut_tail(count: int) -> None:
    """Delete the newest `count` events and their links, past the append-only triggers."""
    head = ChainLink.objects.order_by("-position").values_list("position", flat=True).first()
    victims = list(ChainLink.objects.filter(position__gt=head - count).values_list(
        "event_id", flat=True))
    raw("DELETE FROM audit_chainlink WHERE position > %s", [head - count])
    for event_id in victims:
        raw("DELETE FROM audit_auditevent WHERE id = %s", [event_id])


def age_links(seconds: int) -> None:
    """Make every link look older (what time does)."""
    raw("UPDATE audit_chainlink SET linked_at = %s",
        [connection.ops.adapt_datetimefield_value(
            timezone.now() - datetime.timedelta(seconds=seconds))])


# Writing the witness


def test_each_commit_appends_its_head_signed_and_chained(audit_files):
    # Given three transactions, the second with two events
    emit(1)
    with transaction.atomic():
        events.emit("test.touch", object_type="test.thing", object_id="a")
        events.emit("test.touch", object_type="test.thing", object_id="b")
    emit(1, start=9)
    # Then each commit appended one line: its head, position and hash as in the chain
    lines = audit_files.head_lines()
    assert [line["position"] for line in lines] == [1, 3, 4]
    hashes = dict(ChainLink.objects.values_list("position", "hash"))
    assert [line["hash"] for line in lines] == [hashes[1], hashes[3], hashes[4]]
    # And each line names the hash of the line before it, from the genesis
    raw_lines = audit_files.heads.read_bytes().splitlines()
    assert lines[0]["prev"] == witness.GENESIS
    assert [line["prev"] for line in lines[1:]] == [witness.line_hash(r) for r in raw_lines[:-1]]
    # And every line is signed with the audit key
    public = signing.private_key().public_key()
    assert all(witness.check_signature(witness.parse(r), public) for r in raw_lines)
    report = verify.verify()
    assert report.ok, report.failure
    assert (report.witnessed, report.witness_head.position) == (3, 4)


def test_the_background_linker_writes_one_head_per_batch(settings, audit_files):
    # Given events written by requests in background mode: nothing is linked or witnessed
    settings.AMPARO_AUDIT_LINKER = "background"
    for i in range(7):
        events.emit("test.touch", object_type="test.thing", object_id=str(i))
    assert not audit_files.heads.exists()
    # When the linker runs in batches of three
    assert chain.link_all(batch=3) == 7
    # Then each batch's head is witnessed once it is committed
    assert [line["position"] for line in audit_files.head_lines()] == [3, 6, 7]
    # And the periodic task witnesses what it links
    events.emit("test.touch", object_type="test.thing", object_id="late")
    assert tasks.link_task() == 1
    assert audit_files.head_lines()[-1]["position"] == 8
    assert verify.verify().ok


def test_an_older_head_is_not_written_after_a_newer_one(audit_files):
    # Given a witness at position 3 (another process linked further first)
    emit(3)
    head = ChainLink.objects.get(position=2)
    # When a slower process comes to write its older head
    newest, line_hash = witness.record(head.position, head.hash)
    # Then the file keeps its newest head and gains nothing
    assert newest.position == 3
    assert len(audit_files.head_lines()) == 3
    assert line_hash == witness.line_hash(audit_files.heads.read_bytes().splitlines()[-1])


def test_a_line_cut_short_by_a_crash_is_left_for_verify_to_name(audit_files):
    emit(2)
    with open(audit_files.heads, "ab") as fh:
        fh.write(b'{"at":"2026-')  # the machine stopped in the middle of a line
    # The next head starts a line of its own
    emit(1, start=5)
    assert audit_files.heads.read_bytes().splitlines()[-1].startswith(b'{"at"')
    assert failure().reason == "witness heads.log, line 3: not a witnessed head"


def test_the_witness_is_written_by_a_checkpoint_too(audit_files):
    # Given events linked where no witness write happens (inside the test's transaction)
    with transaction.atomic():
        events.emit("test.touch", object_type="test.thing", object_id="1")
        chain.link_pending()
        assert not audit_files.heads.exists()
    # When a checkpoint is signed, its head is witnessed first and the checkpoint names it
    signed = sign_checkpoint()
    (line,) = audit_files.heads.read_bytes().splitlines()
    assert json.loads(line)["position"] == signed.position
    assert signed.witness == witness.line_hash(line)


# Events cut from the end of the chain


def test_events_cut_after_the_last_checkpoint_are_caught_by_the_witness(audit_files):
    # Given a checkpoint at 5, then three more events, witnessed as they were linked
    emit(5)
    signed = sign_checkpoint()
    emit(3, start=5)
    assert signed.position == 5
    # When someone with the owner's rights deletes the three newest events and their links
    cut_tail(3)
    # Then the chain and the checkpoint agree with each other, but the witness saw more
    found = failure()
    assert found.position == 8
    assert "events after #5 were removed" in found.reason
    with pytest.raises(CommandError, match=r"events after #5 were removed \(the witness saw #8"):
        call_command("verify_audit", stdout=io.StringIO())


@pytest.mark.postgres
def test_a_cut_made_with_the_triggers_bypassed_by_replication_role_is_caught(postgres, audit_files):
    # Given a witnessed chain
    emit(6)
    # When a superuser deletes the newest two past the triggers (replica mode skips them)
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        try:
            cur.execute("DELETE FROM audit_chainlink WHERE position > 4")
            cur.execute("DELETE FROM audit_auditevent WHERE id NOT IN "
                        "(SELECT event_id FROM audit_chainlink)")
        finally:
            cur.execute("SET session_replication_role = DEFAULT")
    assert AuditEvent.objects.count() == 4
    # Then verification names the gap
    assert "events after #4 were removed" in failure().reason


def test_a_cut_tail_refilled_by_new_events_differs_from_the_witnessed_head(audit_files):
    # Given a witnessed chain of 6; the newest three are deleted
    emit(6)
    cut_tail(3)
    # When the application goes on and links new events into the same positions
    emit(3, start=100)
    assert ChainLink.objects.count() == 6
    # Then the first refilled position is not what the witness saw there
    found = failure()
    assert found.position == 4
    assert found.reason == "chain rewritten: differs from the witnessed head"


def test_a_cut_with_the_whole_sink_removed_is_seen_once_the_links_are_older_than_the_grace(
        audit_files, settings):
    emit(5)
    sign_checkpoint()
    emit(3, start=5)
    audit_files.heads.unlink()
    audit_files.checkpoints.unlink()
    cut_tail(3)
    # Within the grace the linker may not have written its first head yet.
    assert verify.verify().ok

    age_links(settings.AMPARO_AUDIT_WITNESS_GRACE + 5)

    found = failure()
    assert found.position == 1
    assert "neither a witnessed head nor a signed checkpoint exists" in found.reason


# The witness file itself


def _lines(audit_files) -> list[bytes]:
    return audit_files.heads.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize(("cut", "line"), [(0, 1), (1, 2), (2, 3)])
def test_a_line_removed_from_the_witness_breaks_its_chain(audit_files, cut, line):
    emit(4)
    lines = _lines(audit_files)
    del lines[cut]
    audit_files.heads.write_bytes(b"".join(lines))
    found = failure()
    assert found.reason == (f"witness heads.log, line {line}: does not follow "
                            "the line before it (lines removed or altered)")


def test_an_edited_witness_line_is_caught(audit_files):
    emit(3)
    lines = _lines(audit_files)
    # The newest line edited: its signature no longer verifies
    edited = json.loads(lines[-1])
    edited["hash"] = "0" * 64
    audit_files.heads.write_bytes(b"".join(lines[:-1]) + json.dumps(
        edited, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    assert "line 3: signature does not verify" in failure().reason
    # An older line edited: the next line no longer follows it
    edited = json.loads(lines[0])
    edited["hash"] = "0" * 64
    audit_files.heads.write_bytes(json.dumps(edited, sort_keys=True, separators=(",", ":")).encode()
                                  + b"\n" + b"".join(lines[1:]))
    assert "line 2: does not follow the line before it" in failure().reason


def test_a_head_appended_without_the_signing_key_is_caught(audit_files, settings, tmp_path):
    # Given a witness; an attacker appends a line signed with a key of their own
    emit(2)
    settings.AMPARO_AUDIT_KEY_FILE = tmp_path / "other.pem"
    witness.record(9, "f" * 64)
    settings.AMPARO_AUDIT_KEY_FILE = audit_files.key
    assert "line 3: signature does not verify" in failure().reason


def test_the_newest_witness_lines_cut_off_are_caught_by_the_checkpoint(audit_files):
    # Given a checkpoint that names the newest witness line
    emit(4)
    sign_checkpoint()
    # When the witness loses its last line (the database is intact)
    audit_files.heads.write_bytes(b"".join(_lines(audit_files)[:-1]))
    # Then the checkpoint's line is missing
    found = failure()
    assert found.position == 4
    assert "witness heads.log was cut" in found.reason


def test_a_deleted_witness_file_is_caught_by_the_checkpoint(audit_files):
    emit(2)
    sign_checkpoint()
    audit_files.heads.unlink()
    assert "witness heads.log was cut" in failure().reason


def test_witness_lines_cut_off_after_the_checkpoint_show_once_the_grace_is_over(
        settings, audit_files):
    # Given a checkpoint at 2, then two more witnessed heads
    emit(2)
    sign_checkpoint()
    emit(2, start=2)
    # When the witness loses its last two lines
    audit_files.heads.write_bytes(b"".join(_lines(audit_files)[:-2]))
    # Then, while the heads are fresh, they may still be on their way
    assert verify.verify().ok
    # But once they are older than the grace, their absence fails
    age_links(settings.AMPARO_AUDIT_WITNESS_GRACE + 5)
    found = failure()
    assert found.position == 3
    assert "missing from the witness, whose newest head is #2" in found.reason


def test_a_witness_that_stopped_being_written_fails_after_the_grace(settings, audit_files):
    emit(2)
    settings.AMPARO_AUDIT_SINK = audit_files.sink / "unwritable" / "x"
    (audit_files.sink / "unwritable").write_text("a file where the folder should be")
    emit(1, start=2)  # the write fails and is logged; the request is not refused
    settings.AMPARO_AUDIT_SINK = audit_files.sink
    age_links(settings.AMPARO_AUDIT_WITNESS_GRACE + 5)
    assert "missing from the witness" in failure().reason


@pytest.mark.django_db(transaction=False)
def test_a_fresh_chain_without_a_witness_yet_passes_with_a_note(audit_files):
    # Events linked inside the test's transaction: nothing commits, nothing is witnessed
    for i in range(2):
        events.emit("test.touch", object_type="test.thing", object_id=str(i))
    chain.link_pending()
    assert not audit_files.heads.exists()
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "Note: no witnessed head yet" in out.getvalue()
    assert "Audit log intact: 2 events" in out.getvalue()


# Checkpoints that stopped


def _old_checkpoint(minutes: int) -> None:
    head = ChainLink.objects.order_by("-position").first()
    signing.append_to_sink(signing.sign(
        position=head.position, head_hash=head.hash,
        signed_at=(timezone.now() - datetime.timedelta(minutes=minutes)).isoformat()))


def test_a_stale_checkpoint_fails(settings, audit_files):
    # Given a chain whose newest checkpoint is older than the allowed age
    emit(3)
    _old_checkpoint(minutes=settings.AMPARO_AUDIT_CHECKPOINT_MAX_AGE // 60 + 1)
    # Then verification fails and says why
    found = failure()
    assert found.position == 3
    assert "older than AMPARO_AUDIT_CHECKPOINT_MAX_AGE" in found.reason
    assert "is celery beat running?" in found.reason
    # And with the age check switched off (no beat, as in the quick start), it passes
    settings.AMPARO_AUDIT_CHECKPOINT_MAX_AGE = 0
    assert verify.verify().ok


def test_a_checkpoint_within_the_age_passes(settings, audit_files):
    emit(3)
    _old_checkpoint(minutes=settings.AMPARO_AUDIT_CHECKPOINT_MAX_AGE // 60 - 1)
    assert verify.verify().ok


def test_an_idle_chain_is_signed_again_after_half_the_period(settings, audit_files):
    # Given a chain signed long ago that did not move since
    emit(2)
    _old_checkpoint(minutes=60)
    assert "older than" in failure().reason
    # When the beat signs (nothing new happened)
    signed = sign_checkpoint()
    # Then the same head is signed again, and the log verifies
    assert signed is not None and signed.position == 2
    assert len(audit_files.lines()) == 2
    assert verify.verify().ok
    # But not twice within half the period
    assert sign_checkpoint() is None
