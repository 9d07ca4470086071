"""The printable report of the indicators (PDF, English or Spanish): each indicator's title,
its formula, a bar chart and the table under it, the counts protected as on the screen
(docs/architecture.md#statistics). reportlab, as the other PDFs (cases.pdfs)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from io import BytesIO
from typing import Any

from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from reportlab.lib.styles import ParagraphStyle

from cases import pdfs
from stats.indicators import PART_LABELS, Filters, Result

BAR_COLOUR = "#0d6efd"
SMALL = ParagraphStyle("small", parent=pdfs.BODY, fontSize=8, leading=10)


def _chart(result: Result, width: float) -> Any:
    """Horizontal bars of the rows shown (hidden ones are not drawn), as on the screen."""
    from reportlab.graphics.shapes import Drawing, Rect, String
    from reportlab.lib import colors

    rows = result.bars
    if not rows:
        return None
    bar, gap, label_w = 12, 5, width * 0.45
    plot = width - label_w - 40
    top = max(float(r.value or 0) for r in rows) or 1.0
    height = gap + len(rows) * (bar + gap)
    drawing = Drawing(width, height)
    for i, r in enumerate(rows):
        y = height - gap - (i + 1) * (bar + gap) + gap
        w = plot * float(r.value or 0) / top
        drawing.add(String(label_w - 4, y + 3, r.label[:48], fontName="Vera", fontSize=7.5,
                           textAnchor="end"))
        drawing.add(Rect(label_w, y, max(w, 0.5), bar, fillColor=colors.HexColor(BAR_COLOUR),
                         strokeColor=None))
        drawing.add(String(label_w + w + 3, y + 3, r.shown, fontName="Vera", fontSize=7.5))
    return drawing


def _table(result: Result) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    data = [[_("Category"), _("Value")]]
    data += [[r.label, r.shown] for r in result.rows]
    if result.total is not None:
        data.append([result.total.label, result.total.shown])
    table = Table(data, colWidths=[110 * 2.83, 30 * 2.83], hAlign="LEFT")
    style = [("FONT", (0, 0), (-1, -1), "Vera", 8.5), ("FONT", (0, 0), (-1, 0), "VeraBd", 8.5),
             ("ALIGN", (1, 0), (1, -1), "RIGHT"),
             ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey)]
    if result.total is not None:
        style.append(("FONT", (0, -1), (-1, -1), "VeraBd", 8.5))
    table.setStyle(TableStyle(style))
    return table


def render(results: Sequence[Result], *, filters: Filters, threshold: int, offices: str,
           notes: Sequence[str], language: str) -> bytes:
    """The report; `results` must have been computed under the same language."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer

    pdfs.register_fonts()
    buffer = BytesIO()
    with translation.override(language):
        period = _("%(part)s of %(year)s") % {"part": PART_LABELS[filters.period.part],
                                              "year": filters.period.year}
        title = _("Statistical report: %(period)s") % {"period": period}
        doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=pdfs.MARGIN,
                                rightMargin=pdfs.MARGIN, topMargin=pdfs.MARGIN,
                                bottomMargin=pdfs.MARGIN, title=title, author=offices)

        def para(text: str, style: Any = pdfs.BODY) -> Paragraph:
            return Paragraph(escape(text, quote=False), style)

        flow: list[Any] = [
            para(title, pdfs.TITLE),
            para(_("Offices: %(offices)s") % {"offices": offices}),
            para(_("From %(start)s to %(end)s; produced on %(today)s.") % {
                "start": date_format(filters.period.start, "DATE_FORMAT"),
                "end": date_format(filters.period.end, "DATE_FORMAT"),
                "today": date_format(timezone.localdate(), "DATE_FORMAT")}),
        ]
        filtered = {k: v for k, v in filters.describe().items() if v and k not in ("period",
                                                                                   "offices")}
        if filtered:
            flow.append(para(_("Filters: %(filters)s") % {
                "filters": ", ".join(f"{k} = {v}" for k, v in filtered.items())}))
        flow += [para(n) for n in notes]
        width = A4[0] - 2 * pdfs.MARGIN
        for result in results:
            block: list[Any] = [para(str(result.indicator.title), pdfs.BOLD)]
            chart = _chart(result, width)
            if chart is not None:
                block += [chart, Spacer(1, 4)]
            block.append(_table(result))
            flow.append(KeepTogether(block))
            flow.append(para(_("How it is counted: %(formula)s") % {
                "formula": result.indicator.formula}, SMALL))
            flow.append(Spacer(1, 8))
        doc.build(flow)
    return buffer.getvalue()
