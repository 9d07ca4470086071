"""The trafficking risk screen of an asylum case (tip.registration): its page. The case page
shows its card (a cases.sections section)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cases import consent, events, selectors
from cases.http import AuthedRequest
from cases.models import CaseKind, ConsentPurpose
from cases.steps import add_service_errors, audited_get
from tip import registration
from tip.forms import RegistrationScreenForm


@login_required
@require_http_methods(["GET", "POST"])
def registration_screen(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    post = request.method == "POST"
    action = "tip.registration_screen" if post else "case.view"
    case = audited_get(selectors.get_case, request, case_id, action=action, object_type="cases.case")
    if case.kind != CaseKind.ASYLUM:
        raise Http404("Not an asylum case.")
    if not registration.may_screen(request.user, case):
        if post:  # a refused change stays on the record
            events.emit(action, actor=request.user, obj=case, outcome="denied")
        raise PermissionDenied(_("You cannot change this case."))
    form = RegistrationScreenForm(request.POST if post else None,
                                  initial={"screened_on": timezone.localdate()})
    status = 200
    if post:
        status = 400
        if form.is_valid():
            try:
                screen = registration.screen(by=request.user, case=case, data=form.data_object())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if screen.referred_case_id and selectors.visible_cases(request.user).filter(
                        pk=screen.referred_case_id).exists():
                    messages.success(request, _("Screen recorded. The person is referred to the "
                                                "anti-trafficking office: case %(reference)s.")
                                     % {"reference": screen.referred_case.reference})  # type: ignore[union-attr]
                elif screen.referred_case_id:  # a case of someone else's: not named here
                    messages.success(request, _("Screen recorded. The person is referred to the "
                                                "anti-trafficking office."))
                elif screen.suggested:
                    messages.warning(request, _("Screen recorded. A referral to the "
                                                "anti-trafficking office is suggested."))
                else:
                    messages.success(request, _("Screen recorded. Nothing suggests a referral."))
                return redirect("case_detail", case_id=case.pk)
    events.emit("case.view", actor=request.user, obj=case, page="registration_screen")
    return render(request, "tip/registration_screen.html", {
        "case": case, "form": form, "latest": registration.latest(case),
        "consents": consent.allows(case.principal, ConsentPurpose.REFERRAL),
    }, status=status)
