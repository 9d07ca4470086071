"""The office's data protection registers (docs/architecture.md#registers): the breach log
and the register of transfers."""

import uuid
from typing import Any

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


class TransferChannel(models.TextChoices):
    SHARE = "share", _("Access granted in Amparo")
    EMAIL = "email", _("Email")
    PAPER = "paper", _("Paper or in person")
    MEDIA = "media", _("Storage device")
    PLATFORM = "platform", _("Another system or platform")
    OTHER = "other", _("Other")


class Transfer(models.Model):
    """One entry of the register of transfers: what personal data went to which office or
    partner, when, how, under which agreement or legal basis, by whom and why. Append-only:
    a correction is a new entry naming the one it corrects."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("office"))
    transferred_on = models.DateField(_("transferred on"))
    to_office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+",
                                  null=True, blank=True, verbose_name=_("to the office"))
    to_organisation = models.ForeignKey("cases.Organisation", on_delete=models.PROTECT,
                                        related_name="+", null=True, blank=True,
                                        verbose_name=_("to the organisation"))
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="+", null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=TransferChannel.choices)
    agreement = models.CharField(_("agreement"), max_length=200, blank=True)
    legal_basis = models.CharField(_("legal basis or consent reference"), max_length=200,
                                   blank=True)
    categories = models.CharField(_("categories of data"), max_length=500)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+",
                             null=True, blank=True, verbose_name=_("case"))
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+",
                               null=True, blank=True, verbose_name=_("person"))
    people_count = models.PositiveIntegerField(_("number of people"), default=1)
    office_key = models.UUIDField(editable=False)
    purpose = EncryptedTextField(_("purpose"), subject="office_key")
    corrects = models.ForeignKey("self", on_delete=models.PROTECT, related_name="corrections",
                                 null=True, blank=True, verbose_name=_("corrects the entry"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-transferred_on", "-recorded_at"]
        verbose_name = _("transfer of personal data")
        verbose_name_plural = _("transfers of personal data")
        indexes = [
            models.Index(fields=["office", "-transferred_on"], name="transfer_register"),
        ]

    def __str__(self) -> str:
        return f"{self.transferred_on} → {self.to_office or self.to_organisation or '—'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TransferIsFinal(_("An entry of the register of transfers is never changed: "
                                    "record a correction."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise TransferIsFinal(_("An entry of the register of transfers is never deleted."))


class TransferIsFinal(Exception):
    pass
