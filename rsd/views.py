"""The asylum procedure's pages: the form of each step of the case's procedure, the family
members, the decision letter. Views parse, check, call the service and render."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cases import access, events, selectors, workflow
from cases.http import AuthedRequest, protect_file
from cases.models import Case, CaseKind
from cases.steps import add_service_errors, audited_get, step_view
from rsd import forms as rsd_forms
from rsd import selectors as rsd_selectors
from rsd import services
from rsd.models import Application
from rsd.steps import filing_note


def _asylum_case(request: HttpRequest, case_id: uuid.UUID, action: str) -> Case:
    case = audited_get(selectors.get_case, request, case_id, action=action, object_type="cases.case")
    if case.kind != CaseKind.ASYLUM:
        raise Http404("Not an asylum case.")
    return case


step = step_view(step_url="rsd:step", get_case=_asylum_case)


@login_required
def family_add(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    case = _asylum_case(request, case_id,
                        "rsd.family_member.add" if request.method == "POST" else "case.view")
    if not access.can_edit_case(request.user, case) or case.principal.erased_at:
        raise PermissionDenied(_("You cannot change this case."))
    form = rsd_forms.FamilyMemberForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.add_family_member(by=request.user, case=case, data=form.person_data(),
                                           relationship=d["relationship"], accompanying=d["accompanying"],
                                           derivative=d["derivative"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Family member added."))
                return redirect("case_detail", case_id=case.pk)
    return render(request, "rsd/family_form.html", {"case": case, "form": form}, status=status)


def _application_form(case: Case, application: Application | None,
                      data: Any = None) -> rsd_forms.ApplicationEditForm:
    """The application's own form, filled from what is recorded; its date is shown, not edited."""
    initial: dict[str, Any] = {}
    if application is not None:
        initial = {name: getattr(application, name) for name in services.APPLICATION_FIELDS}
        initial["application_date"] = application.application_date
        for name in ("claim_summary", "narrative", "late_justification"):
            initial[name] = initial[name] or ""
    return rsd_forms.ApplicationEditForm(data, filing_note=filing_note(workflow.for_case(case)),
                                         initial=initial)


@login_required
def application_edit(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    """Correct or complete the application while the case is open (GET: the form; POST: save)."""
    post = request.method == "POST"
    action = "rsd.application.update" if post else "case.view"
    case = _asylum_case(request, case_id, action)
    if not access.can_edit_case(request.user, case) or case.principal.erased_at:
        if post:  # a refused change stays on the record
            events.emit(action, actor=request.user, obj=case, outcome="denied")
        raise PermissionDenied(_("You cannot change this case."))
    application = rsd_selectors.application_of(case)
    if not post and (application is None or case.closed_at):
        messages.warning(request, _("The case is closed.") if case.closed_at
                         else _("The application has not been recorded yet."))
        return redirect("case_detail", case_id=case.pk)
    form = _application_form(case, application, request.POST if post else None)
    status = 200
    if post:
        status = 400
        if form.is_valid():
            try:
                services.update_application(by=request.user, case=case, data=form.data_object(),
                                            reason=form.cleaned_data["reason"])
            except PermissionDenied:
                events.emit(action, actor=request.user, obj=case, outcome="denied")
                raise
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Application updated."))
                return redirect("case_detail", case_id=case.pk)
    # The form shows the application's sealed texts: every showing is a recorded view.
    events.emit("case.view", actor=request.user, obj=case, page="application")
    return render(request, "rsd/application_form.html",
                  {"case": case, "application": application, "form": form}, status=status)


@login_required
@require_GET
def letter(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    """The letter of the decision that stands, as PDF (?lang=en or es; default: the applicant's)."""
    case = _asylum_case(request, case_id, "rsd.letter.print")
    try:
        pdf = services.decision_letter(by=request.user, case=case, language=request.GET.get("lang", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("case_detail", case_id=case.pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    # The reference only: names in a file name end up in download folders and logs.
    response["Content-Disposition"] = f'attachment; filename="{case.reference}.pdf"'
    protect_file(response)
    return response
