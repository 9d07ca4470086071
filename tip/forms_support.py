"""The forms of a trafficking case's support and of the directory. They parse; tip.support
decides."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from cases import texts
from cases.forms import DateInput, Styled, cached_choices
from cases.models import Office
from cases.vocab import country_choices
from tip.models import SupportOrganisation
from tip.support import OrganisationData, ReferralData, RiskData, ServiceData
from tip.vocab import OrganisationType, RiskLevel, ServiceKind, ServiceStatus

NOTES = {"rows": 3}


def _pick(choices: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    return [("", "—"), *choices]


def _organisations(field: forms.Field, qs: QuerySet[SupportOrganisation]) -> None:
    cast("forms.ModelChoiceField[SupportOrganisation]", field).queryset = qs


class RiskForm(Styled, forms.Form):
    assessed_on = forms.DateField(label=_("Date of the assessment"), widget=DateInput())
    individual = forms.ChoiceField(label=_("Individual risk"), choices=_pick(RiskLevel.choices))
    individual_notes = forms.CharField(label=_("Individual factors"), required=False,
                                       max_length=texts.NOTE, widget=forms.Textarea(attrs=NOTES))
    household = forms.ChoiceField(label=_("Household risk"), choices=_pick(RiskLevel.choices))
    household_notes = forms.CharField(label=_("Household factors"), required=False,
                                      max_length=texts.NOTE, widget=forms.Textarea(attrs=NOTES))
    community = forms.ChoiceField(label=_("Community risk"), choices=_pick(RiskLevel.choices))
    community_notes = forms.CharField(label=_("Community factors"), required=False,
                                      max_length=texts.NOTE, widget=forms.Textarea(attrs=NOTES))

    def data_object(self) -> RiskData:
        return RiskData(**self.cleaned_data)


class PlanForm(Styled, forms.Form):
    objectives = forms.CharField(label=_("Objectives"), required=False, max_length=texts.LONG,
                                 widget=forms.Textarea(attrs={"rows": 6}))
    review_on = forms.DateField(label=_("Next review of the plan"), required=False, widget=DateInput())


class ServiceForm(Styled, forms.Form):
    kind = forms.ChoiceField(label=_("Service"), choices=_pick(ServiceKind.choices))
    provider = forms.ModelChoiceField(label=_("Provider"), required=False,
                                      queryset=SupportOrganisation.objects.none())
    planned_start = forms.DateField(label=_("Planned start"), required=False, widget=DateInput())
    planned_end = forms.DateField(label=_("Planned end"), required=False, widget=DateInput())
    status = forms.ChoiceField(label=_("Status"), choices=ServiceStatus.choices,
                               initial=ServiceStatus.PLANNED)
    actual_start = forms.DateField(label=_("Actual start"), required=False, widget=DateInput())
    actual_end = forms.DateField(label=_("Actual end"), required=False, widget=DateInput())
    outcome = forms.CharField(label=_("Outcome"), required=False, max_length=texts.NOTE,
                              widget=forms.Textarea(attrs=NOTES))

    def __init__(self, *args: Any, providers: QuerySet[SupportOrganisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _organisations(self.fields["provider"], providers)

    def data_object(self) -> ServiceData:
        return ServiceData(**self.cleaned_data)


class ReferralForm(Styled, forms.Form):
    organisation = forms.ModelChoiceField(label=_("Organisation"),
                                          queryset=SupportOrganisation.objects.none())
    service_kind = forms.ChoiceField(label=_("Service"), choices=_pick(ServiceKind.choices))
    referred_on = forms.DateField(label=_("Date of the referral"), widget=DateInput())
    details = forms.CharField(label=_("Details"), required=False, max_length=texts.NOTE,
                              widget=forms.Textarea(attrs=NOTES))
    override = forms.CharField(
        label=_("Why refer without the person's consent"), required=False, max_length=texts.NOTE,
        widget=forms.Textarea(attrs=NOTES),
        help_text=_("Only a supervisor, only where the person has not consented to referral. "
                    "Sealed and on the audit record."))

    def __init__(self, *args: Any, organisations: QuerySet[SupportOrganisation], supervisor: bool,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _organisations(self.fields["organisation"], organisations)
        if not supervisor:
            del self.fields["override"]

    def data_object(self) -> ReferralData:
        return ReferralData(**{"override": "", **self.cleaned_data})


class ReferralStatusForm(Styled, forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=[])

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["status"]).choices = choices


class OrganisationForm(Styled, forms.Form):
    office = forms.ModelChoiceField(label=_("Office directory"), queryset=Office.objects.none())
    name = forms.CharField(label=_("Name"), max_length=200)
    org_type = forms.ChoiceField(label=_("Type of organisation"), choices=_pick(OrganisationType.choices))
    country = forms.ChoiceField(label=_("Country"), choices=[])
    phone = forms.CharField(label=_("Phone"), required=False, max_length=32)
    email = forms.EmailField(label=_("Email"), required=False)
    address = forms.CharField(label=_("Address"), required=False, max_length=300)
    is_active = forms.BooleanField(label=_("Active: offered for new services and referrals"),
                                   required=False, initial=True)

    def __init__(self, *args: Any, offices: QuerySet[Office] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cached_choices(self.fields["country"], _pick(country_choices()))
        if offices is None:  # editing: the organisation stays in its office's directory
            del self.fields["office"]
        else:
            field = cast("forms.ModelChoiceField[Office]", self.fields["office"])
            field.queryset = offices
            if len(offices) == 1:
                field.initial = offices[0]

    def data_object(self) -> OrganisationData:
        data = dict(self.cleaned_data)
        data.pop("office", None)
        return OrganisationData(**data)
