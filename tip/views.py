"""The trafficking procedure's pages: the form of each step, the victim profile, the events
and the perpetrators of a case. Views parse, check, call the service and render."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from cases import access, events, selectors
from cases.http import AuthedRequest
from cases.models import Case, CaseKind
from cases.steps import add_service_errors, audited_get, step_view
from tip import forms as tip_forms
from tip import selectors as tip_selectors
from tip import services


def _tip_case(request: HttpRequest, case_id: uuid.UUID, action: str) -> Case:
    case = audited_get(selectors.get_case, request, case_id, action=action, object_type="cases.case")
    if case.kind != CaseKind.TRAFFICKING:
        raise Http404("Not a trafficking case.")
    return case


step = step_view(step_url="tip:step", get_case=_tip_case)


def _change_page(request: AuthedRequest, case_id: uuid.UUID, *, action: str,
                 make_form: Callable[[Case], forms.Form | None], save: Callable[[Case, forms.Form], Any],
                 done: str, template: str) -> HttpResponse:
    """A page that adds to or corrects an open case: for who may change it. `make_form`
    answers None when there is nothing to change yet."""
    post = request.method == "POST"
    case = _tip_case(request, case_id, action if post else "case.view")
    if not access.can_edit_case(request.user, case) or case.principal.erased_at:
        if post:  # a refused change stays on the record
            events.emit(action, actor=request.user, obj=case, outcome="denied")
        raise PermissionDenied(_("You cannot change this case."))
    form = make_form(case)
    if case.closed_at or form is None:
        messages.warning(request, _("The case is closed.") if case.closed_at
                         else _("The victim profile has not been recorded yet."))
        return redirect("case_detail", case_id=case.pk)
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
                return redirect("case_detail", case_id=case.pk)
    # The form may show the record's sealed texts: every showing is a recorded view.
    events.emit("case.view", actor=request.user, obj=case, page=template)
    return render(request, f"tip/{template}.html", {"case": case, "form": form}, status=status)


@login_required
def event_add(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    return _change_page(
        request, case_id, action="tip.event.add",
        make_form=lambda case: tip_forms.EventForm(request.POST or None),
        save=lambda case, form: services.add_event(by=request.user, case=case,
                                                   data=form.data_object()),  # type: ignore[attr-defined]
        done=_("Event recorded."), template="event_form")


@login_required
def perpetrator_add(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    return _change_page(
        request, case_id, action="tip.perpetrator.add",
        make_form=lambda case: tip_forms.PerpetratorForm(request.POST or None),
        save=lambda case, form: services.add_perpetrator(by=request.user, case=case,
                                                         data=form.data_object()),  # type: ignore[attr-defined]
        done=_("Perpetrator recorded."), template="perpetrator_form")


def _profile_form(request: AuthedRequest, case: Case) -> tip_forms.ProfileEditForm | None:
    profile = tip_selectors.profile_of(case)
    if profile is None:
        return None
    initial = {name: getattr(profile, name) for name in services.PROFILE_FIELDS}
    initial["narrative"] = initial["narrative"] or ""
    return tip_forms.ProfileEditForm(request.POST if request.method == "POST" else None, initial=initial)


@login_required
def profile_edit(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    """Correct or complete the victim profile while the case is open."""
    return _change_page(
        request, case_id, action="tip.profile.update",
        make_form=lambda case: _profile_form(request, case),
        save=lambda case, form: services.update_profile(
            by=request.user, case=case, data=form.data_object(),  # type: ignore[attr-defined]
            reason=form.cleaned_data["reason"]),
        done=_("Victim profile updated."), template="profile_form")
