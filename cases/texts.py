"""How long free text may be, for the forms and the services alike.

Sealed columns have no length of their own, so the services check every text they are
given (a form, the importer or a script may call them) and the forms use the same limits
to show the error next to the field (docs/architecture.md#services-and-history)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

PLACE = 120           # a place of entry, an interview room
SHORT = 500           # titles, names of interpreters, change reasons, an erasure note
NOTE = 10_000         # summaries, notes, comments, justifications, the reasons of a step
LONG = 50_000         # narratives, analyses, the reasons of a decision, grounds of appeal
TRANSCRIPT = 200_000  # an interview's transcript (hours of speech)


def too_long(limit: int) -> ValidationError:
    return ValidationError(_("Longer than %(n)d characters."), params={"n": limit},
                           code="max_length")


def check(errors: dict[str, str], limits: dict[str, tuple[str, int]]) -> None:
    """Add to `errors` (field name to message) each text of `limits` (field name to its
    text and its limit) that is too long, unless its field has an error already."""
    for name, (value, limit) in limits.items():
        if name not in errors and len(value or "") > limit:
            errors[name] = str(too_long(limit).messages[0])


def ensure(value: str, limit: int, *, field: str) -> None:
    """Raise a ValidationError keyed by `field` when `value` is longer than `limit`."""
    if len(value or "") > limit:
        raise ValidationError({field: too_long(limit)})
