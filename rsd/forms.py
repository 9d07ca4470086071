"""The forms of the asylum procedure's steps. They parse; the services decide."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from cases import intake, texts
from cases.forms import DateInput, Styled, add_intake_errors
from cases.intake import MAX_LENGTH, PersonData
from cases.models import Sex, SpecificNeed, User
from cases.steps import StepForm
from cases.vocab import language_choices
from rsd.models import (
    CartagenaGround,
    ClaimChannel,
    CoiSource,
    ConventionGround,
    InterviewerGender,
    LegalBasis,
    Modality,
    Outcome,
    Relationship,
)
from rsd.services import ApplicationData, AssessmentData, DecisionData

TEXT = {"rows": 3}
LONG_TEXT = {"rows": 8}
GROUND_CHOICES = [
    (_("1951 Convention"), ConventionGround.choices),
    (_("Cartagena Declaration"), CartagenaGround.choices),
]


def _checkboxes() -> forms.CheckboxSelectMultiple:
    return forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})


def _languages() -> list[tuple[str, str]]:
    return [("", "—"), *language_choices()]


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class ApplicationForm(StepForm):
    application_date = forms.DateField(label=_("Date of application"), widget=DateInput())
    arrival_date = forms.DateField(label=_("Date of arrival in the country"), required=False,
                                   widget=DateInput())
    place_of_entry = forms.CharField(label=_("Place of entry"), required=False, max_length=texts.PLACE)
    channel = forms.ChoiceField(label=_("How the claim was made"),
                                choices=[("", "—"), *ClaimChannel.choices])
    modality = forms.ChoiceField(label=_("Processing modality"), choices=Modality.choices,
                                 initial=Modality.REGULAR)
    claim_summary = forms.CharField(label=_("Claim summary"), widget=forms.Textarea(attrs=TEXT),
                                    max_length=texts.NOTE)
    narrative = forms.CharField(label=_("Narrative"), required=False, max_length=texts.LONG,
                                widget=forms.Textarea(attrs=LONG_TEXT),
                                help_text=_("The applicant's account, in their words as far as possible."))
    specific_needs = forms.MultipleChoiceField(label=_("Specific needs"), choices=SpecificNeed.choices,
                                               required=False, widget=_checkboxes())
    interpreter_language = forms.ChoiceField(label=_("Interpreter language"), required=False,
                                             choices=[])
    interviewer_gender = forms.ChoiceField(label=_("Preferred interviewer"),
                                           choices=InterviewerGender.choices,
                                           initial=InterviewerGender.ANY)
    late_justification = forms.CharField(label=_("Why the application was late"), required=False,
                                         widget=forms.Textarea(attrs=TEXT), max_length=texts.NOTE)

    def __init__(self, *args: Any, filing_note: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["interpreter_language"]).choices = _languages()
        if filing_note:
            self.fields["late_justification"].help_text = filing_note
        else:  # this procedure sets no filing limit: nothing can be late
            del self.fields["late_justification"]

    def data_object(self) -> ApplicationData:
        d = self.cleaned_data
        return ApplicationData(
            application_date=d["application_date"], channel=d["channel"],
            arrival_date=d.get("arrival_date"), place_of_entry=d.get("place_of_entry", ""),
            modality=d["modality"], claim_summary=d["claim_summary"], narrative=d.get("narrative", ""),
            specific_needs=d.get("specific_needs", []),
            interpreter_language=d.get("interpreter_language", ""),
            interviewer_gender=d["interviewer_gender"],
            late_justification=d.get("late_justification", ""),
        )


class ApplicationEditForm(ApplicationForm):
    """The recorded application, corrected or completed while the case is open. Its date is
    shown but fixed (the procedure's deadlines run from it); no step is taken, so no step number."""

    reason = forms.CharField(label=_("Reason for the change"), required=False,
                             widget=forms.Textarea(attrs=TEXT), max_length=texts.NOTE,
                             help_text=_("Optional. Kept with the application's history."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["expected_step"]
        date = self.fields["application_date"]
        date.disabled, date.required = True, False
        date.help_text = _("Fixed: the procedure's deadlines run from this date.")


class InterviewForm(StepForm):
    when = forms.DateTimeField(label=_("Date and time"), widget=DateTimeLocalInput())
    place = forms.CharField(label=_("Place"), max_length=texts.PLACE)
    interviewer: forms.ModelChoiceField[User] = forms.ModelChoiceField(label=_("Interviewer"), queryset=None)
    interpreter_language = forms.ChoiceField(label=_("Interpreter language"), required=False,
                                             choices=[])
    interpreter = forms.CharField(label=_("Interpreter's name"), required=False, max_length=200)

    def __init__(self, *args: Any, staff: QuerySet[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ModelChoiceField[User]", self.fields["interviewer"]).queryset = staff
        cast(forms.ChoiceField, self.fields["interpreter_language"]).choices = _languages()


class AttendanceForm(StepForm):
    transcript = forms.CharField(label=_("Transcript"), widget=forms.Textarea(attrs=LONG_TEXT),
                                 max_length=texts.TRANSCRIPT,
                                 help_text=_("The transcript, or a full summary of it."))
    notes = forms.CharField(label=_("Interviewer's notes"), required=False,
                            widget=forms.Textarea(attrs=TEXT), max_length=texts.NOTE)


class NoShowForm(StepForm):
    reason = forms.CharField(label=_("Remarks"), required=False, widget=forms.Textarea(attrs=TEXT),
                             max_length=texts.NOTE,
                             help_text=_("For example: what was tried to reach the applicant."))


class AssessmentForm(StepForm):
    version = forms.CharField(widget=forms.HiddenInput, required=False)
    # Optional here: a draft may be partial; the service says what a submission lacks.
    credibility = forms.CharField(label=_("Credibility findings"), required=False,
                                  widget=forms.Textarea(attrs=LONG_TEXT), max_length=texts.LONG)
    material_facts = forms.CharField(label=_("Material facts accepted"), required=False,
                                     widget=forms.Textarea(attrs=LONG_TEXT), max_length=texts.LONG)
    inclusion = forms.CharField(label=_("Inclusion analysis"), required=False,
                                widget=forms.Textarea(attrs=LONG_TEXT), max_length=texts.LONG)
    convention_grounds = forms.MultipleChoiceField(label=_("1951 Convention grounds"), required=False,
                                                   choices=ConventionGround.choices, widget=_checkboxes())
    cartagena_grounds = forms.MultipleChoiceField(label=_("Cartagena Declaration criteria"),
                                                  required=False, choices=CartagenaGround.choices,
                                                  widget=_checkboxes())
    exclusion = forms.CharField(label=_("Exclusion considerations"), required=False,
                                widget=forms.Textarea(attrs=TEXT), max_length=texts.LONG)
    exclusion_applies = forms.BooleanField(label=_("An exclusion clause applies"), required=False)
    coi_sources: forms.ModelMultipleChoiceField[CoiSource] = forms.ModelMultipleChoiceField(
        label=_("Country-of-origin information cited"), queryset=None, required=False, widget=_checkboxes())
    recommendation = forms.ChoiceField(label=_("Recommendation"), required=False,
                                       choices=[("", "—"), *Outcome.choices])

    def __init__(self, *args: Any, sources: QuerySet[CoiSource] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ModelMultipleChoiceField[CoiSource]", self.fields["coi_sources"]).queryset = sources

    def data_object(self) -> AssessmentData:
        d = self.cleaned_data
        return AssessmentData(
            credibility=d["credibility"], material_facts=d["material_facts"], inclusion=d["inclusion"],
            convention_grounds=d["convention_grounds"], cartagena_grounds=d["cartagena_grounds"],
            exclusion=d["exclusion"], exclusion_applies=d["exclusion_applies"],
            coi_source_ids=[s.pk for s in d["coi_sources"]], recommendation=d["recommendation"],
        )


class ReviewForm(StepForm):
    comments = forms.CharField(label=_("Comments"), widget=forms.Textarea(attrs=TEXT), max_length=texts.NOTE)

    def __init__(self, *args: Any, comments_required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["comments"].required = comments_required
        if comments_required:
            self.fields["comments"].help_text = _("What the author should change; they will see this.")


class DecisionForm(StepForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", "—"), *Outcome.choices])
    legal_basis = forms.ChoiceField(label=_("Legal basis"), choices=[("", "—"), *LegalBasis.choices])
    grounds = forms.MultipleChoiceField(label=_("Grounds"), required=False, choices=GROUND_CHOICES,
                                        widget=_checkboxes())
    reasons = forms.CharField(label=_("Reasons"), widget=forms.Textarea(attrs=LONG_TEXT),
                              max_length=texts.LONG)
    decided_on = forms.DateField(label=_("Date of the decision"), widget=DateInput())
    meeting_date = forms.DateField(label=_("Date of the Committee's meeting"), widget=DateInput())

    def __init__(self, *args: Any, fixed_outcome: str = "", meeting: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_outcome = fixed_outcome
        if not meeting:
            del self.fields["meeting_date"]
        if fixed_outcome:  # an appeal is allowed (recognition) or dismissed (rejection)
            del self.fields["outcome"]
            if fixed_outcome == Outcome.RECOGNIZED:
                cast(forms.ChoiceField, self.fields["legal_basis"]).choices = [
                    ("", "—"), *((k, v) for k, v in LegalBasis.choices
                                 if k in (LegalBasis.CONVENTION, LegalBasis.CARTAGENA))]
            else:
                del self.fields["legal_basis"]
                del self.fields["grounds"]

    def data_object(self) -> DecisionData:
        d = self.cleaned_data
        outcome = self.fixed_outcome or d["outcome"]
        return DecisionData(
            outcome=outcome,
            legal_basis=d.get("legal_basis") or LegalBasis.NONE,
            reasons=d["reasons"], decided_on=d["decided_on"], grounds=d.get("grounds", []),
            meeting_date=d.get("meeting_date"),
        )


class NotificationForm(StepForm):
    delivered_on = forms.DateField(label=_("Delivered on"), widget=DateInput())
    language = forms.ChoiceField(label=_("Language of the letter"),
                                 choices=[("en", _("English")), ("es", _("Spanish"))])


class AppealForm(StepForm):
    lodged_on = forms.DateField(label=_("Lodged on"), widget=DateInput())
    grounds = forms.CharField(label=_("Grounds of appeal"), widget=forms.Textarea(attrs=LONG_TEXT),
                              max_length=texts.LONG)
    late_justification = forms.CharField(label=_("Why the appeal is late"), required=False,
                                         widget=forms.Textarea(attrs=TEXT), max_length=texts.NOTE)

    def __init__(self, *args: Any, deadline_note: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["late_justification"].help_text = deadline_note


class PlainStepForm(StepForm):
    ground = forms.ChoiceField(label=_("Ground"), choices=[])
    reason = forms.CharField(label=_("Reasons"), widget=forms.Textarea(attrs=TEXT), max_length=texts.NOTE)

    def __init__(self, *args: Any, grounds: list[tuple[str, Any]] | None = None, reason_required: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if grounds:
            cast(forms.ChoiceField, self.fields["ground"]).choices = [("", "—"), *grounds]
        else:
            del self.fields["ground"]
        self.fields["reason"].required = reason_required


class FamilyMemberForm(Styled, forms.Form):
    given_names = forms.CharField(label=_("Given names"), max_length=MAX_LENGTH["given_names"])
    family_names = forms.CharField(label=_("Family names"), max_length=MAX_LENGTH["family_names"])
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices, initial=Sex.UNKNOWN)
    date_of_birth = forms.DateField(label=_("Date of birth"), required=False, widget=DateInput())
    relationship = forms.ChoiceField(label=_("Relationship to the applicant"),
                                     choices=[("", "—"), *Relationship.choices])
    accompanying = forms.BooleanField(label=_("Accompanying the applicant"), required=False, initial=True)
    derivative = forms.BooleanField(label=_("Seeks derivative status"), required=False, initial=True)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns
        # The person rules are the services' (cases.intake), shown here next to their fields.
        try:
            self._person = intake.clean_person(PersonData(
                given_names=data.get("given_names", ""), family_names=data.get("family_names", ""),
                sex=data.get("sex") or Sex.UNKNOWN, date_of_birth=data.get("date_of_birth")))
        except ValidationError as exc:
            add_intake_errors(self, exc)
        return data

    def person_data(self) -> PersonData:
        return self._person
