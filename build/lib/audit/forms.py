"""The auditor's search form: what to look for in the event log (by GET: no case content)."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from audit.models import Outcome
from cases import events
from cases.forms import DateInput, Styled
from cases.models import Office

FILTERS = ("subject", "actor", "office", "action", "outcome", "date_from", "date_to")


class EventSearchForm(Styled, forms.Form):
    subject = forms.CharField(
        label=_("Person id or case reference"), required=False, max_length=64,
        help_text=_("A person's id, or a case reference such as BZ-BMP-2025-000001."),
    )
    actor = forms.CharField(label=_("User name"), required=False, max_length=150)
    office = forms.ModelChoiceField(label=_("Office"), queryset=Office.objects.none(),
                                    required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False,
                                choices=[("", "---------"), *Outcome.choices])
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def __init__(self, *args: Any, offices: QuerySet[Office], actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ModelChoiceField[Office]", self.fields["office"]).queryset = offices
        cast(forms.ChoiceField, self.fields["action"]).choices = [
            ("", "---------"), *((a, events.action_label(a)) for a in actions)]

    def clean_subject(self) -> uuid.UUID | str:
        value: str = self.cleaned_data["subject"].strip()
        try:
            return uuid.UUID(value)  # a person id
        except ValueError:
            return value.upper()  # a case reference

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data is None:  # a parent's clean() that returns nothing keeps cleaned_data
            data = self.cleaned_data
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ValidationError(_("The period ends before it starts."))
        return data

    def used(self) -> list[str]:
        """Names of the filters given (never their values: those stay out of the log)."""
        return [name for name in FILTERS if self.cleaned_data.get(name)]
