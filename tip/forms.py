"""The forms of the trafficking procedure. They parse; the services decide."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from cases import texts
from cases.forms import DateInput, Styled, cached_choices
from cases.steps import StepForm
from cases.views_consent import LANGUAGES
from cases.vocab import country_choices
from tip import ctdc, indicators
from tip.registration import ScreenData
from tip.services import PROFILE_FIELDS, EventData, IdentificationData, PerpetratorData, ProfileData
from tip.vocab import (
    DecidingBodyType,
    EventType,
    Exploitation,
    Industry,
    MeansOfControl,
    MigrationStatus,
    PerpetratorRole,
    RecruitmentMethod,
    RelationToRecruiter,
    SexualExploitation,
    TraffickingStatus,
    WebsiteOrApp,
)

TEXT = {"rows": 3}
LONG_TEXT = {"rows": 8}


def _checkboxes() -> forms.CheckboxSelectMultiple:
    return forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})


def _pick(choices: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    return [("", "—"), *choices]


class ProfileFields(forms.Form):
    age_when_trafficked = forms.IntegerField(label=_("Age when trafficked"), required=False,
                                             min_value=0, max_value=120)
    migration_status = forms.ChoiceField(label=_("Migration or protection status"), required=False,
                                         choices=_pick(MigrationStatus.choices))
    relation_to_recruiter = forms.ChoiceField(label=_("Relation to the recruiter"), required=False,
                                              choices=_pick(RelationToRecruiter.choices))
    recruitment_methods = forms.MultipleChoiceField(label=_("Methods of recruitment"), required=False,
                                                    choices=RecruitmentMethod.choices,
                                                    widget=_checkboxes())
    exploitation_types = forms.MultipleChoiceField(label=_("Types of exploitation"), required=False,
                                                   choices=Exploitation.choices, widget=_checkboxes())
    forced_labour_industry = forms.ChoiceField(label=_("Forced-labour industry"), required=False,
                                               choices=_pick(Industry.choices))
    sexual_exploitation_types = forms.MultipleChoiceField(
        label=_("Types of sexual exploitation"), required=False, choices=SexualExploitation.choices,
        widget=_checkboxes())
    means_of_control = forms.MultipleChoiceField(label=_("Means of control"), required=False,
                                                 choices=MeansOfControl.choices, widget=_checkboxes())
    recruitment_websites = forms.MultipleChoiceField(
        label=_("Recruitment websites or apps"), required=False, choices=WebsiteOrApp.choices,
        widget=_checkboxes())
    exploitation_websites = forms.MultipleChoiceField(
        label=_("Exploitation websites or apps"), required=False, choices=WebsiteOrApp.choices,
        widget=_checkboxes())
    narrative = forms.CharField(label=_("What happened, in the person's words"), required=False,
                                max_length=texts.LONG, widget=forms.Textarea(attrs=LONG_TEXT))

    def data_object(self) -> ProfileData:
        d = self.cleaned_data
        return ProfileData(**{name: d[name] for name in PROFILE_FIELDS})


class ProfileStepForm(StepForm, ProfileFields):
    pass


class ProfileEditForm(Styled, ProfileFields):
    reason = forms.CharField(label=_("Why it changes"), max_length=texts.SHORT)


class ScreeningForm(StepForm):
    screened_on = forms.DateField(label=_("Date of screening"), widget=DateInput())
    notes = forms.CharField(label=_("Screening notes"), required=False, max_length=texts.NOTE,
                            widget=forms.Textarea(attrs=TEXT))

    def __init__(self, *args: Any, asked: tuple[indicators.Indicator, ...] = indicators.DEFAULT,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One group of checkboxes per type of exploitation, general indicators first.
        self.groups: list[tuple[str, str]] = []
        for group, items in indicators.groups(asked):
            name = f"indicators_{group}"
            self.fields[name] = forms.MultipleChoiceField(
                label=indicators.group_label(group), required=False,
                choices=[(i.code, i.label) for i in items], widget=_checkboxes())
            self.groups.append((name, indicators.group_label(group)))

    def present(self) -> set[str]:
        return {code for name, _label in self.groups for code in self.cleaned_data.get(name, [])}


class IdentificationForm(StepForm):
    status = forms.ChoiceField(label=_("Decision"), choices=_pick(TraffickingStatus.choices))
    decided_on = forms.DateField(label=_("Date of the decision"), widget=DateInput())
    body_type = forms.ChoiceField(label=_("Type of deciding body"), required=False,
                                  choices=_pick(DecidingBodyType.choices))
    reasons = forms.CharField(label=_("Reasons"), max_length=texts.LONG,
                              widget=forms.Textarea(attrs=LONG_TEXT))

    def data_object(self) -> IdentificationData:
        d = self.cleaned_data
        return IdentificationData(status=d["status"], decided_on=d["decided_on"], reasons=d["reasons"],
                                  body_type=d["body_type"])


class PlainStepForm(StepForm):
    ground = forms.ChoiceField(label=_("Reason for closure"), choices=[])
    reason = forms.CharField(label=_("Reasons"), widget=forms.Textarea(attrs=TEXT), max_length=texts.NOTE)

    def __init__(self, *args: Any, grounds: list[tuple[str, Any]] | None = None,
                 reason_required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if grounds:
            cast(forms.ChoiceField, self.fields["ground"]).choices = _pick(grounds)
        else:
            del self.fields["ground"]
        self.fields["reason"].required = reason_required


class EventForm(Styled, forms.Form):
    kind = forms.ChoiceField(label=_("Type of event"), choices=_pick(EventType.choices))
    country = forms.ChoiceField(label=_("Country"), choices=[])
    place = forms.CharField(label=_("Place"), required=False, max_length=texts.SHORT)
    started_on = forms.DateField(label=_("Date (or start of the period)"), required=False,
                                 widget=DateInput())
    ended_on = forms.DateField(label=_("End of the period"), required=False, widget=DateInput())
    description = forms.CharField(label=_("Description"), required=False, max_length=texts.NOTE,
                                  widget=forms.Textarea(attrs=TEXT))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cached_choices(self.fields["country"], _pick(country_choices()))

    def data_object(self) -> EventData:
        return EventData(**self.cleaned_data)


class PerpetratorForm(Styled, forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=_pick(PerpetratorRole.choices))
    name = forms.CharField(label=_("Name or alias"), required=False, max_length=texts.SHORT)
    relation_to_victim = forms.ChoiceField(label=_("Relation to the victim"), required=False,
                                           choices=_pick(RelationToRecruiter.choices))
    description = forms.CharField(label=_("Description"), required=False, max_length=texts.NOTE,
                                  widget=forms.Textarea(attrs=TEXT))

    def data_object(self) -> PerpetratorData:
        return PerpetratorData(**self.cleaned_data)


class CtdcExportForm(Styled, forms.Form):
    k = forms.IntegerField(
        label=_("k: the fewest records any combination may hold"), initial=ctdc.DEFAULT_K,
        min_value=2, max_value=1000,
        help_text=_("Combinations of gender, age band, citizenship and country of exploitation "
                    "held by fewer records are generalised, or left out. CTDC publishes with 11."))


class RegistrationScreenForm(Styled, forms.Form):
    """The trafficking risk screen at asylum registration (tip.registration)."""

    present = forms.MultipleChoiceField(
        label=_("What the person says (tick each that applies)"), required=False,
        choices=[(i.code, i.label) for i in indicators.REGISTRATION], widget=_checkboxes())
    screened_on = forms.DateField(label=_("Date of the screen"), widget=DateInput())
    consent = forms.ChoiceField(
        label=_("Consent to referral to the anti-trafficking office"), required=False,
        choices=[("", _("Not asked now")), ("yes", _("Gives consent")),
                 ("no", _("Refuses or withdraws"))])
    language = forms.ChoiceField(label=_("Explained in"), required=False,
                                 choices=[("", "—"), *LANGUAGES])
    refer = forms.BooleanField(label=_("Refer the person to the anti-trafficking office"),
                               required=False)

    def data_object(self) -> ScreenData:
        d = self.cleaned_data
        return ScreenData(present=set(d["present"]), screened_on=d["screened_on"], refer=d["refer"],
                          consent=d["consent"], language=d["language"])
