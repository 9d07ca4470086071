"""Two-factor authentication pages: set up an app, enter a code, the account's security
(docs/architecture.md#two-factor-authentication)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from cases import security_keys, two_factor
from cases.forms import Styled
from cases.http import AuthedRequest

FEW_BACKUP_CODES = 3
JUST_NOW = 30  # seconds: a code sent again this soon after one was accepted is a second click


class CodeForm(Styled, forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"), max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                      "spellcheck": "false", "autocapitalize": "off"}))

    def refuse(self, checked: two_factor.Checked) -> None:
        if checked.wait_seconds:
            self.add_error("code", _("Too many wrong codes. Try again in %(seconds)s seconds.")
                           % {"seconds": checked.wait_seconds})
        else:
            self.add_error("code", _("That code is not right. Check it and try again."))


class PasswordField(forms.CharField):
    """The account's current password, asked again before a factor changes (ASVS V7.5.1)."""

    def __init__(self) -> None:
        super().__init__(label=gettext_lazy("Your password"), max_length=4096, strip=False,
                         widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class ChangeFactorForm(CodeForm):
    """A code, and the password: a change to what authenticates the account."""

    password = PasswordField()

    def refuse(self, checked: two_factor.Checked) -> None:
        if checked.wrong_password:
            self.add_error("password", _("That password is not right."))
        else:
            super().refuse(checked)


def _with_next(request: AuthedRequest, name: str) -> str:
    url = reverse(name)
    next_url = request.GET.get("next", "")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


@login_required
@require_GET
def start(request: AuthedRequest) -> HttpResponse:
    """Enter a code (or use a key) when an app or a key is set up; otherwise set an app up."""
    if two_factor.has_factor(request.user):
        return redirect(_with_next(request, "two_factor_verify"))
    # No app (none yet, or an administrator reset it): nothing to ask for until one is set up.
    request.session[two_factor.HAS_DEVICE] = False
    return redirect(_with_next(request, "two_factor_enrol"))


@login_required
@require_http_methods(["GET", "POST"])
def enrol(request: AuthedRequest) -> HttpResponse:
    user = request.user
    # Replacing an app, or adding one beside a security key, asks for a code (or the key) first.
    if two_factor.has_factor(user) and not two_factor.recently_verified(request):
        return two_factor.to_verify(request, reverse("two_factor_enrol"))
    form = ChangeFactorForm(request.POST or None)
    form.fields["code"].widget.attrs["inputmode"] = "numeric"
    if request.method == "POST" and not two_factor.has_pending_device(user) and two_factor.app_device(user):
        # A second click on "Confirm": the first one set the app up and showed the codes.
        messages.info(request, _("Your authenticator app is set up already. If you did not see "
                                 "your backup codes, make new ones here."))
        return redirect("two_factor_manage")
    if request.method == "POST" and form.is_valid():
        checked, codes = two_factor.confirm_enrolment(request, form.cleaned_data["code"],
                                                      form.cleaned_data["password"])
        if checked.ok:
            return _backup_codes_page(request, codes, first=True)
        form.refuse(checked)
    device = two_factor.pending_device(user)
    return render(request, "cases/two_factor_enrol.html", {
        "form": form, "secret": two_factor.secret_groups(device),
        "qr": two_factor.qr_svg(device, _("QR code for your authenticator app")),
        "replacing": two_factor.app_device(user) is not None,
    }, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def verify(request: AuthedRequest) -> HttpResponse:
    if not two_factor.has_factor(request.user):
        return redirect(_with_next(request, "two_factor"))
    form = CodeForm(request.POST or None)
    step_up = two_factor.is_verified(request.user)
    if request.method == "POST" and two_factor.recently_verified(request, seconds=JUST_NOW):
        return redirect(two_factor.safe_next(request))  # a second click: the first was accepted
    if request.method == "POST" and form.is_valid():
        checked = two_factor.verify(request, form.cleaned_data["code"], step_up=step_up)
        if checked.ok:
            if checked.method == two_factor.BACKUP:
                left = two_factor.backup_codes_left(request.user)
                if left <= FEW_BACKUP_CODES:
                    messages.warning(request, _(
                        "You have %(left)s backup codes left. Make new ones on the account "
                        "security page.") % {"left": left})
            return redirect(two_factor.safe_next(request))
        form.refuse(checked)
    return render(request, "cases/two_factor_verify.html", {
        "form": form, "step_up": step_up, "has_app": two_factor.app_device(request.user) is not None,
        "key_options": security_keys.authentication_options(request),
        **security_keys.host_hint(request), "next": request.GET.get("next", ""),
    }, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def manage(request: AuthedRequest) -> HttpResponse:
    """The account's security: the app, backup codes left, new backup codes, security keys."""
    user = request.user
    if two_factor.pending(request):
        return redirect("two_factor")
    device = two_factor.app_device(user)
    form = ChangeFactorForm(request.POST if request.method == "POST" and device is not None else None)
    form.fields["code"].widget.attrs["inputmode"] = "numeric"
    form.fields["code"].widget.attrs.pop("autofocus", None)
    if form.is_bound and form.is_valid():
        checked, codes = two_factor.regenerate_backup_codes(request, form.cleaned_data["code"],
                                                            form.cleaned_data["password"])
        if checked.ok:
            return _backup_codes_page(request, codes, first=False)
        form.refuse(checked)
    elif request.method == "POST" and device is None:
        messages.error(request, _("Set up an authenticator app first."))
    return render(request, "cases/two_factor_manage.html", {
        "device": device, "form": form, "required": two_factor.required(user),
        "backup_codes_left": two_factor.backup_codes_left(user) if device else 0,
        "keys": security_keys.keys(user), **security_keys.host_hint(request),
    }, status=400 if form.errors else 200)


def _backup_codes_page(request: AuthedRequest, codes: list[str], *, first: bool) -> HttpResponse:
    """Shown once, in the response to the form: never stored anywhere readable again."""
    ctx: dict[str, Any] = {"codes": codes, "first": first,
                           "next": two_factor.safe_next(request) if first else reverse("two_factor_manage")}
    return render(request, "cases/two_factor_backup_codes.html", ctx)
