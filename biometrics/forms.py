from __future__ import annotations

from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from biometrics.models import Consent, Finger, VerificationKind
from cases.forms import Styled


class CaptureForm(Styled, forms.Form):
    finger = forms.TypedChoiceField(label=_("Finger"), choices=Finger.choices, coerce=int)
    capture = forms.FileField(
        label=_("Fingerprint"),
        help_text=_("An image at 500 ppi (PNG, JPEG, BMP or TIFF) or the device's ISO/IEC 19794-2 template."))
    device = forms.CharField(label=_("Device"), required=False, max_length=100)
    consent = forms.BooleanField(
        label=_("The person was told why their fingerprints are taken and agreed."), required=True)


class PhotoForm(Styled, forms.Form):
    photo = forms.FileField(label=_("Face photo"), help_text=_("JPEG or PNG."))
    device = forms.CharField(label=_("Device"), required=False, max_length=100)
    consent = forms.BooleanField(
        label=_("The person was told why their photo is taken and agreed."), required=True)


class VerifyForm(Styled, forms.Form):
    kind = forms.ChoiceField(label=_("At"), choices=VerificationKind.choices)
    finger = forms.TypedChoiceField(label=_("Finger"), choices=(), coerce=int)
    capture = forms.FileField(label=_("Fresh capture"),
                              help_text=_("An image at 500 ppi (PNG, JPEG, BMP or TIFF)."))

    def __init__(self, *args: object, fingers: list[int], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.TypedChoiceField, self.fields["finger"])
        field.choices = [(f, Finger(f).label) for f in fingers]


# Rows of the search page: enough for a few fingers of one person (the command takes more).
SEARCH_ROWS = 4


class SearchFingerForm(Styled, forms.Form):
    """One finger of a search: its position and a fresh image. An untouched row is skipped;
    a row with only one of the two is an error."""

    finger = forms.TypedChoiceField(
        label=_("Finger"), choices=[("", "—"), *Finger.choices], coerce=int,
        error_messages={"required": _("Choose which finger this image is.")})
    image = forms.FileField(
        label=_("Fingerprint image"),
        help_text=_("An image at 500 ppi (PNG, JPEG, BMP or TIFF)."),
        error_messages={"required": _("Add the image of this finger, or leave the row empty.")})


class BaseSearchFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        if any(self.errors):
            return
        fingers = [f.cleaned_data["finger"] for f in self.forms if f.cleaned_data]
        if not fingers:
            raise ValidationError(_("Give at least one finger to search with."))
        twice = sorted({f for f in fingers if fingers.count(f) > 1})
        if twice:
            raise ValidationError(_("%(finger)s is given twice: one image per finger.") % {
                "finger": Finger(twice[0]).label})

    def images(self) -> dict[int, UploadedFile[bytes]]:
        """Finger position -> the uploaded file, of the filled rows (after is_valid)."""
        return {f.cleaned_data["finger"]: f.cleaned_data["image"] for f in self.forms
                if f.cleaned_data}


SearchFormSet = cast(type[BaseSearchFormSet], forms.formset_factory(
    SearchFingerForm, formset=BaseSearchFormSet, extra=SEARCH_ROWS, max_num=SEARCH_ROWS,
    absolute_max=SEARCH_ROWS, validate_max=True))


CONSENT_GIVEN = Consent.GIVEN
