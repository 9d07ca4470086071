"""The asylum procedure's records. Everything a person said or an officer wrote about them,
their specific needs and the places they were, is sealed with the principal applicant's data
key; codes and dates stay clear."""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from cases.crypto.fields import EncryptedJSONField, EncryptedTextField
from cases.models import NEEDS_PAD
from rsd.names import Steps


class CoiStorage(FileSystemStorage):
    """Under AMPARO_FILE_ROOT/coi, read when a file is stored or opened (not at import time),
    so that the setting in force is the one used."""

    @property
    def base_location(self) -> Path:
        return Path(settings.AMPARO_FILE_ROOT) / "coi"

    @property
    def location(self) -> str:
        return str(self.base_location.resolve())


def coi_storage() -> FileSystemStorage:
    # Public reports, not personal data: kept apart from the sealed files, not sealed.
    return CoiStorage()


def _history() -> HistoricalRecords:
    return HistoricalRecords(history_change_reason_field=EncryptedTextField(subject="person_id"))


class ClaimChannel(models.TextChoices):
    BORDER = "border", _("At the border")
    OFFICE = "office", _("At an office")
    REFERRAL = "referral", _("Referred by another authority or organisation")


class Modality(models.TextChoices):
    REGULAR = "regular", _("Regular")
    ACCELERATED = "accelerated", _("Accelerated")
    SIMPLIFIED = "simplified", _("Simplified")
    MERGED = "merged", _("Merged registration and RSD")


class InterviewerGender(models.TextChoices):
    ANY = "any", _("No preference")
    FEMALE = "female", _("Woman")
    MALE = "male", _("Man")


class Relationship(models.TextChoices):
    SPOUSE = "spouse", _("Spouse or partner")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    SIBLING = "sibling", _("Brother or sister")
    GRANDCHILD = "grandchild", _("Grandchild")
    OTHER = "other", _("Other relative or dependant")


class Outcome(models.TextChoices):
    RECOGNIZED = "recognized", _("Recognize refugee status")
    REJECTED = "rejected", _("Reject")
    COMPLEMENTARY = "complementary", _("Complementary protection")


class LegalBasis(models.TextChoices):
    CONVENTION = "convention", _("1951 Convention definition")
    CARTAGENA = "cartagena", _("Wider definition of the Cartagena Declaration")
    COMPLEMENTARY = "complementary", _("Complementary protection")
    NONE = "none", _("Criteria not met")


class ConventionGround(models.TextChoices):
    RACE = "race", _("Race")
    RELIGION = "religion", _("Religion")
    NATIONALITY = "nationality", _("Nationality")
    SOCIAL_GROUP = "social_group", _("Membership of a particular social group")
    POLITICAL_OPINION = "political_opinion", _("Political opinion")


class CartagenaGround(models.TextChoices):
    GENERALIZED_VIOLENCE = "generalized_violence", _("Generalized violence")
    FOREIGN_AGGRESSION = "foreign_aggression", _("Foreign aggression")
    INTERNAL_CONFLICT = "internal_conflict", _("Internal conflict")
    MASSIVE_HR_VIOLATIONS = "massive_hr_violations", _("Massive violation of human rights")
    PUBLIC_ORDER = "public_order", _("Other circumstances seriously disturbing public order")


class ReopenGround(models.TextChoices):
    NEW_EVIDENCE = "new_evidence", _("New material evidence")
    CHANGED_CIRCUMSTANCES = "changed_circumstances", _("Changed circumstances")
    WRONGLY_DECIDED = "wrongly_decided", _("Serious reason to think the claim was wrongly decided")


class CancelGround(models.TextChoices):
    INCLUSION_NOT_MET = "inclusion_not_met", _(
        "The inclusion criteria were not met at the time of recognition")
    EXCLUSION_APPLIED = "exclusion_applied", _("An exclusion clause applied at the time of recognition")


# The steps that record a ground, and the grounds each may record (kept in the step's details).
STEP_GROUNDS: dict[str, type[models.TextChoices]] = {
    Steps.REOPEN: ReopenGround,
    Steps.PROPOSE_CANCELLATION: CancelGround,
}


class Stage(models.TextChoices):
    RECOMMENDATION = "recommendation", _("Recommendation")
    FIRST_INSTANCE = "first_instance", _("First-instance decision")
    APPEAL = "appeal", _("Appeal decision")


class AssessmentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted for review")
    RETURNED = "returned", _("Returned with comments")
    APPROVED = "approved", _("Approved")


class InterviewStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    ATTENDED = "attended", _("Attended")
    NO_SHOW = "no_show", _("Did not come")
    RESCHEDULED = "rescheduled", _("Rescheduled")
    CANCELLED = "cancelled", _("Cancelled")


class Application(models.Model):
    """The claim as registered: one per asylum case."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="application")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    arrival_date = models.DateField(_("date of arrival in the country"), null=True, blank=True)
    application_date = models.DateField(_("date of application"))
    place_of_entry = EncryptedTextField(_("place of entry"), subject="person_id")
    channel = models.CharField(_("how the claim was made"), max_length=16, choices=ClaimChannel.choices)
    modality = models.CharField(_("processing modality"), max_length=16, choices=Modality.choices,
                                default=Modality.REGULAR)
    claim_summary = EncryptedTextField(_("claim summary"), subject="person_id")
    narrative = EncryptedTextField(_("narrative"), subject="person_id")
    # Sealed; `priority` is the coarse flag the queues and the case list read.
    specific_needs = EncryptedJSONField(_("specific needs"), subject="person_id", pad=NEEDS_PAD)
    interpreter_language = models.CharField(_("interpreter language"), max_length=8, blank=True)
    interviewer_gender = models.CharField(_("preferred interviewer"), max_length=8,
                                          choices=InterviewerGender.choices, default=InterviewerGender.ANY)
    priority = models.BooleanField(_("priority"), default=False)
    late = models.BooleanField(_("filed late"), default=False)
    late_justification = EncryptedTextField(_("why the application was late"), subject="person_id")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = _history()

    class Meta:
        # Half the applications are priority: a plain index on the flag is never used.
        indexes = [models.Index(fields=["case", "application_date"], condition=models.Q(priority=True),
                                name="priority_application")]

    def __str__(self) -> str:
        return f"application {self.case_id}"


class FamilyMember(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="family_members")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    relationship = models.CharField(_("relationship to the applicant"), max_length=16,
                                    choices=Relationship.choices)
    accompanying = models.BooleanField(_("accompanying the applicant"), default=True)
    derivative = models.BooleanField(_("seeks derivative status"), default=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    history = _history()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "person"], name="unique_family_member")]

    def __str__(self) -> str:
        return f"{self.get_relationship_display()} on {self.case_id}"


class Interview(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="interviews")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    scheduled_for = models.DateTimeField(_("date and time"))
    place = EncryptedTextField(_("place"), subject="person_id")
    interviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="interviews", verbose_name=_("interviewer"))
    interpreter_language = models.CharField(_("interpreter language"), max_length=8, blank=True)
    interpreter = EncryptedTextField(_("interpreter"), subject="person_id")
    status = models.CharField(_("status"), max_length=12, choices=InterviewStatus.choices,
                              default=InterviewStatus.SCHEDULED)
    transcript = EncryptedTextField(_("transcript"), subject="person_id")
    notes = EncryptedTextField(_("interviewer's notes"), subject="person_id")
    scheduled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = _history()

    class Meta:
        ordering = ["scheduled_for"]
        indexes = [models.Index(fields=["interviewer", "scheduled_for"])]

    def __str__(self) -> str:
        return f"interview {self.pk}"


class CoiSource(models.Model):
    """A Country-of-Origin Information source in an office's library (public material)."""

    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="coi_sources")
    title = models.CharField(_("title"), max_length=300)
    publisher = models.CharField(_("publisher"), max_length=200)
    published_on = models.DateField(_("date of publication"))
    country = models.CharField(_("country it covers"), max_length=2, blank=True)
    url = models.URLField(_("link"), blank=True)
    document = models.FileField(_("document"), upload_to="%Y/", storage=coi_storage,
                                blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-published_on", "title"]

    def __str__(self) -> str:
        return f"{self.publisher}, {self.title} ({self.published_on:%Y-%m-%d})"


class EligibilityAssessment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="assessments")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=AssessmentStatus.choices, default=AssessmentStatus.DRAFT)
    credibility = EncryptedTextField(_("credibility findings"), subject="person_id")
    material_facts = EncryptedTextField(_("material facts accepted"), subject="person_id")
    inclusion = EncryptedTextField(_("inclusion analysis"), subject="person_id")
    convention_grounds = models.JSONField(_("1951 Convention grounds"), default=list, blank=True)
    cartagena_grounds = models.JSONField(_("Cartagena Declaration criteria"), default=list, blank=True)
    exclusion = EncryptedTextField(_("exclusion considerations"), subject="person_id")
    exclusion_applies = models.BooleanField(_("an exclusion clause applies"), default=False)
    coi_sources = models.ManyToManyField(CoiSource, blank=True, related_name="+",
                                         verbose_name=_("country-of-origin information cited"))
    recommendation = models.CharField(_("recommendation"), max_length=16, choices=Outcome.choices,
                                      blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comments = EncryptedTextField(_("reviewer's comments"), subject="person_id")
    updated_at = models.DateTimeField(auto_now=True)
    history = _history()

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"assessment {self.pk}"


class Decision(models.Model):
    """A recommendation, first-instance or appeal decision, as recorded by the named role."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="decisions")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(max_length=16, choices=Stage.choices)
    authority = models.CharField(max_length=40)  # a key of the procedure's authorities
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    legal_basis = models.CharField(_("legal basis"), max_length=16, choices=LegalBasis.choices)
    grounds = models.JSONField(_("grounds"), default=list, blank=True)
    reasons = EncryptedTextField(_("reasons"), subject="person_id")
    decided_on = models.DateField(_("date of the decision"))
    meeting_date = models.DateField(_("date of the meeting"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    step = models.ForeignKey("cases.CaseStep", on_delete=models.PROTECT, related_name="+")
    delivered_on = models.DateField(_("delivered on"), null=True, blank=True)
    letter_language = models.CharField(max_length=8, blank=True)
    appeal_due_on = models.DateField(_("appeal deadline"), null=True, blank=True)
    history = _history()

    class Meta:
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"{self.stage} {self.outcome} on {self.case_id}"


class Appeal(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="appeals")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="appeals")
    lodged_on = models.DateField(_("lodged on"))
    late = models.BooleanField(_("lodged late"), default=False)
    late_justification = EncryptedTextField(_("why the appeal is late"), subject="person_id")
    grounds = EncryptedTextField(_("grounds of appeal"), subject="person_id")
    lodged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    outcome = models.ForeignKey(Decision, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    history = _history()

    def __str__(self) -> str:
        return f"appeal {self.pk}"
