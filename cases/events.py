"""What happened, for whoever keeps the record (the audit app listens).

`cases` does not import `audit`: services and views call `emit(...)`, the audit app
connects to `recorded` and writes the event. Receivers run in the caller's transaction and
their errors propagate, so an action whose event cannot be written does not happen.
Details hold ids, counts and field names, never decrypted values.

Action names form one vocabulary: each app declares the actions it emits, with a label for
people, from its AppConfig.ready() (`declare`); `cases` declares its own (cases/actions.py)
and imports no other app. Emitting an undeclared action is a programming error.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils.functional import Promise

recorded = Signal()

Label = str | Promise
_actions: dict[str, Label] = {}


def declare(actions: Mapping[str, Label]) -> None:
    """Add actions to the vocabulary: name -> label (a lazy translation).

    Declaring the same name again with the very same label is harmless (ready() may run
    twice in tests); with another label it is a clash between apps, and fails."""
    for name, label in actions.items():
        known = _actions.get(name)
        if known is not None and known is not label:
            raise ValueError(f"audit action {name!r} is declared twice")
        _actions[name] = label


def declared() -> dict[str, Label]:
    """Every declared action and its label."""
    return dict(_actions)


def is_declared(action: str) -> bool:
    return action in _actions


def action_label(action: str) -> str:
    """The action's label in the active language (its name if it is not declared: an event
    recorded before the action was renamed stays readable)."""
    label = _actions.get(action)
    return str(label) if label is not None else action


class AuditUnavailable(Exception):
    """An event could not be written: the action it records must not happen."""


@dataclass(frozen=True)
class RequestInfo:
    request_id: str
    ip: str | None
    # Who is asking (request.user, lazy), for refusals recorded where no user is at hand.
    user: Any = field(default=None, compare=False)
    # Ids of the refusals ("denied") written in this request (audit/receivers.py).
    refused: list[int] = field(default_factory=list, compare=False)
    # Refusals waiting for the request's transactions to end (record_refusal).
    deferred: list[tuple[str, dict[str, Any]]] = field(default_factory=list, compare=False)


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
    # The instance itself, for receivers in this process (the notifications read the case
    # from it, cases/notifications.py); never recorded.
    subject: Any = field(default=None, repr=False, compare=False)


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
    """Record that `actor` did `action` on `obj` (a model instance) with this outcome.

    `action` must be declared (see `declare`): a misspelt name fails here, not in the log."""
    if action not in _actions:
        raise ValueError(f"undeclared audit action {action!r}: declare it with events.declare()")
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = str(obj.pk)
        if office_id is None:
            office_id = getattr(obj, "office_id", None)
    event = Event(action=action, actor=actor, office_id=office_id, object_type=object_type,
                  object_id=str(object_id), outcome=outcome, details=details, subject=obj)
    recorded.send(sender=Event, event=event)


def current_actor() -> Any:
    """The logged-in user of the request being served, or None."""
    info = _request.get()
    user = info.user if info is not None else None
    return user if user is not None and user.is_authenticated else None


def record_refusal(action: str, **kwargs: Any) -> None:
    """Record a refusal (outcome "denied") so that the refused transaction's rollback does not
    take the record with it: at once outside any transaction, otherwise when the request
    ends (`flush_refusals`, from cases.middleware). Outside a request, at once."""
    info = _request.get()
    if info is None or not transaction.get_connection().in_atomic_block:
        emit(action, outcome="denied", **kwargs)
    else:
        info.deferred.append((action, kwargs))


def flush_refusals() -> None:
    """Write the refusals `record_refusal` kept back during this request."""
    info = _request.get()
    while info is not None and info.deferred:
        action, kwargs = info.deferred.pop(0)
        emit(action, outcome="denied", **kwargs)


def new_request_id() -> str:
    return uuid.uuid4().hex
