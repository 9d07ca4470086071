"""Pairs of records that may be one person, for a supervisor to link or dismiss
(docs/architecture.md#duplicates): registration and fingerprint enrolment add them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class DuplicateSource(models.TextChoices):
    REGISTRATION = "registration", _("Registration")
    BIOMETRIC = "biometric", _("Fingerprints")


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("To review")
    LINKED = "linked", _("Same person: linked")
    DISMISSED = "dismissed", _("Different people")


class DuplicateReason(models.TextChoices):
    DOCUMENT = "document", _("Same identity document number")
    NAME_AND_BIRTH = "name_and_birth", _("Same names and date of birth")
    FINGERPRINT = "fingerprint", _("Fingerprints match")


class PossibleDuplicate(models.Model):
    """`person` (the newer record) may be `other`, registered before it: in the same office
    (registration), or in any office (fingerprints; `office` is then `person`'s).

    Only codes and ids: what the two records hold is read from the records themselves."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("office"))
    person = models.ForeignKey("cases.Person", on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey("cases.Person", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(_("found by"), max_length=16, choices=DuplicateSource.choices)
    reasons = models.JSONField(_("why"), default=list)
    # The registering user saw `other` and said this is someone else.
    confirmed_distinct = models.BooleanField(default=False)
    flagged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(_("status"), max_length=10, choices=DuplicateStatus.choices,
                              default=DuplicateStatus.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        indexes = [models.Index(fields=["office", "status", "created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["person", "other"], name="unique_duplicate_pair"),
            models.CheckConstraint(condition=~Q(person=F("other")), name="duplicate_of_another"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} ~ {self.other_id}"

    @property
    def reason_labels(self) -> list[str]:
        return [str(DuplicateReason(r).label) for r in self.reasons if r in DuplicateReason.values]
