import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from cases.crypto.fields import EncryptedDateField, EncryptedJSONField, EncryptedTextField


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    INTERSEX = "intersex", _("Intersex")
    UNKNOWN = "unknown", _("Unknown")


class SpecificNeed(models.TextChoices):
    UNACCOMPANIED_CHILD = "unaccompanied_child", _("Unaccompanied child")
    SEPARATED_CHILD = "separated_child", _("Separated child")
    TORTURE_SURVIVOR = "torture_survivor", _("Survivor of torture")
    VIOLENCE_SURVIVOR = "violence_survivor", _("Survivor of violence")
    WOMAN_AT_RISK = "woman_at_risk", _("Woman at risk")
    OLDER_PERSON = "older_person", _("Older person")
    DISABILITY = "disability", _("Disability")
    MEDICAL_CONDITION = "medical_condition", _("Serious medical condition")
    LGBTIQ = "lgbtiq", _("LGBTIQ+")


# Specific needs are sealed padded to this many bytes: one or two needs and none seal to the
# same length, so the ciphertext does not tell which (docs/architecture.md#encryption).
NEEDS_PAD = 64


class ErasureCode(models.TextChoices):
    REQUEST = "request", _("Request of the person concerned")
    COURT_ORDER = "court_order", _("Court order")
    RETENTION = "retention", _("Retention period ended")
    MISTAKE = "mistake", _("Registered by mistake or twice")
    OTHER = "other", _("Other")


class DocumentType(models.TextChoices):
    PASSPORT = "passport", _("Passport")
    NATIONAL_ID = "national_id", _("National identity card")
    BIRTH_CERTIFICATE = "birth_certificate", _("Birth certificate")
    TRAVEL_DOCUMENT = "travel_document", _("Travel document")
    OTHER = "other", _("Other")


class Person(models.Model):
    """A data subject. Everything that identifies them is sealed with their own data key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    office = models.ForeignKey(
        "cases.Office", on_delete=models.PROTECT, related_name="people", verbose_name=_("office")
    )
    given_names = EncryptedTextField(_("given names"))
    family_names = EncryptedTextField(_("family names"))
    aliases = EncryptedJSONField(_("aliases"))
    date_of_birth = EncryptedDateField(_("date of birth"))
    birth_year = models.PositiveSmallIntegerField(_("year of birth"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    nationalities = models.JSONField(_("nationalities"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    phone = EncryptedTextField(_("phone"))
    email = EncryptedTextField(_("email"))
    address = EncryptedTextField(_("address"))
    specific_needs = EncryptedJSONField(_("specific needs"), pad=NEEDS_PAD)
    # Keyed hash of the identifying fields: lets a re-import find the rows it already wrote.
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    # Why the record was erased: a code, clear for statistics, and a note sealed with the
    # key of the office (the subject `erasure_key`), not with the person's key, which the
    # erasure destroys: the office's supervisors and auditors can still read it.
    erasure_code = models.CharField(_("reason for the erasure"), max_length=20,
                                    choices=ErasureCode.choices, blank=True)
    erasure_key = models.UUIDField(null=True, blank=True, editable=False)
    erasure_note = EncryptedTextField(_("note on the erasure"), subject="erasure_key")
    # Processing restricted at the person's request: the record is kept and read, not changed
    # and not moved along a procedure, until a supervisor lifts it (cases/subject_requests.py).
    restricted_at = models.DateTimeField(_("processing restricted since"), null=True, blank=True)
    # Legal hold (a court, a breach inquiry): never erased while held (cases/retention.py).
    legal_hold = models.BooleanField(_("legal hold"), default=False)
    legal_hold_reason = EncryptedTextField(_("reason for the legal hold"))
    # A reason may name the person: sealed like the rest of their data.
    history = HistoricalRecords(history_change_reason_field=EncryptedTextField())

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [models.Index(fields=["office", "created_at"])]

    def __str__(self) -> str:
        if self.erased_at:
            return str(_("(erased person)"))
        return f"{self.given_names or ''} {self.family_names or ''}".strip()

    @property
    def full_name(self) -> str:
        return str(self)

    @property
    def nationality_names(self) -> list[str]:
        from cases.vocab import country_name

        return [country_name(c) for c in self.nationalities]

    @property
    def language_names(self) -> list[str]:
        from cases.vocab import language_name

        return [language_name(c) for c in self.languages]

    @property
    def specific_need_labels(self) -> list[str]:
        from cases.vocab import specific_need_label

        return [specific_need_label(c) for c in self.specific_needs or []]


class IdentityDocument(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="documents")
    document_type = models.CharField(_("document type"), max_length=20, choices=DocumentType.choices)
    number = EncryptedTextField(_("document number"), subject="person_id")
    issuing_country = CountryField(_("issuing country"), blank=True)
    history = HistoricalRecords(history_change_reason_field=EncryptedTextField(subject="person_id"))

    class Meta:
        verbose_name = _("identity document")
        verbose_name_plural = _("identity documents")

    def __str__(self) -> str:
        return f"{self.get_document_type_display()} of {self.person_id}"


class PersonIndex(models.Model):
    """Blind-index entries (see cases/crypto/blind.py). No history: erasure deletes them."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="index_entries")
    # The index key generation the value was computed with: old and new coexist during a
    # re-index (docs/architecture.md#index-key-generations).
    generation = models.PositiveIntegerField(default=1)
    kind = models.CharField(max_length=12)
    value = models.BigIntegerField()
    # Copies of the person's office and registration time: a search walks the hits in the
    # user's offices, newest first, in one index range and stops at its cap
    # (docs/architecture.md#search).
    office = models.ForeignKey(
        "cases.Office", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["generation", "kind", "value", "office", "-created_at"],
                include=["person"],
                name="personindex_search",
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["person", "generation", "kind", "value"],
                                    name="unique_index_entry")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class IndexRebuild(models.Model):
    """Progress of 'manage.py reindex_people' towards one index key generation."""

    generation = models.PositiveIntegerField(primary_key=True)
    # People go in id order; the next batch starts after this one.
    last_person = models.UUIDField(null=True, blank=True)
    reindexed = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"index generation {self.generation}"
