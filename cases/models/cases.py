import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from cases.crypto.fields import EncryptedTextField


class CaseKind(models.TextChoices):
    ASYLUM = "asylum", _("Asylum")
    TRAFFICKING = "trafficking", _("Trafficking in persons")


class ParticipantRole(models.TextChoices):
    PRINCIPAL = "principal", _("Principal")
    FAMILY_MEMBER = "family_member", _("Family member")
    OTHER = "other", _("Other")


class Case(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("reference"), max_length=32, unique=True)
    office = models.ForeignKey(
        "cases.Office", on_delete=models.PROTECT, related_name="cases", verbose_name=_("office")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CaseKind.choices)
    state = models.CharField(_("state"), max_length=40, default="open")
    # The registered procedure the case follows (cases/workflow.py), fixed when it enters one.
    procedure = models.CharField(_("procedure"), max_length=40, blank=True)
    step_no = models.PositiveIntegerField(default=0)  # steps recorded; stale forms are refused
    principal = models.ForeignKey(
        "cases.Person", on_delete=models.PROTECT, related_name="principal_cases"
    )
    people = models.ManyToManyField(
        "cases.Person", through="cases.CaseParticipant", related_name="cases"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
        verbose_name=_("assigned to"),
    )
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Change reasons may name people: sealed with the principal's key.
    history = HistoricalRecords(history_change_reason_field=EncryptedTextField(subject="principal_id"))

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-opened_at"]
        # The parts of a case a share may open besides who the person is
        # (docs/architecture.md#shares-and-referrals).
        permissions = [
            ("view_case_procedure", _("See the procedure, its steps and decisions")),
            ("view_case_records", _("See the claim narrative and interview records")),
            ("view_case_notes", _("See the case notes")),
            ("view_case_documents", _("See the case documents")),
        ]
        indexes = [
            models.Index(fields=["office", "opened_at"]),
            models.Index(fields=["office", "assigned_to", "opened_at"]),
            models.Index(fields=["assigned_to", "opened_at"]),
            # The case list's other sorts (docs/architecture.md#case-list).
            models.Index(fields=["office", "updated_at"]),
            models.Index(fields=["office", "reference"]),
            # Queues by state (review, priority) look at open cases only.
            models.Index(fields=["office", "state"], condition=models.Q(closed_at__isnull=True),
                         name="open_case_office_state"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def state_label(self) -> str:
        from cases import workflow

        return workflow.state_label(self)


class CaseStep(models.Model):
    """One step of a case's procedure, as the workflow engine recorded it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveIntegerField()
    transition = models.CharField(max_length=60)
    source = models.CharField(max_length=40)
    target = models.CharField(max_length=40)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+")  # None: a periodic task
    at = models.DateTimeField(auto_now_add=True)
    effective_on = models.DateField()
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    reason = EncryptedTextField(_("reasons"), subject="person_id")
    details = models.JSONField(default=dict, blank=True)  # codes only (a ground, an outcome)

    class Meta:
        ordering = ["case", "number"]
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="unique_case_step")
        ]
        indexes = [models.Index(fields=["case", "transition"])]

    def __str__(self) -> str:
        return f"{self.case_id} #{self.number} {self.transition}"


class CaseDeadline(models.Model):
    """A running or met period of one of the procedure's clocks."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="deadlines")
    clock = models.CharField(max_length=40)
    starts_on = models.DateField()
    due_on = models.DateField()
    started_by_step = models.ForeignKey(CaseStep, on_delete=models.CASCADE, related_name="+")
    met_at = models.DateTimeField(null=True, blank=True)
    met_by_step = models.ForeignKey(CaseStep, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="+")
    # Copies of the case's office and assignee, kept by the services that change them: the
    # dashboard walks one assignee's or one office's running deadlines by due date and stops
    # after a page (docs/architecture.md#speed).
    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+",
                               db_index=False)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+", db_index=False)

    class Meta:
        ordering = ["due_on"]
        indexes = [
            models.Index(fields=["due_on"], condition=models.Q(met_at__isnull=True),
                         name="open_deadline_due"),
            models.Index(fields=["assigned_to", "due_on"], condition=models.Q(met_at__isnull=True),
                         name="open_deadline_assignee"),
            models.Index(fields=["office", "due_on"], condition=models.Q(met_at__isnull=True),
                         name="open_deadline_office"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.clock} due {self.due_on}"


class CaseParticipant(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="participants")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="participations")
    role = models.CharField(_("role"), max_length=20, choices=ParticipantRole.choices)
    history = HistoricalRecords(history_change_reason_field=EncryptedTextField(subject="person_id"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "person"], name="unique_case_participant")
        ]

    def __str__(self) -> str:
        return f"{self.case} · {self.get_role_display()}"


class ReferenceCounter(models.Model):
    """Last reference number used, per office and year (locked while numbering)."""

    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["office", "year"], name="unique_reference_counter")
        ]

    def __str__(self) -> str:
        return f"{self.office_id}/{self.year}: {self.last}"


class Note(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = EncryptedTextField(_("note"), subject="person_id")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(history_change_reason_field=EncryptedTextField(subject="person_id"))

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.case}"


class Document(models.Model):
    """A scanned page or photo attached to a case, stored sealed on disk."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    title = EncryptedTextField(_("title"), subject="person_id")
    filename = EncryptedTextField(_("file name"), subject="person_id")
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    storage_name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(history_change_reason_field=EncryptedTextField(subject="person_id"))

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"document {self.pk} on {self.case}"


class CaseUserObjectPermission(UserObjectPermissionBase):
    """An explicit grant to one user (a share or referral); its history records who and why.

    Why may name people: the change reason is sealed with the key of the case's principal
    (`principal_key`, copied from the case when the grant is saved), so that erasing the
    principal shreds it too (docs/architecture.md#registers)."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)
    principal_key = models.UUIDField(null=True, blank=True, editable=False)
    # A share ends by itself then: reads ignore it at once, a periodic task removes it.
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set when the grant comes from a share with the user's office (cases.shares): it goes
    # when they leave the office or the role, or the office's share ends.
    office_share = models.ForeignKey("cases.OfficeShare", on_delete=models.CASCADE, null=True,
                                     blank=True, related_name="grants")
    history = HistoricalRecords(
        history_change_reason_field=EncryptedTextField(subject="principal_key"))

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.principal_key is None and self.content_object_id is not None:
            self.principal_key = (Case.objects.filter(pk=self.content_object_id)
                                  .values_list("principal_id", flat=True).first())
        super().save(*args, **kwargs)


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)
    history = HistoricalRecords()
