"""The statistics screen and its downloads (docs/architecture.md#statistics): for the
supervisors and analysts of an office, numbers only, every count protected."""

from __future__ import annotations

import io
from typing import Any

from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from cases import events, two_factor
from cases.http import AuthedRequest, protect_file
from cases.steps import role_required
from stats import (
    breakdown,
    charts,
    consistency,
    exports,
    indicators,
    report_pdf,
    rsd_report,
    suppression,
    unhcr,
)
from stats.forms import BreakdownForm, ConsistencyForm, FilterForm, UnhcrForm
from stats.indicators import Result
from stats.selectors import (
    CONSISTENCY_ROLES,
    STATS_ROLES,
    consistency_offices,
    consistency_view,
    stats_offices,
)

stats_required = role_required(
    *STATS_ROLES, message=gettext_lazy("Only the supervisors and analysts of an office see its "
                                       "statistics."))

consistency_required = role_required(
    *CONSISTENCY_ROLES, message=gettext_lazy("Only the caseworkers, supervisors and analysts of "
                                             "an office see its decision consistency."))

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _form(request: AuthedRequest) -> FilterForm:
    data = request.GET.copy()
    data.setdefault("year", str(timezone.localdate().year))
    return FilterForm(data, offices=stats_offices(request.user))


def _notes(results: list[Result], threshold: int) -> list[str]:
    return _hidden_notes({r.reason for res in results
                          for r in [*res.rows, *([res.total] if res.total else [])] if r.reason},
                         threshold)


def _hidden_notes(hidden: set[str], threshold: int) -> list[str]:
    out = [_("Counts from 1 to %(n)s are not shown (%(mask)s).") % {
        "n": threshold - 1, "mask": suppression.MASK}] if threshold > 1 else []
    if suppression.SECONDARY in hidden:
        out.append(_("Some larger counts are hidden as well, because a total would reveal a "
                     "hidden one."))
    if suppression.DIFFERENCE in hidden:
        out.append(_("Some counts are hidden because they differ from the same count with one "
                     "filter fewer by less than the threshold."))
    return out


# The screens of indicators: the MIRPS and UNHCR indicators, and the tables of UNHCR's RSD
# statistical report (mandate RSD only); each with its downloads.
REPORTS: dict[str, tuple[tuple[indicators.Indicator, ...], Any, str, str]] = {
    "indicators": (indicators.INDICATORS, gettext_lazy("Statistics"), "stats:export", "statistics"),
    "rsd": (rsd_report.INDICATORS, gettext_lazy("Mandate RSD statistical report"),
            "stats:rsd_export", "rsd-report"),
}


def _screen(request: AuthedRequest, report: str) -> HttpResponse:
    which, title, export_url, _stem = REPORTS[report]
    form = _form(request)
    context: dict[str, Any] = {"form": form, "results": [], "title": title, "report": report,
                               "export_url": export_url}
    if not form.is_valid():
        return render(request, "stats/dashboard.html", context, status=400)
    threshold = form.chosen_threshold()
    results = indicators.compute_all(form.filters(), threshold, which)
    params = request.GET.copy()
    for name in ("indicator", "by", "format"):
        params.pop(name, None)
    context.update(threshold=threshold, notes=_notes(results, threshold),
                   query=request.GET.urlencode(), filters_query=params.urlencode(),
                   breakable={i.key for i in breakdown.breakable()}, by_choices=breakdown.BY,
                   results=[(r, charts.bar_chart(r)) for r in results])
    return render(request, "stats/dashboard.html", context)


@require_GET
@stats_required
def dashboard(request: AuthedRequest) -> HttpResponse:
    return _screen(request, "indicators")


@require_GET
@stats_required
def breakdown_screen(request: AuthedRequest) -> HttpResponseBase:
    """One indicator broken down by a dimension: a chart, the table, and its downloads
    (`format=csv` or `xlsx`)."""
    data = request.GET.copy()
    data.setdefault("year", str(timezone.localdate().year))
    data.setdefault("indicator", breakdown.breakable()[0].key)
    data.setdefault("by", "office")
    offices = stats_offices(request.user)
    form = BreakdownForm(data, offices=offices)
    kind = request.GET.get("format", "")
    if kind:
        if (step_up := two_factor.step_up(request)) is not None:
            return step_up
        if kind not in ("csv", "xlsx") or not form.is_valid():
            return HttpResponse(_("Choose the filters again."), status=400,
                                content_type="text/plain")
    context: dict[str, Any] = {"form": form, "table": None}
    if not form.is_valid():
        return render(request, "stats/breakdown.html", context, status=400)
    filters, threshold = form.filters(), form.chosen_threshold()
    table = breakdown.compute(form.chosen_indicator(), filters, form.cleaned_data["by"], threshold,
                              offices={o.pk: o for o in offices})
    notes = _hidden_notes(table.hidden, threshold)
    if kind:
        return _breakdown_file(request, table, filters, threshold, kind, notes)
    params = request.GET.copy()
    params.pop("format", None)
    back = params.copy()
    for name in ("indicator", "by"):
        back.pop(name, None)
    context.update(table=table, chart=charts.breakdown_chart(table), threshold=threshold,
                   notes=notes, query=params.urlencode(), back=back.urlencode())
    return render(request, "stats/breakdown.html", context)


def _breakdown_file(request: AuthedRequest, table: breakdown.Breakdown, filters: indicators.Filters,
                    threshold: int, kind: str, notes: list[str]) -> HttpResponse:
    title = str(table.indicator.title)
    rows = [[title, line.group.label, cell.label, cell.shown, cell.reason]
            for line in table.lines for cell in line.cells]
    # Recorded before a byte is sent: an export that cannot be logged does not happen.
    events.emit("stats.export", actor=request.user, object_type="stats.breakdown",
                object_id=table.indicator.key, format=kind, by=table.by, threshold=threshold,
                filters=filters.describe(), suppressed=sum(1 for r in rows if r[4]))
    columns = [_("indicator"), table.by_label, _("category"), _("value"), _("suppressed")]
    formula = [[title, "", _("formula"), str(table.indicator.formula), ""]]
    note_rows = [[_("note"), "", n, "", ""] for n in notes]
    stamp = (f"statistics-{table.indicator.key}-by-{table.by}-{filters.period.key}-"
             f"{timezone.localtime():%Y%m%d-%H%M}")
    if kind == "csv":
        out = io.StringIO()
        exports.write_csv(out, columns, [*rows, *formula, *note_rows])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        binary = io.BytesIO()
        exports.write_xlsx(binary, [
            (_("breakdown"), columns, [[*r[:3], _number(r[3]), r[4]] for r in rows]),
            (_("formulas"), columns, formula), (_("notes"), columns, note_rows)])
        response = HttpResponse(binary.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{stamp}.{kind}"'
    protect_file(response)
    return response


@require_GET
@stats_required
def rsd(request: AuthedRequest) -> HttpResponse:
    return _screen(request, "rsd")


def _rows(results: list[Result]) -> list[list[Any]]:
    return [[str(res.indicator.title), row.label, row.shown, row.reason]
            for res in results for row in [*res.rows, *([res.total] if res.total else [])]]


def _number(shown: str) -> int | float | str:
    """A shown count as a number for the spreadsheet; a hidden one stays "*"."""
    try:
        return int(shown)
    except ValueError:
        return shown


@require_GET
@stats_required
def export(request: AuthedRequest) -> HttpResponseBase:
    return _export(request, "indicators")


@require_GET
@stats_required
def rsd_export(request: AuthedRequest) -> HttpResponseBase:
    return _export(request, "rsd")


def _export(request: AuthedRequest, report: str) -> HttpResponseBase:
    which, _title, _url, stem = REPORTS[report]
    if (step_up := two_factor.step_up(request)) is not None:
        return step_up  # a code entered within AMPARO_STEP_UP_MINUTES, as for every export
    form = _form(request)
    kind = request.GET.get("format", "csv")
    if kind not in ("csv", "xlsx") or not form.is_valid():
        return HttpResponse(_("Choose the filters again."), status=400, content_type="text/plain")
    filters, threshold = form.filters(), form.chosen_threshold()
    results = indicators.compute_all(filters, threshold, which)
    rows = _rows(results)
    # Recorded before a byte is sent: an export that cannot be logged does not happen.
    events.emit("stats.export", actor=request.user, object_type=f"stats.{report}",
                format=kind, threshold=threshold, filters=filters.describe(),
                suppressed=sum(1 for r in rows if r[3]))
    columns = [_("indicator"), _("category"), _("value"), _("suppressed")]
    notes = [[_("note"), n, "", ""] for n in _notes(results, threshold)]
    formulas = [[str(res.indicator.title), _("formula"), str(res.indicator.formula), ""]
                for res in results]
    stamp = f"{stem}-{filters.period.key}-{timezone.localtime():%Y%m%d-%H%M}"
    if kind == "csv":
        out = io.StringIO()
        exports.write_csv(out, columns, [*rows, *formulas, *notes])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        binary = io.BytesIO()
        exports.write_xlsx(binary, [(_("indicators"), columns, [[*r[:2], _number(r[2]), r[3]]
                                                                 for r in rows]),
                                    (_("formulas"), columns, formulas),
                                    (_("notes"), columns, notes)])
        response = HttpResponse(binary.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{stamp}.{kind}"'
    protect_file(response)
    return response


# --- UNHCR's annual tables ---------------------------------------------------------------
# The tables `manage.py unhcr_tables` writes, over the offices where the user supervises or
# analyses (or one of them): computed and written by the same functions, so a download is
# the command's file for the same year, offices and threshold.

UNHCR_DOWNLOADS = {unhcr.APPLICATIONS_FILE: "text/csv; charset=utf-8",
                   unhcr.DECISIONS_FILE: "text/csv; charset=utf-8", unhcr.XLSX_FILE: XLSX}


def _unhcr_form(request: AuthedRequest) -> UnhcrForm:
    data = request.GET.copy()
    if not data.get("year"):
        data["year"] = str(timezone.localdate().year)
    return UnhcrForm(data, offices=stats_offices(request.user))


def _unhcr_columns(columns: list[str]) -> list[tuple[str, Any]]:
    """(UNHCR's name, the heading in words) of each column."""
    return [(c, unhcr.HEADINGS[c]) for c in columns]


@require_GET
@stats_required
def unhcr_tables(request: AuthedRequest) -> HttpResponse:
    form = _unhcr_form(request)
    context: dict[str, Any] = {"form": form, "tables": None}
    if not form.is_valid():
        return render(request, "stats/unhcr.html", context, status=400)
    offices = form.chosen_offices()
    tables = unhcr.compute(form.cleaned_data["year"], offices=offices,
                           threshold=form.chosen_threshold())
    params = request.GET.copy()
    params.pop("file", None)
    params["year"] = str(tables.year)
    context.update(
        tables=tables, notes=tables.notes(), query=params.urlencode(),
        offices=[o.name for o in offices.order_by("code")],
        files=[unhcr.APPLICATIONS_FILE, unhcr.DECISIONS_FILE, unhcr.XLSX_FILE],
        tables_shown=[
            ("applications", _("Asylum applications"), unhcr.APPLICATIONS_FILE,
             (_unhcr_columns(unhcr.APPLICATION_COLUMNS), tables.application_rows(),
              unhcr.APPLICATION_COLUMNS.index("applied"))),
            ("decisions", _("Asylum decisions"), unhcr.DECISIONS_FILE,
             (_unhcr_columns(unhcr.DECISION_COLUMNS), tables.decision_rows(),
              unhcr.DECISION_COLUMNS.index(unhcr.COUNTS[0])))])
    return render(request, "stats/unhcr.html", context)


@require_GET
@stats_required
def unhcr_export(request: AuthedRequest) -> HttpResponseBase:
    """One of the command's files: `file` is its name (the applications' CSV if none)."""
    if (step_up := two_factor.step_up(request)) is not None:
        return step_up
    form = _unhcr_form(request)
    name = request.GET.get("file") or unhcr.APPLICATIONS_FILE
    if name not in UNHCR_DOWNLOADS or not form.is_valid():
        return HttpResponse(_("Choose the filters again."), status=400, content_type="text/plain")
    year, offices, threshold = (form.cleaned_data["year"], form.chosen_offices(),
                                form.chosen_threshold())
    codes = sorted(offices.values_list("code", flat=True))
    tables = unhcr.compute(year, offices=offices, threshold=threshold)
    stem, kind = name.rsplit(".", 1)
    events.emit("stats.export", actor=request.user, object_type="stats.unhcr",
                object_id=str(year), format=kind, file=name, year=year, offices=codes,
                threshold=threshold, suppressed=tables.suppressed())
    if kind == "csv":
        text = io.StringIO()
        unhcr.write_csv(text, tables, name)
        body = text.getvalue().encode("utf-8")
    else:
        binary = io.BytesIO()
        unhcr.write_xlsx(binary, tables)
        body = binary.getvalue()
    response = HttpResponse(body, content_type=UNHCR_DOWNLOADS[name])
    office = f"-{codes[0]}" if form.cleaned_data.get("office") else ""
    response["Content-Disposition"] = f'attachment; filename="{stem}-{year}{office}.{kind}"'
    protect_file(response)
    return response


@require_GET
@stats_required
def report(request: AuthedRequest) -> HttpResponseBase:
    """The printable report of the indicators (PDF) in English or Spanish; the first half
    of the year unless another period is chosen."""
    if (step_up := two_factor.step_up(request)) is not None:
        return step_up
    data = request.GET.copy()
    if not data.get("part"):
        data["part"] = "H1"
    data.setdefault("year", str(timezone.localdate().year))
    form = FilterForm(data, offices=stats_offices(request.user))
    language = request.GET.get("language", "en")
    if language not in ("en", "es") or not form.is_valid():
        return HttpResponse(_("Choose the filters again."), status=400, content_type="text/plain")
    filters, threshold = form.filters(), form.chosen_threshold()
    with translation.override(language):
        results = indicators.compute_all(filters, threshold)
        notes = _notes(results, threshold)
        offices = ", ".join(o.name for o in form.offices.filter(pk__in=filters.office_ids)
                            .order_by("code"))
    events.emit("stats.export", actor=request.user, object_type="stats.report", format="pdf",
                language=language, threshold=threshold, filters=filters.describe(),
                suppressed=sum(1 for row in _rows(results) if row[3]))
    body = report_pdf.render(results, filters=filters, threshold=threshold, offices=offices,
                             notes=notes, language=language)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (f'attachment; filename="statistics-report-'
                                       f'{filters.period.key}-{language}.pdf"')
    protect_file(response)
    return response


@require_GET
@consistency_required
def consistency_screen(request: AuthedRequest) -> HttpResponse:
    """Recognition rates per eligibility officer or reviewer against the office's."""
    offices = consistency_offices(request.user)
    data = request.GET.copy()
    data.setdefault("year", str(timezone.localdate().year))
    data.setdefault("role", consistency.OFFICER)
    first = offices.order_by("code").first()
    if first is not None:
        data.setdefault("office", str(first.pk))
    form = ConsistencyForm(data, offices=offices)
    context: dict[str, Any] = {"form": form, "table": None, "alpha": consistency.ALPHA,
                               "min_expected": consistency.MIN_EXPECTED}
    if not form.is_valid():
        return render(request, "stats/consistency.html", context, status=400)
    query = form.query()
    view = consistency_view(request.user, query.office_id)
    if view is None:  # cannot happen: the form offers only these offices
        return render(request, "stats/consistency.html", context, status=400)
    threshold = suppression.default_threshold()
    context.update(view=view, threshold=threshold, split=query.split,
                   role_label=consistency.ROLES[query.role][1],
                   table=consistency.for_viewer(consistency.compute(query), view,
                                                viewer=request.user, threshold=threshold))
    return render(request, "stats/consistency.html", context)
