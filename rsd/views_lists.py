"""The asylum lists: the supervisors' review queue, a caseworker's interviews of the week and
the office's Country-of-Origin Information library. Scoping comes from the selectors; every
list that names people records which cases it showed."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from cases import access, events, selectors, uploads
from cases.crypto import datakeys
from cases.http import AuthedRequest, protect_file
from cases.models import Role
from cases.paging import BoundedPaginator
from cases.steps import add_service_errors, case_staff_required, role_required
from cases.vocab import country_name, language_name
from rsd import selectors as rsd_selectors
from rsd import services
from rsd.forms_coi import CoiSourceForm

PAGE_SIZE = 50


supervisor_required = role_required(
    Role.SUPERVISOR, message=gettext_lazy("Only supervisors review cases."))


@login_required
@require_GET
@supervisor_required
def review_queue(request: AuthedRequest) -> HttpResponse:
    page = BoundedPaginator(rsd_selectors.review_queue(request.user), PAGE_SIZE).get_page(
        request.GET.get("page"))
    rows = rsd_selectors.review_rows(page.object_list)
    datakeys.preload([r.case.principal_id for r in rows])
    events.emit("case.list", actor=request.user, show="review_queue", page=page.number,
                cases=[str(r.case.pk) for r in rows])
    return render(request, "rsd/review_queue.html", {"page": page, "rows": rows,
                                                     "today": timezone.localdate()})


def _week(request: HttpRequest) -> datetime.date:
    """The day asked for (?week=YYYY-MM-DD), or today with a message when it is not a date."""
    today = timezone.localdate()
    raw = request.GET.get("week", "")
    if not raw:
        return today
    try:
        day = datetime.date.fromisoformat(raw)
    except ValueError:
        day = None
    # Far-off years are typing mistakes, and the links to the weeks around must exist.
    if day is None or not 1900 <= day.year <= 2999:
        messages.warning(request, _("The week asked for is not a date like 2026-03-16: this "
                                    "week is shown."))
        return today
    return day


@login_required
@require_GET
@case_staff_required
def interviews(request: AuthedRequest) -> HttpResponse:
    start, end = rsd_selectors.week_of(_week(request))
    found = list(rsd_selectors.interviews_for_week(request.user, start))
    datakeys.preload([i.person_id for i in found])
    events.emit("case.list", actor=request.user, show="interviews", week=start.isoformat(),
                cases=list(dict.fromkeys(str(i.case_id) for i in found)))
    for i in found:
        i.language_label = (  # type: ignore[attr-defined]  # shown by the template, not a field
            language_name(i.interpreter_language) if i.interpreter_language else "")
    days = []
    for n in range(7):
        day = start + datetime.timedelta(days=n)
        days.append((day, [i for i in found if timezone.localtime(i.scheduled_for).date() == day]))
    return render(request, "rsd/interviews.html", {
        "start": start, "last": end - datetime.timedelta(days=1),
        "previous": start - datetime.timedelta(days=7), "next": end,
        "this_week": rsd_selectors.week_of(timezone.localdate())[0],
        "days": days, "count": len(found),
    })


def _library_page(request: AuthedRequest, form: CoiSourceForm, *, status: int = 200) -> HttpResponse:
    user = request.user
    offices = rsd_selectors.coi_offices(user)
    page = BoundedPaginator(rsd_selectors.coi_library(offices).select_related("office"), PAGE_SIZE).get_page(
        request.GET.get("page"))
    for source in page:
        source.country_label = (  # shown by the template, not a field
            country_name(source.country) if source.country else "")
    return render(request, "rsd/coi_library.html", {
        "page": page, "form": form, "several_offices": len(offices) > 1,
        "supervised": access.offices_where(user, Role.SUPERVISOR),
    }, status=status)


@case_staff_required
def coi_library(request: AuthedRequest) -> HttpResponse:
    offices = selectors.user_offices(request.user, *access.CASE_ROLES).order_by("code")
    if request.method != "POST":
        return _library_page(request, CoiSourceForm(offices=offices))
    form = CoiSourceForm(request.POST, request.FILES, offices=offices)
    if uploads.request_too_large(request.META):  # the file was not kept: say so, not "required"
        form.is_valid()
        form.errors.pop("document", None)
        form.add_error("document", uploads.too_large_message())
    elif form.is_valid():
        d = form.cleaned_data
        try:
            services.add_coi_source(
                by=request.user, office=d["office"], title=d["title"], publisher=d["publisher"],
                published_on=d["published_on"], country=d["country"], url=d["url"],
                document=d["document"].read() if d["document"] else None,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The source was added to the library."))
            return redirect("rsd:coi_library")
    return _library_page(request, form, status=400)


@login_required
@require_GET
@case_staff_required
def coi_document(request: AuthedRequest, source_id: int) -> FileResponse:
    source = rsd_selectors.get_coi_source(request.user, source_id)
    if not source.document:
        raise Http404("This source has no document.")
    events.emit("rsd.coi.download", actor=request.user, obj=source, office_id=source.office_id)
    try:
        handle = source.document.open("rb")
    except FileNotFoundError:
        raise Http404("The document is missing.") from None
    response = FileResponse(handle, content_type=services.COI_DOCUMENT_TYPE, as_attachment=True,
                            filename=f"coi-{source.pk}.pdf")
    protect_file(response)
    return response


@login_required
@require_POST
@case_staff_required
def coi_retire(request: AuthedRequest, source_id: int) -> HttpResponse:
    source = rsd_selectors.get_coi_source(request.user, source_id)
    services.retire_coi_source(by=request.user, source=source)  # PermissionDenied: 403
    messages.success(request, _("The source was retired from the library."))
    return redirect("rsd:coi_library")
