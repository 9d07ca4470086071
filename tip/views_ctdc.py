"""The CTDC export screen: a supervisor chooses k, sees what the anonymisation did, and
downloads the CSV of their offices' consenting victims (docs/architecture.md#htcds-import)."""

from __future__ import annotations

import io

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from cases import selectors, two_factor
from cases.http import AuthedRequest, protect_file
from cases.models import Role
from cases.steps import role_required
from tip import exports
from tip.forms import CtdcExportForm

supervisor_required = role_required(
    Role.SUPERVISOR, message=gettext_lazy("Only supervisors export statistics of their offices."))


@require_http_methods(["GET", "POST"])
@supervisor_required
def ctdc_export(request: AuthedRequest) -> HttpResponse:
    """GET: the form. POST "check": the report of what the file would hold. POST
    "download": the file itself. Both are recorded (tip.export_ctdc)."""
    form = CtdcExportForm(request.POST if request.method == "POST" else None)
    report = None
    if request.method == "POST" and form.is_valid():
        k = form.cleaned_data["k"]
        out = io.StringIO()
        download = request.POST.get("action") == "download"
        if download and (step_up := two_factor.step_up(request)) is not None:
            return step_up  # a code entered within AMPARO_STEP_UP_MINUTES, as for every export
        report = exports.export(by=request.user, out=out, k=k, via="page", download=download)
        if download:
            response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
            day = timezone.localdate().isoformat()
            response["Content-Disposition"] = f'attachment; filename="ctdc-{day}-k{k}.csv"'
            protect_file(response)
            return response
    offices = selectors.user_offices(request.user, Role.SUPERVISOR)
    return render(request, "tip/ctdc_export.html", {"form": form, "report": report,
                                                     "offices": offices},
                  status=400 if form.errors else 200)
