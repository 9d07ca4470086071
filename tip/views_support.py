"""The pages of a trafficking case's support (risk, plan, services, referrals) and of the
office's directory of organisations. Views parse, check, call tip.support and render."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import access, events, selectors
from cases.http import AuthedRequest
from cases.models import Case, Role
from cases.steps import add_service_errors, role_required
from tip import forms_support as f
from tip import selectors as tip_selectors
from tip import support
from tip.models import SupportService
from tip.views import _tip_case

directory_staff_required = role_required(
    *access.CASE_ROLES, Role.OFFICE_ADMIN,
    message=gettext_lazy("Only the staff of an office use its directory of organisations."))
directory_managers_required = role_required(
    *support.MANAGERS, message=gettext_lazy("Only supervisors and office administrators manage the "
                                            "directory of organisations."))


def _case_page(request: AuthedRequest, case_id: uuid.UUID, *, action: str,
               make_form: Callable[[Case], forms.Form], save: Callable[[Case, forms.Form], Any],
               done: str, title: Promise | str, intro: Promise | str = "") -> HttpResponse:
    """A page that adds to or changes the support of an open case, for who may change it."""
    post = request.method == "POST"
    case = _tip_case(request, case_id, action if post else "case.view")
    if not access.can_edit_case(request.user, case) or case.principal.erased_at:
        if post:  # a refused change stays on the record
            events.emit(action, actor=request.user, obj=case, outcome="denied")
        raise PermissionDenied(_("You cannot change this case."))
    if case.closed_at:
        messages.warning(request, _("The case is closed."))
        return redirect("case_detail", case_id=case.pk)
    form = make_form(case)
    status = 200
    if post:
        status = 400
        if form.is_valid():
            try:
                save(case, form)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, done)
                return redirect(reverse("case_detail", kwargs={"case_id": case.pk}) + "#support")
    # The form may show the record's sealed texts: every showing is a recorded view.
    events.emit("case.view", actor=request.user, obj=case, page="support_form")
    return render(request, "tip/support_form.html",
                  {"case": case, "form": form, "title": title, "intro": intro}, status=status)


def _data(request: AuthedRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _providers(case: Case) -> Any:
    return tip_selectors.directory({case.office_id}, active_only=True)


@login_required
def risk_assess(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    return _case_page(
        request, case_id, action="tip.risk.assess",
        make_form=lambda case: f.RiskForm(_data(request), initial={"assessed_on": timezone.localdate()}),
        save=lambda case, form: support.assess_risk(by=request.user, case=case,
                                                    data=form.data_object()),  # type: ignore[attr-defined]
        done=_("Risk assessment recorded."), title=gettext_lazy("Assess the risk"),
        intro=gettext_lazy("A new assessment replaces the current one; earlier ones stay in the "
                           "case's history. The notes are sealed with the person's key."))


def _plan_form(request: AuthedRequest, case: Case) -> f.PlanForm:
    plan = tip_selectors.plan_of(case)
    initial = {"objectives": (plan.objectives or "") if plan else "",
               "review_on": plan.review_on if plan else None}
    return f.PlanForm(_data(request), initial=initial)


@login_required
def plan_edit(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    return _case_page(
        request, case_id, action="tip.plan.save", make_form=lambda case: _plan_form(request, case),
        save=lambda case, form: support.save_plan(by=request.user, case=case,
                                                  objectives=form.cleaned_data["objectives"],
                                                  review_on=form.cleaned_data["review_on"]),
        done=_("Support plan saved."), title=gettext_lazy("Support plan"),
        intro=gettext_lazy("The objectives are sealed with the person's key. A plan whose review "
                           "date has passed shows on the dashboards."))


@login_required
def service_add(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    return _case_page(
        request, case_id, action="tip.service.add",
        make_form=lambda case: f.ServiceForm(_data(request), providers=_providers(case)),
        save=lambda case, form: support.add_service(by=request.user, case=case,
                                                    data=form.data_object()),  # type: ignore[attr-defined]
        done=_("Service added to the support plan."), title=gettext_lazy("Add a service"),
        intro=gettext_lazy("A service still planned or in progress after its planned end shows "
                           "as overdue on the dashboards."))


def _service_form(request: AuthedRequest, case: Case, service: SupportService) -> f.ServiceForm:
    initial = {name: getattr(service, name) for name in (
        "kind", "provider", "planned_start", "planned_end", "actual_start", "actual_end", "status")}
    initial["outcome"] = service.outcome or ""
    # The current provider stays on offer even if it was made inactive since.
    providers = _providers(case) | tip_selectors.directory({case.office_id}).filter(
        pk__in=[service.provider_id] if service.provider_id else [])
    return f.ServiceForm(_data(request), providers=providers, initial=initial)


@login_required
def service_edit(request: AuthedRequest, case_id: uuid.UUID, service_id: uuid.UUID) -> HttpResponse:
    found: dict[str, SupportService] = {}

    def make(case: Case) -> f.ServiceForm:
        found["service"] = tip_selectors.service_of(case, service_id)
        return _service_form(request, case, found["service"])

    return _case_page(
        request, case_id, action="tip.service.update", make_form=make,
        save=lambda case, form: support.update_service(by=request.user, service=found["service"],
                                                       data=form.data_object()),  # type: ignore[attr-defined]
        done=_("Service updated."), title=gettext_lazy("Update a service"))


@login_required
def referral_add(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    def make(case: Case) -> f.ReferralForm:
        supervisor = Role.SUPERVISOR in access.roles_in(request.user, case.office_id)
        return f.ReferralForm(_data(request), organisations=_providers(case), supervisor=supervisor,
                              initial={"referred_on": timezone.localdate()})

    return _case_page(
        request, case_id, action="tip.referral.add", make_form=make,
        save=lambda case, form: support.refer(by=request.user, case=case,
                                              data=form.data_object()),  # type: ignore[attr-defined]
        done=_("Referral recorded."), title=gettext_lazy("Refer to an organisation"),
        intro=gettext_lazy("A referral needs the person's consent to referral, recorded on their "
                           "page. The details are sealed with the person's key."))


@login_required
def referral_edit(request: AuthedRequest, case_id: uuid.UUID, referral_id: uuid.UUID) -> HttpResponse:
    found: dict[str, Any] = {}

    def make(case: Case) -> f.ReferralStatusForm:
        referral = found["referral"] = tip_selectors.referral_of(case, referral_id)
        labels = dict(referral._meta.get_field("status").choices or [])
        choices = [(code, str(labels[code])) for code in support.REFERRAL_NEXT[referral.status]]
        return f.ReferralStatusForm(_data(request), choices=choices)

    return _case_page(
        request, case_id, action="tip.referral.update", make_form=make,
        save=lambda case, form: support.update_referral(by=request.user, referral=found["referral"],
                                                        status=form.cleaned_data["status"]),
        done=_("Referral updated."), title=gettext_lazy("Update a referral"))


# --- The directory of organisations ------------------------------------------------------------

def _directory_page(request: AuthedRequest, form: f.OrganisationForm | None,
                    status: int = 200) -> HttpResponse:
    user = request.user
    seen = access.offices_where(user, *access.CASE_ROLES, Role.OFFICE_ADMIN)
    managed = access.offices_where(user, *support.MANAGERS)
    return render(request, "tip/organisations.html", {
        "organisations": tip_selectors.directory(seen).order_by("office__code", "name"),
        "form": form, "managed": managed, "several_offices": len(seen) > 1,
    }, status=status)


@directory_staff_required
def organisations(request: AuthedRequest) -> HttpResponse:
    """The directory of the user's offices; who manages one adds to it here."""
    offices = selectors.user_offices(request.user, *support.MANAGERS).order_by("code")
    if request.method != "POST":
        return _directory_page(request, f.OrganisationForm(offices=offices) if offices else None)
    if not offices:
        raise PermissionDenied(_("Only supervisors and office administrators manage the directory "
                                 "of organisations."))
    form = f.OrganisationForm(request.POST, offices=offices)
    if form.is_valid():
        try:
            support.add_organisation(by=request.user, office=form.cleaned_data["office"],
                                     data=form.data_object())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Organisation added to the directory."))
            return redirect("tip:organisations")
    return _directory_page(request, form, status=400)


@directory_managers_required
def organisation_edit(request: AuthedRequest, organisation_id: uuid.UUID) -> HttpResponse:
    managed = access.offices_where(request.user, *support.MANAGERS)
    organisation = get_object_or_404(tip_selectors.directory(managed), pk=organisation_id)
    initial = {name: getattr(organisation, name) for name in (
        "name", "org_type", "phone", "email", "address", "is_active")}
    initial["country"] = organisation.country.code
    form = f.OrganisationForm(_data(request), offices=None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                support.update_organisation(by=request.user, organisation=organisation,
                                            data=form.data_object())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Organisation updated."))
                return redirect("tip:organisations")
    return render(request, "tip/organisation_form.html", {"organisation": organisation, "form": form},
                  status=status)

