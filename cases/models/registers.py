"""The office's data protection registers (docs/architecture.md#registers): the breach log."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from cases.crypto.fields import EncryptedTextField


class BreachNature(models.TextChoices):
    CONFIDENTIALITY = "confidentiality", _("Confidentiality: data seen or taken by someone not entitled")
    INTEGRITY = "integrity", _("Integrity: data changed without authority")
    AVAILABILITY = "availability", _("Availability: data lost or out of reach")


class BreachRisk(models.TextChoices):
    UNKNOWN = "unknown", _("Not assessed yet")
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class BreachStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CONTAINED = "contained", _("Contained")
    CLOSED = "closed", _("Closed")


class Breach(models.Model):
    """A suspected or confirmed personal data breach of an office. Dates, codes and counts
    clear (the dashboard's 72-hour clock and statistics); what happened and what was done
    sealed with the office's key (the subject `office_key`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("office"))
    discovered_at = models.DateTimeField(_("discovered at"))
    occurred_from = models.DateField(_("occurred from"), null=True, blank=True)
    occurred_to = models.DateField(_("occurred until"), null=True, blank=True)
    nature = models.CharField(_("nature"), max_length=16, choices=BreachNature.choices)
    office_key = models.UUIDField(editable=False)
    description = EncryptedTextField(_("what happened"), subject="office_key")
    categories = models.CharField(_("categories of data"), max_length=500, blank=True)
    people_count = models.PositiveIntegerField(_("approximate number of people affected"),
                                               null=True, blank=True)
    risk = models.CharField(_("risk"), max_length=8, choices=BreachRisk.choices,
                            default=BreachRisk.UNKNOWN)
    actions = EncryptedTextField(_("containment and remedial actions"), subject="office_key")
    focal_point_notified_at = models.DateTimeField(
        _("data protection focal point or authority notified at"), null=True, blank=True)
    people_notified_at = models.DateTimeField(_("affected people notified at"),
                                              null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=BreachStatus.choices,
                              default=BreachStatus.OPEN)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    reported_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(
        history_change_reason_field=EncryptedTextField(subject="office_key"))

    class Meta:
        ordering = ["-discovered_at"]
        verbose_name = _("data breach")
        verbose_name_plural = _("data breaches")
        indexes = [
            models.Index(fields=["office", "status", "discovered_at"], name="breach_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.get_nature_display()} ({self.discovered_at:%Y-%m-%d})"
