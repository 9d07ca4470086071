"""Writes of the audit app besides the events themselves: linking and checkpoints."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit import chain, signing, witness
from audit.models import ChainLink, Checkpoint


def sign_checkpoint() -> signing.SignedHead | None:
    """Link what is pending, then sign the chain head into the sink if it moved since the
    sink's last checkpoint, or if that one is older than half the checkpoint period (an idle
    chain is signed again, so a missing beat shows as a stale checkpoint).

    The head is in the witness before it is signed, and the checkpoint names the witness
    line (verify_audit then notices heads.log cut short). The line reaches the sink outside
    the database before the database copy is written."""
    chain.link_pending()
    head = ChainLink.objects.order_by("-position").values_list("position", "hash").first()
    if head is None:
        return None
    last = signing.newest_checkpoint()
    if last is not None and (last.position, last.hash) == head:
        period = datetime.timedelta(seconds=settings.AMPARO_CHECKPOINT_SECONDS / 2)
        try:
            fresh = timezone.now() - datetime.datetime.fromisoformat(last.signed_at) < period
        except (TypeError, ValueError):
            fresh = False
        if fresh:
            return None
    _newest, witnessed = witness.record(*head)
    signed = signing.sign(position=head[0], head_hash=head[1],
                          signed_at=timezone.now().isoformat(), witness=witnessed)
    signing.append_to_sink(signed)
    if not Checkpoint.objects.filter(position=signed.position).exists():
        try:
            with transaction.atomic():
                Checkpoint.objects.create(position=signed.position, hash=signed.hash,
                                          signed_at=timezone.now(), key_id=signed.key_id,
                                          signature=signed.signature)
        except IntegrityError:
            pass  # signed at the same moment by another process
    return signed
