"""Rotating the audit signing key (rotate_audit_key): events, links, checkpoints and witnessed
heads of every key verify; the retired keys stay with the key file; an event made with a
retired key after its retirement, or with a key the keyring lacks, fails verify_audit."""

from __future__ import annotations

import datetime
import io
import shutil
import stat
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit import chain, signing, verify
from audit.models import AuditEvent, ChainLink
from audit.verify import ROTATED
from tests.audit.conftest import append_only_lifted
from tests.audit.test_chain import emit_events, failure

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("test_actions")]


def rotate() -> str:
    out = io.StringIO()
    call_command("rotate_audit_key", stdout=out)
    return out.getvalue()


def event_signed_with(kid: str, *, at: datetime.datetime | None = None) -> AuditEvent:
    """An event whose MAC is made with key `kid` of the keyring, as a server still holding
    that key would write it."""
    ring = signing.keyring()
    row = AuditEvent(uid=uuid.uuid4(), at=at or timezone.now(), actor_username="someone",
                     action="test.touch", object_type="test.thing", object_id="late",
                     outcome="ok", details={}, key_id=kid)
    row.mac = chain.event_mac(ring.mac_key(kid), tuple(getattr(row, f) for f in chain.FIELDS))
    row.save(force_insert=True)
    return row


def test_events_of_both_keys_verify_after_a_rotation(audit_files):
    # Given a chain signed with the first key, with a checkpoint
    emit_events(3)
    first = signing.keyring().current_id
    # When the key is rotated and more events follow
    said = rotate()
    emit_events(2)
    call_command("audit_checkpoint", stdout=io.StringIO())
    # Then a new key is current and the old one is kept beside the key file, private
    ring = signing.keyring()
    assert ring.current_id != first and first in ring.keys
    assert first in said and ring.current_id in said
    kept = list(signing.retired_path().glob("*.pem"))
    assert [f.name for f in kept] == [f"0001-{first}.pem"]
    assert stat.S_IMODE(kept[0].stat().st_mode) == 0o600
    # And the events and links name their key; the rotation is itself an event of the chain
    assert set(AuditEvent.objects.values_list("key_id", flat=True)) == {first, ring.current_id}
    rotated = AuditEvent.objects.get(action=ROTATED)
    assert rotated.details == {"retired": first, "current": ring.current_id}
    assert rotated.key_id == ring.current_id
    assert ChainLink.objects.filter(key_id=first).count() >= 3
    # And the whole log verifies, checkpoints and witness of both keys included
    report = verify.verify()
    assert report.ok, report.failure
    assert report.checkpoints >= 2
    signed_by = {h.key_id for h in signing.read_sink()}
    assert signed_by == {first, ring.current_id}
    assert any("rotation" in note for note in report.notes)


def test_rows_from_before_key_ids_belong_to_the_oldest_key():
    # Given an event and link made before events named their key ("")
    ring = signing.keyring()
    row = event_signed_with(ring.current_id)
    chain.link_pending()
    with append_only_lifted():  # as written before audit 0004
        AuditEvent.objects.filter(pk=row.pk).update(key_id="")
        ChainLink.objects.filter(event_id=row.pk).update(key_id="")
    assert verify.verify().ok
    # When the key is rotated twice
    rotate()
    rotate()
    emit_events(1)
    # Then the old rows still verify: "" is the first key, the oldest retired one
    report = verify.verify()
    assert report.ok, report.failure
    assert signing.keyring().legacy_id == ring.current_id
    assert len(list(signing.retired_path().glob("*.pem"))) == 2


def test_an_event_made_with_a_retired_key_after_the_grace_fails(settings):
    # Given a rotation, and no grace for servers still on the old key
    settings.AMPARO_AUDIT_ROTATION_GRACE = 0
    emit_events(1)
    old = signing.keyring().current_id
    rotate()
    # When an event is written later with the retired key (a copy of it was taken away)
    late = event_signed_with(old, at=timezone.now() + datetime.timedelta(seconds=5))
    chain.link_pending()
    # Then verify_audit names it
    found = failure()
    assert found.event_id == late.pk
    assert "retired" in found.reason and old in found.reason


def test_an_event_made_with_the_retired_key_within_the_grace_verifies(settings):
    # Given a rotation and the default grace: a server that has not read the new key yet
    emit_events(1)
    old = signing.keyring().current_id
    rotate()
    event_signed_with(old, at=timezone.now() + datetime.timedelta(seconds=30))
    chain.link_pending()
    # Then it verifies
    report = verify.verify()
    assert report.ok, report.failure


def test_a_lost_retired_key_fails_verification_and_says_which(audit_files):
    # Given a rotated key whose retired folder was not copied along
    emit_events(2)
    old = signing.keyring().current_id
    rotate()
    emit_events(1)
    shutil.rmtree(signing.retired_path())
    # Then verify_audit names the missing key, not a forged event
    found = failure()
    assert old in found.reason and "not in the keyring" in found.reason


def test_an_interrupted_rotation_is_finished_without_a_second_copy():
    # Given a rotation that stopped after keeping the old key (the key file still the old one)
    old = signing.keyring().current_id
    signing.retired_path().mkdir()
    shutil.copy(signing.key_path(), signing.retired_path() / f"0001-{old}.pem")
    # When it is run again
    retired, new = signing.rotate()
    # Then the old key is kept once and the new one is current
    assert retired == old and new != old
    assert [f.name for f in signing.retired_path().glob("*.pem")] == [f"0001-{old}.pem"]
    assert signing.keyring().current_id == new
