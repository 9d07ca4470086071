"""What an erasure clears in the trafficking records (cases/erasure.py). The sealed texts go
with the person's key; these clear values could still point at the person afterwards: the
age when trafficked and the countries and dates of the events."""

from __future__ import annotations

from cases import erasure
from cases.models import Person
from tip.models import TraffickingEvent, VictimProfile

PROFILE_CLEARED: dict[str, object] = {"age_when_trafficked": None}
EVENT_CLEARED: dict[str, object] = {"country": "", "started_on": None, "ended_on": None}


def clear(person: Person) -> None:
    """In place, live rows and history rows alike: no new history row keeps the old values."""
    VictimProfile.objects.filter(person=person).update(**PROFILE_CLEARED)
    VictimProfile.history.filter(person_id=person.pk).update(**PROFILE_CLEARED)
    TraffickingEvent.objects.filter(person=person).update(**EVENT_CLEARED)
    TraffickingEvent.history.filter(person_id=person.pk).update(**EVENT_CLEARED)


def register() -> None:
    erasure.register("tip", clear)
