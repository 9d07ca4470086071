"""Recompute the chain, check every signed checkpoint and the witness; name the first failure
(docs/architecture.md#audit)."""

from __future__ import annotations

import datetime
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from django.conf import settings
from django.utils import timezone

from audit import chain, signing, witness
from audit.models import AuditEvent, ChainLink


@dataclass
class Report:
    links: int = 0
    checkpoints: int = 0
    witnessed: int = 0  # heads of the witness compared with the chain
    witness_head: witness.Head | None = None
    unkeyed: int = 0  # links of scheme 1 (made before the chain was keyed)
    failure: chain.Failure | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None


_NEVER = datetime.datetime.min.replace(tzinfo=datetime.UTC)


def _when(text: str) -> datetime.datetime:
    """A signed time; one that cannot be read counts as long ago."""
    try:
        value = datetime.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return _NEVER
    return value if value.tzinfo is not None else _NEVER


def _same(expected: str, found: object) -> bool:
    """A MAC or keyed hash compared in constant time (no timing says how much of it matched)."""
    return isinstance(found, str) and hmac.compare_digest(expected, found)


ROTATED = "audit.key_rotated"


def _unknown(what: str, kid: str) -> str:
    return f"{what} made with signing key {kid}, {signing.not_held()}"


class _Keys:
    """The keyring as the walk uses it: keys by stored id, and which keys the chain itself
    says were retired when (its `audit.key_rotated` events, whose MAC is the new key's)."""

    def __init__(self, ring: signing.Keyring) -> None:
        self.ring = ring
        self.retired: dict[str, datetime.datetime] = {}
        self.rotations = 0
        self.grace = datetime.timedelta(seconds=settings.AMPARO_AUDIT_ROTATION_GRACE)
        self._macs: dict[str, chain.Hmac] = {}
        self._chains: dict[str, chain.Hmac] = {}

    def problem(self, stored: str, when: datetime.datetime, what: str) -> str:
        """Why a row signed with key `stored` at `when` cannot be right, or ""."""
        kid = self.ring.resolve(stored)
        if kid not in self.ring.keys:
            return _unknown(what, kid)
        retired = self.retired.get(kid)
        if retired is not None and when > retired + self.grace:
            return (f"{what} made at {when.isoformat()} with signing key {kid}, retired at "
                    f"{retired.isoformat()}: a retired key was used")
        return ""

    def mac(self, stored: str) -> chain.Hmac:
        kid = self.ring.resolve(stored)
        if kid not in self._macs:
            self._macs[kid] = chain.Hmac(cast(bytes, self.ring.mac_key(kid)))
        return self._macs[kid]

    def chain(self, stored: str) -> chain.Hmac:
        kid = self.ring.resolve(stored)
        if kid not in self._chains:
            self._chains[kid] = chain.Hmac(cast(bytes, self.ring.chain_key(kid)))
        return self._chains[kid]

    def saw(self, row: tuple[Any, ...]) -> None:
        """A verified event: a rotation retires its old key from the event's time on."""
        if row[6] == ROTATED and isinstance(row[-2], dict):
            old = row[-2].get("retired")
            if isinstance(old, str) and old not in self.retired:
                self.retired[old] = row[2]
                self.rotations += 1


def verify(*, progress: Callable[[int], None] | None = None) -> Report:
    report = Report()
    ring = signing.keyring()
    heads = signing.read_sink()
    by_position: dict[int, signing.SignedHead] = {}
    for head in heads:
        if not signing.check_signature(head, ring.public(head.key_id)):
            unheld = "" if ring.public(head.key_id) else f" (key {head.key_id}, {signing.not_held()})"
            report.failure = chain.Failure(head.position, None,
                                           f"checkpoint signature does not verify{unheld}")
            return report
        by_position[head.position] = head
    # The newest checkpoint that names a witness line: that line must still be there.
    named = next((h for h in reversed(heads) if h.witness), None)
    seen = witness.check(ring, wanted=named.witness if named else "")
    if seen.problem:
        report.failure = chain.Failure(seen.problem_position, None, seen.problem)
        return report
    if named is not None and not seen.found:
        report.failure = chain.Failure(
            named.position, None,
            f"witness {witness.FILE_NAME} was cut: the checkpoint signed at {named.signed_at} "
            "names a line of it that is no longer there")
        return report
    report.witness_head = seen.newest
    witnessed = witness.heads(seen.lines) if seen.lines else iter(())
    next_witnessed = next(witnessed, None)

    keys = _Keys(ring)
    expected_position, prev, scheme_before = 1, chain.GENESIS, chain.UNKEYED
    for step in chain.walk():
        position, stored, event_id, row, scheme = (step.position, step.hash, step.event_id,
                                                   step.row, step.scheme)
        if position != expected_position:
            report.failure = chain.Failure(expected_position, None,
                                           f"position missing (next stored is {position})")
            return report
        if row is None:
            report.failure = chain.Failure(position, event_id, "event deleted")
            return report
        inner, whole = chain.encodings(row)  # one encoding for the MAC and the link
        problem = keys.problem(step.event_key, row[2], "event")
        if problem:
            report.failure = chain.Failure(position, event_id, problem)
            return report
        if not _same(keys.mac(step.event_key).hexdigest(inner), row[-1]):
            report.failure = chain.Failure(position, event_id, "event forged or altered (MAC)")
            return report
        if step.prev_hash != prev:
            report.failure = chain.Failure(position, event_id, "link does not follow the previous one")
            return report
        if scheme not in (chain.UNKEYED, chain.KEYED):
            report.failure = chain.Failure(position, event_id, f"unknown hash scheme {scheme}")
            return report
        if scheme < scheme_before:
            report.failure = chain.Failure(
                position, event_id, "an unkeyed link after a keyed one: the chain was re-linked")
            return report
        scheme_before = scheme
        if scheme == chain.KEYED:
            problem = keys.problem(step.link_key, step.linked_at, "link")
            if problem:
                report.failure = chain.Failure(position, event_id, problem)
                return report
        digest = chain.hash_of(prev, position, whole,
                               keys.chain(step.link_key) if scheme == chain.KEYED else None)
        if not _same(digest, stored):
            report.failure = chain.Failure(position, event_id, "event or link altered")
            return report
        signed = by_position.get(position)
        if signed is not None:
            if not _same(signed.hash, digest):
                report.failure = chain.Failure(
                    position, event_id, "chain rewritten: differs from the signed checkpoint")
                return report
            report.checkpoints += 1
        if next_witnessed is not None and next_witnessed[0] == position:
            if not _same(next_witnessed[1], digest):
                report.failure = chain.Failure(
                    position, event_id, "chain rewritten: differs from the witnessed head")
                return report
            report.witnessed += 1
            next_witnessed = next(witnessed, None)
        if scheme == chain.UNKEYED:
            report.unkeyed += 1
        keys.saw(row)
        prev = digest
        expected_position += 1
        report.links += 1
        if progress and report.links % 100000 == 0:
            progress(report.links)
    now = timezone.now()
    if seen.newest is not None and seen.newest.position > report.links:
        report.failure = chain.Failure(
            seen.newest.position, None,
            f"witnessed head beyond the end of the chain: events after #{report.links} were "
            f"removed (the witness saw #{seen.newest.position} at {seen.newest.at})")
        return report
    missing = [h.position for h in heads if h.position > report.links]
    if missing:
        report.failure = chain.Failure(
            missing[0], None, "checkpoint beyond the end of the chain: events after "
            f"#{report.links} were removed")
        return report
    if seen.newest is not None or named is not None:
        newest = seen.newest.position if seen.newest else 0
        grace = datetime.timedelta(seconds=settings.AMPARO_AUDIT_WITNESS_GRACE)
        late = ChainLink.objects.filter(position__gt=newest, linked_at__lt=now - grace).order_by(
            "position").values_list("position", "linked_at").first()
        if late is not None:
            report.failure = chain.Failure(
                late[0], None,
                f"linked at {late[1].isoformat()} but missing from the witness, whose newest "
                f"head is #{newest}: {witness.FILE_NAME} was cut, or the linker cannot write it")
            return report
    elif report.links:
        # No witness line and no checkpoint naming one: fine while the chain is young (the
        # linker writes the witness at each link); past the grace, the sink was emptied.
        grace = datetime.timedelta(seconds=settings.AMPARO_AUDIT_WITNESS_GRACE)
        oldest = ChainLink.objects.order_by("position").values_list("position", "linked_at").first()
        if oldest is not None and oldest[1] < now - grace and not heads:
            report.failure = chain.Failure(
                oldest[0], None,
                f"events linked since {oldest[1].isoformat()} but neither a witnessed head nor "
                f"a signed checkpoint exists: {witness.FILE_NAME} and the checkpoints were "
                "removed, or the linker cannot write them (an installation from before the "
                "witness: run audit_checkpoint once, then verify again)")
            return report
        report.notes.append(f"no witnessed head yet ({witness.FILE_NAME} is written when "
                            "events are next linked)")
    cutoff = now - chain.LINK_GRACE
    for *row_values, stored_key in AuditEvent.objects.filter(link__isnull=True).order_by(
            "id").values_list(*chain.FIELDS, "key_id").iterator():
        row = tuple(row_values)
        problem = keys.problem(stored_key, row[2], "event")
        if problem:
            report.failure = chain.Failure(None, row[0], problem)
            return report
        if not _same(keys.mac(stored_key).hexdigest(chain.encodings(row)[0]), row[-1]):
            report.failure = chain.Failure(None, row[0], "event forged or altered (MAC)")
            return report
        if row[2] < cutoff:
            report.failure = chain.Failure(None, row[0], "event never linked into the chain")
            return report
    max_age = settings.AMPARO_AUDIT_CHECKPOINT_MAX_AGE
    if heads and max_age:
        newest_signed = max(heads, key=lambda h: _when(h.signed_at))
        if now - _when(newest_signed.signed_at) > datetime.timedelta(seconds=max_age):
            report.failure = chain.Failure(
                newest_signed.position, None,
                f"the newest signed checkpoint is from {newest_signed.signed_at}, older than "
                f"AMPARO_AUDIT_CHECKPOINT_MAX_AGE ({max_age} s): checkpoints are not being "
                "signed (is celery beat running?)")
            return report
    if not heads:
        report.notes.append("no signed checkpoint yet")
    if keys.rotations:
        report.notes.append(f"{keys.rotations} signing key rotation(s) in the chain")
    if report.unkeyed:
        report.notes.append(f"{report.unkeyed} links from before the chain was keyed "
                            "(scheme 1, plain SHA-256)")
    return report
