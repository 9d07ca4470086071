"""Signed checkpoints: the chain head signed with Ed25519 and appended to a sink.

The signing key is not a data key: it lives in its own file (AMPARO_AUDIT_KEY_FILE). The
sink is a directory outside the database (AMPARO_AUDIT_SINK); each checkpoint is one JSON
line in checkpoints.jsonl, written with fsync. Another sink (WORM storage, a remote log)
only needs to keep the same lines.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class SignedHead:
    position: int
    hash: str
    signed_at: str
    key_id: str
    signature: str
    # SHA-256 of the witness line (audit/witness.py) that held this head or a later one when
    # it was signed; "" in checkpoints signed before the witness existed.
    witness: str = ""

    def message(self) -> bytes:
        text = f"amparo-audit-checkpoint|{self.position}|{self.hash}|{self.signed_at}"
        if self.witness:
            text = f"amparo-audit-checkpoint-v2|{self.position}|{self.hash}|{self.signed_at}|{self.witness}"
        return text.encode()

    def line(self) -> str:
        values = dict(self.__dict__)
        if not self.witness:
            del values["witness"]
        return json.dumps(values, sort_keys=True)


def key_path() -> Path:
    return Path(settings.AMPARO_AUDIT_KEY_FILE)


def sink_path() -> Path:
    return Path(settings.AMPARO_AUDIT_SINK) / "checkpoints.jsonl"


def create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    _write_new(path, pem)


def retired_path() -> Path:
    """Where retired signing keys are kept, `NNNN-<key id>.pem` in the order they were
    retired: verify_audit needs them for the events and heads they signed."""
    return Path(f"{key_path()}.retired")


def not_held() -> str:
    """How a failure names a key id the keyring lacks."""
    return f"which is not in the keyring (is {retired_path()} complete?)"


def _load(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{path} is not an Ed25519 private key.")
    return key


def _derive(key: Ed25519PrivateKey, info: bytes) -> bytes:
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(raw)


@dataclass(frozen=True)
class Keyring:
    """The current signing key and the retired ones, by key id (docs/architecture.md#audit).

    Events and links record the id of the key that made their MAC and hash; rows from before
    the first rotation carry "" and belong to the oldest key (`legacy_id`)."""

    current_id: str
    keys: dict[str, Ed25519PrivateKey]
    legacy_id: str

    @property
    def current(self) -> Ed25519PrivateKey:
        return self.keys[self.current_id]

    def resolve(self, stored: str) -> str:
        return stored or self.legacy_id

    def key(self, stored: str) -> Ed25519PrivateKey | None:
        return self.keys.get(self.resolve(stored))

    def public(self, kid: str) -> Ed25519PublicKey | None:
        key = self.keys.get(kid)
        return key.public_key() if key is not None else None

    def mac_key(self, stored: str = "") -> bytes | None:
        """The event MAC key of that signing key (one secret to keep, not two)."""
        return self._derived(self.resolve(stored), b"amparo-audit-event-mac-v1")

    def chain_key(self, stored: str = "") -> bytes | None:
        """The key of the chain's link hashes (scheme 2): without it nobody can re-link the
        chain after removing or reordering events."""
        return self._derived(self.resolve(stored), b"amparo-audit-chain-v2")

    def _derived(self, kid: str, info: bytes) -> bytes | None:
        key = self.keys.get(kid)
        if key is None:
            return None
        cached = _derived.get((kid, info))
        if cached is None:
            cached = _derived[(kid, info)] = _derive(key, info)
        return cached


_derived: dict[tuple[str, bytes], bytes] = {}
_loaded: tuple[tuple[object, ...], Keyring] | None = None


def _version(path: Path) -> tuple[object, ...]:
    retired = retired_path()
    stamp = retired.stat().st_mtime_ns if retired.is_dir() else 0
    return (str(path), path.stat().st_mtime_ns, stamp)


def keyring() -> Keyring:
    """The keys, read again only when the key file or the retired folder changes (every
    event needs the current one)."""
    global _loaded
    path = key_path()
    if not path.exists():
        if getattr(settings, "AMPARO_CREATE_KEY_FILE", False):
            create_key(path)
        else:
            raise ImproperlyConfigured(
                f"The audit signing key {path} does not exist. Run 'python manage.py "
                "init_audit_key' (development) or set AMPARO_AUDIT_KEY_FILE to the key from "
                "your key backup.")
    version = _version(path)
    if _loaded is None or _loaded[0] != version:
        current = _load(path)
        current_id = key_id(current.public_key())
        keys = {current_id: current}
        retired = sorted(retired_path().glob("*.pem")) if retired_path().is_dir() else []
        for file in retired:
            key = _load(file)
            keys.setdefault(key_id(key.public_key()), key)
        legacy = key_id(_load(retired[0]).public_key()) if retired else current_id
        _loaded = (version, Keyring(current_id, keys, legacy))
    return _loaded[1]


def private_key() -> Ed25519PrivateKey:
    """The current signing key."""
    return keyring().current


def mac_key() -> bytes:
    """The current key's event MAC key."""
    ring = keyring()
    return cast(bytes, ring.mac_key(ring.current_id))


def chain_key() -> bytes:
    """The current key's chain key."""
    ring = keyring()
    return cast(bytes, ring.chain_key(ring.current_id))


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def rotate() -> tuple[str, str]:
    """Retire the current signing key and make a new one current: (retired id, new id).

    The retired key is written (and synced) into retired_path() before the new one replaces
    the key file, so a crash in between leaves the old key current and nothing lost. One
    rotation at a time (a lock file beside the key)."""
    path = key_path()
    lock = os.open(f"{path}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = _load(path)
        old_id = key_id(old.public_key())
        retired = retired_path()
        retired.mkdir(mode=0o700, exist_ok=True)
        if not any(f.name.endswith(f"-{old_id}.pem") for f in retired.glob("*.pem")):
            number = len(list(retired.glob("*.pem"))) + 1
            _write_new(retired / f"{number:04d}-{old_id}.pem", path.read_bytes())
            _sync_dir(retired)
        fresh = Path(f"{path}.new")
        fresh.unlink(missing_ok=True)
        create_key(fresh)
        new_id = key_id(_load(fresh).public_key())
        os.replace(fresh, path)
        _sync_dir(path.parent)
    finally:
        os.close(lock)
    return old_id, new_id


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sign(*, position: int, head_hash: str, signed_at: str, witness: str = "") -> SignedHead:
    key = private_key()
    unsigned = SignedHead(position, head_hash, signed_at, key_id(key.public_key()), "", witness)
    signature = base64.b64encode(key.sign(unsigned.message())).decode()
    return SignedHead(position, head_hash, signed_at, unsigned.key_id, signature, witness)


def append_to_sink(head: SignedHead) -> None:
    path = sink_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(head.line() + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def last_line(fh: BinaryIO) -> bytes:
    """The last complete line of a file open for binary reading ("" when there is none),
    read backwards from the end: the sink's files only grow."""
    end = fh.seek(0, os.SEEK_END)
    if end == 0:
        return b""
    tail, pos = b"", end
    while pos > 0:
        step = min(4096, pos)
        pos -= step
        fh.seek(pos)
        tail = fh.read(step) + tail
        cut = tail.rfind(b"\n", 0, len(tail) - 1)
        if cut >= 0:
            return tail[cut + 1:].rstrip(b"\n")
    return tail.rstrip(b"\n")


def newest_checkpoint() -> SignedHead | None:
    """The last line of the sink, unverified (for deciding whether to sign again)."""
    path = sink_path()
    if not path.exists():
        return None
    with open(path, "rb") as fh:
        line = last_line(fh)
    try:
        return SignedHead(**json.loads(line)) if line.strip() else None
    except (ValueError, TypeError):
        return None


def read_sink() -> list[SignedHead]:
    path = sink_path()
    if not path.exists():
        return []
    heads = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            heads.append(SignedHead(**json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}, line {number}: not a checkpoint ({exc})") from exc
    return heads


def check_signature(head: SignedHead, public: Ed25519PublicKey | None) -> bool:
    """Whether `head` is signed by `public` (None: a key the keyring does not hold)."""
    if public is None or head.key_id != key_id(public):
        return False
    try:
        public.verify(base64.b64decode(head.signature), head.message())
    except (InvalidSignature, ValueError):
        return False
    return True
