"""Case packages between installations (docs/architecture.md#case-packages): the other
offices' public keys registered here, and the packages received."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField


class PartnerKey(models.Model):
    """Another installation's office: its public keys, as its bundle gave them. Public keys
    only; a key that is no longer trusted is revoked, never deleted (packages name it)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    office_code = models.CharField(_("office code"), max_length=20)
    name = models.CharField(_("name"), max_length=200)
    country = CountryField(_("country"))
    signing_key = models.BinaryField(max_length=32)
    encryption_key = models.BinaryField(max_length=32)
    fingerprint = models.CharField(_("fingerprint"), max_length=49, unique=True)
    # The register of transfers names partners as organisations.
    organisation = models.ForeignKey("cases.Organisation", on_delete=models.PROTECT, related_name="+")
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                      related_name="+")
    registered_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("registered office key")
        ordering = ["office_code", "-registered_at"]

    def __str__(self) -> str:
        return f"{self.office_code} {self.fingerprint}"


class ReceivedPackage(models.Model):
    """A package imported here: importing it again finds this row and creates nothing."""

    package_id = models.UUIDField(primary_key=True)
    sender = models.ForeignKey(PartnerKey, on_delete=models.PROTECT, related_name="+")
    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    sender_reference = models.CharField(max_length=40)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"package {self.package_id}"
