"""Recompute the chain and check every signed checkpoint; name the first failure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from audit import chain, signing
from audit.models import AuditEvent


@dataclass
class Report:
    links: int = 0
    checkpoints: int = 0
    failure: chain.Failure | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None


def verify(*, progress: Callable[[int], None] | None = None) -> Report:
    report = Report()
    public = signing.private_key().public_key()
    heads = signing.read_sink()
    by_position: dict[int, signing.SignedHead] = {}
    for head in heads:
        if not signing.check_signature(head, public):
            report.failure = chain.Failure(head.position, None,
                                           "checkpoint signature does not verify")
            return report
        by_position[head.position] = head
    key = signing.mac_key()
    expected_position, prev = 1, chain.GENESIS
    for position, stored, event_id, row, prev_stored in chain.walk():
        if position != expected_position:
            report.failure = chain.Failure(expected_position, None,
                                           f"position missing (next stored is {position})")
            return report
        if row is None:
            report.failure = chain.Failure(position, event_id, "event deleted")
            return report
        inner, whole = chain.encodings(row)  # one encoding for the MAC and the link
        if chain.mac_of(key, inner) != row[-1]:
            report.failure = chain.Failure(position, event_id, "event forged or altered (MAC)")
            return report
        if prev_stored != prev:
            report.failure = chain.Failure(position, event_id, "link does not follow the previous one")
            return report
        digest = chain.hash_of(prev, position, whole)
        if digest != stored:
            report.failure = chain.Failure(position, event_id, "event or link altered")
            return report
        signed = by_position.get(position)
        if signed is not None:
            if signed.hash != digest:
                report.failure = chain.Failure(
                    position, event_id, "chain rewritten: differs from the signed checkpoint")
                return report
            report.checkpoints += 1
        prev = digest
        expected_position += 1
        report.links += 1
        if progress and report.links % 100000 == 0:
            progress(report.links)
    missing = [h.position for h in heads if h.position > report.links]
    if missing:
        report.failure = chain.Failure(missing[0], None,
                                       "checkpoint beyond the end of the chain: events removed")
        return report
    cutoff = timezone.now() - chain.LINK_GRACE
    for row in AuditEvent.objects.filter(link__isnull=True).order_by("id").values_list(
            *chain.FIELDS).iterator():
        if chain.event_mac(key, row) != row[-1]:
            report.failure = chain.Failure(None, row[0], "event forged or altered (MAC)")
            return report
        if row[2] < cutoff:
            report.failure = chain.Failure(None, row[0], "event never linked into the chain")
            return report
    if not heads:
        report.notes.append("no signed checkpoint yet")
    return report
