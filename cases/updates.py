"""Writes that leave their trace in the history: who made them and, if given, why.

Every service that saves a model with history stamps it here rather than setting
simple-history's private attributes itself (docs/architecture.md#services-and-history).
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models

from cases import texts


def stamp(instance: models.Model, *, by: AbstractBaseUser | None, reason: str = "") -> None:
    """Name the user and the reason the next history row of `instance` records.

    For creates, deletes and saves that `model_update` does not fit. `by=None` is the
    system itself; a blank reason records none (a reason left from an earlier save of the
    same object is cleared)."""
    # The services check their own, shorter limits; this one holds for every change reason.
    texts.ensure(reason, texts.NOTE, field="reason")
    # simple-history reads these two attributes when it writes the history row.
    setattr(instance, "_history_user", by)  # noqa: B010
    setattr(instance, "_change_reason", reason.strip() or None)  # noqa: B010


def has_field(instance: models.Model, name: str) -> bool:
    return any(f.name == name for f in instance._meta.concrete_fields)


def model_update(
    instance: models.Model, *, by: AbstractBaseUser | None, reason: str = "", **fields: object
) -> list[str]:
    """Set the given fields that differ, save only those (and `updated_at` where the model
    has it) with one history row naming `by` and `reason`; return the names changed.

    Nothing is saved, and no history row written, when no value differs."""
    for name in fields:
        if not has_field(instance, name):
            raise ValueError(f"{type(instance).__name__} has no field {name!r}")
    changed = [name for name, value in fields.items() if getattr(instance, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(instance, name, fields[name])
    stamp(instance, by=by, reason=reason)
    update_fields = [*changed]
    if has_field(instance, "updated_at") and "updated_at" not in update_fields:
        update_fields.append("updated_at")
    instance.save(update_fields=update_fields)
    return changed
