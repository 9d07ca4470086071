"""Case packages between installations: signed by the sending office, readable only by the
receiving one (docs/architecture.md#case-packages).

An office has two key pairs: Ed25519 to sign, X25519 to receive. Its public bundle (both
public keys and a fingerprint to read out over the phone) is registered by the other
installation. A package is JSON:

    {"format": "amparo-case-package", "version": 1, "header": {...},
     "ciphertext": b64, "signature": b64}

The header names the package, both offices and both fingerprints, and carries an ephemeral
X25519 public key. The content key is HKDF-SHA256 of the ephemeral key agreement, bound to
the header; the content is AES-256-GCM with the canonical header as associated data; the
signature covers the header and the ciphertext. `open_package` checks, in this order, that
the package is readable, addressed to a key of this installation, from a registered key,
signed by it, and decrypts; any failure raises PackageRefused with what was wrong, before
anything is read from the content.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT, VERSION = "amparo-case-package", 1
BUNDLE_FORMAT = "amparo-office-key"
_SIGNED = b"amparo-case-package-v1\x00"
_INFO = b"amparo case package v1 content key"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


class PackageRefused(Exception):
    """A package that is not opened; `reason` is one of REASONS."""

    REASONS = ("unreadable", "not_for_us", "unknown_sender", "bad_signature", "undecryptable",
               "too_large")

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in self.REASONS:
            raise ValueError(reason)
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text, validate=True)


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def fingerprint(signing: bytes, encryption: bytes) -> str:
    """40 base-32 characters in groups of four, over both raw public keys."""
    digest = hashlib.sha256(b"amparo-office-key\x00" + signing + encryption).digest()[:25]
    text = base64.b32encode(digest).decode()
    return " ".join(text[i:i + 4] for i in range(0, 40, 4))


@dataclass(frozen=True)
class PublicBundle:
    """What another installation registers: an office's two public keys."""

    office: str  # the office's code, e.g. "BZ-BMP"
    name: str
    country: str
    signing: bytes  # Ed25519, raw 32 bytes
    encryption: bytes  # X25519, raw 32 bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.signing, self.encryption)

    def to_json(self) -> str:
        return json.dumps({"format": BUNDLE_FORMAT, "version": VERSION, "office": self.office,
                           "name": self.name, "country": self.country,
                           "signing_key": _b64(self.signing),
                           "encryption_key": _b64(self.encryption),
                           "fingerprint": self.fingerprint}, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> PublicBundle:
        """ValueError with what is wrong when the text is no bundle, or its fingerprint
        does not match its keys."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
                raise ValueError("this is not an office key bundle")
            if data.get("version") != VERSION:
                raise ValueError(f"bundle version {data.get('version')!r} is not {VERSION}")
            bundle = cls(office=str(data["office"]), name=str(data.get("name", "")),
                         country=str(data.get("country", "")),
                         signing=_unb64(data["signing_key"]),
                         encryption=_unb64(data["encryption_key"]))
        except (KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"the bundle is incomplete or damaged ({exc})") from None
        except json.JSONDecodeError:
            raise ValueError("the bundle is not JSON") from None
        if len(bundle.signing) != 32 or len(bundle.encryption) != 32:
            raise ValueError("a public key in the bundle is not 32 bytes")
        if data.get("fingerprint") not in (None, bundle.fingerprint):
            raise ValueError("the bundle's fingerprint does not match its keys")
        return bundle


@dataclass(frozen=True)
class OfficeKeys:
    """An office's private keys (kept like the KEKs: docs/architecture.md#case-packages)."""

    office: str
    signing: Ed25519PrivateKey
    encryption: X25519PrivateKey

    @classmethod
    def generate(cls, office: str) -> OfficeKeys:
        return cls(office, Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, office: str, signing: bytes, encryption: bytes) -> OfficeKeys:
        return cls(office, Ed25519PrivateKey.from_private_bytes(signing),
                   X25519PrivateKey.from_private_bytes(encryption))

    def raw(self) -> tuple[bytes, bytes]:
        private = (serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                   serialization.NoEncryption())
        return self.signing.private_bytes(*private), self.encryption.private_bytes(*private)

    def bundle(self, *, name: str = "", country: str = "") -> PublicBundle:
        return PublicBundle(office=self.office, name=name, country=country,
                            signing=self.signing.public_key().public_bytes(*_RAW),
                            encryption=self.encryption.public_key().public_bytes(*_RAW))


def _content_key(shared: bytes, header: dict[str, str]) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=_INFO + b"\x00" + canonical(header)).derive(shared)


def seal(content: bytes, *, sender: OfficeKeys, recipient: PublicBundle,
         package_id: uuid.UUID | None = None, now: datetime.datetime | None = None) -> bytes:
    """The package of `content` from `sender`'s office to `recipient`'s."""
    ephemeral = X25519PrivateKey.generate()
    header = {
        "package": str(package_id or uuid.uuid4()),
        "created_at": (now or datetime.datetime.now(datetime.UTC)).isoformat(),
        "from_office": sender.office,
        "from_key": sender.bundle().fingerprint,
        "to_office": recipient.office,
        "to_key": recipient.fingerprint,
        "ephemeral_key": _b64(ephemeral.public_key().public_bytes(*_RAW)),
        "cipher": "X25519-HKDF-SHA256-AES-256-GCM",
    }
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient.encryption))
    nonce = os.urandom(12)
    ciphertext = nonce + AESGCM(_content_key(shared, header)).encrypt(nonce, content, canonical(header))
    signature = sender.signing.sign(_SIGNED + canonical(header) + ciphertext)
    # The same JSON as json.dumps of the whole, without the ciphertext passing through text.
    start = json.dumps({"format": FORMAT, "version": VERSION, "header": header})[:-1]
    return b"".join([start.encode(), b', "ciphertext": "', base64.b64encode(ciphertext),
                     b'", "signature": "', base64.b64encode(signature), b'"}'])


def sealed_size(content_bytes: int, *, room: int) -> int:
    """The size of the package `seal` makes of that much content: its nonce, ciphertext and
    tag in base 64, and `room` for the rest (header, signature)."""
    return 4 * -(-(12 + content_bytes + 16) // 3) + room


@dataclass(frozen=True)
class Opened:
    header: dict[str, str]
    sender: PublicBundle
    content: bytes

    @property
    def package_id(self) -> uuid.UUID:
        return uuid.UUID(self.header["package"])


def read_header(data: bytes) -> tuple[dict[str, str], bytes, bytes]:
    """(header, ciphertext, signature); PackageRefused("unreadable") if the file is not a
    package of this version."""
    try:
        package = json.loads(data)
        if not isinstance(package, dict) or package.get("format") != FORMAT:
            raise PackageRefused("unreadable", "this file is not a case package")
        if package.get("version") != VERSION:
            raise PackageRefused("unreadable", f"package version {package.get('version')!r}")
        header = package["header"]
        needed = {"package", "created_at", "from_office", "from_key", "to_office", "to_key",
                  "ephemeral_key", "cipher"}
        if not isinstance(header, dict) or not needed <= set(header) or not all(
                isinstance(header[k], str) for k in needed):
            raise PackageRefused("unreadable", "the package's header is incomplete")
        uuid.UUID(header["package"])
        return header, _unb64(package["ciphertext"]), _unb64(package["signature"])
    except PackageRefused:
        raise
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise PackageRefused("unreadable", "the package is damaged") from None


def open_package(data: bytes, *, own_keys: Callable[[str], OfficeKeys | None],
                 sender_bundle: Callable[[str], PublicBundle | None]) -> Opened:
    """The content of a package for one of this installation's offices.

    `own_keys(office code)` gives this installation's keys of that office, `sender_bundle
    (fingerprint)` a registered bundle of another office, or None."""
    header, ciphertext, signature = read_header(data)
    keys = own_keys(header["to_office"])
    if keys is None or keys.bundle().fingerprint != header["to_key"]:
        raise PackageRefused("not_for_us", f"addressed to {header['to_office']}")
    sender = sender_bundle(header["from_key"])
    if sender is None or sender.office != header["from_office"]:
        raise PackageRefused("unknown_sender", f"{header['from_office']} ({header['from_key']})")
    try:
        Ed25519PublicKey.from_public_bytes(sender.signing).verify(
            signature, _SIGNED + canonical(header) + ciphertext)
    except InvalidSignature:
        raise PackageRefused("bad_signature", "the package was changed after it was signed") from None
    try:
        ephemeral = X25519PublicKey.from_public_bytes(_unb64(header["ephemeral_key"]))
        key = _content_key(keys.encryption.exchange(ephemeral), header)
        content = AESGCM(key).decrypt(ciphertext[:12], ciphertext[12:], canonical(header))
    except (InvalidTag, ValueError, binascii.Error):
        raise PackageRefused("undecryptable", "the content cannot be decrypted") from None
    return Opened(header=header, sender=sender, content=content)
