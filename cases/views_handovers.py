"""The pages of case transfers between offices (cases/handovers.py)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import access, events, handovers, selectors, shares
from cases.forms import Styled
from cases.http import AuthedRequest
from cases.models import Handover, HandoverStatus, Office, Role
from cases.steps import add_service_errors, audited_get, role_required

supervisor_required = role_required(
    Role.SUPERVISOR, message=gettext_lazy("Only supervisors transfer cases between offices."))


class OfferForm(Styled, forms.Form):
    to_office = forms.ModelChoiceField(label=gettext_lazy("To the office"),
                                       queryset=Office.objects.none())
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, case_office: Office, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_office"].queryset = (  # type: ignore[attr-defined]
            Office.objects.filter(is_active=True).exclude(pk=case_office.pk).order_by("code"))


class AskForm(Styled, forms.Form):
    office = forms.ModelChoiceField(label=gettext_lazy("For the office"),
                                    queryset=Office.objects.none())
    reference = forms.CharField(label=gettext_lazy("Case reference"), max_length=32)
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, offices: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = offices  # type: ignore[attr-defined]
        if offices.count() == 1:
            self.fields["office"].initial = offices.first()


class AnswerForm(Styled, forms.Form):
    action = forms.ChoiceField(choices=[("accept", "accept"), ("reject", "reject")],
                               widget=forms.HiddenInput)
    sender_keeps_access = forms.BooleanField(
        label=gettext_lazy("The sending office keeps access"), required=False)
    keep_parts = forms.MultipleChoiceField(
        label=gettext_lazy("What it keeps"), required=False,
        choices=list(shares.PART_LABELS.items()), widget=forms.CheckboxSelectMultiple)
    keep_until = forms.DateField(label=gettext_lazy("Until"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    keep_override = forms.CharField(
        label=gettext_lazy("Without the person's consent to sharing, because"), max_length=500,
        required=False)
    answer = forms.CharField(label=gettext_lazy("Answer"), max_length=2000, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


def _supervised(user: Any) -> Any:
    return Office.objects.filter(pk__in=access.offices_where(user, Role.SUPERVISOR)).order_by("code")


def _page(request: AuthedRequest, ask_form: AskForm | None = None, status: int = 200) -> HttpResponse:
    mine = access.offices_where(request.user, Role.SUPERVISOR)
    listed = list(handovers.visible(request.user)[:100])
    waiting = [h for h in listed if h.status == HandoverStatus.PENDING
               and h.answering_office_id in mine]
    started = [h for h in listed if h.status == HandoverStatus.PENDING
               and h.starting_office_id in mine and h not in waiting]
    done = [h for h in listed if h.status != HandoverStatus.PENDING]
    return render(request, "cases/handovers.html", {
        "waiting": waiting, "started": started, "done": done[:50],
        "ask_form": ask_form or AskForm(offices=_supervised(request.user)),
        "answer_form": AnswerForm(), "keep_choices": list(shares.PART_LABELS.items()),
        "keep_default": handovers.KEEP_PARTS, "keep_days": handovers.KEEP_DAYS}, status=status)


@require_GET
@supervisor_required
def handover_list(request: AuthedRequest) -> HttpResponse:
    events.emit("handover.list", actor=request.user)
    return _page(request)


@require_POST
@supervisor_required
def handover_ask(request: AuthedRequest) -> HttpResponse:
    form = AskForm(request.POST, offices=_supervised(request.user))
    if form.is_valid():
        d = form.cleaned_data
        try:
            made = handovers.ask(by=request.user, reference=d["reference"], office=d["office"],
                                 reason=d["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("%(office)s was asked for the case %(ref)s.") % {
                "office": made.from_office.code, "ref": made.case.reference})
            return redirect("handover_list")
    return _page(request, ask_form=form, status=400)


@require_http_methods(["GET", "POST"])
@supervisor_required
def handover_offer(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    case = audited_get(selectors.get_case, request, case_id, action="case.handover_start",
                       object_type="cases.case")
    if not handovers.supervises(request.user, case.office_id):
        raise PermissionDenied(_("Only a supervisor of the case's office transfers it."))
    posted = request.method == "POST"
    form = OfferForm(request.POST if posted else None, case_office=case.office)
    if posted and form.is_valid():
        d = form.cleaned_data
        try:
            handovers.offer(by=request.user, case=case, to_office=d["to_office"], reason=d["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The transfer to %(office)s waits for its answer.") % {
                "office": d["to_office"].code})
            return redirect("case_detail", case_id=case.pk)
    pending = case.handovers.filter(status=HandoverStatus.PENDING).first()
    return render(request, "cases/handover_offer.html",
                  {"case": case, "form": form, "pending": pending},
                  status=400 if posted else 200)


def _handover(request: AuthedRequest, handover_id: uuid.UUID) -> Handover:
    found = handovers.visible(request.user).filter(pk=handover_id).first()
    if found is None:
        raise Http404("No such transfer.")
    return found


@require_POST
@supervisor_required
def handover_answer(request: AuthedRequest, handover_id: uuid.UUID) -> HttpResponse:
    handover = _handover(request, handover_id)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        problems = [str(e) for name, errors in form.errors.items() if name != "action"
                    for e in errors]
        messages.error(request, " ".join(problems) or _("Choose to accept or reject the transfer."))
        return redirect("handover_list")
    d = form.cleaned_data
    try:
        if d["action"] == "accept":
            handovers.accept(by=request.user, handover=handover,
                             sender_keeps_access=d["sender_keeps_access"], answer=d["answer"],
                             keep_parts=d["keep_parts"] or handovers.KEEP_PARTS,
                             keep_until=d["keep_until"], keep_override=d["keep_override"])
            messages.success(request, _("The case %(ref)s is now in %(office)s, in its queue.") % {
                "ref": handover.case.reference, "office": handover.to_office.code})
        else:
            handovers.reject(by=request.user, handover=handover, answer=d["answer"])
            messages.success(request, _("The transfer of %(ref)s was rejected.") % {
                "ref": handover.case.reference})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("handover_list")


@require_POST
@supervisor_required
def handover_withdraw(request: AuthedRequest, handover_id: uuid.UUID) -> HttpResponse:
    handover = _handover(request, handover_id)
    try:
        handovers.withdraw(by=request.user, handover=handover)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The transfer of %(ref)s was withdrawn.") % {
            "ref": handover.case.reference})
    return redirect("handover_list")

