"""The trafficking procedure: screening, identification by the authorised body, support and
closure (docs/domain/trafficking.md#the-procedure).

One procedure for every country; what differs by country (who identifies victims) is an
option, and settings.AMPARO_TIP_IDENTIFYING_BODIES adds or replaces a country's body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseKind, Role, User
from cases.workflow import Label, ProcedureOptions, State, Transition, Workflow, register
from tip.names import States, Steps
from tip.vocab import DecidingBodyType

CW, SUP = Role.CASEWORKER, Role.SUPERVISOR
STAFF = (CW, SUP)
NAME = "tip"
STEP_URL = "tip:step"

OPEN_STATES = (States.OPEN, States.SCREENING, States.IDENTIFICATION, States.ACTIVE, States.FOLLOW_UP)
SUPPORT = (States.ACTIVE, States.FOLLOW_UP)
CLOSED = (States.CLOSED, States.CLOSED_REFERRED)
# The HTCDS case status (cas_Status) of each state.
CASE_STATUS = {States.OPEN: "Active", States.SCREENING: "Active", States.IDENTIFICATION: "Active",
               States.ACTIVE: "Active", States.FOLLOW_UP: "FollowUp", States.CLOSED: "Closed",
               States.CLOSED_REFERRED: "ClosedReferred"}

# How an imported case reaches the state of its file's cas_Status (docs/architecture.md
# #htcds-import): the shortest way along the procedure's transitions. Active stays at the
# first state (the office records the profile, screens and identifies); FollowUp and
# ClosedReferred lie past an identification decision taken elsewhere; Closed closes at once.
IMPORT_PATHS: dict[str, tuple[Steps, ...]] = {
    "Active": (),
    "FollowUp": (Steps.RECORD_PROFILE, Steps.SCREEN, Steps.IDENTIFY, Steps.START_FOLLOW_UP),
    "Closed": (Steps.CLOSE,),
    "ClosedReferred": (Steps.RECORD_PROFILE, Steps.SCREEN, Steps.IDENTIFY, Steps.CLOSE_REFERRED),
}


@dataclass(frozen=True)
class IdentifyingBody:
    name: Label
    body_type: str = DecidingBodyType.GOVERNMENT


@dataclass(frozen=True)
class TipOptions(ProcedureOptions):
    """Who identifies victims, by the office's country ("" for anywhere else)."""

    identifying_bodies: Mapping[str, IdentifyingBody] = field(default_factory=dict)


def _panel(case: Case, user: User) -> dict[str, Any]:
    from tip.panel import panel_context  # imports the selectors, which import the models

    return panel_context(case, user)


OPTIONS = TipOptions(
    step_url=STEP_URL, panel_template="tip/_panel.html", panel=_panel,
    identifying_bodies={
        "": IdentifyingBody(_("The authority that identifies victims of trafficking")),
        # Trafficking in Persons (Prohibition) Act 2013.
        "BZ": IdentifyingBody(_("Anti-Trafficking in Persons (ATIPs) Council")),
    },
)


def identifying_body(country: str) -> IdentifyingBody:
    """The body that decides identification in `country`: settings first, then the code's."""
    configured = getattr(settings, "AMPARO_TIP_IDENTIFYING_BODIES", {}).get(country)
    if configured:
        return IdentifyingBody(configured)
    bodies = OPTIONS.identifying_bodies
    return bodies.get(country) or bodies[""]


def screeners(case: Case) -> set[int]:
    """Who screened the case: they may not record its identification (four eyes)."""
    from tip.models import Screening

    return set(Screening.objects.filter(case=case).values_list("screened_by_id", flat=True))


def identified(case: Case) -> Label | None:
    from tip.models import Identification

    if not Identification.objects.filter(case=case).exists():
        return _("The case was closed before its identification: reopen it for screening.")
    return None


def not_identified(case: Case) -> Label | None:
    from tip.models import Identification

    if Identification.objects.filter(case=case).exists():
        return _("The case has an identification decision: reopen it for support.")
    return None


STATES = {s.name: s for s in (
    State(States.OPEN, _("Victim profile to record"), waiting_for=CW),
    State(States.SCREENING, _("Screening to do"), waiting_for=CW),
    State(States.IDENTIFICATION, _("Awaiting the identification decision"), waiting_for=SUP),
    State(States.ACTIVE, _("Active: support under way"), waiting_for=CW),
    State(States.FOLLOW_UP, _("Follow-up")),
    State(States.CLOSED, _("Closed"), closed=True),
    State(States.CLOSED_REFERRED, _("Closed and referred"), closed=True),
)}


def build() -> Workflow:
    transitions = [
        Transition(Steps.RECORD_PROFILE, _("Record the victim profile"), (States.OPEN,),
                   States.SCREENING, STAFF),
        Transition(Steps.SCREEN, _("Screen with the indicators"), (States.SCREENING,),
                   States.IDENTIFICATION, STAFF),
        # Four eyes: whoever screened (in this round, or ever: `excluded`) does not identify.
        Transition(Steps.IDENTIFY, _("Record the identification decision"), (States.IDENTIFICATION,),
                   States.ACTIVE, (SUP,), not_by=(Steps.SCREEN,), excluded=screeners),
        Transition(Steps.RETURN_SCREENING, _("Return for more screening"), (States.IDENTIFICATION,),
                   States.SCREENING, (SUP,), needs_reason=True, style="secondary"),
        Transition(Steps.START_FOLLOW_UP, _("Move to follow-up"), (States.ACTIVE,), States.FOLLOW_UP,
                   STAFF, style="secondary"),
        Transition(Steps.RESUME, _("Resume active support"), (States.FOLLOW_UP,), States.ACTIVE,
                   STAFF, style="secondary"),
        Transition(Steps.CLOSE, _("Close the case"), OPEN_STATES, States.CLOSED, STAFF,
                   needs_reason=True, style="danger"),
        Transition(Steps.CLOSE_REFERRED, _("Close and refer"), SUPPORT, States.CLOSED_REFERRED, STAFF,
                   needs_reason=True, style="secondary"),
        Transition(Steps.REOPEN, _("Reopen"), CLOSED, States.ACTIVE, (SUP,), guards=(identified,),
                   needs_reason=True, style="secondary"),
        Transition(Steps.REOPEN_FOR_SCREENING, _("Reopen for screening"), CLOSED, States.SCREENING, (SUP,),
                   guards=(not_identified,), needs_reason=True, style="secondary"),
    ]
    return register(Workflow(name=NAME, kind=CaseKind.TRAFFICKING, label=_("Trafficking in persons"),
                             states=dict(STATES), transitions={t.name: t for t in transitions},
                             rounds=(Steps.RECORD_PROFILE, Steps.REOPEN, Steps.REOPEN_FOR_SCREENING),
                             options=OPTIONS))
