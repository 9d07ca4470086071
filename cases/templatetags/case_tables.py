"""The rows of a table of cases (cases/_case_table.html) and of a dashboard's deadlines
(cases/_deadlines.html), built in Python: a list shows up to a page of cases, and the template
engine's cost per cell was most of the list's rendering (docs/architecture.md#speed). The
cells are the templates', escaped the same way."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.models import Case, CaseKind

if TYPE_CHECKING:
    from cases.dashboard import DeadlineRow

register = template.Library()

_NO_CASE = uuid.UUID(int=0)


@register.simple_tag
def case_rows(cases: Iterable[Case], due_column: bool = False) -> SafeString:
    kinds = {value: str(label) for value, label in CaseKind.choices}
    queue = _("— queue —")
    # Resolved once for the table: a row's link is the same path with its case's id.
    link = reverse("case_detail", args=[_NO_CASE])
    states: dict[tuple[str, str, int, str], str] = {}  # a state's label depends on no more
    rows = []
    for case in cases:
        due = getattr(case, "next_due", None)
        state = (case.procedure, case.kind, case.office_id, case.state)
        if state not in states:
            states[state] = case.state_label
        rows.append((
            link.replace(str(_NO_CASE), str(case.pk)), case.reference, str(case.principal),
            kinds.get(case.kind, case.kind), states[state],
            str(case.assigned_to) if case.assigned_to_id else queue,
            timezone.localtime(case.opened_at).strftime("%Y-%m-%d"),
            format_html('<td class="text-nowrap">{}</td>', due.isoformat() if due else "—")
            if due_column else "",
        ))
    return format_html_join(
        "\n", '<tr><td class="reference"><a href="{}">{}</a></td><td>{}</td><td>{}</td>'
        "<td>{}</td><td>{}</td><td>{}</td>{}</tr>", rows)


@register.simple_tag
def deadline_rows(rows: Iterable[DeadlineRow], with_office: bool = False) -> SafeString:
    """The rows of a panel of deadlines, the most urgent first: due date and how far off, the
    clock, the case, its principal and (`with_office`) its office and assignee."""
    link = reverse("case_detail", args=[_NO_CASE])
    queue = _("— queue —")
    out = []
    for row in rows:
        if row.overdue:
            n = row.days_overdue
            badge = format_html('<span class="badge text-bg-danger">{}</span>',
                                ngettext("overdue by %(n)s day", "overdue by %(n)s days", n) % {"n": n})
        elif row.days == 0:
            badge = format_html('<span class="badge text-bg-warning">{}</span>', _("due today"))
        else:
            badge = format_html('<span class="badge text-bg-light">{}</span>',
                                ngettext("in %(n)s day", "in %(n)s days", row.days) % {"n": row.days})
        case = row.case
        office = (format_html("<td>{}</td><td>{}</td>", case.office.code,
                              str(case.assigned_to) if case.assigned_to_id else queue)
                  if with_office else "")
        out.append(("table-danger" if row.overdue else "", row.clock, row.due_on.isoformat(), badge,
                    row.label, link.replace(str(_NO_CASE), str(case.pk)), case.reference,
                    str(case.principal), office))
    return format_html_join(
        "\n", '<tr class="{}" data-clock="{}"><td class="text-nowrap">{} {}</td><td>{}</td>'
        '<td class="reference"><a href="{}">{}</a></td><td>{}</td>{}</tr>', out)
