"""The auditor's workspace: event search, case timeline, CSV export, chain state.

Auditors read and change nothing: every view here is GET only, and every page view is
itself recorded (filter names and counts, never the values searched for).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from audit import selectors
from audit.forms import EventSearchForm
from audit.models import AuditEvent
from cases import events, two_factor
from cases import selectors as cases_selectors
from cases.http import AuthedRequest, protect_file
from cases.models import Office, User
from cases.paging import BoundedPaginator
from cases.spreadsheets import safe_text

PAGE_SIZE = 50
# The first nine are the columns of the first exports: they keep their names and places.
CSV_COLUMNS = ("time", "actor", "office", "action", "object_type", "object_id", "outcome",
               "request_id", "ip", "time_zone", "action_label", "object")
CSV_CHUNK = 2000
# A spreadsheet reads a cell that begins with one of these as a formula.


def _auditor_required(request: AuthedRequest) -> None:
    if not selectors.is_auditor(request.user):
        raise PermissionDenied(_("Only auditors use the audit workspace."))


@dataclass
class Row:
    """An event as the auditor reads it: its action's label and its object described."""

    event: AuditEvent
    action: str
    object: str


def _rows(user: User, found: Sequence[AuditEvent]) -> list[Row]:
    objects = selectors.describe_objects(user, ((e.object_type, e.object_id) for e in found))
    return [Row(e, events.action_label(e.action), objects.get((e.object_type, e.object_id), ""))
            for e in found]


def _search(request: AuthedRequest) -> tuple[EventSearchForm, QuerySet[AuditEvent]]:
    """The bound form and the matching events (none while the form is invalid)."""
    user = request.user
    form = EventSearchForm(request.GET or None, offices=selectors.offices(user),
                           actions=selectors.seen_actions(user))
    if not form.is_bound:
        return form, selectors.search_events(user)
    if not form.is_valid():
        return form, AuditEvent.objects.none()
    d = form.cleaned_data
    return form, selectors.search_events(
        user, subject=d["subject"], actor=d["actor"], office=d["office"], action=d["action"],
        outcome=d["outcome"], date_from=d["date_from"], date_to=d["date_to"])


def _filters(form: EventSearchForm) -> list[str]:
    return form.used() if form.is_bound and form.is_valid() else []


def _office_of(request: AuthedRequest, form: EventSearchForm) -> int | None:
    """The office the auditor looked into: the one chosen, or their only one."""
    if form.is_bound and form.is_valid() and form.cleaned_data["office"]:
        office: Office = form.cleaned_data["office"]
        return office.pk
    held = selectors.audited_offices(request.user)
    return next(iter(held)) if len(held) == 1 else None


@login_required
@require_GET
def event_search(request: AuthedRequest) -> HttpResponse:
    _auditor_required(request)
    form, results = _search(request)
    page = BoundedPaginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)  # read before this search's own event is written
    events.emit("audit.search", actor=request.user, office_id=_office_of(request, form),
                filters=_filters(form), results=page.paginator.count)
    subject = form.cleaned_data.get("subject") if form.is_bound and form.is_valid() else ""
    timeline_case = None
    if isinstance(subject, str) and subject:
        timeline_case = selectors.offices_cases(request.user).filter(reference=subject).first()
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/event_search.html", {
        "form": form, "page": page, "rows": _rows(request.user, page.object_list),
        "query": query.urlencode(), "chain": selectors.chain_state(),
        "timeline_case": timeline_case, "zone": selectors.time_zone(),
    })


class _Echo:
    def write(self, value: str) -> str:
        return value


def _chunks(results: QuerySet[AuditEvent]) -> Iterator[list[AuditEvent]]:
    chunk: list[AuditEvent] = []
    for e in results.iterator(chunk_size=CSV_CHUNK):
        chunk.append(e)
        if len(chunk) == CSV_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _csv_rows(user: User, results: QuerySet[AuditEvent], language: str) -> Iterator[str]:
    """The export, line by line: times in the one time zone, named in its own column; labels
    in the language of the request (the body is written after the view has returned)."""
    writer = csv.writer(_Echo())
    zone = selectors.time_zone()
    yield writer.writerow(CSV_COLUMNS)
    with translation.override(language):
        for chunk in _chunks(results):
            for row in _rows(user, chunk):
                e = row.event
                yield writer.writerow([safe_text(v) for v in (
                    e.at.astimezone(zone).isoformat(), e.actor_username,
                    e.office.code if e.office else "", e.action, e.object_type, e.object_id,
                    e.outcome, e.request_id, e.ip, zone.key, row.action, row.object)])


@login_required
@require_GET
def event_export(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    _auditor_required(request)
    if (step_up := two_factor.step_up(request)) is not None:
        return step_up  # a code entered within AMPARO_STEP_UP_MINUTES
    form, results = _search(request)
    if form.is_bound and not form.is_valid():
        return HttpResponseBadRequest(_("Correct the search before exporting it."),
                                      content_type="text/plain; charset=utf-8")
    # Recorded before a byte is sent: an export that cannot be logged does not happen.
    events.emit("audit.export", actor=request.user, office_id=_office_of(request, form),
                rows=results.count(), filters=_filters(form))
    response = StreamingHttpResponse(
        _csv_rows(request.user, results, translation.get_language()),
        content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime(timezone=selectors.time_zone()).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.csv"'
    protect_file(response)
    return response


@login_required
@require_GET
def case_timeline(request: AuthedRequest, reference: str) -> HttpResponse:
    _auditor_required(request)
    well_formed = bool(cases_selectors.CASE_REFERENCE.fullmatch(reference))
    try:
        if not well_formed:  # never looked up, nor recorded: it may hold anything
            raise Http404("No such case.")
        case = selectors.audited_case(request.user, reference)
    except Http404:
        events.emit("audit.timeline", actor=request.user, outcome="denied",
                    object_type="cases.case", reference=reference if well_formed else "")
        raise
    after = request.GET.get("after", "")
    page = selectors.case_timeline(request.user, case, after=after, limit=selectors.TIMELINE_PAGE)
    events.emit("audit.timeline", actor=request.user, obj=case, entries=len(page.entries),
                values=page.values, later_page=bool(after))
    return render(request, "audit/case_timeline.html", {
        "case": case, "entries": page.entries, "values": page.values, "next": page.next,
        "later_page": bool(after), "zone": selectors.time_zone(),
    })
