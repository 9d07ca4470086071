"""AES-256-GCM envelope: the byte format of every ciphertext Amparo stores.

Layout: version (1 byte) | key id (16 bytes, the DataKey's uuid) | nonce (12) | ciphertext+tag.
The header is part of the associated data, so a changed version or key id fails to decrypt.
"""

from __future__ import annotations

import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = 1
_HEADER = 1 + 16
_NONCE = 12
MIN_LENGTH = _HEADER + _NONCE + 16  # an empty plaintext sealed


class DecryptionError(Exception):
    """The ciphertext was altered, moved to another place, or the key is wrong."""


def aad_for(table: str, column: str, row: object) -> bytes:
    """Associated data binding a value to its table, column and row."""
    return f"amparo|{table}|{column}|{row}".encode()


def seal(*, key: bytes, key_id: uuid.UUID, plaintext: bytes, aad: bytes) -> bytes:
    header = bytes([VERSION]) + key_id.bytes
    nonce = os.urandom(_NONCE)
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header + aad)


def key_id_of(blob: bytes) -> uuid.UUID:
    blob = bytes(blob)
    if len(blob) < MIN_LENGTH or blob[0] != VERSION:
        raise DecryptionError("not an Amparo ciphertext (bad length or version)")
    return uuid.UUID(bytes=blob[1:_HEADER])


def open_sealed(*, key: bytes, blob: bytes, aad: bytes) -> bytes:
    blob = bytes(blob)
    key_id_of(blob)
    header, nonce, body = blob[:_HEADER], blob[_HEADER : _HEADER + _NONCE], blob[_HEADER + _NONCE :]
    try:
        return AESGCM(key).decrypt(nonce, body, header + aad)
    except InvalidTag as exc:
        raise DecryptionError("authentication failed: tampered, moved or wrong key") from exc
