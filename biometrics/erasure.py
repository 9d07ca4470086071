"""What an erasure clears of the biometrics (cases/erasure.py). The templates are sealed with
the person's key, which the erasure destroys; the sealed image files are deleted once it is
committed, and the captures leave every worker's gallery."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from biometrics import worker
from biometrics.models import FacePhoto, FingerprintCapture
from cases import erasure
from cases.crypto import files
from cases.models import Person


def clear(person: Person) -> None:
    captures = FingerprintCapture.objects.filter(person=person)
    photos = FacePhoto.objects.filter(person=person)
    names = [n for n in captures.values_list("image_name", flat=True) if n]
    names += [n for n in photos.values_list("storage_name", flat=True) if n]
    now = timezone.now()
    # changed_at moves: workers drop the person when they next catch up.
    captures.update(image_name="", features=None, changed_at=now)
    captures.filter(replaced_at__isnull=True).update(replaced_at=now)
    photos.update(storage_name="")
    photos.filter(replaced_at__isnull=True).update(replaced_at=now)
    person_id = person.pk

    def after() -> None:
        for name in names:
            files.delete(name)
        worker.drop_person(person_id)

    transaction.on_commit(after)


def register() -> None:
    erasure.register("biometrics", clear)
