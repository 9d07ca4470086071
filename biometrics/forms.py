from __future__ import annotations

from typing import cast

from django import forms
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


CONSENT_GIVEN = Consent.GIVEN
