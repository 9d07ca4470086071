"""Shared by the services of the asylum procedure."""

from __future__ import annotations

import datetime
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, CaseKind
from rsd.models import CartagenaGround, ConventionGround
from rsd.names import Steps

M = TypeVar("M", bound=Model)
GROUNDS = set(ConventionGround.values) | set(CartagenaGround.values)
DECISION_STEPS = (Steps.DECIDE, Steps.RECORD_COMMITTEE_RECOMMENDATION, Steps.RECORD_MINISTER_DECISION,
                  Steps.RECORD_COMMISSION_DECISION)


def check_asylum_case(case: Case) -> None:
    """Refuse a case of another kind: the asylum services write asylum cases only."""
    if case.kind != CaseKind.ASYLUM:
        raise ValidationError(_("This is not an asylum case."))


def _not_future(errors: dict[str, str], name: str, day: datetime.date | None) -> None:
    if day and day > timezone.localdate():
        errors[name] = _("This date is in the future.")


EARLIEST = datetime.date(1951, 7, 28)  # the Refugee Convention: nothing in a file is older


def check_plausible(errors: dict[str, str], name: str, day: datetime.date | None) -> None:
    """Not in the future, not before 1951: a mistyped year would start a clock long expired."""
    if day and day < EARLIEST:
        errors[name] = _("This date is not plausible: check the year.")
    _not_future(errors, name, day)


def as_of_lock(record: M, case: Case, seen_step: int) -> M:
    """`record`, read before the step's transaction, inside the step's `effect`: as read if
    no other step was recorded on the case since (every write of a step's records holds the
    case's lock, which `fire` took), else read again, locked (docs/architecture.md#speed)."""
    if case.step_no == seen_step + 1:
        return record
    return type(record)._default_manager.select_for_update().get(pk=record.pk)


def raise_errors(errors: dict[str, str]) -> None:
    """Raise the errors collected field by field, if any."""
    if errors:
        raise ValidationError(errors)
