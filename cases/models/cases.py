import uuid

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


# Labels of the states a case can be in; the procedures (rsd, tip) add theirs.
STATE_LABELS = {"open": _("Open"), "closed": _("Closed")}


class Case(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(_("reference"), max_length=32, unique=True)
    office = models.ForeignKey(
        "cases.Office", on_delete=models.PROTECT, related_name="cases", verbose_name=_("office")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CaseKind.choices)
    state = models.CharField(_("state"), max_length=40, default="open")
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
        indexes = [
            models.Index(fields=["office", "opened_at"]),
            models.Index(fields=["office", "assigned_to", "opened_at"]),
            models.Index(fields=["assigned_to", "opened_at"]),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS.get(self.state, self.state))


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
    """An explicit grant to one user (a share or referral); its history records who and why."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)
    history = HistoricalRecords()


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)
    history = HistoricalRecords()
