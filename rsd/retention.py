"""The asylum procedure's record types for the retention schedules (cases/retention.py):
people whose asylum cases ended, by how they ended, counted from the closure of the latest
case; and a pending appeal holds a person."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from cases import retention
from cases.models import Case, CaseKind, Person, RetentionAction
from rsd.models import Appeal
from rsd.names import States

ENDINGS = {
    "asylum.recognized": (_("Asylum case closed with recognition or protection"),
                          (States.RECOGNIZED, States.COMPLEMENTARY)),
    "asylum.rejected": (_("Asylum case closed with a rejection or cancellation"),
                        (States.REJECTED_FINAL, States.CANCELLED)),
    "asylum.withdrawn": (_("Asylum case withdrawn or abandoned"),
                         (States.WITHDRAWN, States.ABANDONED)),
}


def _ended(states: tuple[str, ...]) -> retention.Due:
    def due(cut: datetime.date, scope: retention.OfficeScope) -> QuerySet[Person]:
        asylum = Case.objects.filter(kind=CaseKind.ASYLUM)
        ended = asylum.filter(state__in=states, closed_at__date__lte=cut)
        later = asylum.filter(closed_at__date__gt=cut)
        return (Person.objects.filter(scope.q("office_id"), erased_at__isnull=True,
                                      pk__in=ended.values("principal_id"))
                .exclude(pk__in=later.values("principal_id")))
    return due


def pending_appeal(person: Person) -> bool:
    return Appeal.objects.filter(person=person, outcome__isnull=True).exists()


def register() -> None:
    for code, (label, states) in ENDINGS.items():
        retention.register(retention.RecordType(
            code, label, _("closure of the latest asylum case"), _ended(states),
            (RetentionAction.ERASE,), people=True))
    retention.register_blocker("pending_appeal", _("a pending appeal"), pending_appeal)
