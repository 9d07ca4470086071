"""Office administrators manage their office's staff: accounts and roles."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from cases import lockout, passwords, selectors, services, sessions, two_factor
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
    # Set by the confirmation step when the user name belongs to an existing account.
    confirm_existing = forms.BooleanField(required=False, widget=forms.HiddenInput)

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
            for name in ("first_name", "last_name"):
                if not data.get(name):
                    self.add_error(name, _("Needed for a new account."))
        return data


office_admin_required = role_required(
    Role.OFFICE_ADMIN, message=gettext_lazy("Only office administrators manage staff."))


@office_admin_required
def staff(request: AuthedRequest) -> HttpResponse:
    offices = selectors.user_offices(request.user, Role.OFFICE_ADMIN)
    if request.method == "POST" and (step_up := two_factor.step_up(request)) is not None:
        return step_up  # giving a role needs a recent code, as every change to an account
    form = StaffMemberForm(request.POST or None, offices=offices)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        existing = form.existing
        if existing is not None and not d["confirm_existing"]:
            # An existing account: say whose it is and where it works before giving it a role.
            return render(request, "cases/staff_confirm.html", {
                "form": form, "existing": existing,
                "their_memberships": existing.memberships.select_related("office")
                .order_by("office__code", "role"),
                "office": d["office"], "role": Role(d["role"]).label,
            })
        try:
            if form.existing is not None:
                services.grant_membership(by=request.user, user=form.existing, office=d["office"],
                                          role=d["role"])
                messages.success(request, _("Role given to %(user)s.") % {"user": form.existing})
            else:
                user, password = services.add_staff_member(
                    by=request.user, office=d["office"], role=d["role"], username=d["username"],
                    first_name=d["first_name"], last_name=d["last_name"], email=d["email"],
                    preferred_language=request.LANGUAGE_CODE,
                )
                return _show_password(request, user, password, _("Account %(user)s created.")
                                      % {"user": user.username})
            return redirect("staff")
        except ValidationError as exc:
            add_service_errors(form, exc)
    return render(request, "cases/staff.html", {
        "form": form, "memberships": selectors.administered_memberships(request.user),
    }, status=400 if form.errors else 200)


@office_admin_required
def membership_revoke(request: AuthedRequest, membership_id: int) -> HttpResponse:
    """GET asks for confirmation; POST removes the role."""
    membership = selectors.get_administered_membership(request.user, membership_id)
    if request.method == "POST" and (step_up := two_factor.step_up(request)) is not None:
        return step_up
    if request.method != "POST":
        return render(request, "cases/membership_revoke.html", {"membership": membership})
    try:
        services.revoke_membership(by=request.user, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Role removed."))
    return redirect("staff")


def _show_password(request: AuthedRequest, member: User, password: str, done: str) -> HttpResponse:
    """The generated password, on this answer only: never in a message (a cookie), a redirect
    or a log; the page is not cached (cases.middleware.KeyScopeMiddleware)."""
    return render(request, "cases/staff_password.html", {
        "member": member, "password": password, "done": done,
        "expires": passwords.temporary_expires(member.temporary_password_set_at),
    })


class DeactivateForm(Styled, forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)


@office_admin_required
def staff_account(request: AuthedRequest, user_id: int) -> HttpResponse:
    """An account: its roles here, a temporary password, deactivation and reactivation,
    lifting a login lock, a reset of its two-factor authentication, ending its sessions; each
    change after a recent code of one's own."""
    member = selectors.get_administered_user(request.user, user_id)
    if request.method == "POST" and (step_up := two_factor.step_up(request)) is not None:
        return step_up  # every change to an account needs a recent code
    action = request.POST.get("action", "")
    deactivate_form = DeactivateForm(request.POST if action == "deactivate" else None)
    if request.method == "POST":
        form: forms.BaseForm | None = {"deactivate": deactivate_form}.get(action)
        try:
            if action == "unlock":
                if services.unlock_login(by=request.user, user=member):
                    messages.success(request, _("The login lock of %(user)s was lifted.")
                                     % {"user": member})
                return redirect("staff_account", member.pk)
            if action == "reactivate":
                services.set_staff_active(by=request.user, user=member, active=True)
                messages.success(request, _("%(user)s can log in again.") % {"user": member})
                return redirect("staff_account", member.pk)
            if action == "end_sessions":
                ended = services.end_staff_sessions(by=request.user, user=member)
                messages.success(request, ngettext(
                    "%(n)s session of %(user)s was ended.", "%(n)s sessions of %(user)s were ended.",
                    ended) % {"n": ended, "user": member})
                return redirect("staff_account", member.pk)
            if action == "reset_two_factor":
                password = services.reset_two_factor(
                    by=request.user, user=member,
                    identity_check=request.POST.get("identity_check", ""))
                if password is not None:
                    member.refresh_from_db()
                    return _show_password(request, member, password, _(
                        "Two-factor authentication of %(user)s was reset and their sessions "
                        "ended: with this temporary password they choose a password of their "
                        "own and set up an app again.") % {"user": member})
                messages.info(request, _("%(user)s has no two-factor authentication to reset.")
                              % {"user": member})
                return redirect("staff_account", member.pk)
            if action == "password":
                password = services.reset_staff_password(by=request.user, user=member)
                member.refresh_from_db()
                return _show_password(request, member, password, _(
                    "Temporary password set for %(user)s; their sessions ended.")
                    % {"user": member})
            if form is not None and form.is_valid():
                services.set_staff_active(by=request.user, user=member, active=False,
                                          reason=form.cleaned_data["reason"])
                messages.success(request, _("%(user)s can no longer log in.") % {"user": member})
                return redirect("staff_account", member.pk)
        except ValidationError as exc:
            if form is None:
                messages.error(request, " ".join(exc.messages))
            else:
                add_service_errors(form, exc)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
    status = 400 if deactivate_form.errors else 200
    return render(request, "cases/staff_account.html", {
        "member": member, "deactivate_form": deactivate_form,
        "temporary_expires": passwords.temporary_expires(member.temporary_password_set_at),
        "temporary_expired": passwords.temporary_expired(member),
        "temporary_hours": settings.AMPARO_TEMPORARY_PASSWORD_HOURS,
        "identity_checks": services.IDENTITY_CHECKS.items(),
        "memberships": member.memberships.select_related("office").order_by("office__code", "role"),
        "locks": lockout.locks_of(member.get_username()),
        "two_factor_device": two_factor.app_device(member),
        "open_sessions": member.sessions.filter(sessions.live()).count(),
    }, status=status)
