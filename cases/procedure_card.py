"""The case page's procedure card: where the case stands in its procedure, what is due,
the steps this user may take now, and the steps taken. Generic: the procedure's app says,
through `Workflow.options`, where its step forms are (`step_url`, a URL name taking case_id
and name) and what panel of its own it adds (`panel_template`, `panel`)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from cases import access, fragments, workflow
from cases.models import Case, CaseDeadline, CaseStep, Office, Person, User

TEMPLATE = "cases/_procedure_card.html"


def procedure_card_html(case: Case, user: User) -> str:
    """The card rendered, "" for a case in no procedure. Kept between views under the
    fingerprint of every row it shows and of who looks (docs/architecture.md#speed); a
    procedure that does not name the rows its panel and its steps' checks read
    (`panel_sources`) is rendered on every view."""
    wf = workflow.for_case(case)
    if wf is None or not access.sees_part(user, case, "procedure"):
        return ""

    def render() -> str:
        return render_to_string(TEMPLATE, {"procedure": procedure_card(case, user), "case": case})

    if wf.options.panel_sources is None:  # the procedure did not say what its card reads
        return render()
    version = fragments.data_version(*_fingerprint(case, wf))
    # Who looks: what the user may do here follows from their roles in the office, whether
    # the case is theirs (a row of the fingerprint) and the four-eyes checks, which name them.
    who = [user.pk, sorted(access.roles_in(user, case.office_id)),
           case.pk in access.granted_case_ids(user), sorted(access.case_parts(user, case))]
    return fragments.cached(
        "procedure_card", subject_id=case.principal_id, version=version, render=render,
        key_parts=[str(case.pk), wf.name, *who, translation.get_language(),
                   timezone.localdate().isoformat(), timezone.get_current_timezone_name()])


# The fingerprint's statement is built once per procedure for a stand-in case, whose ids are
# then replaced by the case's own: building it is most of its cost.
_PROBE_CASE, _PROBE_PERSON, _PROBE_OFFICE = uuid.UUID(int=1), uuid.UUID(int=2), -7_000_001
_STATEMENTS: dict[str, tuple[str, list[Any]]] = {}


def _fingerprint(case: Case, wf: workflow.Workflow) -> tuple[str, list[Any]]:
    built = _STATEMENTS.get(wf.name)
    if built is None:
        probe = Case(pk=_PROBE_CASE, principal_id=_PROBE_PERSON, office_id=_PROBE_OFFICE)
        built = _STATEMENTS[wf.name] = fragments.fingerprint_sql(
            card_sources(probe, wf.options.panel_sources))
    own: dict[Any, Any] = {_PROBE_CASE: case.pk, _PROBE_PERSON: case.principal_id,
                           _PROBE_OFFICE: case.office_id}
    sql, params = built
    return sql, [own.get(p, p) if isinstance(p, (uuid.UUID, int)) else p for p in params]


def card_sources(case: Case, panel_sources: Any = None) -> list[QuerySet[Any]]:
    """The rows the card is built from: the case, its principal and office, the steps with
    their actors, the running deadlines, and the panel's own."""
    core: list[QuerySet[Any]] = [
        Case.objects.filter(pk=case.pk),
        Person.objects.filter(pk=case.principal_id),
        Office.objects.filter(pk=case.office_id),
        CaseStep.objects.filter(case=case),
        User.objects.filter(pk__in=CaseStep.objects.filter(case=case).values("actor_id")),
        CaseDeadline.objects.filter(case=case),
    ]
    return core + (list(panel_sources(case)) if panel_sources else [])


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
