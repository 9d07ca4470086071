"""Model fields whose values are stored as AES-256-GCM ciphertexts.

The attribute holds plaintext for code and templates; the column holds the envelope of
`envelope.py`, sealed with the data key of the row's subject (a person) and bound to the
table, column and row id. simple-history copies these fields, so history rows are sealed
the same way (bound to the original table and row).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.db import models

from cases.crypto import datakeys
from cases.crypto.envelope import MIN_LENGTH, DecryptionError, aad_for, key_id_of, open_sealed, seal


class _Sealed:
    __slots__ = ("blob", "opened", "plain")

    def __init__(self, blob: bytes | memoryview, plain: Any = None, opened: bool = False) -> None:
        self.blob = bytes(blob)
        self.plain = plain
        self.opened = opened


class _Descriptor:
    def __init__(self, field: EncryptedField) -> None:
        self.field = field

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        state = instance.__dict__.get(self.field.attname)
        if not isinstance(state, _Sealed):
            return state
        if not state.opened:
            state.plain = self.field.open(instance, state.blob)
            state.opened = True
        return state.plain

    def __set__(self, instance: Any, value: Any) -> None:
        if isinstance(value, bytes | memoryview):
            value = _Sealed(value)
        instance.__dict__[self.field.attname] = value


def holds_value(instance: Any, attname: str) -> bool:
    """Whether an encrypted attribute holds a non-empty value, told from the ciphertext's
    length (AES-GCM keeps it) without opening it: for pages that may not show the value."""
    state = instance.__dict__.get(attname)
    if isinstance(state, _Sealed):
        return len(state.blob) > MIN_LENGTH
    return bool(state)


class EncryptedField(models.BinaryField):  # type: ignore[type-arg]
    """Base: subclasses say how a value becomes bytes."""

    def __init__(self, *args: Any, subject: str = "id", **kwargs: Any) -> None:
        self.subject_attr = subject
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.subject_attr != "id":
            kwargs["subject"] = self.subject_attr
        return name, path, args, kwargs

    def contribute_to_class(self, cls: Any, name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only)
        # History models get a copy of this field: keep binding to the original table.
        if not getattr(self, "aad_table", None):
            self.aad_table = cls._meta.db_table
            self.aad_column = name
        setattr(cls, self.attname, _Descriptor(self))

    def encode(self, value: Any) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError

    def open(self, instance: Any, blob: bytes) -> Any:
        return self.open_value(blob, row_id=self._row_id(instance),
                               subject_id=getattr(instance, self.subject_attr))

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        state = model_instance.__dict__.get(self.attname)
        if state is None or isinstance(state, _Sealed):
            return None if state is None else state.blob
        blob = self.seal_value(state, row_id=self._row_id(model_instance),
                               subject_id=getattr(model_instance, self.subject_attr))
        model_instance.__dict__[self.attname] = _Sealed(blob, state, opened=True)
        return blob

    def _row_id(self, instance: Any) -> Any:
        if instance.id is None:
            # Bound to a row id the database has not given yet: it could never be opened.
            raise ValueError(f"{self.aad_table}.{self.aad_column}: sealed values need a row id "
                             "set before saving (a UUID primary key)")
        return instance.id

    def bind(self, table: str, column: str) -> EncryptedField:
        """Bind a field made outside a model to the table and column its values belong to
        (data migrations seal and open rows with it; history rows use the original table)."""
        self.aad_table, self.aad_column = table, column
        return self

    def seal_value(self, value: Any, *, row_id: Any, subject_id: Any) -> bytes:
        """The ciphertext of `value` in this column of row `row_id`, under the subject's key."""
        key_id, key = datakeys.key_for_subject(subject_id)
        return seal(key=key, key_id=key_id, plaintext=self.encode(value),
                    aad=aad_for(self.aad_table, self.aad_column, row_id))

    def open_value(self, blob: bytes, *, row_id: Any, subject_id: Any) -> Any:
        """The value sealed in `blob`; None when the subject's key was destroyed."""
        try:
            key_id, key = datakeys.key_for_subject(subject_id)
        except datakeys.KeyDestroyed:
            return None
        if key_id_of(blob) != key_id:
            raise DecryptionError(f"{self.aad_table}.{self.aad_column}: sealed with another key")
        return self.decode(open_sealed(key=key, blob=blob,
                                       aad=aad_for(self.aad_table, self.aad_column, row_id)))

    def value_from_object(self, obj: Any) -> Any:
        return getattr(obj, self.attname)

    def formfield(self, **kwargs: Any) -> None:
        return None


class EncryptedTextField(EncryptedField):
    def encode(self, value: Any) -> bytes:
        return str(value).encode()

    def decode(self, data: bytes) -> str:
        return data.decode()


class EncryptedDateField(EncryptedField):
    def encode(self, value: Any) -> bytes:
        if not isinstance(value, datetime.date):
            raise TypeError(f"{self.name} needs a date, got {type(value).__name__}")
        return value.isoformat().encode()

    def decode(self, data: bytes) -> datetime.date:
        return datetime.date.fromisoformat(data.decode())


class EncryptedJSONField(EncryptedField):
    """`pad`: the JSON is padded with spaces to a multiple of this many bytes, so that the
    ciphertext's length (which AES-GCM keeps) does not tell short values apart (which
    specific need a person has). JSON ignores the trailing spaces."""

    def __init__(self, *args: Any, pad: int = 0, **kwargs: Any) -> None:
        self.pad = pad
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.pad:
            kwargs["pad"] = self.pad
        return name, path, args, kwargs

    def encode(self, value: Any) -> bytes:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        if self.pad:
            data += b" " * (-len(data) % self.pad)
        return data

    def decode(self, data: bytes) -> Any:
        return json.loads(data)


class _BytesDescriptor(_Descriptor):
    """Values read from the database arrive sealed (`from_db_value`), so bytes set by code
    are plaintext, to be sealed on save."""

    def __set__(self, instance: Any, value: Any) -> None:
        if isinstance(value, memoryview):
            value = bytes(value)
        instance.__dict__[self.field.attname] = value


class EncryptedBytesField(EncryptedField):
    """Bytes (a biometric template, say) sealed like the other fields."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else _Sealed(value)

    def contribute_to_class(self, cls: Any, name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only)
        setattr(cls, self.attname, _BytesDescriptor(self))

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, bytes | bytearray):
            raise TypeError(f"{self.name} needs bytes, got {type(value).__name__}")
        return bytes(value)

    def decode(self, data: bytes) -> bytes:
        return data
