"""A case shared with an office: its caseworkers and supervisors of the day, and those who
join later, see the chosen parts until the end (docs/architecture.md#shares-and-referrals).

Each member's access is still a set of `CaseUserObjectPermission` rows; they point here
(`office_share`), so that joining, leaving, ending and expiry reach exactly those rows."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from cases.crypto.fields import EncryptedTextField


class OfficeShare(models.Model):
    """Parts of a case open to an office's case staff until `expires_at`. Ending it deletes
    the row (its history keeps who shared, why, and who ended it)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="office_shares")
    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT,
                               related_name="shares_received", verbose_name=_("office"))
    # Keys of access.PARTS.
    parts = models.JSONField(_("parts"), default=list, blank=True)
    expires_at = models.DateTimeField(_("until"), db_index=True)
    # "not needed", "given" or "overridden", as the case.share event says.
    consent = models.CharField(max_length=16, blank=True)
    shared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Why (and why without consent) is the history's change reason, sealed with the
    # principal's key like the grants' (erasing the person shreds it).
    principal_key = models.UUIDField(null=True, blank=True, editable=False)
    history = HistoricalRecords(
        history_change_reason_field=EncryptedTextField(subject="principal_key"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "office"],
                                               name="one_share_per_case_and_office")]
        verbose_name = _("share with an office")
        verbose_name_plural = _("shares with offices")

    def __str__(self) -> str:
        return f"{self.case_id} → {self.office_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.principal_key is None and self.case_id is not None:
            from cases.models.cases import Case
            self.principal_key = (Case.objects.filter(pk=self.case_id)
                                  .values_list("principal_id", flat=True).first())
        super().save(*args, **kwargs)
