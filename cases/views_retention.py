"""The pages of the retention schedules (cases/retention.py): the runs, each run's report,
the rules, and the legal hold on a person."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from cases import events, retention, selectors, two_factor
from cases.forms import RecordsInvalid
from cases.http import AuthedRequest
from cases.models import Office, RetentionRule, RetentionRun
from cases.paging import BoundedPaginator
from cases.steps import add_service_errors, audited_get

PAGE_SIZE = 25


def _viewer(request: AuthedRequest) -> None:
    if not retention.may_view(request.user):
        raise PermissionDenied(_("Only supervisors, auditors and system administrators see the "
                                 "retention schedules."))


def _rule_rows(rules: list[RetentionRule]) -> list[dict[str, Any]]:
    types = retention.record_types()
    return [{"rule": r, "label": retention.record_type_label(r.record_type),
             "counts_from": str(types[r.record_type].counts_from) if r.record_type in types else ""}
            for r in rules]


@require_GET
@login_required
def run_list(request: AuthedRequest) -> HttpResponse:
    _viewer(request)
    page = BoundedPaginator(RetentionRun.objects.order_by("-started_at", "-pk"),
                            PAGE_SIZE).get_page(request.GET.get("page"))
    for run in page.object_list:
        # Done and failed as far as the viewer's offices go (a system administrator: all).
        scoped = retention.scoped_report(request.user, run)
        run.done, run.failed = scoped["done"], scoped["failed"]
    events.emit("retention.view", actor=request.user, page="runs")
    return render(request, "cases/retention_runs.html", {"page": page})


@require_GET
@login_required
def run_detail(request: AuthedRequest, run_id: uuid.UUID) -> HttpResponse:
    _viewer(request)
    try:
        run = RetentionRun.objects.get(pk=run_id)
    except RetentionRun.DoesNotExist:
        raise Http404("No such run.") from None
    labels = {k: str(v) for k, v in retention.skip_labels().items()}
    scoped = retention.scoped_report(request.user, run)
    run.done, run.failed = scoped["done"], scoped["failed"]
    rules = []
    for r in scoped["rules"]:
        rules.append({**r, "label": retention.record_type_label(r["record_type"]),
                      "skipped_list": [(labels.get(k, k), n) for k, n in r["skipped"].items()]})
    codes = dict(Office.objects.values_list("pk", "code"))
    for r in rules:
        r["office_code"] = codes.get(r["office"], "") if r["office"] is not None else ""
    errors = Paginator(scoped["errors"], PAGE_SIZE).get_page(request.GET.get("page"))
    events.emit("retention.view", actor=request.user, obj=run, page="run")
    return render(request, "cases/retention_run.html", {
        "run": run, "rules": rules, "errors": errors,
        "show_objects": retention.may_change_rules(request.user)})


@require_GET
@login_required
def rule_list(request: AuthedRequest) -> HttpResponse:
    _viewer(request)
    rules = list(RetentionRule.objects.select_related("office").order_by("record_type",
                                                                          "office__code"))
    events.emit("retention.view", actor=request.user, page="rules")
    return render(request, "cases/retention_rules.html", {
        "rows": _rule_rows(rules), "may_change": retention.may_change_rules(request.user)})


class RuleForm(RecordsInvalid, forms.Form):
    years = forms.IntegerField(label=gettext_lazy("Years"), min_value=0, max_value=100)
    months = forms.IntegerField(label=gettext_lazy("Months"), min_value=0, max_value=1200)
    days = forms.IntegerField(label=gettext_lazy("Days"), min_value=0, max_value=36500)
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False)
    destructive = forms.BooleanField(
        label=gettext_lazy("Act: erase, anonymise or delete (otherwise only report)"),
        required=False)
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that records past their period will be erased, "
                           "anonymised or deleted for good."), required=False)


@require_http_methods(["GET", "POST"])
@login_required
def rule_edit(request: AuthedRequest, rule_id: int) -> HttpResponse:
    if not retention.may_change_rules(request.user):
        raise PermissionDenied(_("Only a system administrator changes retention rules."))
    try:
        rule = RetentionRule.objects.select_related("office").get(pk=rule_id)
    except RetentionRule.DoesNotExist:
        raise Http404("No such rule.") from None
    initial = {"years": rule.years, "months": rule.months, "days": rule.days,
               "enabled": rule.enabled, "destructive": rule.destructive}
    form = RuleForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            if d["destructive"] and not rule.destructive and \
                    (step_up := two_factor.step_up(request)) is not None:
                return step_up  # turning erasure on: a code entered within minutes
            try:
                retention.change_rule(by=request.user, rule=rule, years=d["years"],
                                      months=d["months"], days=d["days"], enabled=d["enabled"],
                                      destructive=d["destructive"], confirmed=d["confirm"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The retention rule was changed."))
                return redirect("retention_rules")
    return render(request, "cases/retention_rule.html", {
        "rule": rule, "label": retention.record_type_label(rule.record_type), "form": form},
        status=status)


class LegalHoldForm(RecordsInvalid, forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reasons"), widget=forms.Textarea(attrs={"rows": 3}),
                             max_length=500)


@require_http_methods(["GET", "POST"])
@login_required
def legal_hold(request: AuthedRequest, person_id: uuid.UUID) -> HttpResponse:
    posted = request.method == "POST"
    action = ("person.legal_hold" if posted else "person.view")
    person = audited_get(selectors.get_person, request, person_id, action=action,
                         object_type="cases.person")
    if not retention.may_hold(request.user, person):
        raise PermissionDenied(_("Only a supervisor of the person's office places or lifts a "
                                 "legal hold."))
    form = LegalHoldForm(request.POST if posted else None)
    status = 200
    if posted:
        status = 400
        if form.is_valid():
            service = retention.lift_legal_hold if person.legal_hold else retention.set_legal_hold
            try:
                service(by=request.user, person=person, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The legal hold was lifted.") if person.legal_hold
                                 else _("The record is under a legal hold: it is not erased "
                                        "while held."))
                return redirect("person_detail", person_id=person.pk)
    events.emit("person.view", actor=request.user, obj=person)
    return render(request, "cases/legal_hold.html", {"person": person, "form": form},
                  status=status)
