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


class BreachPerson(models.Model):
    """A person named as affected by a breach, through one of their cases (its reference is
    what those who may not see the person are shown). Only links: nothing of the person."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    breach = models.ForeignKey(Breach, on_delete=models.PROTECT, related_name="people")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+",
                             null=True, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("person affected by a breach")
        verbose_name_plural = _("people affected by a breach")
        constraints = [
            models.UniqueConstraint(fields=["breach", "person"], name="breach_person_once"),
        ]

    def __str__(self) -> str:
        return f"{self.breach_id} · {self.person_id}"


class SharingAgreement(models.Model):
    """A data-sharing agreement of an office with a partner organisation: what for, under
    which legal basis, from when until when. A transfer to the partner names one; a transfer
    dated outside its period is refused (docs/architecture.md#registers)."""

    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("office"))
    partner = models.ForeignKey("cases.Organisation", on_delete=models.PROTECT,
                                related_name="agreements", verbose_name=_("partner"))
    reference = models.CharField(_("reference"), max_length=100)
    purpose = models.CharField(_("purpose"), max_length=500)
    legal_basis = models.CharField(_("legal basis"), max_length=200)
    starts_on = models.DateField(_("in force from"))
    ends_on = models.DateField(_("in force until"), null=True, blank=True,
                               help_text=_("Empty: until it is ended."))
    history = HistoricalRecords()

    class Meta:
        ordering = ["office", "reference"]
        verbose_name = _("data-sharing agreement")
        verbose_name_plural = _("data-sharing agreements")
        constraints = [
            models.UniqueConstraint(fields=["office", "reference"], name="agreement_reference"),
            models.CheckConstraint(condition=models.Q(ends_on__isnull=True)
                                   | models.Q(ends_on__gte=models.F("starts_on")),
                                   name="agreement_period"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.partner})"

    def in_force_on(self, day: Any) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class TransferChannel(models.TextChoices):
    SHARE = "share", _("Access granted in Amparo")
    EMAIL = "email", _("Email")
    PAPER = "paper", _("Paper or in person")
    MEDIA = "media", _("Storage device")
    PLATFORM = "platform", _("Another system or platform")
    ACCESS = "access", _("Copy for the person concerned (access request)")
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
    # The managed agreement the data went under (its reference is copied to `agreement`,
    # which older entries filled in by hand).
    sharing_agreement = models.ForeignKey(SharingAgreement, on_delete=models.PROTECT,
                                          related_name="transfers", null=True, blank=True,
                                          verbose_name=_("data-sharing agreement"))
    categories = models.CharField(_("categories of data"), max_length=500)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+",
                             null=True, blank=True, verbose_name=_("case"))
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+",
                               null=True, blank=True, verbose_name=_("person"))
    people_count = models.PositiveIntegerField(_("number of people"), default=1)
    office_key = models.UUIDField(editable=False)
    purpose = EncryptedTextField(_("purpose"), subject="office_key")
    # A copy of their data handed to the person themself, answering this access request
    # (written once per request, when the copy is first produced).
    subject_request = models.OneToOneField(
        "cases.SubjectRequest", on_delete=models.PROTECT, related_name="transfer", null=True,
        blank=True, verbose_name=_("access request"))
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
