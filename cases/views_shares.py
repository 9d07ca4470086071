"""The page that shares a case, or parts of it, with a staff member until a date
(cases/shares.py)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from cases import access, consent, events, selectors, shares
from cases.forms import Styled
from cases.http import AuthedRequest
from cases.models import Case, ConsentPurpose, Membership, Office, Role, User
from cases.steps import add_service_errors, audited_get, role_required

supervisor_required = role_required(
    Role.SUPERVISOR, message=gettext_lazy("Only supervisors share cases."))


class ShareForm(Styled, forms.Form):
    recipient = forms.ModelChoiceField(label=gettext_lazy("With"), queryset=Membership.objects.none(),
                                       required=False)
    office = forms.ModelChoiceField(
        label=gettext_lazy("Or with an office"), queryset=Office.objects.none(), required=False,
        help_text=gettext_lazy("Each of its caseworkers and supervisors, including those who join "
                               "it while the share lasts; who leaves the office loses it."))
    parts = forms.MultipleChoiceField(
        label=gettext_lazy("What they see besides who the person is"), required=False,
        choices=list(shares.PART_LABELS.items()), widget=forms.CheckboxSelectMultiple)
    until = forms.DateField(label=gettext_lazy("Until (last day)"),
                            widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))
    override = forms.CharField(
        label=gettext_lazy("Without the person's consent, because"), max_length=2000,
        required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Only when sharing with another office and the person has not "
                               "consented to sharing: a supervisor's written reason, recorded."))

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = shares.recipients(case)
        field = self.fields["recipient"]
        field.queryset = Membership.objects.filter(pk__in=[m.pk for m in choices])  # type: ignore[attr-defined]
        field.label_from_instance = lambda m: (  # type: ignore[attr-defined]
            f"{m.user.get_full_name() or m.user.username} · {m.office.code} · {m.get_role_display()}")
        self.fields["until"].initial = timezone.localdate() + datetime.timedelta(days=30)
        offices = self.fields["office"]
        offices.queryset = Office.objects.filter(is_active=True).order_by("name")  # type: ignore[attr-defined]
        offices.label_from_instance = lambda o: f"{o.name} · {o.code}"  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("recipient")) == bool(data.get("office")):
            raise ValidationError(_("Choose one staff member or one office."))
        return data


def _case(request: AuthedRequest, case_id: uuid.UUID, action: str) -> Case:
    case = audited_get(selectors.get_case, request, case_id, action=action, object_type="cases.case")
    if not access.can_assign(request.user, case):
        raise PermissionDenied(_("Only a supervisor of the case's office shares it."))
    return case


@require_http_methods(["GET", "POST"])
@supervisor_required
def case_share(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _case(request, case_id, "case.share_list")
    posted = request.method == "POST"
    form = ShareForm(request.POST if posted else None, case=case)
    if posted and form.is_valid():
        d = form.cleaned_data
        terms = {"by": request.user, "case": case, "parts": d["parts"], "until": d["until"],
                 "reason": d["reason"], "override": d["override"]}
        try:
            if d["office"]:
                made = shares.share_with_office(office=d["office"], **terms)
                name = _("%(office)s (%(n)d staff members)") % {
                    "office": d["office"].name, "n": made.grants.filter(
                        permission__codename="view_case").count()}
            else:
                shares.share(user=d["recipient"].user, **terms)
                name = d["recipient"].user.get_full_name() or d["recipient"].user.username
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The case is shared with %(name)s until %(day)s.") % {
                "name": name, "day": d["until"].isoformat()})
            return redirect("case_detail", case_id=case.pk)
    if not posted:
        events.emit("case.share_list", actor=request.user, obj=case)
    return render(request, "cases/case_share.html", {
        "case": case, "form": form, "shares": shares.current(case),
        "office_shares": shares.office_shares(case),
        "consented": consent.allows(case.principal, ConsentPurpose.SHARING),
        "max_days": shares.max_days()}, status=400 if posted else 200)


@require_POST
@supervisor_required
def case_unshare(request: AuthedRequest, case_id: uuid.UUID, share_user_id: int) -> HttpResponse:
    case = _case(request, case_id, "case.unshare")
    user = User.objects.filter(pk=share_user_id).first()
    if user is None or not shares.revoke(by=request.user, case=case, user=user):
        raise Http404("No such share.")
    messages.success(request, _("The share with %(name)s has ended.") % {
        "name": user.get_full_name() or user.username})
    return redirect("case_share", case_id=case.pk)


@require_POST
@supervisor_required
def case_office_unshare(request: AuthedRequest, case_id: uuid.UUID,
                        office_share_id: uuid.UUID) -> HttpResponse:
    case = _case(request, case_id, "case.office_unshare")
    ended = shares.revoke_office(by=request.user, case=case, office_share_id=office_share_id)
    if ended is None:
        raise Http404("No such share.")
    messages.success(request, _("The share with %(name)s has ended.") % {"name": ended.office.name})
    return redirect("case_share", case_id=case.pk)
