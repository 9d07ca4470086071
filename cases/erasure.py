"""What an erasure clears besides the person's key: the clear values that could still point
at them (quasi-identifiers), in the live rows and in their history.

`services.erase_person` clears the person's own (sex, year of birth, nationalities,
languages, the countries of their identity documents); an app clears those of its own
records by registering a function from its AppConfig.ready(), as the asylum procedure
does for dates of arrival and interpreter languages. `cases` imports no app
(docs/architecture.md#dependency-direction). Each function runs inside the erasure's
transaction, after the key was destroyed, and updates history rows in place.
"""

from __future__ import annotations

from collections.abc import Callable

from cases.models import IdentityDocument, ImportedRow, Person, Sex

Clear = Callable[[Person], None]

_clearers: dict[str, Clear] = {}

# What stays clear on a person for queues and statistics, and what it becomes on erasure.
PERSON_CLEARED: dict[str, object] = {"sex": Sex.UNKNOWN, "birth_year": None,
                                     "nationalities": [], "languages": [], "fingerprint": ""}


def register(name: str, clear: Clear) -> None:
    """Add (or replace: ready() may run twice in tests) an app's clearing function."""
    _clearers[name] = clear


def clear_person(person: Person) -> None:
    """The person's history rows and identity documents lose what the live row lost."""
    Person.history.filter(id=person.pk).update(**PERSON_CLEARED)
    IdentityDocument.objects.filter(person=person).update(issuing_country="")
    IdentityDocument.history.filter(person_id=person.pk).update(issuing_country="")
    ImportedRow.objects.filter(person=person).delete()  # a digest of what the file said
    for clear in _clearers.values():
        clear(person)
