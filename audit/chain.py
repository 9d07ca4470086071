"""Writing events and linking them into the hash chain; recomputing the chain.

hash(n) = SHA-256( hash(n-1) | n | canonical JSON of event n ), with hash(0) = 64 zeros.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from audit import signing
from audit.models import AuditEvent, ChainLink
from cases import events

log = logging.getLogger(__name__)

GENESIS = "0" * 64
FIELDS = ("id", "uid", "at", "actor_id", "actor_username", "office_id", "action",
          "object_type", "object_id", "request_id", "ip", "outcome", "details", "mac")
# Events are linked shortly after they commit; one still unlinked after this long is suspect.
LINK_GRACE = datetime.timedelta(minutes=10)
_LOCK_KEY = 0x616D7061726F  # "amparo": the advisory lock that serialises linking


class AuditUnavailable(Exception):
    """An event could not be written: the action it records must not happen."""


def _timestamp(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value: object) -> str:
    return _timestamp(value) if isinstance(value, datetime.datetime) else str(value)


def canonical(values: tuple) -> bytes:
    """The bytes hashed: the values in order, times in UTC, uuids as text, keys sorted."""
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_plain).encode()


def event_mac(key: bytes, row: tuple) -> str:
    """MAC over everything but the database id and the MAC itself (known before insert)."""
    return hmac.new(key, canonical(row[1:-1]), hashlib.sha256).hexdigest()


def link_hash(prev_hash: str, position: int, row: tuple) -> str:
    digest = hashlib.sha256(prev_hash.encode())
    digest.update(b"|%d|" % position)
    digest.update(canonical(row))
    return digest.hexdigest()


def _normal_ip(ip: str | None) -> str | None:
    """The address as the database gives it back (IPv6 compressed)."""
    if not ip:
        return None
    try:
        return clean_ipv6_address(ip) if ":" in ip else ip
    except ValidationError:
        return None


def record(event: events.Event) -> AuditEvent:
    """Insert the event in the current transaction; it is linked right after commit."""
    request = events.current_request()
    actor = event.actor if getattr(event.actor, "pk", None) else None
    username = event.details.pop("username", None) if actor is None else actor.get_username()
    row = AuditEvent(
        uid=uuid.uuid4(), at=timezone.now(), actor=actor, actor_username=username or "",
        office_id=event.office_id, action=event.action,
        object_type=event.object_type, object_id=event.object_id,
        request_id=request.request_id if request else "",
        ip=_normal_ip(request.ip) if request else None, outcome=event.outcome,
        # JSON round trip: the details exactly as the database will give them back.
        details=json.loads(json.dumps(event.details, default=str)),
    )
    row.mac = event_mac(signing.mac_key(), tuple(getattr(row, f) for f in FIELDS))
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except DatabaseError as exc:
        raise AuditUnavailable(f"audit event {event.action!r} could not be written") from exc
    pending = transaction.get_connection().run_on_commit
    if not any(entry[1] is _link_quietly for entry in pending):  # once per transaction
        transaction.on_commit(_link_quietly)
    return row


def _link_quietly() -> None:
    # The event is committed; linking again later (periodic task) is safe if this fails.
    try:
        link_pending()
    except DatabaseError:
        log.exception("linking audit events failed; the periodic task will retry")


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def link_pending(*, since: datetime.timedelta | None = datetime.timedelta(days=1),
                 limit: int = 5000) -> int:
    """Link committed, unlinked events into the chain, oldest first. Returns how many."""
    with transaction.atomic():
        _lock()
        head = ChainLink.objects.order_by("-position").values_list("position", "hash").first()
        position, prev = head if head else (0, GENESIS)
        pending = AuditEvent.objects.filter(link__isnull=True)
        if since is not None:
            pending = pending.filter(at__gte=timezone.now() - since)
        rows = list(pending.order_by("id").values_list(*FIELDS)[:limit])
        links = []
        now = timezone.now()
        for row in rows:
            position += 1
            digest = link_hash(prev, position, row)
            links.append(ChainLink(position=position, event_id=row[0], prev_hash=prev,
                                   hash=digest, linked_at=now))
            prev = digest
        ChainLink.objects.bulk_create(links)
    return len(links)


@dataclass
class Failure:
    position: int | None
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"position {self.position}" if self.position else "outside the chain"
        return f"{where}, event {self.event_id}: {self.reason}"


def walk(*, chunk: int = 20000) -> Iterator[tuple[int, str, int | None, tuple | None, str]]:
    """(position, stored hash, event id, event row or None, stored prev hash), in order."""
    links = ChainLink.objects.order_by("position").values_list(
        "position", "hash", "prev_hash", "event_id")
    last = 0
    while True:
        batch = list(links.filter(position__gt=last)[:chunk])
        if not batch:
            return
        ids = [b[3] for b in batch]
        rows = {r[0]: r for r in AuditEvent.objects.filter(id__in=ids).values_list(*FIELDS)}
        for position, stored, prev_stored, event_id in batch:
            yield position, stored, event_id, rows.get(event_id), prev_stored
        last = batch[-1][0]
