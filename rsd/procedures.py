"""The asylum procedures: the UNHCR-mandate default and the country variants.

The facts they follow are in docs/domain/asylum-procedures.md; periods a country's law sets
differently are configurable (settings.AMPARO_DEADLINES) instead of guessed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseKind, Role, User
from cases.workflow import (
    CALENDAR,
    SYSTEM,
    WORKING,
    Clock,
    Guard,
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
from rsd.models import InterviewStatus
from rsd.names import Clocks, States, Steps

CW, SUP = Role.CASEWORKER, Role.SUPERVISOR
FOUR_EYES = (Steps.SUBMIT_ASSESSMENT,)

STAFF = (CW, SUP)

OPEN_STATES = (States.REGISTERED, States.INTERVIEW_SCHEDULED, States.NO_SHOW,
               States.ABANDONMENT_PROPOSED, States.INTERVIEWED, States.UNDER_REVIEW, States.COMMITTEE,
               States.MINISTER, States.COMMISSION, States.DECIDED, States.APPEAL_PERIOD,
               States.APPEAL_LODGED, States.APPEAL_DECIDED)
AFTER_INTERVIEW = (States.INTERVIEWED, States.UNDER_REVIEW, States.COMMITTEE, States.MINISTER,
                   States.COMMISSION, States.DECIDED, States.APPEAL_PERIOD, States.APPEAL_LODGED,
                   States.APPEAL_DECIDED)
DECIDED = (States.DECIDED, States.APPEAL_PERIOD, States.APPEAL_LODGED, States.APPEAL_DECIDED)


def _states(*extra: State) -> dict[str, State]:
    base = [
        State(States.OPEN, _("Application to record"), waiting_for=CW),
        State(States.REGISTERED, _("Registered: interview to schedule"), waiting_for=CW),
        State(States.INTERVIEW_SCHEDULED, _("Interview scheduled"), waiting_for=CW),
        State(States.NO_SHOW, _("Interview missed"), waiting_for=CW),
        State(States.ABANDONMENT_PROPOSED, _("Closure as abandoned proposed"), waiting_for=SUP),
        State(States.INTERVIEWED, _("Interviewed: assessment to write"), waiting_for=CW),
        State(States.UNDER_REVIEW, _("Assessment under review"), waiting_for=SUP),
        *extra,
        State(States.DECIDED, _("Decided: to notify"), waiting_for=CW),
        State(States.APPEAL_PERIOD, _("Notified: appeal period running")),
        State(States.APPEAL_LODGED, _("Appeal lodged"), waiting_for=SUP),
        State(States.APPEAL_DECIDED, _("Appeal decided: to notify"), waiting_for=CW),
        State(States.RECOGNIZED, _("Recognized"), closed=True),
        State(States.CANCELLATION_PROPOSED, _("Cancellation of the recognition proposed"), waiting_for=SUP),
        State(States.REJECTED_FINAL, _("Rejected (final)"), closed=True),
        State(States.COMPLEMENTARY, _("Complementary protection (final)"), closed=True),
        State(States.WITHDRAWN, _("Withdrawn"), closed=True),
        State(States.ABANDONED, _("Closed as abandoned"), closed=True),
        State(States.CANCELLED, _("Recognition cancelled"), closed=True),
    ]
    return {s.name: s for s in base}


# --- Guards (each says why not, or nothing) ----------------------------------------------

def _outcome_is(stage: str, outcomes: set[str], why: Label) -> Guard:
    """A guard: the latest decision of `stage` has one of `outcomes`, or `why` not."""
    def guard(case: Case) -> Label | None:
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


def closed_unappealed(case: Case) -> Label | None:
    """A late appeal reopens only a refusal closed because nobody appealed in time."""
    if not selectors.closed_for_want_of_appeal(case):
        return _("Only a decision closed for want of an appeal can still be appealed.")
    return None


class _FourEyes(TypedDict):
    """The four-eyes arguments of a Transition."""

    not_by: tuple[str, ...]
    excluded: Callable[[Case], set[int]]


# Review and decision steps: never by whoever submitted or edited the assessment.
REVIEWED: _FourEyes = {"not_by": FOUR_EYES, "excluded": selectors.assessment_writers}


def interview_day_reached(case: Case) -> Label | None:
    """An interview is recorded (held or missed) on or after its day, not before."""
    interview = next((i for i in selectors.interviews_of(case)
                      if i.status == InterviewStatus.SCHEDULED), None)
    if interview is None:
        return _("No interview is scheduled.")
    day = timezone.localdate(interview.scheduled_for)
    if day > timezone.localdate():
        return _("The interview is set for %(date)s: record it on or after that day.") % {
            "date": day.isoformat()}
    return None


def appeal_period_over(case: Case) -> Label | None:
    deadline = open_deadline(case, Clocks.APPEAL)
    if deadline and deadline.due_on >= timezone.localdate():
        return _("The appeal period runs until %(date)s.") % {"date": deadline.due_on.isoformat()}
    return None


def abandonment_due(case: Case) -> Label | None:
    """Repeated no-shows and no contact for the whole contact period."""
    needed = abandon_after_no_shows(case)
    misses = selectors.missed_interviews(case)
    if misses < needed:
        return _("The applicant has missed %(n)s interview(s); closure needs %(m)s.") % {
            "n": misses, "m": needed}
    deadline = open_deadline(case, Clocks.CONTACT)
    if deadline and deadline.due_on >= timezone.localdate():
        return _("The applicant may still make contact until %(date)s.") % {
            "date": deadline.due_on.isoformat()}
    return None


# --- Transitions --------------------------------------------------------------------------

def _common(decided_by: tuple[str, ...]) -> list[Transition]:
    return [
        Transition(Steps.REGISTER, _("Record the application"), (States.OPEN,), States.REGISTERED, STAFF),
        Transition(Steps.SCHEDULE_INTERVIEW, _("Schedule the interview"), (States.REGISTERED, States.NO_SHOW),
                   States.INTERVIEW_SCHEDULED, STAFF),
        Transition(Steps.RESCHEDULE_INTERVIEW, _("Reschedule the interview"), (States.INTERVIEW_SCHEDULED,),
                   States.INTERVIEW_SCHEDULED, STAFF, style="secondary"),
        Transition(Steps.RECORD_ATTENDANCE, _("Record the interview"), (States.INTERVIEW_SCHEDULED,),
                   States.INTERVIEWED, STAFF, guards=(interview_day_reached,)),
        Transition(Steps.RECORD_NO_SHOW, _("Record a missed interview"), (States.INTERVIEW_SCHEDULED,),
                   States.NO_SHOW, STAFF, guards=(interview_day_reached,), style="secondary"),
        Transition(Steps.RECORD_CONTACT, _("Record contact with the applicant"), (States.NO_SHOW,),
                   States.NO_SHOW,
                   STAFF, needs_reason=True, style="secondary"),
        Transition(Steps.PROPOSE_ABANDONMENT, _("Propose closure as abandoned"), (States.NO_SHOW,),
                   States.ABANDONMENT_PROPOSED, (*STAFF, SYSTEM), guards=(abandonment_due,),
                   style="secondary"),
        Transition(Steps.CONFIRM_ABANDONMENT, _("Close as abandoned"), (States.ABANDONMENT_PROPOSED,),
                   States.ABANDONED, (SUP,), not_by_latest=(Steps.PROPOSE_ABANDONMENT,), needs_reason=True,
                   style="danger"),
        Transition(Steps.KEEP_OPEN, _("Keep the case open"), (States.ABANDONMENT_PROPOSED,), States.NO_SHOW,
                   (SUP,), needs_reason=True, style="secondary"),
        Transition(Steps.SUBMIT_ASSESSMENT, _("Submit the assessment for review"), (States.INTERVIEWED,),
                   States.UNDER_REVIEW, STAFF),
        Transition(Steps.RETURN_ASSESSMENT, _("Return the assessment with comments"), (States.UNDER_REVIEW,),
                   States.INTERVIEWED, (SUP,), **REVIEWED, needs_reason=True, style="secondary"),
        Transition(Steps.NOTIFY_RECOGNITION, _("Record the notification"), (States.DECIDED,),
                   States.RECOGNIZED,
                   STAFF, guards=(decision_positive,)),
        Transition(Steps.NOTIFY_NEGATIVE, _("Record the notification"), (States.DECIDED,),
                   States.APPEAL_PERIOD,
                   STAFF, guards=(decision_negative,)),
        Transition(Steps.LODGE_APPEAL, _("Record an appeal"), (States.APPEAL_PERIOD,), States.APPEAL_LODGED,
                   STAFF),
        Transition(Steps.LODGE_LATE_APPEAL, _("Record a late appeal"), (States.REJECTED_FINAL,
                                                                        States.COMPLEMENTARY),
                   States.APPEAL_LODGED, STAFF, guards=(closed_unappealed,), style="secondary"),
        Transition(Steps.CLOSE_UNAPPEALED, _("Close: no appeal in time"), (States.APPEAL_PERIOD,),
                   States.REJECTED_FINAL, (SUP, SYSTEM), guards=(decision_rejected, appeal_period_over),
                   style="secondary"),
        # Complementary protection stays granted when the appeal for refugee status fails.
        Transition(Steps.CLOSE_WITH_PROTECTION, _("Close: no appeal in time"), (States.APPEAL_PERIOD,),
                   States.COMPLEMENTARY, (SUP, SYSTEM), guards=(decision_complementary, appeal_period_over),
                   style="secondary"),
        Transition(Steps.ALLOW_APPEAL, _("Allow the appeal"), (States.APPEAL_LODGED,), States.APPEAL_DECIDED,
                   (SUP,),
                   not_by=decided_by),
        Transition(Steps.DISMISS_APPEAL, _("Dismiss the appeal"), (States.APPEAL_LODGED,),
                   States.APPEAL_DECIDED,
                   (SUP,), not_by=decided_by, style="danger"),
        Transition(Steps.NOTIFY_APPEAL_RECOGNITION, _("Record the notification"), (States.APPEAL_DECIDED,),
                   States.RECOGNIZED, STAFF, guards=(appeal_allowed,)),
        Transition(Steps.NOTIFY_APPEAL_DISMISSAL, _("Record the notification"), (States.APPEAL_DECIDED,),
                   States.REJECTED_FINAL, STAFF, guards=(appeal_dismissed, decision_rejected)),
        Transition(Steps.NOTIFY_APPEAL_DISMISSAL_PROTECTED, _("Record the notification"),
                   (States.APPEAL_DECIDED,),
                   States.COMPLEMENTARY, STAFF, guards=(appeal_dismissed, decision_complementary)),
        Transition(Steps.WITHDRAW, _("Record a withdrawal"), tuple(s for s in OPEN_STATES), States.WITHDRAWN,
                   STAFF, needs_reason=True, style="danger"),
        Transition(Steps.REOPEN, _("Reopen"), (States.WITHDRAWN, States.ABANDONED, States.REJECTED_FINAL,
                                               States.COMPLEMENTARY),
                   States.REGISTERED,
                   (SUP,), needs_reason=True, style="secondary"),
        # Cancellation is a decision: one supervisor proposes, another decides.
        Transition(Steps.PROPOSE_CANCELLATION, _("Propose cancelling the recognition"), (States.RECOGNIZED,),
                   States.CANCELLATION_PROPOSED, (SUP,), needs_reason=True, style="danger"),
        Transition(Steps.CANCEL_RECOGNITION, _("Cancel the recognition"), (States.CANCELLATION_PROPOSED,),
                   States.CANCELLED, (SUP,), not_by_latest=(Steps.PROPOSE_CANCELLATION,), needs_reason=True,
                   style="danger"),
        Transition(Steps.KEEP_RECOGNITION, _("Keep the recognition"), (States.CANCELLATION_PROPOSED,),
                   States.RECOGNIZED, (SUP,), not_by_latest=(Steps.PROPOSE_CANCELLATION,), needs_reason=True,
                   style="secondary"),
    ]


def _clocks(*extra: Clock) -> tuple[Clock, ...]:
    return (
        Clock(Clocks.INTERVIEW, _("Interview (target)"), 183, CALENDAR, starts=(Steps.REGISTER, Steps.REOPEN),
              stops=AFTER_INTERVIEW, roll_forward=False),
        Clock(Clocks.CONTACT, _("Contact after a missed interview"), 42, CALENDAR,
              starts=(Steps.RECORD_NO_SHOW, Steps.RECORD_CONTACT, Steps.KEEP_OPEN),
              stops=(States.INTERVIEW_SCHEDULED, States.ABANDONMENT_PROPOSED, *AFTER_INTERVIEW),
              roll_forward=False),
        Clock(Clocks.APPEAL, _("Appeal period"), 30, CALENDAR, starts=(Steps.NOTIFY_NEGATIVE,),
              stops=(States.APPEAL_LODGED,)),
        *extra,
    )


def _workflow(name: str, label: Label, country: str, *, states: dict[str, State],
              transitions: list[Transition], clocks: tuple[Clock, ...]) -> Workflow:
    # The shared steps name every variant's states; each variant keeps those it has.
    pruned = {t.name: dataclasses.replace(t, sources=tuple(s for s in t.sources if s in states))
              for t in transitions}
    return register(Workflow(name=name, kind=CaseKind.ASYLUM, label=label, country=country,
                             rounds=(Steps.REGISTER, Steps.REOPEN),
                             states=states, transitions=pruned,
                             clocks=clocks, options=OPTIONS[name]))


def _panel(case: Case, user: User) -> dict[str, Any]:
    from rsd.panel import panel_context  # imports the services, which import this module

    return panel_context(case, user)


def _panel_sources(case: Case) -> list[QuerySet[Any]]:
    """Every row the panel shows or its steps' checks read (cases/fragments.py)."""
    from cases.models import Person
    from rsd.models import (
        Appeal,
        Application,
        CoiSource,
        Decision,
        EligibilityAssessment,
        FamilyMember,
        Interview,
    )

    cited = EligibilityAssessment.coi_sources.through.objects.filter(eligibilityassessment__case=case)
    interviews = Interview.objects.filter(case=case)
    assessments = EligibilityAssessment.objects.filter(case=case)
    decisions = Decision.objects.filter(case=case)
    family = FamilyMember.objects.filter(case=case)
    staff = (Q(pk__in=interviews.values("interviewer_id")) | Q(pk__in=assessments.values("author_id"))
             | Q(pk__in=assessments.values("reviewed_by_id")) | Q(pk__in=decisions.values("recorded_by_id")))
    return [
        Application.objects.filter(case=case), family,
        Person.objects.filter(pk__in=family.values("person_id")),
        interviews, assessments, cited, CoiSource.objects.filter(pk__in=cited.values("coisource_id")),
        decisions, Appeal.objects.filter(case=case),
        User.objects.filter(staff),
    ]


STEP_URL = "rsd:step"


@dataclass(frozen=True)
class AsylumOptions(ProcedureOptions):
    """What differs between the asylum procedures beyond their steps."""

    abandon_after_no_shows: int = 2
    filing_limit: tuple[int, str] | None = None  # (days, unit) after arrival; later is late
    # Who takes each deciding step (transition name -> body), and who hears appeals.
    authorities: Mapping[str, Label] = field(default_factory=dict)
    appeal_body: Label = ""


def abandon_after_no_shows(case: Case) -> int:
    """Missed interviews after which closure as abandoned is proposed: the office's setting
    (a system administrator's, in the administration site), else the procedure's."""
    return case.office.abandon_after_no_shows or options_of(for_case(case)).abandon_after_no_shows


def options_of(wf: Workflow | None) -> AsylumOptions:
    """The asylum options of a procedure (the default procedure's when there is none)."""
    return wf.options_as(AsylumOptions) if wf is not None else OPTIONS["rsd.unhcr"]


DEFAULT_OPTIONS = AsylumOptions(
    step_url=STEP_URL, panel_template="rsd/_panel.html", panel=_panel, panel_sources=_panel_sources,
    authorities={Steps.DECIDE: _("Reviewing eligibility officer")},
    appeal_body=_("Appeal eligibility officer"),
)
OPTIONS = {
    "rsd.unhcr": DEFAULT_OPTIONS,
    "rsd.bz": dataclasses.replace(
        DEFAULT_OPTIONS, filing_limit=(14, CALENDAR),
        authorities={Steps.RECORD_COMMITTEE_RECOMMENDATION: _("Refugee Eligibility Committee"),
                     Steps.RECORD_MINISTER_DECISION: _("Minister responsible for immigration")},
        appeal_body=_("Refugee appeal authority")),
    "rsd.cr": dataclasses.replace(
        DEFAULT_OPTIONS,
        authorities={Steps.RECORD_COMMISSION_DECISION: _("Commission for Restricted Visas and Refuge")},
        appeal_body=_("Administrative Migration Tribunal")),
    "rsd.mx": dataclasses.replace(
        DEFAULT_OPTIONS, filing_limit=(30, WORKING),
        authorities={Steps.DECIDE: _("Mexican Commission for Refugee Assistance (COMAR)")},
        appeal_body=_("COMAR (review appeal)")),
}


def build() -> None:
    decide = Transition(Steps.DECIDE, _("Record the decision"), (States.UNDER_REVIEW,), States.DECIDED,
                        (SUP,),
                        **REVIEWED)
    _workflow("rsd.unhcr", _("UNHCR mandate procedure"), "", states=_states(),
              transitions=[*_common((Steps.DECIDE,)), decide], clocks=_clocks())
    _workflow(
        "rsd.bz", _("Belize: Refugees Act"), "BZ",
        states=_states(State(States.COMMITTEE, _("Awaiting the Refugee Eligibility Committee"),
                             waiting_for=SUP),
                       State(States.MINISTER, _("Awaiting the Minister's decision"), waiting_for=SUP)),
        transitions=[
            *_common((Steps.RECORD_MINISTER_DECISION,)),
            Transition(Steps.APPROVE_ASSESSMENT, _("Approve the assessment for the Committee"),
                       (States.UNDER_REVIEW,), States.COMMITTEE, (SUP,), **REVIEWED),
            Transition(Steps.RECORD_COMMITTEE_RECOMMENDATION, _("Record the Committee's recommendation"),
                       (States.COMMITTEE,), States.MINISTER, (SUP,), **REVIEWED),
            Transition(Steps.RECORD_MINISTER_DECISION, _("Record the Minister's decision"),
                       (States.MINISTER,),
                       States.DECIDED, (SUP,), **REVIEWED),
        ],
        clocks=_clocks(),
    )
    _workflow(
        "rsd.cr", _("Costa Rica: Refugee Unit and Commission"), "CR",
        states={**_states(State(States.COMMISSION, _("Awaiting the Commission's decision"), waiting_for=SUP)),
                States.APPEAL_LODGED: State(States.APPEAL_LODGED, _("Appeal before the Migration Tribunal"),
                                       waiting_for=SUP)},
        transitions=[
            *_common((Steps.RECORD_COMMISSION_DECISION,)),
            Transition(Steps.APPROVE_ASSESSMENT, _("Send the technical assessment to the Commission"),
                       (States.UNDER_REVIEW,), States.COMMISSION, (SUP,), **REVIEWED),
            Transition(Steps.RECORD_COMMISSION_DECISION, _("Record the Commission's decision"),
                       (States.COMMISSION,), States.DECIDED, (SUP,), **REVIEWED),
        ],
        clocks=_clocks(),
    )
    _workflow(
        "rsd.mx", _("Mexico: COMAR procedure"), "MX", states=_states(),
        transitions=[*_common((Steps.DECIDE,)), decide],
        clocks=_clocks(Clock(Clocks.DECISION, _("Decision due"), 45, WORKING,
                             starts=(Steps.REGISTER, Steps.REOPEN), stops=DECIDED, roll_forward=False)),
    )
