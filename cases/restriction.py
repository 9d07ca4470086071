"""A person whose processing is restricted at their request (cases/subject_requests.py): the
record is kept and read, not changed, and their cases do not move."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases.models import Person


def restricted_error(person: Person) -> ValidationError | None:
    if person.restricted_at is None:
        return None
    return ValidationError(_("Processing of this person's data is restricted at their request: "
                             "the record can be read, not changed. A supervisor can lift the "
                             "restriction from the request."))


def ensure_processing_allowed(person: Person) -> None:
    if (error := restricted_error(person)) is not None:
        raise error
