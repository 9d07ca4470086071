"""Key-encryption keys (KEKs) and the blind-index root key.

The default provider reads a JSON key file (or the AMPARO_KEYS environment variable):
{"version": 1, "active_kek": "<id>", "keks": {"<id>": "<base64 32 bytes>"},
 "active_index": "<generation>", "index_keys": {"<generation>": "<base64 32 bytes>"},
 "index_bits": {"<generation>": {"name": 12, ...}},
 "office_keys": {"<office code>": {"signing": "<base64>", "encryption": "<base64>"}},
 "regional_key": "<base64 32 bytes>"}
"office_keys" are the private keys with which an office signs and receives case packages
(docs/architecture.md#case-packages); "regional_key" is the key the offices of a region share
for the regional duplicate check (docs/architecture.md#regional-duplicate-check).
Blind-index root keys have numbered generations (docs/architecture.md#index-key-generations);
"index_bits" freezes the bits of a generation that is no longer active. An older file's single
"index_key" is generation 1 with the bits it was written with (LEGACY_INDEX_BITS).
A KMS or HSM plugs in as another KekProvider named by the AMPARO_KEK_PROVIDER setting.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string


class KeyringError(ImproperlyConfigured):
    pass


# The bits of key files with a single "index_key" (before index key generations).
LEGACY_INDEX_BITS = {"name": 32, "phonetic": 24, "doc": 32, "dob": 16}


class KekProvider:
    """Wraps and unwraps data keys. Subclass for a KMS or HSM."""

    active_kek_id: str

    def wrap(self, *, kek_id: str, dek: bytes, aad: bytes) -> bytes:
        raise NotImplementedError

    def unwrap(self, *, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        raise NotImplementedError

    def has_kek(self, kek_id: str) -> bool:
        raise NotImplementedError

    def index_root_key(self, generation: int | None = None) -> bytes:
        raise NotImplementedError

    active_index: int = 1

    def index_generations(self) -> list[int]:
        """Every index key generation held, the active one first."""
        return [self.active_index]

    def index_bits(self, generation: int) -> dict[str, int] | None:
        """The frozen bits of a generation; None: the bits the settings plan."""
        return None

    def office_keys(self, code: str) -> tuple[bytes, bytes] | None:
        """An office's raw private keys for case packages (signing, encryption), if held."""
        return None

    def regional_key(self) -> bytes | None:
        """The key shared by the offices of the region, if this installation takes part."""
        return None


class FileKekProvider(KekProvider):
    def __init__(self, data: dict[str, Any]) -> None:
        try:
            self._keks = {k: base64.b64decode(v) for k, v in data["keks"].items()}
            self.active_kek_id = data["active_kek"]
            if "index_keys" in data:
                self._index = {int(g): base64.b64decode(v) for g, v in data["index_keys"].items()}
                self.active_index = int(data["active_index"])
                self._bits = {int(g): dict(b) for g, b in data.get("index_bits", {}).items()}
            else:
                self._index = {1: base64.b64decode(data["index_key"])}
                self.active_index = 1
                self._bits = {1: dict(LEGACY_INDEX_BITS)}
            self._regional = (base64.b64decode(data["regional_key"])
                              if data.get("regional_key") else None)
            self._offices = {code: (base64.b64decode(pair["signing"]),
                                    base64.b64decode(pair["encryption"]))
                             for code, pair in data.get("office_keys", {}).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyringError(f"The key file is malformed ({exc!r}).") from exc
        if self.active_kek_id not in self._keks:
            raise KeyringError(f"The active KEK {self.active_kek_id!r} is not in the key file.")
        if self.active_index not in self._index:
            raise KeyringError(
                f"The active index key generation {self.active_index} is not in the key file.")
        offices = [k for pair in self._offices.values() for k in pair]
        if self._regional is not None:
            offices.append(self._regional)
        if any(len(k) != 32 for k in [*self._keks.values(), *self._index.values(), *offices]):
            raise KeyringError("Every key in the key file must be 32 bytes (base64).")

    def _kek(self, kek_id: str) -> bytes:
        try:
            return self._keks[kek_id]
        except KeyError:
            raise KeyringError(
                f"KEK {kek_id!r} is not in the key file; restore it or rotate data keys."
            ) from None

    def wrap(self, *, kek_id: str, dek: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(self._kek(kek_id)).encrypt(nonce, dek, aad)

    def unwrap(self, *, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        wrapped = bytes(wrapped)
        return AESGCM(self._kek(kek_id)).decrypt(wrapped[:12], wrapped[12:], aad)

    def has_kek(self, kek_id: str) -> bool:
        return kek_id in self._keks

    def index_root_key(self, generation: int | None = None) -> bytes:
        generation = self.active_index if generation is None else generation
        try:
            return self._index[generation]
        except KeyError:
            raise KeyringError(
                f"Index key generation {generation} is not in the key file: restore it from "
                "the key backup, or finish 'manage.py reindex_people' before retiring it."
            ) from None

    def index_generations(self) -> list[int]:
        return [self.active_index, *sorted(g for g in self._index if g != self.active_index)]

    def index_bits(self, generation: int) -> dict[str, int] | None:
        return self._bits.get(generation)

    def office_keys(self, code: str) -> tuple[bytes, bytes] | None:
        return self._offices.get(code)

    def regional_key(self) -> bytes | None:
        return self._regional


def key_file_path() -> Path:
    return Path(settings.AMPARO_KEY_FILE)


def new_key_file_data() -> dict[str, Any]:
    kek_id = new_kek_id()
    return {
        "version": 1,
        "active_kek": kek_id,
        "keks": {kek_id: base64.b64encode(secrets.token_bytes(32)).decode()},
        "active_index": "1",
        "index_keys": {"1": base64.b64encode(secrets.token_bytes(32)).decode()},
    }


def add_index_generation(data: dict[str, Any], planned_bits: dict[str, int]) -> int:
    """Add a new blind-index root key as the active generation; the old ones stay, their
    bits frozen (`planned_bits` for one written with the bits the settings plan)."""
    if "index_keys" not in data:
        data["index_keys"] = {"1": data.pop("index_key")}
        data["active_index"] = "1"
        data.setdefault("index_bits", {})["1"] = dict(LEGACY_INDEX_BITS)
    bits = data.setdefault("index_bits", {})
    for generation in data["index_keys"]:
        bits.setdefault(generation, dict(planned_bits))
    new = max(int(g) for g in data["index_keys"]) + 1
    data["index_keys"][str(new)] = base64.b64encode(secrets.token_bytes(32)).decode()
    data["active_index"] = str(new)
    return new


def retire_index_generations(data: dict[str, Any]) -> list[int]:
    """Remove every index key generation but the active one."""
    active = str(data.get("active_index", "1"))
    old = [g for g in data.get("index_keys", {}) if g != active]
    for g in old:
        del data["index_keys"][g]
        data.get("index_bits", {}).pop(g, None)
    return [int(g) for g in old]


def add_office_keys(data: dict[str, Any], code: str, signing: bytes, encryption: bytes) -> None:
    data.setdefault("office_keys", {})[code] = {
        "signing": base64.b64encode(signing).decode(),
        "encryption": base64.b64encode(encryption).decode(),
    }


def add_active_kek(data: dict[str, Any]) -> str:
    """Add a new KEK to key-file data and make it the active one; old KEKs stay."""
    fresh = new_key_file_data()
    kek_id: str = fresh["active_kek"]
    data["keks"][kek_id] = fresh["keks"][kek_id]
    data["active_kek"] = kek_id
    return kek_id


def new_kek_id() -> str:
    return f"kek-{timezone.now():%Y%m%d}-{secrets.token_hex(3)}"


def write_key_file(path: Path, data: dict[str, Any]) -> None:
    """Write atomically with owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    os.replace(tmp, path)


def read_key_data() -> dict[str, Any]:
    env = os.environ.get("AMPARO_KEYS")
    if env:
        try:
            data: dict[str, Any] = json.loads(env)
        except ValueError as exc:
            raise KeyringError(f"AMPARO_KEYS is not the JSON of a key file: {exc}") from exc
        return data
    path = key_file_path()
    if not path.exists():
        if getattr(settings, "AMPARO_CREATE_KEY_FILE", False):
            write_key_file(path, new_key_file_data())
        else:
            raise KeyringError(
                f"The key file {path} does not exist. For development run "
                "'python manage.py init_keys'; in production set AMPARO_KEY_FILE to the "
                "key file restored from your key backup."
            )
    try:
        data = json.loads(path.read_text())
        return data
    except (OSError, ValueError) as exc:
        raise KeyringError(f"Cannot read the key file {path}: {exc}") from exc


_loaded: tuple[tuple[str, str, int], KekProvider] | None = None
_checked_at = 0.0
# How long a process trusts the loaded keys before it looks at the key file again.
CHECK_EVERY_SECONDS = 5.0


def _source_version() -> tuple[str, str, int]:
    """What the keys are read from, and when it last changed."""
    name = getattr(settings, "AMPARO_KEK_PROVIDER", "cases.crypto.keyring.FileKekProvider")
    if os.environ.get("AMPARO_KEYS"):
        return name, "env", hash(os.environ["AMPARO_KEYS"])
    path = key_file_path()
    try:
        return name, str(path), path.stat().st_mtime_ns
    except OSError:
        return name, str(path), -1


def provider(*, fresh: bool = False) -> KekProvider:
    """The KEK provider. A changed key file is read again, so that a KEK added by
    'init_keys --new-kek' wraps new keys in processes that were already running.

    The file is looked at on every call with `fresh` (wrapping with the active KEK, and an
    unwrap that names a KEK the loaded keys lack), otherwise at most every
    CHECK_EVERY_SECONDS: unwrapping a page of keys does not stat the file per key."""
    global _loaded, _checked_at
    now = time.monotonic()
    if _loaded is not None and not fresh and now - _checked_at < CHECK_EVERY_SECONDS:
        return _loaded[1]
    version = _source_version()
    _checked_at = now
    if _loaded is None or _loaded[0] != version:
        cls = import_string(version[0])
        is_file = cls is FileKekProvider or issubclass(cls, FileKekProvider)
        instance: KekProvider = cls(read_key_data()) if is_file else cls()
        _loaded = (version, instance)
    return _loaded[1]


def reset() -> None:
    """Forget the loaded keys."""
    global _loaded
    _loaded = None
    from cases.crypto import blind

    blind.index_key.cache_clear()
