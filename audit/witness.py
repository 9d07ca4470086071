"""The witness: every head the linker makes, signed and appended to AMPARO_AUDIT_SINK/heads.log
right after its commit, so that events removed from the end of the chain are missed by
verify_audit for seconds at most (docs/architecture.md#audit).

A line is JSON: position and hash of the head, when it was written (at), prev (the SHA-256
of the previous line, 64 zeros for the first) and an Ed25519 signature over the four, with
the audit signing key. The lines are a chain of their own: the newest line's signature
vouches for every line before it.
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.utils import timezone

from audit import signing

log = logging.getLogger(__name__)

GENESIS = "0" * 64
FILE_NAME = "heads.log"


@dataclass(frozen=True)
class Head:
    position: int
    hash: str
    at: str
    prev: str
    key_id: str
    signature: str

    def message(self) -> bytes:
        return f"amparo-audit-head|{self.position}|{self.hash}|{self.at}|{self.prev}".encode()

    def line(self) -> bytes:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, separators=(",", ":")).encode()


def path() -> Path:
    return Path(settings.AMPARO_AUDIT_SINK) / FILE_NAME


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def parse(line: bytes) -> Head:
    """One line (without its newline) as a Head; ValueError if it is not one."""
    values = json.loads(line)
    if not isinstance(values, dict) or set(values) != {f.name for f in dataclasses.fields(Head)}:
        raise ValueError("not a witnessed head")
    head = Head(**values)
    if type(head.position) is not int or not all(
            isinstance(getattr(head, f), str) for f in ("hash", "at", "prev", "key_id", "signature")):
        raise ValueError("not a witnessed head")
    return head


def check_signature(head: Head, public: Ed25519PublicKey | None) -> bool:
    """Whether `head` is signed by `public` (None: a key the keyring does not hold)."""
    if public is None or head.key_id != signing.key_id(public):
        return False
    try:
        public.verify(base64.b64decode(head.signature), head.message())
    except (InvalidSignature, ValueError):
        return False
    return True


def record(position: int, head_hash: str) -> tuple[Head | None, str]:
    """Append the head unless the file already holds it or a later one. Returns the newest
    line after that (None if it is not readable) and its hash.

    Writers take turns (flock); each line is fsync'd before the lock is let go."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    with os.fdopen(fd, "r+b", buffering=0) as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # let go when the file is closed
        last = signing.last_line(fh)
        newest: Head | None = None
        prev = GENESIS
        if last:
            prev = line_hash(last)
            try:
                newest = parse(last)
            except (ValueError, TypeError):
                newest = None  # chained onto as it is; verify_audit names the line
            if newest is not None and newest.position >= position:
                return newest, prev
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":  # a line cut short by a crash: start a new one
                fh.write(b"\n")
        key = signing.private_key()
        unsigned = Head(position, head_hash, timezone.now().isoformat(),
                        prev, signing.key_id(key.public_key()), "")
        head = dataclasses.replace(
            unsigned, signature=base64.b64encode(key.sign(unsigned.message())).decode())
        data = head.line()
        fh.write(data + b"\n")
        os.fsync(fh.fileno())
    return head, line_hash(data)


def record_after_link(position: int, head_hash: str) -> None:
    """What the linker calls after its commit: a failure to write is logged (the next batch,
    or the next checkpoint, writes a newer head), never raised into the request."""
    try:
        record(position, head_hash)
    except OSError:
        log.exception("writing the audit head %s to the witness failed", position)


@dataclass
class State:
    lines: int = 0
    newest: Head | None = None
    newest_hash: str = ""
    found: bool = False  # whether the line asked for (`wanted`) is in the file
    problem: str = ""
    problem_position: int | None = None


def check(ring: signing.Keyring, *, wanted: str = "") -> State:
    """Read the whole file: each line parses, names the previous line's hash and a later
    position than it, and the newest line's signature verifies with a key of the ring."""
    state = State()
    target = path()
    if not target.exists():
        return state
    prev = GENESIS
    with open(target, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.rstrip(b"\n")
            try:
                head = parse(line)
            except (ValueError, TypeError):
                state.problem = f"witness {FILE_NAME}, line {number}: not a witnessed head"
                return state
            if head.prev != prev:
                state.problem = (f"witness {FILE_NAME}, line {number}: does not follow the line "
                                 "before it (lines removed or altered)")
                state.problem_position = head.position
                return state
            if state.newest is not None and head.position <= state.newest.position:
                state.problem = (f"witness {FILE_NAME}, line {number}: position {head.position} "
                                 f"after {state.newest.position}")
                state.problem_position = head.position
                return state
            prev = line_hash(line)
            state.found = state.found or prev == wanted
            state.lines, state.newest, state.newest_hash = number, head, prev
    if state.newest is not None and not check_signature(state.newest,
                                                        ring.public(state.newest.key_id)):
        why = ("a line added or altered without the signing key"
               if ring.public(state.newest.key_id) else
               f"key {state.newest.key_id}, {signing.not_held()}")
        state.problem = (f"witness {FILE_NAME}, line {state.lines}: signature does not verify "
                         f"({why})")
        state.problem_position = state.newest.position
    return state


def heads(lines: int) -> Iterator[tuple[int, str]]:
    """(position, hash) of the first `lines` lines, in order (after check() passed on them)."""
    with open(path(), "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if number > lines:
                return
            head = parse(raw.rstrip(b"\n"))
            yield head.position, head.hash
