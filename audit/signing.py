"""Signed checkpoints: the chain head signed with Ed25519 and appended to a sink.

The signing key is not a data key: it lives in its own file (AMPARO_AUDIT_KEY_FILE). The
sink is a directory outside the database (AMPARO_AUDIT_SINK); each checkpoint is one JSON
line in checkpoints.jsonl, written with fsync. Another sink (WORM storage, a remote log)
only needs to keep the same lines.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


_loaded: tuple[tuple[str, int], Ed25519PrivateKey] | None = None


def private_key() -> Ed25519PrivateKey:
    """The signing key, read again only when its file changes (every event needs it)."""
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
    version = (str(path), path.stat().st_mtime_ns)
    if _loaded is None or _loaded[0] != version:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured(f"{path} is not an Ed25519 private key.")
        _loaded = (version, key)
    return _loaded[1]


_mac: tuple[Ed25519PrivateKey, bytes] | None = None


def mac_key() -> bytes:
    """The event MAC key, derived from the signing key (one secret to keep, not two)."""
    global _mac
    key = private_key()
    if _mac is None or _mac[0] is not key:
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        _mac = (key, HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                          info=b"amparo-audit-event-mac-v1").derive(raw))
    return _mac[1]


_chain: tuple[Ed25519PrivateKey, bytes] | None = None


def chain_key() -> bytes:
    """The key of the chain's link hashes (scheme 2), derived from the signing key: without
    it nobody can re-link the chain after removing or reordering events."""
    global _chain
    key = private_key()
    if _chain is None or _chain[0] is not key:
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        _chain = (key, HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                            info=b"amparo-audit-chain-v2").derive(raw))
    return _chain[1]


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


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


def check_signature(head: SignedHead, public: Ed25519PublicKey) -> bool:
    if head.key_id != key_id(public):
        return False
    try:
        public.verify(base64.b64decode(head.signature), head.message())
    except (InvalidSignature, ValueError):
        return False
    return True
