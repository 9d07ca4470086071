"""What a system administrator configures for trafficking cases: each office's screening
questionnaire (the default indicators it leaves out). Audited and kept with history like the
rest of the configuration (cases/admin.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from cases.admin import ConfigurationAdmin
from tip import indicators
from tip.models import ScreeningQuestionnaire
from tip.vocab import Exploitation


def _group(group: str) -> Any:
    """The group's label, translated when shown (group_label translates at once)."""
    return _("General indicators") if group == indicators.GENERAL else dict(Exploitation.choices)[group]


class ScreeningQuestionnaireForm(forms.ModelForm):  # type: ignore[type-arg]
    omitted = forms.MultipleChoiceField(
        label=_("Indicators left out"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(i.code, format_lazy("{}: {}", _group(i.group), i.label)) for i in indicators.DEFAULT])

    class Meta:
        model = ScreeningQuestionnaire
        fields = ("office", "omitted")

    def clean_omitted(self) -> list[str]:
        omitted: list[str] = self.cleaned_data["omitted"]
        if len(set(omitted)) >= len(indicators.DEFAULT):
            raise forms.ValidationError(_("Keep at least one indicator."))
        return sorted(set(omitted))


@admin.register(ScreeningQuestionnaire)
class ScreeningQuestionnaireAdmin(ConfigurationAdmin):
    form = ScreeningQuestionnaireForm
    list_display = ("office", "left_out")

    @admin.display(description=_("Indicators left out"))
    def left_out(self, obj: Any) -> int:
        return len(obj.omitted or [])
