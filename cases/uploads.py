"""The one check of an uploaded file: its type read from its content (never from its name
or the browser's word), and its size against a configurable limit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import events


@dataclass(frozen=True)
class Accepted:
    """The content types a kind of upload may have, and what to tell someone whose file
    has another."""

    types: frozenset[str]
    refusal: str | Promise


# Documents of a case: scans and photos.
CASE_DOCUMENT = Accepted(
    frozenset({"application/pdf", "image/jpeg", "image/png", "image/tiff", "image/webp"}),
    gettext_lazy("Upload a PDF or a photo (JPEG, PNG, TIFF or WebP)."),
)
# Reports of the Country-of-Origin Information library.
PDF_DOCUMENT = Accepted(frozenset({"application/pdf"}),
                        gettext_lazy("Attach the document as a PDF file."))


def max_bytes() -> int:
    """The upload limit (setting AMPARO_UPLOAD_MAX_BYTES)."""
    return int(settings.AMPARO_UPLOAD_MAX_BYTES)


def too_large_message(limit: int | None = None) -> str:
    return _("The file is larger than %(mb)d MB.") % {
        "mb": (max_bytes() if limit is None else limit) // (1024 * 1024)}


def check_size(size: int, *, field: str | None = "file", limit: int | None = None) -> None:
    """Refuse a file over the limit (by default the setting), before its bytes are read.
    The error is keyed by `field`; None leaves it unkeyed, as a form's clean_<field> needs."""
    if size > (max_bytes() if limit is None else limit):
        _refused("too_large", size=size)
        error = ValidationError(too_large_message(limit), code="too_large")
        raise error if field is None else ValidationError({field: error})


def check_upload(data: bytes, *, accepted: Accepted, field: str = "file",
                 limit: int | None = None) -> str:
    """Return the content type detected in `data`, or raise a ValidationError keyed by
    `field`: the file is empty, over the limit, or of a type `accepted` does not list."""
    if not data:
        _refused("empty", size=0)
        raise ValidationError({field: ValidationError(_("The file is empty."), code="empty")})
    check_size(len(data), field=field, limit=limit)
    kind = filetype.guess(data)
    if kind is None or kind.mime not in accepted.types:
        _refused("type", size=len(data), type=kind.mime if kind is not None else "")
        raise ValidationError({field: ValidationError(str(accepted.refusal), code="type")})
    return str(kind.mime)


def _refused(reason: str, **details: object) -> None:
    """Put the refusal on the record: the reason's code, the size and the type read from
    the content; never the file's name (it may be a person's)."""
    events.record_refusal("upload.refuse", actor=events.current_actor(), reason=reason, **details)


def request_too_large(meta: Mapping[str, object]) -> bool:
    """True when a request's body (its META) is over what the server keeps in memory: its
    file was dropped before any form could see it (and the refusal is recorded)."""
    try:
        length = int(str(meta.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return False
    if length <= int(settings.FILE_UPLOAD_MAX_MEMORY_SIZE):
        return False
    _refused("too_large", size=length)
    return True
