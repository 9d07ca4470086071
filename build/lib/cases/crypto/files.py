"""Uploaded files, sealed with the subject's data key before they touch the disk."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage

from cases.crypto import datakeys
from cases.crypto.envelope import DecryptionError, aad_for, key_id_of, open_sealed, seal


def storage() -> Storage:
    return FileSystemStorage(location=settings.AMPARO_FILE_ROOT)


def store(*, subject_id: uuid.UUID, table: str, row_id: uuid.UUID, data: bytes) -> str:
    key_id, key = datakeys.key_for_subject(subject_id)
    blob = seal(key=key, key_id=key_id, plaintext=data, aad=aad_for(table, "file", row_id))
    return storage().save(f"{row_id.hex[:2]}/{row_id.hex}.sealed", ContentFile(blob))


def load(*, subject_id: uuid.UUID, table: str, row_id: uuid.UUID, name: str) -> bytes:
    key_id, key = datakeys.key_for_subject(subject_id)
    with storage().open(name, "rb") as fh:
        blob = fh.read()
    if key_id_of(blob) != key_id:
        raise DecryptionError("file sealed with another key")
    return open_sealed(key=key, blob=blob, aad=aad_for(table, "file", row_id))


def delete(name: str) -> None:
    storage().delete(name)
