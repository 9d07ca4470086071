"""Requests of the people in the records about their own data (docs/architecture.md#data-subject-requests):
access, correction, restriction of processing, erasure."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from cases.crypto.fields import EncryptedTextField
from cases.models.people import ErasureCode


class RequestKind(models.TextChoices):
    ACCESS = "access", _("Access: a copy of everything held")
    CORRECTION = "correction", _("Correction of inaccurate data")
    RESTRICTION = "restriction", _("Restriction of processing")
    ERASURE = "erasure", _("Erasure")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused")


class RequestChannel(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    WRITING = "writing", _("In writing")
    PHONE = "phone", _("By phone")
    REPRESENTATIVE = "representative", _("Through a representative or lawyer")


class SubjectRequest(models.Model):
    """What a person asked about their data, and what the office did. Codes and dates clear
    (for the office's queue and its deadlines); what the person said and the answer are
    sealed with the person's key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("office"))
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("request"), max_length=12, choices=RequestKind.choices)
    channel = models.CharField(_("received"), max_length=16, choices=RequestChannel.choices)
    received_on = models.DateField(_("received on"))
    due_on = models.DateField(_("answer due by"))
    details = EncryptedTextField(_("what the person asks"), subject="person_id")
    # Erasure only: the legal basis, a code (the note on it goes to the erasure itself).
    legal_basis = models.CharField(_("legal basis"), max_length=20, choices=ErasureCode.choices,
                                   blank=True)
    status = models.CharField(_("status"), max_length=8, choices=RequestStatus.choices,
                              default=RequestStatus.OPEN)
    answer = EncryptedTextField(_("answer"), subject="person_id")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Access: when the copy was last produced (the request is done once it was handed over).
    exported_at = models.DateTimeField(null=True, blank=True)
    # Restriction: when it was lifted, and by whom (the person's record is processed again).
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+", null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(history_change_reason_field=EncryptedTextField(subject="person_id"))

    class Meta:
        ordering = ["due_on", "recorded_at"]
        verbose_name = _("data protection request")
        verbose_name_plural = _("data protection requests")
        indexes = [
            models.Index(fields=["office", "status", "due_on"], name="subjectrequest_queue"),
            models.Index(fields=["person", "-recorded_at"], name="subjectrequest_person"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.received_on})"
