"""What happened, for whoever keeps the record (the audit app listens).

`cases` does not import `audit`: services and views call `emit(...)`, the audit app
connects to `recorded` and writes the event. Receivers run in the caller's transaction and
their errors propagate, so an action whose event cannot be written does not happen.
Details hold ids, counts and field names, never decrypted values.
"""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.dispatch import Signal

recorded = Signal()


class AuditUnavailable(Exception):
    """An event could not be written: the action it records must not happen."""


@dataclass(frozen=True)
class RequestInfo:
    request_id: str
    ip: str | None


_request: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "amparo_request", default=None
)


def current_request() -> RequestInfo | None:
    return _request.get()


def set_request(info: RequestInfo | None) -> contextvars.Token[RequestInfo | None]:
    return _request.set(info)


def reset_request(token: contextvars.Token[RequestInfo | None]) -> None:
    _request.reset(token)


@dataclass
class Event:
    action: str
    actor: Any = None  # a User, or None for the system
    office_id: int | None = None
    object_type: str = ""
    object_id: str = ""
    outcome: str = "ok"
    details: dict[str, Any] = field(default_factory=dict)


def emit(
    action: str,
    *,
    actor: Any = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    office_id: int | None = None,
    outcome: str = "ok",
    **details: Any,
) -> None:
    """Record that `actor` did `action` on `obj` (a model instance) with this outcome."""
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = str(obj.pk)
        if office_id is None:
            office_id = getattr(obj, "office_id", None)
    event = Event(action=action, actor=actor, office_id=office_id, object_type=object_type,
                  object_id=str(object_id), outcome=outcome, details=details)
    recorded.send(sender=Event, event=event)


def new_request_id() -> str:
    return uuid.uuid4().hex
