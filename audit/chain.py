"""Writing events and linking them into the hash chain; recomputing the chain.

hash(n) = HMAC-SHA256( chain key; hash(n-1) | n | canonical JSON of event n ), with hash(0) =
64 zeros: the position is under the hash, and without the chain key (derived from the signing
key, outside the database) nobody can re-link the chain after removing events. Links made
before migration 0003 carry scheme 1: SHA-256 of the same bytes, no key.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, Field, OuterRef
from django.db.models.expressions import Col
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from audit import signing, witness
from audit.models import AuditEvent, ChainLink
from cases import events

log = logging.getLogger(__name__)

GENESIS = "0" * 64
UNKEYED, KEYED = 1, 2  # ChainLink.scheme
FIELDS = ("id", "uid", "at", "actor_id", "actor_username", "office_id", "action",
          "object_type", "object_id", "request_id", "ip", "outcome", "details", "mac")
# Events are linked shortly after they commit; one still unlinked after this long is suspect.
LINK_GRACE = datetime.timedelta(minutes=10)
_LOCK_KEY = 0x616D7061726F  # "amparo": the advisory lock that serialises linking


AuditUnavailable = events.AuditUnavailable


def _timestamp(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value: object) -> str:
    return _timestamp(value) if isinstance(value, datetime.datetime) else str(value)


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            default=_plain)


def canonical(values: tuple[object, ...]) -> bytes:
    """The bytes hashed: the values in order, times in UTC, uuids as text, keys sorted."""
    return _ENCODER.encode(values).encode()


def encodings(row: tuple[Any, ...]) -> tuple[bytes, bytes]:
    """(what the MAC covers, what the link hash covers) of an event row, encoded once.

    The MAC covers everything but the database id and the MAC itself (known before the
    insert); the link covers the whole row: "[" id "," the same items "," mac "]"."""
    inner = canonical(row[1:-1])
    event_id, mac = row[0], row[-1]
    if type(event_id) is int and type(mac) is str:
        whole = b"[%d," % event_id + inner[1:-1] + b"," + encode_basestring(mac).encode() + b"]"
    else:
        whole = canonical(row)
    return inner, whole


class Hmac:
    """HMAC-SHA256 (RFC 2104) with one key, its inner and outer states computed once: as
    fast as a plain SHA-256, where hmac.new sets the key up again on each call and takes
    twice as long, which verify_audit would pay twice for every event (bench/README.md)."""

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\0")  # SHA-256's block; the derived keys are 32 bytes
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def hexdigest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


_hmacs: dict[bytes, Hmac] = {}


def _hmac(key: bytes) -> Hmac:
    found = _hmacs.get(key)
    if found is None:
        if len(_hmacs) > 8:  # keys change only when the key file does
            _hmacs.clear()
        found = _hmacs[key] = Hmac(key)
    return found


def mac_of(key: bytes, inner: bytes) -> str:
    return _hmac(key).hexdigest(inner)


def chain_key() -> Hmac:
    return _hmac(signing.chain_key())


def hash_of(prev_hash: str, position: int, whole: bytes, key: Hmac | None) -> str:
    """The link hash: keyed with the chain key (scheme 2), or plain SHA-256 with None (1)."""
    message = b"%s|%d|%s" % (prev_hash.encode(), position, whole)
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return key.hexdigest(message)


def event_mac(key: bytes, row: tuple[Any, ...]) -> str:
    return mac_of(key, encodings(row)[0])


def link_hash(prev_hash: str, position: int, row: tuple[Any, ...], *,
              scheme: int = KEYED) -> str:
    return hash_of(prev_hash, position, encodings(row)[1], chain_key() if scheme == KEYED else None)


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
    ring = signing.keyring()
    row.key_id = ring.current_id
    row.mac = event_mac(cast(bytes, ring.mac_key(ring.current_id)),
                        tuple(getattr(row, f) for f in FIELDS))
    try:
        # No savepoint (it would double the cost): inside a transaction, a failed insert
        # fails the whole action, which is the point; a page view runs in autocommit.
        row.save(force_insert=True)
    except DatabaseError as exc:
        raise AuditUnavailable(f"audit event {event.action!r} could not be written") from exc
    if links_inline():
        _link_after_commit(row.pk)
    return row


def links_inline() -> bool:
    """Whether events are linked right after their transaction commits (the embedded default,
    without a broker) or by the background linker (`audit.link`, every
    AMPARO_AUDIT_LINK_SECONDS), so that no request takes the chain's lock or pays a second
    commit."""
    return getattr(settings, "AMPARO_AUDIT_LINKER", "inline") != "background"


class _Batch:
    """The events written since the last link callback ran, on this thread's connection."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.linked = False


_pending = threading.local()  # .batch: the open _Batch of this thread's connection, if any
# A batch this large outlived rolled-back transactions: link whatever is pending instead.
_MAX_IDS = 1000


def _link_after_commit(event_id: int) -> None:
    """Link this transaction's events right after it commits, in one go.

    Every event registers an on_commit callback (Django drops those of a rolled-back
    transaction or savepoint); all of them share the transaction's batch, and the first to
    run links the whole batch, the others find it done. Outside a transaction the callback
    runs at once. Ids of rolled-back events left in a batch match nothing when it is linked.
    The periodic sweep links anything this misses."""
    batch = getattr(_pending, "batch", None)
    if batch is None or batch.linked or transaction.get_autocommit():
        batch = _pending.batch = _Batch()
    batch.ids.append(event_id)

    def link() -> None:
        _link_batch(batch)

    transaction.on_commit(link)


def _link_batch(batch: _Batch) -> None:
    if batch.linked:
        return
    batch.linked = True
    if getattr(_pending, "batch", None) is batch:
        _pending.batch = None
    try:
        link_pending(ids=batch.ids if len(batch.ids) <= _MAX_IDS else None)
    except DatabaseError:
        log.exception("linking audit events failed; the periodic task will retry")


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def link_pending(*, ids: list[int] | None = None, limit: int = 5000) -> int:
    """Link committed, unlinked events into the chain, oldest first. Returns how many.

    With `ids`, only those events (a transaction's own, just committed: an index look-up);
    without, every unlinked event (the periodic sweep). Once the links are committed, the
    new head is written to the witness (audit/witness.py)."""
    ring = signing.keyring()
    key = _hmac(cast(bytes, ring.chain_key(ring.current_id)))
    with transaction.atomic():
        _lock()
        head = ChainLink.objects.order_by("-position").values_list("position", "hash").first()
        position, prev = head if head else (0, GENESIS)
        unlinked = ~Exists(ChainLink.objects.filter(event_id=OuterRef("pk")))
        pending = AuditEvent.objects.filter(unlinked)
        if ids is not None:
            pending = pending.filter(pk__in=ids)
        rows = list(pending.order_by("id").values_list(*FIELDS)[:limit])
        links = []
        now = timezone.now()
        for row in rows:
            position += 1
            digest = hash_of(prev, position, encodings(row)[1], key)
            links.append(ChainLink(position=position, event_id=row[0], prev_hash=prev,
                                   hash=digest, linked_at=now, scheme=KEYED, key_id=ring.current_id))
            prev = digest
        ChainLink.objects.bulk_create(links)
    if links:
        head_position, head_hash = position, prev
        transaction.on_commit(lambda: witness.record_after_link(head_position, head_hash))
    return len(links)


def link_all(*, batch: int = 5000) -> int:
    """Link every committed, unlinked event, a batch per transaction (the background linker)."""
    total = 0
    while True:
        done = link_pending(limit=batch)
        total += done
        if done < batch:
            return total


@dataclass
class Failure:
    position: int | None
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"position {self.position}" if self.position else "outside the chain"
        return f"{where}, event {self.event_id}: {self.reason}"


def _field(name: str) -> Field[Any, Any]:
    """One of FIELDS: a concrete field of AuditEvent (get_field's type also admits relations)."""
    return cast("Field[Any, Any]", AuditEvent._meta.get_field(name))


def _column(name: str) -> str:
    """The column of one of FIELDS: concrete fields always have one."""
    return cast(str, _field(name).column)


def _row_converters() -> list[tuple[int, list[Callable[..., Any]], Col]]:
    """The converters Django applies to AuditEvent's FIELDS read with values_list()."""
    out = []
    for i, name in enumerate(FIELDS):
        field = _field(name)
        col = field.get_col(AuditEvent._meta.db_table)
        funcs: list[Callable[..., Any]] = (
            connection.ops.get_db_converters(col) + field.get_db_converters(connection))
        if funcs:
            out.append((i, funcs, col))
    return out


@dataclass(frozen=True)
class Step:
    """One position of the chain as stored: the link, and its event's row (None if deleted)
    as values_list(*FIELDS) would give it."""

    position: int
    hash: str
    event_id: int | None
    row: tuple[Any, ...] | None
    prev_hash: str
    scheme: int
    link_key: str  # the key id of the link's chain key ("": the oldest key)
    event_key: str  # the key id of the event's MAC
    linked_at: datetime.datetime


def walk(*, chunk: int = 20000) -> Iterator[Step]:
    """Every link in order, with its event. One query per chunk: the links LEFT JOINed to
    their events (a deleted event gives None), keyset-paginated on position."""
    qn = connection.ops.quote_name
    cols = ", ".join(f"e.{qn(_column(f))}" for f in FIELDS)
    # Only quoted names from the models go into the text; values are parameters.
    sql = (f"SELECT l.position, l.hash, l.prev_hash, l.event_id, l.scheme, l.key_id, "  # noqa: S608
           f"l.linked_at, e.key_id, {cols} "
           f"FROM {qn(ChainLink._meta.db_table)} l "
           f"LEFT JOIN {qn(AuditEvent._meta.db_table)} e ON e.id = l.event_id "
           "WHERE l.position > %s ORDER BY l.position LIMIT %s")
    converters = _row_converters()
    linked_at = _field_of(ChainLink, "linked_at")
    linked_at_converters = (connection.ops.get_db_converters(linked_at)
                            + linked_at.output_field.get_db_converters(connection))
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [last, chunk])
            batch = cursor.fetchall()
            if not batch:
                return
            for link in batch:
                row = link[8:]
                if row[0] is None:
                    row = None
                elif converters:
                    values = list(row)
                    for i, funcs, col in converters:
                        value = values[i]
                        for func in funcs:
                            value = func(value, col, connection)
                        values[i] = value
                    row = tuple(values)
                when = link[6]
                for func in linked_at_converters:
                    when = func(when, linked_at, connection)
                yield Step(position=link[0], hash=link[1], event_id=link[3], row=row,
                           prev_hash=link[2], scheme=link[4], link_key=link[5],
                           event_key=link[7] or "", linked_at=when)
            last = batch[-1][0]


def _field_of(model: Any, name: str) -> Col:
    return cast("Field[Any, Any]", model._meta.get_field(name)).get_col(model._meta.db_table)
