"""What an erasure clears in the asylum records (cases/erasure.py): the values that stay
clear for queues and statistics while the case runs but could point at the person after."""

from __future__ import annotations

from cases import erasure
from cases.models import Person
from rsd.models import Application, Interview, InterviewerGender

# The date of arrival, the interpreter's language and the preferred interviewer (which
# hints at the person's sex); dates and codes of the procedure's steps stay.
APPLICATION_CLEARED: dict[str, object] = {"arrival_date": None, "interpreter_language": "",
                                          "interviewer_gender": InterviewerGender.ANY}
INTERVIEW_CLEARED: dict[str, object] = {"interpreter_language": ""}


def clear(person: Person) -> None:
    """In place, live rows and history rows alike: no new history row keeps the old values."""
    Application.objects.filter(person=person).update(**APPLICATION_CLEARED)
    Application.history.filter(person_id=person.pk).update(**APPLICATION_CLEARED)
    Interview.objects.filter(person=person).update(**INTERVIEW_CLEARED)
    Interview.history.filter(person_id=person.pk).update(**INTERVIEW_CLEARED)


def register() -> None:
    erasure.register("rsd", clear)
