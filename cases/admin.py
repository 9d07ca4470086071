"""Admin for configuration only: offices, staff and memberships, non-working days, deadline
periods and organisations (docs/architecture.md#configuration). No case content here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from simple_history.admin import SimpleHistoryAdmin

from cases import configuration, events, retention, shares, workflow
from cases.models import (
    DeadlinePeriod,
    Holiday,
    Membership,
    Office,
    Organisation,
    OrganisationService,
    RetentionRule,
    SharingAgreement,
    User,
)
from cases.vocab import country_choices

# Two-factor devices are not shown here: django-otp's own (emptied by migration cases 0044)
# are taken off the site, Amparo's (cases/models/two_factor.py) never registered. An office
# administrator resets an account's two-factor authentication on /staff/users/<id>/, an
# operator with `manage.py reset_two_factor`.
for _device in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device):
        admin.site.unregister(_device)

if TYPE_CHECKING:
    # Django's admin classes take no type parameters at run time.
    _MembershipInlineBase = admin.TabularInline[Membership, User]
    _UserAdminBase = UserAdmin[User]
    _RetentionRuleAdminBase = admin.ModelAdmin[RetentionRule]
else:
    _MembershipInlineBase = admin.TabularInline
    _UserAdminBase = UserAdmin
    _RetentionRuleAdminBase = admin.ModelAdmin


class MembershipInline(_MembershipInlineBase):
    """Read-only here: roles change through the staff page or 'manage.py grant_role'."""

    model = Membership
    extra = 0
    can_delete = False
    readonly_fields = ("office", "role", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False


@admin.register(User)
class StaffAdmin(_UserAdminBase, SimpleHistoryAdmin):  # type: ignore[misc]  # simple-history has no type hints
    """Superusers only: a system administrator configures offices here, and office
    administrators manage their staff on /staff/, within their offices. Editing any account
    here (its flags, its groups) would reach past both."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_superuser)

    inlines = [MembershipInline]
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Amparo", {"fields": ("preferred_language",)}))


class ConfigurationAdmin(SimpleHistoryAdmin):  # type: ignore[misc]  # simple-history has no type hints
    """Kept by system administrators and superusers; nobody else sees it. Each change is an
    audit event (the object and the names of the fields changed, never their values)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return configuration.configures(request.user)  # type: ignore[arg-type]

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return configuration.configures(request.user)  # type: ignore[arg-type]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return configuration.configures(request.user)  # type: ignore[arg-type]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return configuration.configures(request.user)  # type: ignore[arg-type]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return configuration.configures(request.user)  # type: ignore[arg-type]

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool) -> None:
        super().save_model(request, obj, form, change)
        events.emit("config.change", actor=request.user, obj=obj, office_id=_office_id(obj),
                    operation="change" if change else "add", fields=sorted(form.changed_data))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        events.emit("config.change", actor=request.user, obj=obj, office_id=_office_id(obj),
                    operation="delete")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            events.emit("config.change", actor=request.user, obj=obj, office_id=_office_id(obj),
                        operation="delete")
        super().delete_queryset(request, queryset)


def _office_id(obj: Any) -> int | None:
    return obj.pk if isinstance(obj, Office) else None


@admin.register(Office)
class OfficeAdmin(ConfigurationAdmin):
    list_display = ("code", "name", "country", "city", "abandon_after_no_shows", "is_active")
    search_fields = ("code", "name")
    readonly_fields = ("procedures",)
    fieldsets = (
        (None, {"fields": ("code", "name", "country", "city", "is_active")}),
        (_("Letters"), {"fields": ("address", "appeal_body")}),
        (_("Procedure settings"), {"fields": ("procedures", "abandon_after_no_shows",
                                              "require_two_factor_for_caseworkers")}),
    )

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Offices are closed (not active), not deleted: their cases and staff stay.
        return bool(request.user.is_superuser)

    def save_model(self, request: HttpRequest, obj: Office, form: ModelForm[Any], change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # Closed: what shares with the office gave its staff goes (the admin's atomic
            # request keeps the closing and the withdrawal together).
            shares.office_closed(obj, by=request.user)  # type: ignore[arg-type]

    @admin.display(description=_("procedures"))
    def procedures(self, obj: Office) -> str:
        """Which procedure the office's cases follow is decided by its country."""
        if obj.pk is None or not obj.country:
            return str(_("Decided by the office's country, once it is saved."))
        return "; ".join(configuration.office_procedures(obj)) or "—"


# --- Non-working days -----------------------------------------------------------------------

class YearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        this = timezone.localdate().year
        return [(str(y), str(y)) for y in range(this + 1, this - 3, -1)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(date__year=int(value)) if value and value.isdigit() else queryset


class PublicHolidaysForm(forms.Form):
    country = forms.ChoiceField(label=capfirst(_("country")), choices=country_choices)
    year = forms.IntegerField(label=capfirst(_("year")), min_value=1990, max_value=2100)


@admin.register(Holiday)
class HolidayAdmin(ConfigurationAdmin):
    list_display = ("date", "country", "name", "created_by")
    list_filter = ("country", YearFilter)
    search_fields = ("name",)
    fields = ("country", "date", "name")
    date_hierarchy = "date"

    def save_model(self, request: HttpRequest, obj: Holiday, form: ModelForm[Any], change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.public_holidays_view)
        return [path("public/", view, name="cases_holiday_public"), *super().get_urls()]

    def public_holidays_view(self, request: HttpRequest) -> HttpResponse:
        """What is counted already for a country and year: the public holidays the `holidays`
        package knows (read-only) and the days configured here."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        first = Office.objects.filter(is_active=True).order_by("code").first()
        country: str = first.country.code if first else "MX"
        year: int = timezone.localdate().year
        form = PublicHolidaysForm(request.GET if "country" in request.GET else None,
                                  initial={"country": country, "year": year})
        if form.is_bound and form.is_valid():
            country, year = form.cleaned_data["country"], form.cleaned_data["year"]
        configured = {h.date: h for h in Holiday.objects.filter(country=country, date__year=year)}
        language = "es" if (get_language() or "").startswith("es") else "en_US"
        public = workflow.public_holidays(country, year, language)
        rows = [(day, name, "public") for day, name in public]
        rows += [(day, h.name, "configured") for day, h in configured.items()]
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "title": _("Non-working days already counted"), "country": country, "year": year,
            "rows": sorted(rows, key=lambda r: (r[0], r[2])),
        }
        return TemplateResponse(request, "admin/cases/holiday/public.html", context)


# --- Deadline periods -----------------------------------------------------------------------

class DeadlinePeriodForm(forms.ModelForm):  # type: ignore[type-arg]
    procedure = forms.ChoiceField(label=capfirst(_("procedure")), choices=configuration.procedure_choices)
    clock = forms.ChoiceField(label=capfirst(_("deadline")), choices=configuration.clock_choices)

    class Meta:
        model = DeadlinePeriod
        fields = ("procedure", "clock", "days", "unit")


@admin.register(DeadlinePeriod)
class DeadlinePeriodAdmin(ConfigurationAdmin):
    form = DeadlinePeriodForm
    list_display = ("procedure", "clock_label", "period", "law_period", "settings_period", "updated_at")
    list_filter = ("procedure",)
    readonly_fields = ("all_periods",)
    fields = ("procedure", "clock", "days", "unit", "all_periods")

    @admin.display(description=_("deadline"))
    def clock_label(self, obj: DeadlinePeriod) -> str:
        wf = workflow.get(obj.procedure)
        clock = wf.clock(obj.clock) if wf else None
        return f"{clock.label} ({obj.clock})" if clock else obj.clock

    @admin.display(description=_("period set here"))
    def period(self, obj: DeadlinePeriod) -> str:
        return configuration.describe_period(obj.days, obj.unit)

    @admin.display(description=_("period by law"))
    def law_period(self, obj: DeadlinePeriod) -> str:
        clock = workflow.law_clock(obj.procedure, obj.clock)
        return configuration.describe_period(clock.days, clock.unit) if clock else "—"

    @admin.display(description=_("period in settings"))
    def settings_period(self, obj: DeadlinePeriod) -> str:
        wf = workflow.get(obj.procedure)
        clock, law = (wf.clock(obj.clock) if wf else None), workflow.law_clock(obj.procedure, obj.clock)
        if clock is None or law is None or (clock.days, clock.unit) == (law.days, law.unit):
            return "—"
        return configuration.describe_period(clock.days, clock.unit)

    @admin.display(description=_("every deadline's period"))
    def all_periods(self, obj: DeadlinePeriod | None = None) -> SafeString:
        rows = configuration.clock_rows()
        head = format_html_join("", "<th>{}</th>", ((capfirst(str(h)),) for h in (
            _("procedure"), _("deadline"), _("period by law"), _("period in settings"),
            _("period set here"))))
        head = format_html("<tr>{}</tr>", head)
        row = "<tr><td>{} ({})</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td></tr>"
        body = format_html_join("", row, (
            (r.procedure_label, r.procedure, r.label, r.clock, r.law, r.settings or "—",
             configuration.describe_period(r.configured.days, r.configured.unit) if r.configured else "—")
            for r in rows))
        return format_html('<table id="deadline-periods">{}{}</table>', head, body)


# --- Organisations --------------------------------------------------------------------------

class OrganisationForm(forms.ModelForm):  # type: ignore[type-arg]
    services = forms.MultipleChoiceField(label=capfirst(_("services offered")), required=False,
                                         choices=OrganisationService.choices,
                                         widget=forms.CheckboxSelectMultiple)
    website = forms.URLField(label=capfirst(_("website")), required=False, assume_scheme="https",
                             max_length=200)

    class Meta:
        model = Organisation
        fields = ("name", "kind", "country", "city", "services", "phone", "email", "website",
                  "is_active", "notes")


@admin.register(Organisation)
class OrganisationAdmin(ConfigurationAdmin):
    form = OrganisationForm
    list_display = ("name", "kind", "country", "city", "services_offered", "phone", "is_active")
    list_filter = ("kind", "country", "is_active")
    search_fields = ("name", "city")

    @admin.display(description=_("services offered"))
    def services_offered(self, obj: Organisation) -> str:
        return ", ".join(obj.service_labels()) or "—"



@admin.register(SharingAgreement)
class SharingAgreementAdmin(ConfigurationAdmin):
    """An office's data-sharing agreements with partners, which transfers name
    (docs/architecture.md#registers)."""

    list_display = ("reference", "office", "partner", "starts_on", "ends_on")
    list_filter = ("office", "partner")
    search_fields = ("reference", "partner__name")

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # An agreement ends (its end date); one that transfers name is never deleted.
        return bool(request.user.is_superuser)


# --- Retention rules ----------------------------------------------------------------------------

class RetentionRuleForm(forms.ModelForm):  # type: ignore[type-arg]
    record_type = forms.ChoiceField(label=capfirst(_("record type")), choices=[])

    class Meta:
        model = RetentionRule
        fields = ("record_type", "office", "years", "months", "days", "action")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["record_type"]
        if isinstance(field, forms.ChoiceField):
            field.choices = [(code, str(t.label))
                             for code, t in sorted(retention.record_types().items())]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = retention.record_types().get(data.get("record_type", ""))
        if kind is not None and data.get("action") not in kind.actions:
            self.add_error("action", _("This record type does not allow this action."))
        if kind is not None and data.get("office") and not kind.per_office:
            self.add_error("office", _("This record type has one rule for all offices."))
        if sum(data.get(k) or 0 for k in ("years", "months", "days")) == 0:
            self.add_error("years", _("Give a period longer than nothing."))
        return data


@admin.register(RetentionRule)
class RetentionRuleAdmin(_RetentionRuleAdminBase):
    """Adds the rules of an office, report-only; periods change and rules are turned on at
    /retention/rules/ (a confirmation and a recent code)."""

    form = RetentionRuleForm
    list_display = ("record_type", "office", "years", "months", "days", "action", "enabled",
                    "destructive")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def save_model(self, request: HttpRequest, obj: RetentionRule, form: Any, change: bool) -> None:
        obj.destructive = False
        obj.updated_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        events.emit("retention.rule_change", actor=request.user, obj=obj, created=True,
                    record_type=obj.record_type, office=obj.office_id)

    def delete_model(self, request: HttpRequest, obj: RetentionRule) -> None:
        events.emit("retention.rule_change", actor=request.user, obj=obj, deleted=True,
                    record_type=obj.record_type, office=obj.office_id)
        super().delete_model(request, obj)
