"""The trafficking procedure's record type for the retention schedules (cases/retention.py):
people whose trafficking cases were closed, counted from the closure of the latest one. No
period is set by default: an office sets it in its retention rules, as its law says."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from cases import retention
from cases.models import Case, CaseKind, Person, RetentionAction
from tip.procedures import CLOSED


def _closed(cut: datetime.date, scope: retention.OfficeScope) -> QuerySet[Person]:
    tip = Case.objects.filter(kind=CaseKind.TRAFFICKING)
    ended = tip.filter(state__in=CLOSED, closed_at__date__lte=cut)
    later = tip.filter(closed_at__date__gt=cut)
    # A person with an open case of any kind is still being helped.
    still_open = Case.objects.filter(closed_at__isnull=True)
    return (Person.objects.filter(scope.q("office_id"), erased_at__isnull=True,
                                  pk__in=ended.values("principal_id"))
            .exclude(pk__in=later.values("principal_id"))
            .exclude(pk__in=still_open.values("principal_id")))


def register() -> None:
    retention.register(retention.RecordType(
        "trafficking.closed", _("Trafficking case closed"), _("closure of the latest trafficking case"),
        _closed, (RetentionAction.ERASE,), people=True))
