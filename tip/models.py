"""The trafficking procedure's records, in the shape of HTCDS 2.0 (docs/domain/trafficking.md).

Codes and dates stay clear for queues and statistics; everything a person said, a place,
a perpetrator's name and description, is sealed with the principal person's data key
(`subject="person_id"`), so that erasing that key erases them everywhere, history included.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from cases.crypto.fields import EncryptedJSONField, EncryptedTextField
from tip.vocab import (
    DecidingBodyType,
    EventType,
    Industry,
    MigrationStatus,
    OrganisationType,
    PerpetratorRole,
    Recommendation,
    ReferralDirection,
    ReferralReason,
    ReferralStatus,
    RelationToRecruiter,
    RiskLevel,
    ServiceKind,
    ServiceStatus,
    TraffickingStatus,
)

ANSWERS_PAD = 256  # the sealed answers' length does not tell how many indicators were present


def _history() -> HistoricalRecords:
    return HistoricalRecords(history_change_reason_field=EncryptedTextField(subject="person_id"))


class VictimProfile(models.Model):
    """The victim context (HTCDS `vic_`): one per trafficking case."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="victim_profile")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    trafficking_status = models.CharField(_("trafficking status"), max_length=40,
                                          choices=TraffickingStatus.choices,
                                          default=TraffickingStatus.POSSIBLE)
    status_decided_by = models.CharField(_("type of body that decided the status"), max_length=40,
                                         choices=DecidingBodyType.choices, blank=True)
    age_when_trafficked = models.PositiveSmallIntegerField(_("age when trafficked"), null=True,
                                                           blank=True)
    relation_to_recruiter = models.CharField(_("relation to the recruiter"), max_length=16,
                                             choices=RelationToRecruiter.choices, blank=True)
    # Several codes each (HTCDS multi-select lists), kept clear for statistics.
    recruitment_methods = models.JSONField(_("methods of recruitment"), default=list, blank=True)
    means_of_control = models.JSONField(_("means of control"), default=list, blank=True)
    recruitment_websites = models.JSONField(_("recruitment websites or apps"), default=list, blank=True)
    exploitation_websites = models.JSONField(_("exploitation websites or apps"), default=list,
                                             blank=True)
    exploitation_types = models.JSONField(_("types of exploitation"), default=list, blank=True)
    sexual_exploitation_types = models.JSONField(_("types of sexual exploitation"), default=list,
                                                 blank=True)
    forced_labour_industry = models.CharField(_("forced-labour industry"), max_length=60,
                                              choices=Industry.choices, blank=True)
    migration_status = models.CharField(_("migration or protection status"), max_length=24,
                                        choices=MigrationStatus.choices, blank=True)
    narrative = EncryptedTextField(_("what happened, in the person's words"), subject="person_id")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = _history()

    def __str__(self) -> str:
        return f"victim profile {self.case_id}"


class TraffickingEvent(models.Model):
    """A recruitment, transit or exploitation (HTCDS `hte_`): country clear, place sealed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="trafficking_events")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("type of event"), max_length=16, choices=EventType.choices)
    country = CountryField(_("country"))
    place = EncryptedTextField(_("place"), subject="person_id")
    started_on = models.DateField(_("date (or start of the period)"), null=True, blank=True)
    ended_on = models.DateField(_("end of the period"), null=True, blank=True)
    description = EncryptedTextField(_("description"), subject="person_id")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = _history()

    class Meta:
        ordering = ["started_on", "recorded_at"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.case_id}"


class Perpetrator(models.Model):
    """Someone who took part in the trafficking (HTCDS `per_`), kept apart from the victim's
    record: only who works on the case sees it (tip.selectors.perpetrators_for)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="perpetrators")
    # The victim: their key seals the record, so that erasing them erases it.
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=32, choices=PerpetratorRole.choices)
    relation_to_victim = models.CharField(_("relation to the victim"), max_length=16,
                                          choices=RelationToRecruiter.choices, blank=True)
    name = EncryptedTextField(_("name or alias"), subject="person_id")
    description = EncryptedTextField(_("description"), subject="person_id")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = _history()

    class Meta:
        ordering = ["role", "recorded_at"]

    def __str__(self) -> str:
        return f"perpetrator on {self.case_id}"


class Screening(models.Model):
    """An indicator questionnaire and the recommendation it yielded."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="screenings")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    step = models.OneToOneField("cases.CaseStep", on_delete=models.PROTECT, related_name="+")
    screened_on = models.DateField(_("date of screening"))
    # The indicators present, by code: sealed (they say what happened to the person).
    present = EncryptedJSONField(_("indicators present"), subject="person_id", pad=ANSWERS_PAD)
    recommendation = models.CharField(_("recommendation"), max_length=12, choices=Recommendation.choices)
    notes = EncryptedTextField(_("screening notes"), subject="person_id")
    screened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("screened by"))
    history = _history()

    class Meta:
        ordering = ["screened_on", "step__number"]

    def __str__(self) -> str:
        return f"screening on {self.case_id}"


class Identification(models.Model):
    """The identification decision of the authorised body, as a supervisor recorded it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="identifications")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    step = models.OneToOneField("cases.CaseStep", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("decision"), max_length=40, choices=TraffickingStatus.choices)
    deciding_body = models.CharField(_("deciding body"), max_length=200)
    body_type = models.CharField(_("type of deciding body"), max_length=40,
                                 choices=DecidingBodyType.choices)
    decided_on = models.DateField(_("date of the decision"))
    reasons = EncryptedTextField(_("reasons"), subject="person_id")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("recorded by"))
    history = _history()

    class Meta:
        ordering = ["decided_on", "step__number"]

    def __str__(self) -> str:
        return f"identification on {self.case_id}"


# --- Support: risk, the support plan and its services, organisations and referrals ---------
# (docs/domain/trafficking.md#support)

class RiskAssessment(models.Model):
    """The risk to the person at three levels (individual, household, community). A new
    assessment replaces the current one (`replaced_at`); the old rows stay as its history."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="risk_assessments")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    individual = models.CharField(_("individual risk"), max_length=8, choices=RiskLevel.choices)
    household = models.CharField(_("household risk"), max_length=8, choices=RiskLevel.choices)
    community = models.CharField(_("community risk"), max_length=8, choices=RiskLevel.choices)
    individual_notes = EncryptedTextField(_("individual factors"), subject="person_id")
    household_notes = EncryptedTextField(_("household factors"), subject="person_id")
    community_notes = EncryptedTextField(_("community factors"), subject="person_id")
    assessed_on = models.DateField(_("date of the assessment"))
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("assessed by"))
    recorded_at = models.DateTimeField(auto_now_add=True)
    replaced_at = models.DateTimeField(null=True, blank=True)
    history = _history()

    class Meta:
        ordering = ["-recorded_at"]
        constraints = [models.UniqueConstraint(fields=["case"], condition=models.Q(replaced_at__isnull=True),
                                               name="tip_one_current_risk_assessment")]

    def __str__(self) -> str:
        return f"risk assessment on {self.case_id}"


class SupportPlan(models.Model):
    """What the support aims at (sealed) and when the plan is next reviewed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="support_plan")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    objectives = EncryptedTextField(_("objectives"), subject="person_id")
    review_on = models.DateField(_("next review of the plan"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = _history()

    class Meta:
        indexes = [models.Index(fields=["review_on"], name="tip_plan_review")]

    def __str__(self) -> str:
        return f"support plan {self.case_id}"


class SupportOrganisation(models.Model):
    """An organisation of an office's directory (HTCDS `org_`). Its own contact details only,
    never a person's: they stay clear."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    office = models.ForeignKey("cases.Office", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=200)
    org_type = models.CharField(_("type of organisation"), max_length=40, choices=OrganisationType.choices)
    country = CountryField(_("country"))
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["office", "name"], name="tip_organisation_name")]

    def __str__(self) -> str:
        return self.name


class SupportService(models.Model):
    """A service of the support plan: what, by whom, when planned and when given, and how it
    went (the outcome is sealed)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(SupportPlan, on_delete=models.CASCADE, related_name="services")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="support_services")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("service"), max_length=20, choices=ServiceKind.choices)
    provider = models.ForeignKey(SupportOrganisation, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("provider"))
    planned_start = models.DateField(_("planned start"), null=True, blank=True)
    planned_end = models.DateField(_("planned end"), null=True, blank=True)
    actual_start = models.DateField(_("actual start"), null=True, blank=True)
    actual_end = models.DateField(_("actual end"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ServiceStatus.choices,
                              default=ServiceStatus.PLANNED)
    outcome = EncryptedTextField(_("outcome"), subject="person_id")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = _history()

    class Meta:
        ordering = ["planned_end", "recorded_at"]
        indexes = [models.Index(fields=["planned_end"], name="tip_service_due",
                                condition=models.Q(status__in=["planned", "in_progress"]))]

    def __str__(self) -> str:
        return f"{self.kind} on {self.case_id}"


class Referral(models.Model):
    """A case referred to an organisation of the directory, with the person's consent to
    referral or a supervisor's written override (sealed)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="referrals")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(SupportOrganisation, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("organisation"))
    service_kind = models.CharField(_("service"), max_length=20, choices=ServiceKind.choices)
    referred_on = models.DateField(_("date of the referral"))
    status = models.CharField(_("status"), max_length=12, choices=ReferralStatus.choices,
                              default=ReferralStatus.SENT)
    details = EncryptedTextField(_("details"), subject="person_id")
    without_consent = models.BooleanField(_("referred without consent"), default=False)
    override_reason = EncryptedTextField(_("why without consent"), subject="person_id")
    referred_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("referred by"))
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = _history()

    class Meta:
        ordering = ["-referred_on", "-recorded_at"]

    def __str__(self) -> str:
        return f"referral on {self.case_id}"


class ImportedReferral(models.Model):
    """A referral an HTCDS file records for the case (`cas_` referral fields), made before
    the case came here: the one that brought the case to the file's organisation
    (`incoming`) or one to another organisation (`outgoing`). Not a `Referral`: the office
    made none of them, and no consent was asked here. Direction, reason and date are clear;
    the organisation, its caseworker and the details are sealed with the person's key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="imported_referrals")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(_("direction"), max_length=8, choices=ReferralDirection.choices)
    referred_on = models.DateField(_("date of the referral"), null=True, blank=True)
    reason = models.CharField(_("reason for the referral"), max_length=32,
                              choices=ReferralReason.choices, blank=True)
    organisation = EncryptedTextField(_("organisation"), subject="person_id")
    caseworker = EncryptedTextField(_("primary caseworker"), subject="person_id")
    details = EncryptedTextField(_("details"), subject="person_id")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = _history()

    class Meta:
        ordering = ["direction", "referred_on"]
        constraints = [models.UniqueConstraint(fields=["case", "direction"],
                                               name="tip_imported_referral_direction")]

    def __str__(self) -> str:
        return f"{self.direction} referral of {self.case_id}"


# --- The trafficking risk screen at asylum registration (docs/domain/trafficking.md#at-asylum-registration)

class RegistrationScreen(models.Model):
    """A few HTCDS indicators asked when an asylum claim is registered. It may suggest a
    referral to the anti-trafficking office; with the person's consent to referral, the
    referral opens a trafficking case for the same person, with its own access rules."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The asylum case screened (tip reads it through cases; it knows nothing of rsd).
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    screened_on = models.DateField(_("date of the screen"))
    # The indicators present, by code: sealed, padded like the screening's answers.
    present = EncryptedJSONField(_("indicators present"), subject="person_id", pad=ANSWERS_PAD)
    suggested = models.BooleanField(_("referral suggested"), default=False)
    # The trafficking case the referral opened (or found open), if the person was referred.
    referred_case = models.ForeignKey("cases.Case", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+")
    screened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("screened by"))
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = _history()

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["case", "-recorded_at"], name="tip_regscreen_case")]

    def __str__(self) -> str:
        return f"registration screen on {self.case_id}"


class ScreeningQuestionnaire(models.Model):
    """An office's screening questionnaire: the default indicators (tip/indicators.py) minus
    the ones the office leaves out. Without a row, an office asks every indicator. Kept by
    system administrators in the administration site, with history."""

    office = models.OneToOneField("cases.Office", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("office"))
    omitted = models.JSONField(_("indicators left out"), default=list, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("screening questionnaire")
        verbose_name_plural = _("screening questionnaires")

    def __str__(self) -> str:
        return f"screening questionnaire of {self.office_id}"
