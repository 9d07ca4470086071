"""The regional duplicate check (docs/architecture.md#regional-duplicate-check): keyed tokens
of each person under the region's shared key, and the inquiries sent and answered."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionalToken(models.Model):
    """HMAC-SHA256 under the regional key of a normalised identity part; no value in clear."""

    person = models.ForeignKey("cases.Person", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12)  # "doc", "name_dob", "sound_dob"
    token = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["kind", "token"], name="regional_token")]

    def __str__(self) -> str:
        return f"{self.kind} token of {self.person_id}"


class InquiryDirection(models.TextChoices):
    SENT = "sent", _("Sent")
    RECEIVED = "received", _("Received")


class RegionalInquiry(models.Model):
    """An inquiry this installation sent (and the answer it read) or answered."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    inquiry = models.UUIDField()
    direction = models.CharField(max_length=10, choices=InquiryDirection.choices)
    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+")
    partner_office = models.CharField(max_length=20)
    person = models.ForeignKey("cases.Person", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")  # sent: whom it is about
    result = models.CharField(max_length=20, blank=True)  # "possible_match", "no_match"
    ask_office = models.CharField(max_length=20, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["inquiry", "direction"],
                                               name="one_inquiry_per_direction")]
        indexes = [models.Index(fields=["direction", "partner_office", "at"],
                                name="inquiry_rate")]

    def __str__(self) -> str:
        return f"{self.direction} inquiry {self.inquiry}"
