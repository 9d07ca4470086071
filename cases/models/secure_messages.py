"""Secure messages between offices about a case (docs/architecture.md#secure-messages).

The subject and every body, and an attachment's file name, are sealed with the key of the
case's principal (`person`, copied from the case when the thread starts): erasing the person
makes them unreadable. Who a thread is for is a list of parties: a whole office (user None)
or one staff member of an office.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.crypto.fields import EncryptedTextField


class MessageThread(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE,
                             related_name="message_threads")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    subject = EncryptedTextField(_("subject"), subject="person_id")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["case", "-last_message_at"], name="thread_case_newest")]

    def __str__(self) -> str:
        return f"thread {self.pk} on {self.case_id}"


class ThreadParty(models.Model):
    """Who a thread is for: the whole office (user None) or one staff member, named with
    the office they were written to in."""

    thread = models.ForeignKey(MessageThread, on_delete=models.CASCADE, related_name="parties")
    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                             blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "office"],
                                    condition=models.Q(user__isnull=True),
                                    name="one_office_party_per_thread"),
            models.UniqueConstraint(fields=["thread", "user"],
                                    condition=models.Q(user__isnull=False),
                                    name="one_user_party_per_thread"),
        ]
        indexes = [
            models.Index(fields=["user", "thread"], name="thread_party_user"),
            models.Index(fields=["office", "thread"], name="thread_party_office"),
        ]

    def __str__(self) -> str:
        return f"{self.thread_id}: {self.office_id}/{self.user_id or '*'}"


class Message(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(MessageThread, on_delete=models.CASCADE, related_name="messages")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+")
    sender_office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+")
    body = EncryptedTextField(_("message"), subject="person_id")
    # Why it went to another office without the person's consent to sharing (a supervisor's
    # written reason); empty when consent was given or not needed.
    consent_override = EncryptedTextField(_("sent without consent because"), subject="person_id")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["thread", "created_at"], name="message_thread_time")]

    def __str__(self) -> str:
        return f"message {self.pk} in {self.thread_id}"


class MessageRead(models.Model):
    """A read receipt: who opened a message, when (first time only)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+", db_index=False)
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"],
                                               name="one_read_per_message_and_user")]
        indexes = [models.Index(fields=["user", "message"], name="message_read_user")]

    def __str__(self) -> str:
        return f"{self.message_id} read by {self.user_id}"


class MessageAttachment(models.Model):
    """A file sent with a message, stored sealed on disk like a case document."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    filename = EncryptedTextField(_("file name"), subject="person_id")
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    storage_name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"attachment {self.pk} of {self.message_id}"
