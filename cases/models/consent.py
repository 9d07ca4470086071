"""A person's consent per purpose (docs/architecture.md#consent)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ConsentPurpose(models.TextChoices):
    DATA_COLLECTION = "data_collection", _("Recording their data")
    REFERRAL = "referral", _("Referral to services")
    STATISTICS = "statistics", _("Anonymised statistics")
    SHARING = "sharing", _("Sharing with another office or country")


class Consent(models.Model):
    """One answer of a person for one purpose; a later answer replaces it (the old row stays,
    with `replaced_at`): the current answer is the row without it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey("cases.Person", on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    given = models.BooleanField(_("consent given"))
    explained_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("explained by"))
    language = models.CharField(_("language of the explanation"), max_length=8)
    recorded_at = models.DateTimeField(auto_now_add=True)
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-recorded_at"]
        constraints = [models.UniqueConstraint(fields=["person", "purpose"],
                                               condition=models.Q(replaced_at__isnull=True),
                                               name="one_current_consent_per_purpose")]

    def __str__(self) -> str:
        return f"{self.purpose} {'yes' if self.given else 'no'} for {self.person_id}"
