"""The audit log: events, the hash chain that seals them in order, signed checkpoints.

Events are inserted in the transaction of what they record. A short, separate step links
committed events into the chain (ChainLink: position, previous hash, hash), so no business
transaction ever waits on the chain. On PostgreSQL, triggers refuse UPDATE, DELETE and
TRUNCATE on all three tables (migration 0002); nothing in the application deletes them, and
the application's database role may only INSERT and SELECT them (audit/roles.py).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Outcome(models.TextChoices):
    OK = "ok", _("Done")
    DENIED = "denied", _("Refused")
    FAILED = "failed", _("Failed")


class AuditEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    uid = models.UUIDField(unique=True, editable=False)
    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, null=True,
        related_name="+", verbose_name=_("actor"),
    )
    actor_username = models.CharField(_("user name"), max_length=150, blank=True)
    office = models.ForeignKey(
        "cases.Office", on_delete=models.DO_NOTHING, db_constraint=False, null=True,
        related_name="+", verbose_name=_("office"),
    )
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object"), max_length=64, blank=True)
    request_id = models.CharField(_("request"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # HMAC of the event with a key kept outside the database: a row inserted by hand, even
    # before it is linked into the chain, does not carry a valid one.
    mac = models.CharField(max_length=64)
    # Which signing key the MAC is made with ("": the oldest one, before keys were rotated).
    key_id = models.CharField(max_length=16, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["object_type", "object_id", "at"]),
            models.Index(fields=["actor", "at"]),
            models.Index(fields=["office", "at"]),
            models.Index(fields=["action", "at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"


class ChainLink(models.Model):
    """Position `position` of the chain: hash = HMAC-SHA256(chain key; previous hash,
    position, event). Links made before migration 0003 carry scheme 1, a plain SHA-256 of
    the same bytes (audit/chain.py)."""

    position = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.DO_NOTHING, db_constraint=False,
                                 related_name="link")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    linked_at = models.DateTimeField()
    # 2: keyed (every new link); 1: unkeyed, only before the first keyed link.
    scheme = models.SmallIntegerField(default=2, db_default=2)
    # Which signing key the chain key of `hash` comes from ("": the oldest one).
    key_id = models.CharField(max_length=16, blank=True, default="", db_default="")

    def __str__(self) -> str:
        return f"{self.position}:{self.hash[:12]}"


class Checkpoint(models.Model):
    """A signed chain head. The copy that counts is the one in the sink outside the database."""

    position = models.BigIntegerField(primary_key=True)
    hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)

    def __str__(self) -> str:
        return f"checkpoint {self.position}"
