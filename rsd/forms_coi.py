"""The Country-of-Origin Information library's form (the checks live in rsd.services and
cases.uploads)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from cases import uploads
from cases.forms import CachedOptions, DateInput, Styled, cached_choices
from cases.models import Office
from cases.vocab import country_choices


class CoiSourceForm(Styled, forms.Form):
    office: forms.ModelChoiceField[Office] = forms.ModelChoiceField(queryset=Office.objects.none(),
                                                                    label=_("Office library"))
    title = forms.CharField(label=_("Title"), max_length=300)
    publisher = forms.CharField(label=_("Publisher"), max_length=200)
    published_on = forms.DateField(label=_("Date of publication"), widget=DateInput())
    country = forms.ChoiceField(label=_("Country it covers"), choices=[], required=False,
                                widget=CachedOptions("countries-or-none"))
    url = forms.URLField(label=_("Link"), required=False, max_length=200, assume_scheme="https",
                         help_text=_("A link to the report, or attach it below (or both)."))
    document = forms.FileField(label=_("Document (PDF)"), required=False)

    def __init__(self, *args: Any, offices: QuerySet[Office] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Office]", self.fields["office"])
        field.queryset = offices if offices is not None else Office.objects.none()
        if offices is not None and len(offices) == 1:
            field.initial = offices[0]
        cached_choices(self.fields["country"], [("", "—"), *country_choices()])
        self.fields["document"].widget.attrs["accept"] = "application/pdf,.pdf"

    def clean_document(self) -> UploadedFile[bytes] | None:
        upload = self.cleaned_data.get("document")
        if upload:  # early, before the bytes are read; the service checks the content
            uploads.check_size(upload.size, field=None)
        return upload

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns
        if not data.get("url") and not data.get("document") and not self.has_error("url") \
                and not self.has_error("document"):
            self.add_error("url", _("Give a link or attach the document."))
        return data
