from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords


class Role(models.TextChoices):
    CASEWORKER = "caseworker", _("Caseworker")
    SUPERVISOR = "supervisor", _("Supervisor")
    AUDITOR = "auditor", _("Auditor")
    # Reads the statistics of their offices: numbers, never people or case pages.
    ANALYST = "analyst", _("Analyst")
    OFFICE_ADMIN = "office_admin", _("Office administrator")
    SYSTEM_ADMIN = "system_admin", _("System administrator")


class Office(models.Model):
    code = models.CharField(
        _("code"),
        max_length=16,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{2}-[A-Z0-9]{2,8}$", _("Use a code like BZ-BMP."))],
    )
    name = models.CharField(_("name"), max_length=200)
    country = CountryField(_("country"))
    city = models.CharField(_("city"), max_length=100, blank=True)
    # Printed on letters (the letterhead and where to lodge an appeal); not personal data.
    address = models.TextField(_("postal address"), blank=True)
    appeal_body = models.CharField(
        _("appeal body"), max_length=200, blank=True,
        help_text=_("Who hears appeals against this office's decisions, as letters name it. "
                    "Empty: the procedure's default."),
    )
    # Procedure settings (docs/architecture.md#configuration); empty: the procedure's default.
    abandon_after_no_shows = models.PositiveSmallIntegerField(
        _("missed interviews before closure as abandoned is proposed"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text=_("Empty: the procedure's default."))
    # Supervisors, auditors and administrators always need it when two-factor authentication
    # is on (docs/architecture.md#two-factor-authentication); caseworkers where this says so.
    require_two_factor_for_caseworkers = models.BooleanField(
        _("caseworkers need two-factor authentication"), default=False,
        help_text=_("Supervisors, auditors and administrators always need it where two-factor "
                    "authentication is on."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("office")
        verbose_name_plural = _("offices")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class User(AbstractUser):
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=settings.LANGUAGES, default="es"
    )
    # Set when someone else chose the password (a new account, a reset): the next login
    # must replace it before anything else (cases.middleware.PasswordChangeRequiredMiddleware).
    must_change_password = models.BooleanField(_("must change password"), default=False)
    # When that password was set: it is refused AMPARO_TEMPORARY_PASSWORD_HOURS later
    # (cases/passwords.py, docs/architecture.md#passwords).
    temporary_password_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Membership(models.Model):
    """A user holds a role in an office."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "office", "role"], name="unique_membership")
        ]
        indexes = [models.Index(fields=["office", "role"])]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.office.code}"
