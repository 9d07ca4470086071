"""Office administrators manage their office's staff: accounts and roles."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cases import selectors, services
from cases.forms import Styled
from cases.http import AuthedRequest
from cases.models import Office, Role, User
from cases.steps import add_service_errors, role_required


class StaffMemberForm(Styled, forms.Form):
    office = forms.ModelChoiceField(queryset=Office.objects.none(), label=gettext_lazy("Office"))
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=[])
    username = forms.CharField(
        label=gettext_lazy("User name"), max_length=150,
        help_text=gettext_lazy("An existing user name gives that person the role; a new one "
                               "creates the account."),
    )
    first_name = forms.CharField(label=gettext_lazy("Given names"), max_length=150, required=False)
    last_name = forms.CharField(label=gettext_lazy("Family names"), max_length=150, required=False)
    email = forms.EmailField(label=gettext_lazy("Email"), required=False)
    password = forms.CharField(
        label=gettext_lazy("First password"), required=False, widget=forms.PasswordInput,
        help_text=gettext_lazy("For a new account: at least 12 characters. Hand it over in "
                               "person; the staff member changes it after logging in."),
    )

    def __init__(self, *args: Any, offices: QuerySet[Office] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        office = cast("forms.ModelChoiceField[Office]", self.fields["office"])
        office.queryset = offices if offices is not None else Office.objects.none()
        cast(forms.ChoiceField, self.fields["role"]).choices = [
            (r, Role(r).label) for r in services.OFFICE_GRANTABLE_ROLES
        ]

    def clean(self) -> dict[str, Any]:
        data = cast("dict[str, Any]", super().clean())  # BaseForm.clean: cleaned_data
        username = data.get("username", "")
        self.existing = User.objects.filter(username__iexact=username).first() if username else None
        if username and self.existing is None:
            for name in ("first_name", "last_name", "password"):
                if not data.get(name):
                    self.add_error(name, _("Needed for a new account."))
            if data.get("password"):
                try:
                    validate_password(data["password"], User(username=username,
                                      first_name=data.get("first_name", ""),
                                      last_name=data.get("last_name", "")))
                except ValidationError as exc:
                    self.add_error("password", exc)
        return data


office_admin_required = role_required(
    Role.OFFICE_ADMIN, message=gettext_lazy("Only office administrators manage staff."))


@office_admin_required
def staff(request: AuthedRequest) -> HttpResponse:
    offices = selectors.user_offices(request.user, Role.OFFICE_ADMIN)
    form = StaffMemberForm(request.POST or None, offices=offices)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if form.existing is not None:
                services.grant_membership(by=request.user, user=form.existing, office=d["office"],
                                          role=d["role"])
                messages.success(request, _("Role given to %(user)s.") % {"user": form.existing})
            else:
                user = services.add_staff_member(
                    by=request.user, office=d["office"], role=d["role"], username=d["username"],
                    first_name=d["first_name"], last_name=d["last_name"], email=d["email"],
                    password=d["password"], preferred_language=request.LANGUAGE_CODE,
                )
                messages.success(request, _("Account %(user)s created.") % {"user": user.username})
            return redirect("staff")
        except ValidationError as exc:
            add_service_errors(form, exc)
    return render(request, "cases/staff.html", {
        "form": form, "memberships": selectors.administered_memberships(request.user),
    }, status=400 if form.errors else 200)


@login_required
@require_POST
@office_admin_required
def membership_revoke(request: AuthedRequest, membership_id: int) -> HttpResponse:
    membership = selectors.get_administered_membership(request.user, membership_id)
    try:
        services.revoke_membership(by=request.user, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Role removed."))
    return redirect("staff")
