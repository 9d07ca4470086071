"""Consent per purpose: recorded with who explained it and in which language, replaced by a
later answer, withdrawn at once (docs/architecture.md#consent)."""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import events, selectors
from cases.models import Consent, ConsentPurpose, Person, User


def current(person: Person) -> dict[str, Consent]:
    """The current answer per purpose."""
    return {c.purpose: c for c in person.consents.filter(replaced_at__isnull=True)}


def rows(person: Person) -> list[tuple[str, str, Consent | None]]:
    """(purpose, its label, the current answer or None) for every purpose, for the page."""
    now = current(person)
    return [(code, str(label), now.get(code)) for code, label in ConsentPurpose.choices]


def allows(person: Person, purpose: str) -> bool:
    return Consent.objects.filter(person=person, purpose=purpose, replaced_at__isnull=True,
                                  given=True).exists()


def allowing(purpose: str) -> QuerySet[Person]:
    """People whose current answer for `purpose` is yes (statistics exports start here)."""
    return Person.objects.filter(consents__purpose=purpose, consents__given=True,
                                 consents__replaced_at__isnull=True, erased_at__isnull=True)


@transaction.atomic
def record(*, by: User, person: Person, purpose: str, given: bool, language: str) -> Consent:
    """The person's answer for a purpose, as explained by `by`; replaces the current one."""
    if not selectors.can_edit_person(by, person):
        raise PermissionDenied(_("You cannot record this person's consent."))
    if purpose not in ConsentPurpose.values:
        raise ValidationError({"purpose": _("Choose a purpose.")})
    if not re.fullmatch(r"[a-z]{2,3}", language):
        raise ValidationError({"language": _("Choose the language it was explained in.")})
    person = Person.objects.select_for_update().get(pk=person.pk)
    Consent.objects.filter(person=person, purpose=purpose, replaced_at__isnull=True).update(
        replaced_at=timezone.now())
    made = Consent.objects.create(person=person, purpose=purpose, given=given,
                                  explained_by=by, language=language)
    events.emit("consent.record", actor=by, obj=person, purpose=purpose, given=given,
                language=language)
    return made
