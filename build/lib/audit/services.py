"""Writes of the audit app besides the events themselves: linking and checkpoints."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit import chain, signing
from audit.models import ChainLink, Checkpoint


def sign_checkpoint() -> signing.SignedHead | None:
    """Link what is pending, then sign the chain head if it moved since the last checkpoint.

    The line reaches the sink outside the database before the database copy is written."""
    chain.link_pending()
    head = ChainLink.objects.order_by("-position").values_list("position", "hash").first()
    if head is None:
        return None
    last = Checkpoint.objects.order_by("-position").values_list("position", flat=True).first()
    if last == head[0]:
        return None
    signed = signing.sign(position=head[0], head_hash=head[1],
                          signed_at=timezone.now().isoformat())
    signing.append_to_sink(signed)
    with transaction.atomic():
        Checkpoint.objects.create(position=signed.position, hash=signed.hash,
                                  signed_at=timezone.now(), key_id=signed.key_id,
                                  signature=signed.signature)
    return signed
