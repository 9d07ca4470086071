"""The asylum procedures: the UNHCR-mandate default and the country variants.

The facts they follow are in docs/domain/asylum-procedures.md; periods a country's law sets
differently are configurable (settings.AMPARO_DEADLINES) instead of guessed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseKind, Role, User
from cases.workflow import (
    CALENDAR,
    SYSTEM,
    WORKING,
    Clock,
    Label,
    ProcedureOptions,
    State,
    Transition,
    Workflow,
    for_case,
    open_deadline,
    register,
)
from rsd import selectors

CW, SUP = Role.CASEWORKER, Role.SUPERVISOR
FOUR_EYES = ("submit_assessment",)

STAFF = (CW, SUP)

OPEN_STATES = ("registered", "interview_scheduled", "no_show", "abandonment_proposed",
               "interviewed", "under_review", "committee", "minister", "commission", "decided",
               "appeal_period", "appeal_lodged", "appeal_decided")
AFTER_INTERVIEW = ("interviewed", "under_review", "committee", "minister", "commission", "decided",
                   "appeal_period", "appeal_lodged", "appeal_decided")
DECIDED = ("decided", "appeal_period", "appeal_lodged", "appeal_decided")


def _states(*extra: State) -> dict[str, State]:
    base = [
        State("open", _("Application to record"), waiting_for=CW),
        State("registered", _("Registered: interview to schedule"), waiting_for=CW),
        State("interview_scheduled", _("Interview scheduled"), waiting_for=CW),
        State("no_show", _("Interview missed"), waiting_for=CW),
        State("abandonment_proposed", _("Closure as abandoned proposed"), waiting_for=SUP),
        State("interviewed", _("Interviewed: assessment to write"), waiting_for=CW),
        State("under_review", _("Assessment under review"), waiting_for=SUP),
        *extra,
        State("decided", _("Decided: to notify"), waiting_for=CW),
        State("appeal_period", _("Notified: appeal period running")),
        State("appeal_lodged", _("Appeal lodged"), waiting_for=SUP),
        State("appeal_decided", _("Appeal decided: to notify"), waiting_for=CW),
        State("recognized", _("Recognized"), closed=True),
        State("cancellation_proposed", _("Cancellation of the recognition proposed"), waiting_for=SUP),
        State("rejected_final", _("Rejected (final)"), closed=True),
        State("complementary", _("Complementary protection (final)"), closed=True),
        State("withdrawn", _("Withdrawn"), closed=True),
        State("abandoned", _("Closed as abandoned"), closed=True),
        State("cancelled", _("Recognition cancelled"), closed=True),
    ]
    return {s.name: s for s in base}


# --- Guards (each says why not, or nothing) ----------------------------------------------

def _outcome_is(stage: str, outcomes: set[str], why):
    """A guard: the latest decision of `stage` has one of `outcomes`, or `why` not."""
    def guard(case: Case):
        return None if selectors.latest_outcome(case, stage) in outcomes else why
    return guard


POSITIVE, NEGATIVE = {"recognized"}, {"rejected", "complementary"}
decision_positive = _outcome_is("first_instance", POSITIVE,
                                _("The decision does not recognize refugee status."))
decision_negative = _outcome_is("first_instance", NEGATIVE,
                                _("The decision recognizes refugee status: there is nothing to appeal."))
decision_rejected = _outcome_is("first_instance", {"rejected"},
                                _("The decision did not reject the application."))
decision_complementary = _outcome_is("first_instance", {"complementary"},
                                     _("The decision did not grant complementary protection."))
appeal_allowed = _outcome_is("appeal", POSITIVE, _("The appeal was not allowed."))
appeal_dismissed = _outcome_is("appeal", NEGATIVE, _("The appeal was not dismissed."))


def closed_unappealed(case: Case):
    """A late appeal reopens only a refusal closed because nobody appealed in time."""
    if not selectors.closed_for_want_of_appeal(case):
        return _("Only a decision closed for want of an appeal can still be appealed.")
    return None


# Review and decision steps: never by whoever submitted or edited the assessment.
REVIEWED = {"not_by": FOUR_EYES, "excluded": selectors.assessment_writers}


def appeal_period_over(case: Case):
    deadline = open_deadline(case, "appeal")
    if deadline and deadline.due_on >= timezone.localdate():
        return _("The appeal period runs until %(date)s.") % {"date": deadline.due_on.isoformat()}
    return None


def abandonment_due(case: Case):
    """Repeated no-shows and no contact for the whole contact period."""
    needed = options_of(for_case(case)).abandon_after_no_shows
    misses = selectors.missed_interviews(case)
    if misses < needed:
        return _("The applicant has missed %(n)s interview(s); closure needs %(m)s.") % {
            "n": misses, "m": needed}
    deadline = open_deadline(case, "contact")
    if deadline and deadline.due_on >= timezone.localdate():
        return _("The applicant may still make contact until %(date)s.") % {
            "date": deadline.due_on.isoformat()}
    return None


# --- Transitions --------------------------------------------------------------------------

def _common(decided_by: tuple[str, ...]) -> list[Transition]:
    return [
        Transition("register", _("Record the application"), ("open",), "registered", STAFF),
        Transition("schedule_interview", _("Schedule the interview"), ("registered", "no_show"),
                   "interview_scheduled", STAFF),
        Transition("reschedule_interview", _("Reschedule the interview"), ("interview_scheduled",),
                   "interview_scheduled", STAFF, style="secondary"),
        Transition("record_attendance", _("Record the interview"), ("interview_scheduled",),
                   "interviewed", STAFF),
        Transition("record_no_show", _("Record a missed interview"), ("interview_scheduled",),
                   "no_show", STAFF, style="secondary"),
        Transition("record_contact", _("Record contact with the applicant"), ("no_show",), "no_show",
                   STAFF, needs_reason=True, style="secondary"),
        Transition("propose_abandonment", _("Propose closure as abandoned"), ("no_show",),
                   "abandonment_proposed", (*STAFF, SYSTEM), guards=(abandonment_due,),
                   style="secondary"),
        Transition("confirm_abandonment", _("Close as abandoned"), ("abandonment_proposed",),
                   "abandoned", (SUP,), not_by_latest=("propose_abandonment",), needs_reason=True,
                   style="danger"),
        Transition("keep_open", _("Keep the case open"), ("abandonment_proposed",), "no_show",
                   (SUP,), needs_reason=True, style="secondary"),
        Transition("submit_assessment", _("Submit the assessment for review"), ("interviewed",),
                   "under_review", STAFF),
        Transition("return_assessment", _("Return the assessment with comments"), ("under_review",),
                   "interviewed", (SUP,), **REVIEWED, needs_reason=True, style="secondary"),
        Transition("notify_recognition", _("Record the notification"), ("decided",), "recognized",
                   STAFF, guards=(decision_positive,)),
        Transition("notify_negative", _("Record the notification"), ("decided",), "appeal_period",
                   STAFF, guards=(decision_negative,)),
        Transition("lodge_appeal", _("Record an appeal"), ("appeal_period",), "appeal_lodged", STAFF),
        Transition("lodge_late_appeal", _("Record a late appeal"), ("rejected_final", "complementary"),
                   "appeal_lodged", STAFF, guards=(closed_unappealed,), style="secondary"),
        Transition("close_unappealed", _("Close: no appeal in time"), ("appeal_period",),
                   "rejected_final", (SUP, SYSTEM), guards=(decision_rejected, appeal_period_over),
                   style="secondary"),
        # Complementary protection stays granted when the appeal for refugee status fails.
        Transition("close_with_protection", _("Close: no appeal in time"), ("appeal_period",),
                   "complementary", (SUP, SYSTEM), guards=(decision_complementary, appeal_period_over),
                   style="secondary"),
        Transition("allow_appeal", _("Allow the appeal"), ("appeal_lodged",), "appeal_decided", (SUP,),
                   not_by=decided_by),
        Transition("dismiss_appeal", _("Dismiss the appeal"), ("appeal_lodged",), "appeal_decided",
                   (SUP,), not_by=decided_by, style="danger"),
        Transition("notify_appeal_recognition", _("Record the notification"), ("appeal_decided",),
                   "recognized", STAFF, guards=(appeal_allowed,)),
        Transition("notify_appeal_dismissal", _("Record the notification"), ("appeal_decided",),
                   "rejected_final", STAFF, guards=(appeal_dismissed, decision_rejected)),
        Transition("notify_appeal_dismissal_protected", _("Record the notification"), ("appeal_decided",),
                   "complementary", STAFF, guards=(appeal_dismissed, decision_complementary)),
        Transition("withdraw", _("Record a withdrawal"), tuple(s for s in OPEN_STATES), "withdrawn",
                   STAFF, needs_reason=True, style="danger"),
        Transition("reopen", _("Reopen"), ("withdrawn", "abandoned", "rejected_final", "complementary"),
                   "registered",
                   (SUP,), needs_reason=True, style="secondary"),
        # Cancellation is a decision: one supervisor proposes, another decides.
        Transition("propose_cancellation", _("Propose cancelling the recognition"), ("recognized",),
                   "cancellation_proposed", (SUP,), needs_reason=True, style="danger"),
        Transition("cancel_recognition", _("Cancel the recognition"), ("cancellation_proposed",),
                   "cancelled", (SUP,), not_by_latest=("propose_cancellation",), needs_reason=True,
                   style="danger"),
        Transition("keep_recognition", _("Keep the recognition"), ("cancellation_proposed",),
                   "recognized", (SUP,), not_by_latest=("propose_cancellation",), needs_reason=True,
                   style="secondary"),
    ]


def _clocks(*extra: Clock) -> tuple[Clock, ...]:
    return (
        Clock("interview", _("Interview (target)"), 183, CALENDAR, starts=("register", "reopen"),
              stops=AFTER_INTERVIEW, roll_forward=False),
        Clock("contact", _("Contact after a missed interview"), 42, CALENDAR,
              starts=("record_no_show", "record_contact", "keep_open"),
              stops=("interview_scheduled", "abandonment_proposed", *AFTER_INTERVIEW),
              roll_forward=False),
        Clock("appeal", _("Appeal period"), 30, CALENDAR, starts=("notify_negative",),
              stops=("appeal_lodged",)),
        *extra,
    )


def _workflow(name: str, label, country: str, *, states: dict[str, State],
              transitions: list[Transition], clocks: tuple[Clock, ...]) -> Workflow:
    # The shared steps name every variant's states; each variant keeps those it has.
    pruned = {t.name: dataclasses.replace(t, sources=tuple(s for s in t.sources if s in states))
              for t in transitions}
    return register(Workflow(name=name, kind=CaseKind.ASYLUM, label=label, country=country,
                             rounds=("register", "reopen"),
                             states=states, transitions=pruned,
                             clocks=clocks, options=OPTIONS[name]))


def _panel(case: Case, user: User) -> dict[str, Any]:
    from rsd.panel import panel_context  # imports the services, which import this module

    return panel_context(case, user)


STEP_URL = "rsd:step"


@dataclass(frozen=True)
class AsylumOptions(ProcedureOptions):
    """What differs between the asylum procedures beyond their steps."""

    abandon_after_no_shows: int = 2
    filing_limit: tuple[int, str] | None = None  # (days, unit) after arrival; later is late
    # Who takes each deciding step (transition name -> body), and who hears appeals.
    authorities: Mapping[str, Label] = field(default_factory=dict)
    appeal_body: Label = ""


def options_of(wf: Workflow | None) -> AsylumOptions:
    """The asylum options of a procedure (the default procedure's when there is none)."""
    return wf.options_as(AsylumOptions) if wf is not None else OPTIONS["rsd.unhcr"]


DEFAULT_OPTIONS = AsylumOptions(
    step_url=STEP_URL, panel_template="rsd/_panel.html", panel=_panel,
    authorities={"decide": _("Reviewing eligibility officer")},
    appeal_body=_("Appeal eligibility officer"),
)
OPTIONS = {
    "rsd.unhcr": DEFAULT_OPTIONS,
    "rsd.bz": dataclasses.replace(
        DEFAULT_OPTIONS, filing_limit=(14, CALENDAR),
        authorities={"record_committee_recommendation": _("Refugee Eligibility Committee"),
                     "record_minister_decision": _("Minister responsible for immigration")},
        appeal_body=_("Refugee appeal authority")),
    "rsd.cr": dataclasses.replace(
        DEFAULT_OPTIONS,
        authorities={"record_commission_decision": _("Commission for Restricted Visas and Refuge")},
        appeal_body=_("Administrative Migration Tribunal")),
    "rsd.mx": dataclasses.replace(
        DEFAULT_OPTIONS, filing_limit=(30, WORKING),
        authorities={"decide": _("Mexican Commission for Refugee Assistance (COMAR)")},
        appeal_body=_("COMAR (review appeal)")),
}


def build() -> None:
    decide = Transition("decide", _("Record the decision"), ("under_review",), "decided", (SUP,),
                        **REVIEWED)
    _workflow("rsd.unhcr", _("UNHCR mandate procedure"), "", states=_states(),
              transitions=[*_common(("decide",)), decide], clocks=_clocks())
    _workflow(
        "rsd.bz", _("Belize: Refugees Act"), "BZ",
        states=_states(State("committee", _("Awaiting the Refugee Eligibility Committee"), waiting_for=SUP),
                       State("minister", _("Awaiting the Minister's decision"), waiting_for=SUP)),
        transitions=[
            *_common(("record_minister_decision",)),
            Transition("approve_assessment", _("Approve the assessment for the Committee"),
                       ("under_review",), "committee", (SUP,), **REVIEWED),
            Transition("record_committee_recommendation", _("Record the Committee's recommendation"),
                       ("committee",), "minister", (SUP,), **REVIEWED),
            Transition("record_minister_decision", _("Record the Minister's decision"), ("minister",),
                       "decided", (SUP,), **REVIEWED),
        ],
        clocks=_clocks(),
    )
    _workflow(
        "rsd.cr", _("Costa Rica: Refugee Unit and Commission"), "CR",
        states={**_states(State("commission", _("Awaiting the Commission's decision"), waiting_for=SUP)),
                "appeal_lodged": State("appeal_lodged", _("Appeal before the Migration Tribunal"),
                                       waiting_for=SUP)},
        transitions=[
            *_common(("record_commission_decision",)),
            Transition("approve_assessment", _("Send the technical assessment to the Commission"),
                       ("under_review",), "commission", (SUP,), **REVIEWED),
            Transition("record_commission_decision", _("Record the Commission's decision"),
                       ("commission",), "decided", (SUP,), **REVIEWED),
        ],
        clocks=_clocks(),
    )
    _workflow(
        "rsd.mx", _("Mexico: COMAR procedure"), "MX", states=_states(),
        transitions=[*_common(("decide",)), decide],
        clocks=_clocks(Clock("decision", _("Decision due"), 45, WORKING,
                             starts=("register", "reopen"), stops=DECIDED, roll_forward=False)),
    )
