import datetime
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
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


MAX_ATTEMPTS = 3  # runs of one job (the first and its resumptions) before it is given up


def lease() -> datetime.timedelta:
    """How long a running job's worker may stay silent before the job counts as interrupted."""
    return datetime.timedelta(seconds=getattr(settings, "AMPARO_IMPORT_LEASE_SECONDS", 300))


class ImportJob(models.Model):
    """A file of people uploaded for import (see cases/importing.py).

    The file itself is personal data: it is stored sealed under the job's own data key,
    and the key is destroyed and the file deleted as soon as the job finishes. The report
    names rows and columns only, never a cell's value. The rows are written in chunks, each
    committed with the job's progress (`rows_done`), so a run that dies is resumed where it
    stopped (docs/architecture.md#imports).
    """

    RUNNING = (ImportStatus.QUEUED, ImportStatus.VALIDATING, ImportStatus.IMPORTING)
    STARTED = (ImportStatus.VALIDATING, ImportStatus.IMPORTING)

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
    # What the file holds: "people", or a kind an app registered (cases.importing.KINDS).
    kind = models.CharField(_("kind of file"), max_length=20, default="people")
    skip_invalid = models.BooleanField(_("skip invalid rows"), default=False)
    storage_name = models.CharField(max_length=200, blank=True)
    file_extension = models.CharField(max_length=8, blank=True)
    total = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("rows processed"), default=0)
    created = models.PositiveIntegerField(_("people imported"), default=0)
    skipped = models.PositiveIntegerField(_("already imported"), default=0)
    rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    # The first AMPARO_IMPORT_REPORT_MAX problems by row:
    # [{"row": int | None, "column": str, "message": {language: str}, "level": "error" | "skipped"}]
    report = models.JSONField(_("report"), default=list, blank=True)
    # Every problem counted: {"errors": {column: n}, "skipped": n}
    report_counts = models.JSONField(default=dict, blank=True)
    # Data rows of the file whose writing is committed; a resumed run starts after them.
    rows_done = models.PositiveIntegerField(_("rows saved"), default=0)
    # The run that holds the job, and when it last said so (see lease()).
    worker = models.UUIDField(null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    # Case numbers drawn ahead for the chunk being written: {"year": y, "next": n, "last": m}
    reserved = models.JSONField(default=dict, blank=True, editable=False)
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
    def is_interrupted(self) -> bool:
        """Started, and its worker has not been heard of for longer than the lease."""
        return self.status in self.STARTED and (
            self.heartbeat_at is None or self.heartbeat_at < timezone.now() - lease())

    @property
    def can_resume(self) -> bool:
        return self.is_interrupted and bool(self.storage_name) and self.attempts < MAX_ATTEMPTS

    @property
    def percent(self) -> int:
        if self.status in (ImportStatus.DONE, ImportStatus.FAILED):
            return 100
        if not self.total:
            return 0
        return min(100, self.processed * 100 // self.total)

    @property
    def problem_count(self) -> int:
        counts = self.report_counts or {}
        counted = sum(counts.get("errors", {}).values()) + counts.get("skipped", 0)
        return max(counted, len(self.report))

    @property
    def unlisted(self) -> int:
        """Problems counted but not stored (the report keeps the first ones)."""
        return self.problem_count - len(self.report)

    @property
    def error_columns(self) -> list[tuple[str, int]]:
        """(column, rows with an error there), most frequent first."""
        errors = (self.report_counts or {}).get("errors", {})
        return sorted(errors.items(), key=lambda item: (-item[1], item[0]))

    @property
    def errors(self) -> list[dict]:
        return [_for_reader(r) for r in self.report if r.get("level") == "error"]

    @property
    def notices(self) -> list[dict]:
        return [_for_reader(r) for r in self.report if r.get("level") != "error"]


class ImportedRow(models.Model):
    """A row an import of a kind other than people wrote, by a keyed digest of its content
    in its office: importing the same row again adds nothing (docs/architecture.md#htcds-import).
    Deleted with the person's erasure (cases.erasure)."""

    id = models.BigAutoField(primary_key=True)
    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20)
    digest = models.CharField(max_length=64)
    person = models.ForeignKey("cases.Person", on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["office", "kind", "digest"],
                                               name="imported_row_once")]

    def __str__(self) -> str:
        return f"imported {self.kind} row of {self.case_id}"
