"""The pages of the breach log (cases/breaches.py) and of the register of transfers
(cases/transfers.py)."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from collections.abc import Iterator

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import access, breaches, events, transfers, two_factor
from cases.crypto.datakeys import key_scope
from cases.forms import (
    BreachManageForm,
    BreachPeopleForm,
    BreachReportForm,
    TransferFilterForm,
    TransferForm,
)
from cases.http import AuthedRequest, protect_file
from cases.models import Breach, Case, Office, Role, Transfer
from cases.paging import BoundedPaginator
from cases.spreadsheets import safe_text
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
          status: int = 200, people_form: BreachPeopleForm | None = None) -> HttpResponse:
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
    people = breaches.named_people(request.user, item)
    # Every showing is recorded, with the people whose names it showed (ids only).
    events.emit("breach.view", actor=request.user, obj=item,
                people=[str(link.person_id) for link in people
                        if link.shown])  # type: ignore[attr-defined]  # named_people sets it
    return render(request, "cases/breach.html", {
        "item": item, "form": form, "supervises": supervises and item.status != "closed",
        "notify_by": breaches.notify_by(item), "overdue": breaches.notification_overdue(item),
        "history": item.history.select_related("history_user").order_by("-history_date")[:20],
        "people": people,
        "people_form": people_form or BreachPeopleForm(),
    }, status=status)


@require_http_methods(["GET", "POST"])
@register_required
def breach_detail(request: AuthedRequest, breach_id: uuid.UUID) -> HttpResponse:
    posted = request.method == "POST"
    item = audited_get(breaches.get_breach, request, breach_id,
                       action="breach.update" if posted else "breach.view",
                       object_type="cases.breach")
    if not posted:
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
    return _page(request, item, form, status=400)


@require_POST
@register_required
def breach_people(request: AuthedRequest, breach_id: uuid.UUID) -> HttpResponse:
    """Name the people affected (by their cases' references), or take one off."""
    item = audited_get(breaches.get_breach, request, breach_id, action="breach.people",
                       object_type="cases.breach")
    if not breaches.supervises(request.user, item):
        raise PermissionDenied(_("Only a supervisor of the office manages its breaches."))
    if remove := request.POST.get("remove"):
        try:
            breaches.unname_person(by=request.user, breach=item, link_id=uuid.UUID(remove))
        except (ValueError, Http404):
            # Not a person named on this breach (a page left open, a typed value): nothing
            # of what was sent goes further.
            messages.error(request, _("This person is not named on this breach."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The person was taken off the breach."))
        return redirect("breach_detail", breach_id=item.pk)
    form = BreachPeopleForm(request.POST)
    if form.is_valid():
        try:
            added = breaches.name_people(by=request.user, breach=item,
                                         references=form.cleaned_data["references"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, ngettext(
                "%(count)d person was named as affected.",
                "%(count)d people were named as affected.", len(added)) % {"count": len(added)})
            return redirect("breach_detail", breach_id=item.pk)
    return _page(request, breaches.get_breach(request.user, item.pk), status=400,
                 people_form=form)


# --- The register of transfers (cases/transfers.py) ------------------------------------------

CSV_COLUMNS = ("id", "office", "transferred_on", "to_office", "to_organisation", "to_user",
               "channel", "agreement", "legal_basis", "categories", "case", "people_count",
               "purpose", "corrects", "recorded_by", "recorded_at")
# Entries read, written and sent at a time by the CSV export.
EXPORT_CHUNK = 2000


def _filtered(request: AuthedRequest) -> tuple[TransferFilterForm, QuerySet[Transfer]]:
    form = TransferFilterForm(request.GET or None)
    listed = transfers.visible_transfers(request.user)
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        if d["to_office"]:
            listed = listed.filter(to_office=d["to_office"])
        if d["to_organisation"]:
            listed = listed.filter(to_organisation=d["to_organisation"])
        if d["agreement"]:
            listed = listed.filter(agreement__iexact=d["agreement"].strip())
        if d["since"]:
            listed = listed.filter(transferred_on__gte=d["since"])
        if d["until"]:
            listed = listed.filter(transferred_on__lte=d["until"])
    return form, listed.order_by("-transferred_on", "-recorded_at", "pk")


def _filters(form: TransferFilterForm) -> dict[str, str]:
    if not (form.is_bound and form.is_valid()):
        return {}
    return {k: str(getattr(v, "pk", v)) for k, v in form.cleaned_data.items() if v}


@require_GET
@register_required
def transfer_list(request: AuthedRequest) -> HttpResponse:
    form, listed = _filtered(request)
    page = BoundedPaginator(listed, PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    events.emit("transfer.list", actor=request.user, page=page.number, filters=_filters(form))
    return render(request, "cases/transfers.html", {
        "form": form, "page": page, "query": query.urlencode(),
        "records": access.has_role(request.user, Role.SUPERVISOR)})


@require_http_methods(["GET", "POST"])
@register_required
def transfer_new(request: AuthedRequest) -> HttpResponse:
    offices = Office.objects.filter(
        pk__in=access.offices_where(request.user, Role.SUPERVISOR)).order_by("code")
    if not offices:
        raise PermissionDenied(_("Only a supervisor of the office records its transfers."))
    corrects = None
    if corrects_id := request.GET.get("corrects"):
        try:
            corrects_id = str(uuid.UUID(corrects_id))
        except ValueError:
            # Not an entry's id: nothing of what was typed reaches the audit log.
            raise Http404("No such entry.") from None
        corrects = audited_get(transfers.get_transfer, request, corrects_id,
                               action="transfer.record", object_type="cases.transfer")
    posted = request.method == "POST"
    form = TransferForm(request.POST if posted else None, offices=offices,
                        initial={"transferred_on": timezone.localdate()})
    status = 200
    if posted:
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            case = None
            if ref := d["case_reference"].strip():
                case = Case.objects.filter(reference=ref, office=d["office"]).first()
                if case is None:
                    form.add_error("case_reference", _("No case of the office has this reference."))
            if not form.errors:
                try:
                    transfers.record_transfer(
                        by=request.user, office=d["office"], transferred_on=d["transferred_on"],
                        to_office=d["to_office"], to_organisation=d["to_organisation"],
                        channel=d["channel"], sharing_agreement=d["sharing_agreement"],
                        legal_basis=d["legal_basis"], categories=d["categories"], case=case,
                        people_count=d["people_count"], purpose=d["purpose"], corrects=corrects)
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    messages.success(request, _("The transfer was recorded."))
                    return redirect("transfer_list")
    return render(request, "cases/transfer_new.html", {"form": form, "corrects": corrects},
                  status=status)


def _csv_row(t: Transfer) -> list[str]:
    return [safe_text(v) for v in (
        t.pk, t.office.code, t.transferred_on.isoformat(),
        t.to_office.code if t.to_office else "",
        t.to_organisation.name if t.to_organisation else "",
        t.to_user.username if t.to_user else "", t.channel, t.agreement, t.legal_basis,
        t.categories, t.case.reference if t.case else "", t.people_count, t.purpose,
        t.corrects_id or "", t.recorded_by.username if t.recorded_by else "",
        timezone.localtime(t.recorded_at).isoformat())]


def _csv_chunks(listed: QuerySet[Transfer]) -> Iterator[str]:
    """The CSV, EXPORT_CHUNK entries at a time: read with a cursor (iterator), written and
    sent chunk by chunk, so that memory does not grow with the register. Each chunk opens
    the purposes in a key scope of its own: the request's scope has ended when a streamed
    body is sent."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = listed.iterator(chunk_size=EXPORT_CHUNK)
    while True:
        with key_scope():
            batch = list(itertools.islice(rows, EXPORT_CHUNK))
            for t in batch:
                writer.writerow(_csv_row(t))
        if out.tell():
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        if len(batch) < EXPORT_CHUNK:
            return


@require_GET
@register_required
def transfer_export(request: AuthedRequest) -> HttpResponseBase:
    if (step_up := two_factor.step_up(request)) is not None:
        return step_up  # a code entered within AMPARO_STEP_UP_MINUTES, as for every export
    form, listed = _filtered(request)
    # Recorded before a byte is sent: an export that cannot be logged does not happen.
    events.emit("transfer.export", actor=request.user, rows=listed.count(),
                filters=_filters(form))
    response = StreamingHttpResponse(_csv_chunks(listed), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="transfers-{stamp}.csv"'
    protect_file(response)
    return response
