"""What a system administrator configures without code (docs/architecture.md#configuration):
extra non-working days per country, clock periods per procedure, and the organisations
staff refer people to. No personal data of applicants here."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

LONGEST_PERIOD = 3650  # days: a longer period is a typing mistake, not a law


class Holiday(models.Model):
    """A day a country's offices do not work on top of the public holidays the `holidays`
    package knows: a decreed holiday, a closure of the country's offices."""

    country = CountryField(_("country"))
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, editable=False, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "country"]
        constraints = [models.UniqueConstraint(fields=["country", "date"], name="unique_holiday")]
        verbose_name = _("non-working day")
        verbose_name_plural = _("non-working days")

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.country.code} · {self.name}"


class PeriodUnit(models.TextChoices):
    CALENDAR = "calendar", _("calendar days")
    WORKING = "working", _("working days")


class DeadlinePeriod(models.Model):
    """A clock's period in one procedure, set here instead of in settings.AMPARO_DEADLINES
    (this wins). It counts for deadlines opened after the change."""

    procedure = models.CharField(_("procedure"), max_length=40)
    clock = models.CharField(_("deadline"), max_length=40)
    days = models.PositiveIntegerField(
        _("days"), validators=[MinValueValidator(1), MaxValueValidator(LONGEST_PERIOD)],
        help_text=_("Counts for deadlines opened after this change. Deadlines already running "
                    "keep their due date."))
    unit = models.CharField(_("unit"), max_length=10, choices=PeriodUnit.choices,
                            default=PeriodUnit.CALENDAR)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["procedure", "clock"]
        constraints = [models.UniqueConstraint(fields=["procedure", "clock"],
                                               name="unique_deadline_period")]
        verbose_name = _("deadline period")
        verbose_name_plural = _("deadline periods")

    def __str__(self) -> str:
        return f"{self.procedure} · {self.clock}: {self.days} {self.get_unit_display()}"

    def clean(self) -> None:
        from cases import workflow  # the registry imports the models

        wf = workflow.get(self.procedure)
        if wf is None:
            raise ValidationError({"procedure": _("There is no such procedure.")})
        if wf.clock(self.clock) is None:
            raise ValidationError({"clock": _(
                "The procedure %(procedure)s has no such deadline; its deadlines are: "
                "%(clocks)s.") % {"procedure": wf.label,
                                  "clocks": ", ".join(str(c.label) for c in wf.clocks) or "—"}})


class OrganisationKind(models.TextChoices):
    NGO = "ngo", _("Non-governmental organisation")
    LEGAL_AID = "legal_aid", _("Legal aid")
    SHELTER = "shelter", _("Shelter")
    HEALTH = "health", _("Health")
    UN_AGENCY = "un_agency", _("UN agency")
    GOVERNMENT = "government", _("Government")
    OTHER = "other", _("Other")


class OrganisationService(models.TextChoices):
    LEGAL = "legal", _("Legal")
    SHELTER = "shelter", _("Shelter")
    HEALTH = "health", _("Health")
    PSYCHOSOCIAL = "psychosocial", _("Psychosocial")
    LIVELIHOOD = "livelihood", _("Livelihood")
    EDUCATION = "education", _("Education")
    CHILD_PROTECTION = "child_protection", _("Child protection")


class Organisation(models.Model):
    """An organisation staff refer people to. Its own contact details only: never a person's."""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganisationKind.choices)
    country = CountryField(_("country"))
    city = models.CharField(_("city"), max_length=100, blank=True)
    services = models.JSONField(_("services offered"), default=list, blank=True)
    phone = models.CharField(_("contact phone"), max_length=32, blank=True,
                             help_text=_("With the country prefix, or as dialled in the "
                                         "organisation's country."))
    email = models.EmailField(_("email"), blank=True)
    website = models.URLField(_("website"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    notes = models.TextField(_("notes"), blank=True,
                             help_text=_("About the organisation (opening hours, how to refer). "
                                         "Never about a person."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["country", "name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from cases.intake import parse_phone  # intake imports the models

        errors: dict[str, ValidationError] = {}
        unknown = set(self.services or []) - set(OrganisationService.values)
        if not isinstance(self.services, list) or unknown:
            errors["services"] = ValidationError(_("Choose services from the list."))
        if self.phone:
            try:
                self.phone = parse_phone(self.phone, self.country.code if self.country else "")
            except ValidationError as exc:
                errors["phone"] = exc
        if errors:
            raise ValidationError(errors)

    def service_labels(self) -> list[str]:
        labels = dict(OrganisationService.choices)
        return [str(labels.get(code, code)) for code in self.services]


class ConfigurationVersion(models.Model):
    """One row: a new random token each time the non-working days or the deadline periods
    change, so that every process sees the change at its next computation (cases.configuration)."""

    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return self.token
