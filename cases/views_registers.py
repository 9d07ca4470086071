"""The pages of the breach log (cases/breaches.py)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from cases import breaches, events
from cases.forms import BreachManageForm, BreachReportForm
from cases.http import AuthedRequest
from cases.models import Breach, Role
from cases.paging import BoundedPaginator
from cases.steps import add_service_errors, audited_get, role_required

PAGE = 50

report_required = role_required(
    *breaches.REPORTING_ROLES, message=gettext_lazy("Only the staff of an office report breaches."))
register_required = role_required(
    Role.SUPERVISOR, Role.AUDITOR,
    message=gettext_lazy("Only the supervisors and auditors of an office see its breach log."))


@require_http_methods(["GET", "POST"])
@report_required
def breach_new(request: AuthedRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = BreachReportForm(request.POST if posted else None,
                            offices=breaches.reporting_offices(request.user),
                            initial={"discovered_at": timezone.localtime().replace(second=0,
                                                                                   microsecond=0)})
    status = 200
    if posted:
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                made = breaches.report_breach(
                    by=request.user, office=d["office"], discovered_at=d["discovered_at"],
                    nature=d["nature"], description=d["description"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The breach was reported to the office's "
                                            "supervisors."))
                if breaches.supervises(request.user, made):
                    return redirect("breach_detail", breach_id=made.pk)
                return redirect("dashboard")
    return render(request, "cases/breach_new.html", {"form": form}, status=status)


@require_GET
@register_required
def breach_list(request: AuthedRequest) -> HttpResponse:
    show = "all" if request.GET.get("show") == "all" else "open"
    listed = breaches.visible_breaches(request.user)
    if show == "open":
        listed = listed.exclude(status="closed")
    page = BoundedPaginator(listed.order_by("-discovered_at", "pk"), PAGE).get_page(
        request.GET.get("page"))
    now = timezone.now()
    for b in page.object_list:
        b.overdue = breaches.notification_overdue(b, now)
    events.emit("breach.list", actor=request.user, show=show, page=page.number)
    return render(request, "cases/breaches.html", {
        "page": page, "show": show, "query": f"show={show}", "hours": breaches.notify_hours()})


def _page(request: AuthedRequest, item: Breach, form: BreachManageForm | None = None,
          status: int = 200) -> HttpResponse:
    supervises = breaches.supervises(request.user, item)
    if form is None and supervises:
        form = BreachManageForm(initial={
            "risk": item.risk, "status": item.status, "categories": item.categories,
            "people_count": item.people_count, "occurred_from": item.occurred_from,
            "occurred_to": item.occurred_to, "actions": item.actions or "",
            "focal_point_notified_at": item.focal_point_notified_at
            and timezone.localtime(item.focal_point_notified_at),
            "people_notified_at": item.people_notified_at
            and timezone.localtime(item.people_notified_at)})
    return render(request, "cases/breach.html", {
        "item": item, "form": form, "supervises": supervises and item.status != "closed",
        "notify_by": breaches.notify_by(item), "overdue": breaches.notification_overdue(item),
        "history": item.history.select_related("history_user").order_by("-history_date")[:20],
    }, status=status)


@require_http_methods(["GET", "POST"])
@register_required
def breach_detail(request: AuthedRequest, breach_id: uuid.UUID) -> HttpResponse:
    posted = request.method == "POST"
    item = audited_get(breaches.get_breach, request, breach_id,
                       action="breach.update" if posted else "breach.view",
                       object_type="cases.breach")
    if not posted:
        events.emit("breach.view", actor=request.user, obj=item)
        return _page(request, item)
    if not breaches.supervises(request.user, item):
        raise PermissionDenied(_("Only a supervisor of the office manages its breaches."))
    form = BreachManageForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            breaches.manage_breach(by=request.user, breach=item, **d)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The breach was updated."))
            return redirect("breach_detail", breach_id=item.pk)
    events.emit("breach.view", actor=request.user, obj=item)
    return _page(request, item, form, status=400)
