"""Retention schedules (docs/architecture.md#retention): one rule per record type, optionally
per office, and a record of every run of the schedule."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RetentionAction(models.TextChoices):
    ERASE = "erase", _("Erase (destroy the person's key)")
    ANONYMISE = "anonymise", _("Anonymise")
    DELETE = "delete", _("Delete")


class RetentionRule(models.Model):
    """`record_type` is a key of the registry in cases/retention.py. A rule of an office
    replaces the global rule (office empty) of the same type for that office. Until an
    administrator sets `destructive`, the rule only reports what is due."""

    record_type = models.CharField(_("record type"), max_length=40)
    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("office"))
    years = models.PositiveSmallIntegerField(_("years"), default=0)
    months = models.PositiveSmallIntegerField(_("months"), default=0)
    days = models.PositiveSmallIntegerField(_("days"), default=0)
    action = models.CharField(_("action"), max_length=10, choices=RetentionAction.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    destructive = models.BooleanField(_("acts (not only reports)"), default=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")

    class Meta:
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")
        constraints = [
            models.UniqueConstraint(fields=["record_type", "office"], name="retention_rule_office"),
            models.UniqueConstraint(fields=["record_type"], condition=models.Q(office=None),
                                    name="retention_rule_global"),
        ]

    def __str__(self) -> str:
        return f"{self.record_type} ({self.office_id or '*'})"


class RetentionRun(models.Model):
    """One run of the schedule: who or what started it and, per rule, what was due, done,
    skipped (with the reasons) and failed (`report`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    today = models.DateField(_("as of"))
    dry_run = models.BooleanField(_("dry run"), default=False)
    limit = models.PositiveIntegerField(null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")
    via = models.CharField(max_length=16)  # "command" or "task"
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)  # {"rules": [...], "errors": [...]}

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")

    def __str__(self) -> str:
        return f"retention run {self.pk}"
