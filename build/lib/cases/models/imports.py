import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def _for_reader(item: dict) -> dict:
    """A report entry with its message in the reader's language (stored in each language)."""
    message = item.get("message", "")
    if isinstance(message, dict):
        lang = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
        message = message.get(lang) or message.get("en") or next(iter(message.values()), "")
    return {**item, "message": message}


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    VALIDATING = "validating", _("Checking the rows")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """A file of people uploaded for import (see cases/importing.py).

    The file itself is personal data: it is stored sealed under the job's own data key,
    and the key is destroyed and the file deleted as soon as the job finishes. The report
    names rows and columns only, never a cell's value.
    """

    RUNNING = (ImportStatus.QUEUED, ImportStatus.VALIDATING, ImportStatus.IMPORTING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    office = models.ForeignKey(
        "cases.Office", on_delete=models.PROTECT, related_name="import_jobs",
        verbose_name=_("office"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("uploaded by"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    skip_invalid = models.BooleanField(_("skip invalid rows"), default=False)
    storage_name = models.CharField(max_length=200, blank=True)
    file_extension = models.CharField(max_length=8, blank=True)
    total = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("rows processed"), default=0)
    created = models.PositiveIntegerField(_("people imported"), default=0)
    skipped = models.PositiveIntegerField(_("already imported"), default=0)
    rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    # [{"row": int | None, "column": str, "message": {language: str}, "level": "error" | "skipped"}]
    report = models.JSONField(_("report"), default=list, blank=True)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["office", "created_at"])]

    def __str__(self) -> str:
        return f"import {self.id} ({self.status})"

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING

    @property
    def percent(self) -> int:
        if self.status in (ImportStatus.DONE, ImportStatus.FAILED):
            return 100
        if self.status == ImportStatus.IMPORTING:
            return 100  # shown as a moving bar: the writes commit together at the end
        if not self.total:
            return 0
        return min(100, self.processed * 100 // self.total)

    @property
    def errors(self) -> list[dict]:
        return [_for_reader(r) for r in self.report if r.get("level") == "error"]

    @property
    def notices(self) -> list[dict]:
        return [_for_reader(r) for r in self.report if r.get("level") != "error"]
