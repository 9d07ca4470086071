"""The office queue: what waits for the user from other offices, one list at a time, a page
at a time (cases/office_queue.py; docs/architecture.md#office-queues)."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from cases import events, office_queue, selectors
from cases.http import AuthedRequest
from cases.paging import BoundedPaginator
from cases.steps import case_staff_required

PAGE_SIZE = 20


@require_GET
@case_staff_required
def queue(request: AuthedRequest) -> HttpResponse:
    kinds = office_queue.kinds_for(request.user)
    shown = request.GET.get("list") or kinds[0]
    if shown not in kinds:
        raise Http404("No such list.")
    tabs = []
    for kind in kinds:
        qs = office_queue.LISTS[kind](request.user)
        tabs.append(office_queue.Panel(
            kind=kind, total=selectors.bounded_count(qs),
            overdue=selectors.bounded_count(office_queue.overdue(kind, qs))))
    page = BoundedPaginator(office_queue.LISTS[shown](request.user), PAGE_SIZE).get_page(
        request.GET.get("page"))
    rows = office_queue.rows(shown, list(page))
    events.emit("case.list", actor=request.user, show=f"office_queue:{shown}",
                cases=list(dict.fromkeys(str(r.case.pk) for r in rows)))
    return render(request, "cases/office_queue.html", {
        "tabs": tabs, "shown": shown, "page": page, "rows": rows,
        "query": urlencode({"list": shown})})
