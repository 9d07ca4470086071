"""A case moving from one office to another of this installation
(docs/architecture.md#transfers-between-offices)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.crypto.fields import EncryptedTextField


class HandoverKind(models.TextChoices):
    OFFER = "offer", _("Transfer offered by the case's office")
    REQUEST = "request", _("Case asked for by another office")


class HandoverStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Handover(models.Model):
    """An offer to hand a case to another office, or another office's request for it; the
    office that did not start it answers. Reasons are sealed with the starting office's key
    (they may name the person)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="handovers")
    kind = models.CharField(_("kind"), max_length=10, choices=HandoverKind.choices)
    from_office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("from"))
    to_office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("to"))
    status = models.CharField(_("status"), max_length=10, choices=HandoverStatus.choices,
                              default=HandoverStatus.PENDING)
    office_key = models.UUIDField(editable=False)
    reason = EncryptedTextField(_("reason"), subject="office_key")
    answer = EncryptedTextField(_("answer"), subject="office_key")
    sender_keeps_access = models.BooleanField(_("the sending office keeps access"), default=False)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=models.Q(status="pending"),
                                    name="one_pending_handover_per_case"),
        ]
        indexes = [
            models.Index(fields=["to_office", "status", "-started_at"], name="handover_incoming"),
            models.Index(fields=["from_office", "status", "-started_at"], name="handover_outgoing"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.case_id} {self.from_office_id}→{self.to_office_id} {self.status}"

    @property
    def answering_office_id(self) -> int:
        """Who answers: the receiving office an offer, the case's office a request."""
        return self.to_office_id if self.kind == HandoverKind.OFFER else self.from_office_id

    @property
    def starting_office_id(self) -> int:
        return self.from_office_id if self.kind == HandoverKind.OFFER else self.to_office_id
