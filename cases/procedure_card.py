"""The case page's procedure card: where the case stands in its procedure, what is due,
the steps this user may take now, and the steps taken. Generic: the procedure's app says,
through `Workflow.options`, where its step forms are (`step_url`, a URL name taking case_id
and name) and what panel of its own it adds (`panel_template`, `panel`)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone

from cases import workflow
from cases.models import Case, CaseDeadline, CaseStep, User


def procedure_card(case: Case, user: User) -> dict[str, Any] | None:
    wf = workflow.for_case(case)
    if wf is None:
        return None
    today = timezone.localdate()
    step_url = wf.options.step_url
    # Two queries for the card, whatever the case's size; the steps' checks and the app's
    # panel use what they read (docs/architecture.md#speed).
    running = list(CaseDeadline.objects.filter(case=case, met_at__isnull=True).order_by("due_on"))
    taken = list(CaseStep.objects.filter(case=case).select_related("actor").order_by("number"))
    card: dict[str, Any] = {}
    with workflow.facts(case, steps=taken, running=running):
        if wf.options.panel is not None:
            card["panel_template"] = wf.options.panel_template
            card["panel"] = wf.options.panel(case, user)
        actions = [
            {"name": t.name, "label": t.label, "style": t.style,
             "url": reverse(step_url, kwargs={"case_id": case.pk, "name": t.name}) if step_url else ""}
            for t in workflow.available(case, user)
        ]
    clocks = {c.name: str(c.label) for c in wf.clocks}
    deadlines = [
        {"label": clocks.get(d.clock, d.clock), "due_on": d.due_on,
         "days": (d.due_on - today).days, "late": (today - d.due_on).days}
        for d in running
    ]
    steps = [
        {"step": s, "label": wf.transitions[s.transition].label if s.transition in wf.transitions
         else s.transition}
        for s in reversed(taken)
    ]
    state = wf.state(case.state)
    card.update({"workflow": wf, "label": wf.label, "state": state.label, "closed": state.closed,
                 "deadlines": deadlines, "actions": actions, "steps": steps})
    return card
