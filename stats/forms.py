"""The filters of the statistics screen and its downloads."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.forms import RecordsInvalid
from cases.models import Office, Sex
from cases.vocab import country_choices, country_name
from stats import breakdown, suppression
from stats.consistency import Query
from stats.indicators import AGE_BANDS, BY_KEY, PART_LABELS, Filters, Indicator, Period

FIRST_YEAR = 2015


class FilterForm(RecordsInvalid, forms.Form):
    year = forms.TypedChoiceField(label=_("Year"), coerce=int)
    part = forms.ChoiceField(label=_("Period"), required=False,
                             choices=list(PART_LABELS.items()))
    office = forms.ModelChoiceField(label=_("Office"), queryset=Office.objects.none(),
                                    required=False, empty_label=_("All my offices"))
    country = forms.ChoiceField(label=_("Country of the office"), required=False)
    nationality = forms.ChoiceField(label=_("Nationality"), required=False)
    sex = forms.ChoiceField(label=_("Sex"), required=False,
                            choices=[("", _("All")), *Sex.choices])
    age_band = forms.ChoiceField(label=_("Age band"), required=False,
                                 choices=[("", _("All")), *((b, b) for b in AGE_BANDS)])
    threshold = forms.IntegerField(
        label=_("Hide counts below"), required=False, min_value=1, max_value=100,
        help_text=_("Counts above zero and below this number are not shown; it cannot be lower "
                    "than the installation's threshold."))

    def __init__(self, data: Any, *, offices: QuerySet[Office]) -> None:
        super().__init__(data)
        self.offices = offices
        this_year = timezone.localdate().year
        year_field: Any = self.fields["year"]
        year_field.choices = [(y, str(y)) for y in range(this_year, FIRST_YEAR - 1, -1)]
        office_field: Any = self.fields["office"]
        office_field.queryset = offices.order_by("code")
        country: Any = self.fields["country"]
        codes = {o.country.code for o in offices}
        country.choices = [("", _("All")), *((c, country_name(c)) for c in
                                             sorted(codes, key=country_name))]
        nationality: Any = self.fields["nationality"]
        nationality.choices = [("", _("All")), *country_choices()]
        self.fields["threshold"].initial = suppression.default_threshold()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        office, country = data.get("office"), data.get("country")
        if office is not None and country and office.country.code != country:
            self.add_error("country", _("The office chosen is not in this country."))
        return data

    def chosen_offices(self) -> frozenset[int]:
        """The offices chosen by the office or the country filter (empty: all of them)."""
        d = self.cleaned_data
        if d.get("office"):
            return frozenset([d["office"].pk])
        if d.get("country"):
            return frozenset(o.pk for o in self.offices if o.country.code == d["country"])
        return frozenset()

    def chosen_threshold(self) -> int:
        chosen = self.cleaned_data.get("threshold") or 0
        return max(chosen, suppression.default_threshold())

    def filters(self) -> Filters:
        d = self.cleaned_data
        return Filters(allowed=frozenset(self.offices.values_list("pk", flat=True)),
                       period=Period(d["year"], d.get("part") or ""),
                       offices=self.chosen_offices(),
                       nationality=d.get("nationality") or "", sex=d.get("sex") or "",
                       age_band=d.get("age_band") or "")


class BreakdownForm(FilterForm):
    """The filters, the indicator and what to break it down by."""

    indicator = forms.ChoiceField(label=_("Indicator"))
    by = forms.ChoiceField(label=_("Break down by"), choices=list(breakdown.BY.items()))

    field_order = ["indicator", "by"]

    def __init__(self, data: Any, *, offices: QuerySet[Office]) -> None:
        super().__init__(data, offices=offices)
        indicator: Any = self.fields["indicator"]
        indicator.choices = [(i.key, i.title) for i in breakdown.breakable()]

    def chosen_indicator(self) -> Indicator:
        return BY_KEY[self.cleaned_data["indicator"]]


class ConsistencyForm(RecordsInvalid, forms.Form):
    year = forms.TypedChoiceField(label=_("Year"), coerce=int)
    part = forms.ChoiceField(label=_("Period"), required=False,
                             choices=list(PART_LABELS.items()))
    office = forms.ModelChoiceField(label=_("Office"), queryset=Office.objects.none(),
                                    empty_label=None)
    role = forms.ChoiceField(label=_("Compare"), choices=[
        ("officer", _("eligibility officers")), ("reviewer", _("reviewers"))])
    nationality = forms.ChoiceField(label=_("Nationality"), required=False)
    split = forms.BooleanField(label=_("One row per nationality"), required=False)

    def __init__(self, data: Any, *, offices: QuerySet[Office]) -> None:
        super().__init__(data)
        this_year = timezone.localdate().year
        year_field: Any = self.fields["year"]
        year_field.choices = [(y, str(y)) for y in range(this_year, FIRST_YEAR - 1, -1)]
        office_field: Any = self.fields["office"]
        office_field.queryset = offices.order_by("code")
        nationality: Any = self.fields["nationality"]
        nationality.choices = [("", _("All")), *country_choices()]

    def query(self) -> Query:
        d = self.cleaned_data
        return Query(office_id=d["office"].pk, period=Period(d["year"], d.get("part") or ""),
                     role=d["role"], nationality=d.get("nationality") or "",
                     split=bool(d.get("split")))


class UnhcrForm(RecordsInvalid, forms.Form):
    """The year and offices of UNHCR's annual tables (whole years only, like UNHCR's)."""

    year = forms.TypedChoiceField(label=_("Year"), coerce=int)
    office = forms.ModelChoiceField(label=_("Office"), queryset=Office.objects.none(),
                                    required=False, empty_label=_("All my offices"))
    threshold = forms.IntegerField(
        label=_("Hide counts below"), required=False, min_value=1, max_value=100,
        help_text=_("Counts above zero and below this number are not shown; it cannot be lower "
                    "than the installation's threshold."))

    def __init__(self, data: Any, *, offices: QuerySet[Office]) -> None:
        super().__init__(data)
        self.offices = offices
        this_year = timezone.localdate().year
        year_field: Any = self.fields["year"]
        year_field.choices = [(y, str(y)) for y in range(this_year, FIRST_YEAR - 1, -1)]
        office_field: Any = self.fields["office"]
        office_field.queryset = offices.order_by("code")
        self.fields["threshold"].initial = suppression.default_threshold()

    def chosen_threshold(self) -> int:
        chosen = self.cleaned_data.get("threshold") or 0
        return max(chosen, suppression.default_threshold())

    def chosen_offices(self) -> QuerySet[Office]:
        """The office chosen, or every office of the form's."""
        office = self.cleaned_data.get("office")
        return self.offices.filter(pk=office.pk) if office else self.offices
