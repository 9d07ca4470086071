"""Security key pages: add a key, answer the code page with a key, remove a key
(docs/architecture.md#security-keys-and-passkeys). Under /two-factor/keys/, which
TwoFactorRequiredMiddleware lets through like the other two-factor pages."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from cases import security_keys, two_factor
from cases.forms import RecordsInvalid, Styled
from cases.http import AuthedRequest
from cases.models import WebAuthnDevice
from cases.views_two_factor import PasswordField

JUST_NOW = 30  # seconds: an answer sent again this soon after one was accepted is a second click
MAX_CREDENTIAL = 16_000  # characters of the browser's answer: a key's is well under 2,000


class AddKeyForm(Styled, forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name of the key"), max_length=64,
        help_text=gettext_lazy("So that you can tell your keys apart, for example "
                               "“Blue key” or “Work laptop”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}))
    credential = forms.CharField(max_length=MAX_CREDENTIAL, widget=forms.HiddenInput,
                                 error_messages={"required": gettext_lazy(
                                     "Touch your security key when the browser asks for it.")})
    password = PasswordField()


class KeyAnswerForm(RecordsInvalid, forms.Form):
    credential = forms.CharField(max_length=MAX_CREDENTIAL)
    next = forms.CharField(required=False, max_length=2000)


@login_required
@require_http_methods(["GET", "POST"])
def add(request: AuthedRequest) -> HttpResponse:
    """Name a key and register it; with a factor already set up, after a recent code."""
    if two_factor.pending(request):
        return redirect("two_factor")
    if two_factor.has_factor(request.user) and not two_factor.recently_verified(request):
        return two_factor.to_verify(request, reverse("two_factor_key_add"))
    form = AddKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = security_keys.register(request, name=form.cleaned_data["name"],
                                         credential=form.cleaned_data["credential"],
                                         password=form.cleaned_data["password"])
        if outcome.ok:
            messages.success(request, _("The security key “%(name)s” is set up.")
                             % {"name": form.cleaned_data["name"]})
            return redirect("two_factor_manage")
        if outcome.reason == "wrong_password":
            form.add_error("password", _("That password is not right."))
        else:
            form.add_error(None, _("The security key could not be set up: the answer was late, "
                                   "already used or not from this site. Try again."))
    return render(request, "cases/two_factor_key_add.html", {
        "form": form, "options": security_keys.registration_options(request),
        **security_keys.host_hint(request),
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def verify(request: AuthedRequest) -> HttpResponse:
    """The answer of a key on the code page (at login or for a step-up)."""
    form = KeyAnswerForm(request.POST)
    step_up = two_factor.is_verified(request.user)
    if two_factor.recently_verified(request, seconds=JUST_NOW):
        return redirect(two_factor.safe_next(request))  # a second click: the first was accepted
    if not form.is_valid():
        messages.error(request, _("Touch your security key when the browser asks for it."))
        return _back(request)
    outcome = security_keys.authenticate(request, credential=form.cleaned_data["credential"],
                                    step_up=step_up)
    if outcome.ok:
        return redirect(two_factor.safe_next(request))
    if outcome.reason == "cloned":
        messages.error(request, _(
            "This security key was refused: its counter went back, which happens when a key "
            "has been copied. Use another key or a code, and tell your office administrator."))
    else:
        messages.error(request, _("That security key was not accepted: it may not be one of "
                                  "yours, or the page was open too long. Try again."))
    return _back(request)


def _back(request: AuthedRequest) -> HttpResponse:
    url = reverse("two_factor")
    next_url = request.POST.get("next", "")
    return redirect(f"{url}?{urlencode({'next': next_url})}" if next_url else url)


@login_required
@require_POST
def remove(request: AuthedRequest, key_id: int) -> HttpResponse:
    """Remove one of the user's own keys, after a recent code and with the password."""
    if two_factor.needs_step_up(request):
        return two_factor.to_verify(request, reverse("two_factor_manage"))
    if not WebAuthnDevice.objects.filter(user=request.user, pk=key_id).exists():
        raise Http404
    if not two_factor.password_ok(request, request.POST.get("password", ""), stage="key_remove"):
        messages.error(request, _("That password is not right: the key was not removed."))
        return redirect("two_factor_manage")
    device = security_keys.remove(request, pk=key_id)
    if device is None:
        raise Http404
    security_keys.remove_from_session(request, key_id=key_id)
    messages.success(request, _("The security key “%(name)s” is removed.")
                     % {"name": device.name})
    return redirect("two_factor_manage")
