"""Recording a person's consent from their page (cases/consent.py)."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cases import consent, selectors
from cases.forms import Styled
from cases.http import AuthedRequest
from cases.models import ConsentPurpose
from cases.steps import audited_get, case_staff_required

LANGUAGES = [("es", gettext_lazy("Spanish")), ("en", gettext_lazy("English")),
             ("fr", gettext_lazy("French")), ("ht", gettext_lazy("Haitian Creole")),
             ("pt", gettext_lazy("Portuguese"))]


class ConsentForm(Styled, forms.Form):
    purpose = forms.ChoiceField(label=gettext_lazy("Purpose"), choices=ConsentPurpose.choices)
    given = forms.TypedChoiceField(
        label=gettext_lazy("Answer"), coerce=lambda v: v == "yes", widget=forms.RadioSelect,
        choices=[("yes", gettext_lazy("Gives consent")), ("no", gettext_lazy("Refuses or withdraws"))])
    language = forms.ChoiceField(label=gettext_lazy("Explained in"), choices=LANGUAGES)


@require_POST
@case_staff_required
def consent_record(request: AuthedRequest, person_id: uuid.UUID) -> HttpResponse:
    person = audited_get(selectors.get_person, request, person_id, action="consent.record",
                         object_type="cases.person")
    form = ConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the purpose, the answer and the language."))
        return redirect("person_detail", person_id=person.pk)
    d = form.cleaned_data
    try:
        consent.record(by=request.user, person=person, purpose=d["purpose"], given=d["given"],
                       language=d["language"])
    except PermissionDenied:
        raise
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The answer was recorded."))
    return redirect("person_detail", person_id=person.pk)
