"""What a staff member is told about their cases (docs/architecture.md#notifications).

A notification stores codes only (its kind and a few safe parameters: the case reference, a
state, step or clock code, a due date); its text is written when it is shown, in the reader's
language. Never a name, a narrative or anything decrypted.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", _("Case assigned")
    WAITING = "waiting", _("Step waiting for you")
    DEADLINE = "deadline", _("Deadline soon")
    DOCUMENT = "document", _("Document added")
    # Between offices (docs/architecture.md#notifications): shown and opened through the
    # transfer (`handover`) while the reader supervises one of its offices.
    TRANSFER_OFFERED = "transfer_offered", _("Transfer offered to your office")
    CASE_REQUESTED = "case_requested", _("Case asked for by another office")
    TRANSFER_ACCEPTED = "transfer_accepted", _("Transfer accepted")
    TRANSFER_REJECTED = "transfer_rejected", _("Transfer rejected")
    TRANSFER_WITHDRAWN = "transfer_withdrawn", _("Transfer withdrawn")
    SHARED = "shared", _("Case shared with you")
    # Told to who lost the share (or, for an office, its supervisors): shown to its recipient
    # although the case no longer is.
    SHARE_ENDED = "share_ended", _("Share ended")
    # Told to the supervisors of a staff member's offices (docs/architecture.md#rate-limits):
    # about an account, not a case; shown while the reader supervises the office.
    RATE_LIMITED = "rate_limited", _("Usage limit reached")
    # About the reader's own account, no case and no office: a login from a browser or network
    # not seen lately (cases/login_places.py). Always shown to its recipient.
    NEW_LOGIN_PLACE = "new_login_place", _("Login from a new browser or place")


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="notifications", db_index=False)  # indexes below
    # Empty only for a notice about the recipient's own account (NEW_LOGIN_PLACE).
    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+",
                               db_index=False, null=True, blank=True)  # offices are never deleted
    # Empty for a notification about an account (a usage limit reached, a new login place).
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+",
                             null=True, blank=True)
    # The running period a deadline notification is about: one per period and recipient.
    deadline = models.ForeignKey("cases.CaseDeadline", on_delete=models.CASCADE, null=True,
                                 blank=True, related_name="+")
    # A transfer between offices it is about: read through the transfer, not the case (the
    # office asked to take a case does not see it yet).
    handover = models.ForeignKey("cases.Handover", on_delete=models.CASCADE, null=True,
                                 blank=True, related_name="+")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    params = models.JSONField(default=dict, blank=True)  # codes, a reference, a date: no values
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The navbar's unread count; the list, newest first.
            models.Index(fields=["recipient", "read_at", "created_at"], name="notification_unread"),
            models.Index(fields=["recipient", "created_at"], name="notification_newest"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "deadline"],
                                    condition=models.Q(deadline__isnull=False),
                                    name="one_notification_per_deadline"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id} on {self.case_id}"

    @property
    def text(self) -> str:
        """What it says, in the active language."""
        from cases import notifications

        return notifications.text(self)
