"""The workflow engine (cases/workflow.py): days and deadlines, and firing transitions of a
small toy procedure defined here (who may, guards, four-eyes, clocks, what gets recorded).

Expected dates are worked out by hand from the 2026 public holidays:
Belize: 1 Jan, Thu 15 Jan George Price, Mon 9 Mar Heroes and Benefactors, Fri 3 Apr Good
Friday, Sat 4 Apr Holy Saturday, Mon 6 Apr Easter Monday, Fri 1 May, Thu 10 Sep St George's
Caye, Mon 21 Sep Independence, ... Costa Rica: Thu 2 and Fri 3 Apr (Holy Week), Fri 1 May,
Tue 15 Sep Independence, ... Mexico: Mon 2 Feb Constitution, Mon 16 Mar Benito Juárez,
Fri 1 May, Wed 16 Sep Independence, Mon 16 Nov Revolution, Fri 25 Dec (and Fri 1 Jan 2027).
"""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy

from audit.models import AuditEvent
from cases import services, workflow
from cases.models import Case, CaseDeadline, CaseStep, Role
from cases.workflow import CALENDAR, SYSTEM, WORKING, Clock, State, Transition, Workflow
from tests.cases.rawsql import read_column

D = datetime.date
CW, SUP = Role.CASEWORKER, Role.SUPERVISOR
# Counting days reads the non-working days a system administrator added (none here).
pytestmark = pytest.mark.django_db


# --- The toy procedure ------------------------------------------------------------------

def only_trafficking(case: Case):
    if case.kind != "trafficking":
        return gettext_lazy("Only trafficking cases can be fast-tracked.")
    return None


def _toy(name: str = "toy", kind: str = "asylum", country: str = "") -> Workflow:
    states = [
        State("open", "Open (toy)", waiting_for=CW),
        State("review", "Under review (toy)", waiting_for=SUP),
        State("decided", "Decided (toy)", waiting_for=CW),
        State("closed", "Closed (toy)", closed=True),
    ]
    transitions = [
        Transition("submit", "Submit", ("open",), "review", (CW, SUP)),
        Transition("return", "Return", ("review",), "open", (SUP,), needs_reason=True),
        Transition("approve", "Approve", ("review",), "decided", (SUP,), not_by=("submit",)),
        Transition("extend", "Extend the review", ("review",), "review", (SUP,)),
        Transition("fast_track", "Fast track", ("open",), "decided", (CW,),
                   guards=(only_trafficking,)),
        Transition("close", "Close", ("decided",), "closed", (CW, SUP)),
        Transition("expire", "Expire", ("review",), "closed", (SYSTEM,)),
        Transition("reopen", "Reopen", ("closed",), "open", (SUP,), needs_reason=True),
    ]
    clocks = (
        Clock("review", "Review", 10, unit=WORKING, starts=("submit", "extend"), stops=("decided",)),
        Clock("comments", "Comments", 30, unit=CALENDAR, starts=("approve",)),
    )
    return Workflow(name=name, kind=kind, label="Toy procedure", country=country,
                    states={s.name: s for s in states},
                    transitions={t.name: t for t in transitions}, clocks=clocks)


TOY = _toy()


@pytest.fixture
def toy(use_workflow) -> Workflow:
    use_workflow(TOY)
    return TOY


def follow_toy(case: Case) -> Case:
    Case.objects.filter(pk=case.pk).update(procedure=TOY.name)
    case.refresh_from_db()
    return case


@pytest.fixture
def toy_case(toy, case) -> Case:
    return follow_toy(case)


@pytest.fixture
def supervisor2(make_user, office):
    return make_user(Role.SUPERVISOR, office)


@pytest.fixture
def cr_case(toy, other_caseworker, other_office, person_data) -> Case:
    person = services.register_person(by=other_caseworker, office=other_office, data=person_data())
    return follow_toy(services.open_case(by=other_caseworker, person=person, kind="asylum"))


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def transition_events(case: Case, outcome: str | None = None):
    events = AuditEvent.objects.filter(action="case.transition", object_id=str(case.pk))
    return events.filter(outcome=outcome) if outcome else events


# --- Days -------------------------------------------------------------------------------

@pytest.mark.parametrize(("country", "start", "days", "expected"), [
    # Mexico: Constitution Day, Monday 2 Feb (weekends only it would be 9 Mar)
    ("MX", D(2026, 1, 5), 45, D(2026, 3, 10)),
    ("MX", D(2026, 3, 6), 10, D(2026, 3, 23)),      # Benito Juárez, Monday 16 Mar
    ("MX", D(2026, 4, 30), 1, D(2026, 5, 4)),       # 1 May is a Friday
    ("MX", D(2026, 9, 14), 5, D(2026, 9, 22)),      # Independence, Wednesday 16 Sep
    ("MX", D(2026, 11, 13), 3, D(2026, 11, 19)),    # Revolution, Monday 16 Nov
    ("MX", D(2026, 12, 24), 1, D(2026, 12, 28)),    # Christmas Friday, then the weekend
    ("MX", D(2026, 12, 24), 5, D(2027, 1, 4)),      # into 2027: New Year is a Friday
    # Belize
    ("BZ", D(2026, 1, 5), 10, D(2026, 1, 20)),      # George Price Day, Thursday 15 Jan
    ("BZ", D(2026, 3, 6), 5, D(2026, 3, 16)),       # Heroes and Benefactors, Monday 9 Mar
    ("BZ", D(2026, 4, 2), 10, D(2026, 4, 20)),      # Good Friday and Easter Monday
    ("BZ", D(2026, 9, 8), 10, D(2026, 9, 24)),      # St George's Caye Thu 10, Independence Mon 21
    # Costa Rica: Holy Thursday and Good Friday, not Easter Monday
    ("CR", D(2026, 4, 1), 10, D(2026, 4, 17)),
    ("CR", D(2026, 4, 2), 10, D(2026, 4, 17)),
    ("MX", D(2026, 4, 2), 10, D(2026, 4, 16)),      # the same fortnight in Mexico: no holiday
    ("CR", D(2026, 9, 14), 1, D(2026, 9, 16)),      # Independence, Tuesday 15 Sep
    ("BZ", D(2026, 9, 14), 1, D(2026, 9, 15)),
])
def test_working_days_skip_weekends_and_the_countrys_public_holidays(country, start, days, expected):
    assert workflow.add_days(start, days, unit=WORKING, country=country) == expected


@pytest.mark.parametrize(("country", "start", "days", "expected"), [
    ("BZ", D(2026, 3, 5), 30, D(2026, 4, 7)),    # Sat 4 Apr (Holy Saturday), Sun, Easter Monday
    ("CR", D(2026, 3, 5), 30, D(2026, 4, 6)),    # Sat 4 Apr, Sun; Easter Monday is worked
    ("MX", D(2026, 11, 6), 10, D(2026, 11, 17)),  # Revolution Day, Monday 16 Nov
    ("BZ", D(2026, 1, 5), 10, D(2026, 1, 16)),   # George Price Day, Thursday 15 Jan
    ("MX", D(2026, 1, 5), 10, D(2026, 1, 15)),   # an ordinary Thursday: no change
    ("MX", D(2026, 1, 5), 5, D(2026, 1, 12)),    # Saturday 10 Jan
    ("CR", D(2026, 9, 1), 14, D(2026, 9, 16)),   # Independence, Tuesday 15 Sep
    ("MX", D(2026, 12, 2), 30, D(2027, 1, 4)),   # New Year 2027 (Friday) and the weekend
])
def test_a_calendar_period_ending_on_a_closed_day_runs_to_the_next_working_day(
    country, start, days, expected
):
    assert workflow.add_days(start, days, unit=CALENDAR, country=country) == expected


@pytest.mark.parametrize(("country", "start", "days", "expected"), [
    ("BZ", D(2026, 3, 5), 30, D(2026, 4, 4)),
    ("MX", D(2026, 11, 6), 10, D(2026, 11, 16)),
    ("MX", D(2026, 1, 5), 5, D(2026, 1, 10)),
])
def test_without_roll_forward_a_calendar_period_ends_on_its_day(country, start, days, expected):
    assert workflow.add_days(start, days, unit=CALENDAR, country=country,
                             roll_forward=False) == expected
    clock = Clock("c", "C", days, unit=CALENDAR, roll_forward=False)
    assert clock.due(start, country) == expected


def test_a_clock_counts_in_its_unit():
    assert Clock("c", "C", 10, unit=WORKING).due(D(2026, 1, 5), "BZ") == D(2026, 1, 20)
    assert Clock("c", "C", 10).due(D(2026, 1, 5), "BZ") == D(2026, 1, 16)


@pytest.mark.parametrize(("country", "start", "end", "expected"), [
    ("MX", D(2026, 1, 5), D(2026, 3, 10), 45),
    ("MX", D(2026, 3, 10), D(2026, 1, 5), -45),
    ("MX", D(2026, 3, 13), D(2026, 3, 17), 1),    # Sat, Sun, Mon 16 (Benito Juárez), Tue
    ("BZ", D(2026, 4, 2), D(2026, 4, 7), 1),      # Good Friday ... Easter Monday, then Tue
    ("CR", D(2026, 4, 2), D(2026, 4, 7), 2),      # Easter Monday is worked in Costa Rica
    ("BZ", D(2026, 1, 14), D(2026, 1, 15), 0),    # to a holiday
    ("BZ", D(2026, 1, 15), D(2026, 1, 15), 0),
    ("XX", D(2026, 1, 5), D(2026, 3, 10), 46),    # weekends only
])
def test_working_days_between(country, start, end, expected):
    assert workflow.working_days_between(start, end, country) == expected


@pytest.mark.parametrize("country", ["BZ", "CR", "MX"])
def test_working_days_between_counts_back_what_add_days_added(country):
    for start in (D(2026, 1, 1), D(2026, 3, 14), D(2026, 4, 3), D(2026, 9, 15), D(2026, 12, 20)):
        for n in (1, 7, 20):
            end = workflow.add_days(start, n, unit=WORKING, country=country)
            assert workflow.working_days_between(start, end, country) == n, (start, n)


def test_a_country_the_holiday_calendar_does_not_know_has_weekends_only():
    assert workflow.add_days(D(2026, 1, 5), 45, unit=WORKING, country="XX") == D(2026, 3, 9)
    assert workflow.add_days(D(2026, 12, 2), 30, unit=CALENDAR, country="XX") == D(2027, 1, 1)
    assert workflow.add_days(D(2026, 12, 3), 30, unit=CALENDAR, country="XX") == D(2027, 1, 4)
    assert workflow.is_working_day(D(2026, 12, 25), "XX")
    assert not workflow.is_working_day(D(2026, 12, 25), "MX")
    assert not workflow.is_working_day(D(2026, 12, 26), "XX")  # a Saturday


def test_an_unknown_unit_of_days_is_refused():
    with pytest.raises(ValueError, match="unknown unit"):
        workflow.add_days(D(2026, 1, 5), 3, unit="fortnights", country="MX")


# --- Definitions ------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    {"transitions": {"go": Transition("go", "Go", ("open",), "nowhere", (SUP,))}},
    {"transitions": {"go": Transition("go", "Go", ("limbo",), "open", (SUP,))}},
    {"clocks": (Clock("c", "C", 3, starts=("no_such_transition",)),)},
])
def test_a_workflow_naming_unknown_states_or_transitions_cannot_be_built(bad):
    with pytest.raises(ValueError, match="unknown"):
        Workflow(name="broken", kind="asylum", label="Broken",
                 states={"open": State("open", "Open")}, **bad)


def test_a_case_follows_its_countrys_procedure_or_the_default(use_workflow):
    default = _toy(name="toy_default", kind="toykind")
    belize = _toy(name="toy_bz", kind="toykind", country="BZ")
    use_workflow(default)
    use_workflow(belize)

    assert workflow.for_kind("toykind", "BZ") is belize
    assert workflow.for_kind("toykind", "MX") is default
    assert workflow.for_kind("otherkind", "BZ") is None


# --- Firing -----------------------------------------------------------------------------

def test_firing_moves_the_case_and_records_the_step(toy_case, caseworker):
    reason = "  María no pudo venir: entrevista pendiente  "

    step = workflow.fire(case=toy_case, name="submit", by=caseworker, reason=reason,
                         on=D(2026, 1, 5))

    case = fresh(toy_case)
    assert (case.state, case.step_no, case.procedure, case.closed_at) == ("review", 1, "toy", None)
    assert case.state_label == "Under review (toy)"
    step = CaseStep.objects.get(pk=step.pk)
    assert (step.number, step.transition, step.source, step.target) == (1, "submit", "open", "review")
    assert step.actor == caseworker
    assert step.effective_on == D(2026, 1, 5)
    assert step.person_id == case.principal_id
    assert step.reason == reason.strip()
    event = transition_events(case).get()
    assert (event.actor_id, event.office_id, event.outcome) == (caseworker.pk, case.office_id, "ok")
    assert event.details == {"transition": "submit", "source": "open", "target": "review", "step": 1}
    latest = case.history.latest("history_date")
    assert (latest.history_user, latest.state) == (caseworker, "review")


def test_the_reason_is_sealed_in_the_database(toy_case, caseworker):
    reason = "María no pudo venir: entrevista pendiente"
    step = workflow.fire(case=toy_case, name="submit", by=caseworker, reason=reason)

    stored = read_column(CaseStep, step.pk, "reason")
    history = fresh(toy_case).history.latest("history_date")
    stored_history = read_column(Case.history.model, history.pk, "history_change_reason")
    for raw in (stored, stored_history):
        assert raw
        for text in (reason, "María", "entrevista pendiente"):
            assert text.encode() not in raw
    assert history.history_change_reason == reason
    assert reason not in str(list(transition_events(toy_case).values()))


def test_closing_sets_closed_at_and_reopening_clears_it(toy_case, caseworker, supervisor):
    workflow.fire(case=toy_case, name="submit", by=caseworker)
    workflow.fire(case=toy_case, name="approve", by=supervisor)
    assert fresh(toy_case).closed_at is None

    before = timezone.now()
    workflow.fire(case=toy_case, name="close", by=caseworker)
    closed = fresh(toy_case)
    assert closed.state == "closed"
    assert closed.closed_at is not None and closed.closed_at >= before

    workflow.fire(case=toy_case, name="reopen", by=supervisor, reason="New evidence")
    reopened = fresh(toy_case)
    assert (reopened.state, reopened.step_no, reopened.closed_at) == ("open", 4, None)
    assert list(CaseStep.objects.filter(case=toy_case).values_list("transition", flat=True)) == [
        "submit", "approve", "close", "reopen"]


# --- Who may --------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["auditor", "caseworker2", "other_caseworker", "other_supervisor"])
def test_staff_without_the_role_here_are_refused_and_the_refusal_is_recorded(request, who, toy_case):
    user = request.getfixturevalue(who)

    with pytest.raises(PermissionDenied) as refused:
        workflow.fire(case=toy_case, name="submit", by=user, reason="try")

    assert str(refused.value) == "Your role in this office does not allow this step."
    case = fresh(toy_case)
    assert (case.state, case.step_no) == ("open", 0)
    assert not CaseStep.objects.filter(case=case).exists()
    assert not CaseDeadline.objects.filter(case=case).exists()
    # The step's transaction was rolled back; the refusal was recorded outside it.
    assert not transition_events(case, "ok").exists()
    event = transition_events(case, "denied").get()
    assert event.actor_id == user.pk
    assert event.details == {"transition": "submit", "state": "open"}


def test_roles_are_per_transition(toy_case, caseworker, supervisor):
    Case.objects.filter(pk=toy_case.pk).update(kind="trafficking")
    trafficking = fresh(toy_case)

    with pytest.raises(PermissionDenied):  # caseworkers only
        workflow.fire(case=trafficking, name="fast_track", by=supervisor)
    workflow.fire(case=trafficking, name="submit", by=caseworker)
    with pytest.raises(PermissionDenied):  # supervisors only
        workflow.fire(case=trafficking, name="approve", by=caseworker)

    assert fresh(trafficking).step_no == 1
    assert transition_events(trafficking, "denied").count() == 2


def test_a_step_from_another_state_is_a_validation_error(toy_case, caseworker, supervisor):
    with pytest.raises(ValidationError) as refused:
        workflow.fire(case=toy_case, name="approve", by=supervisor)

    assert refused.value.messages == ["The case is no longer at the step where this can be done."]
    assert fresh(toy_case).step_no == 0
    assert transition_events(toy_case, "denied").get().details == {
        "transition": "approve", "state": "open"}


def test_an_unknown_transition_or_procedure_is_refused(toy_case, caseworker, case):
    with pytest.raises(ValidationError, match="does not exist"):
        workflow.fire(case=toy_case, name="teleport", by=caseworker)
    Case.objects.filter(pk=case.pk).update(procedure="no_such_procedure")
    with pytest.raises(ValidationError, match="follows no procedure"):
        workflow.fire(case=case, name="submit", by=caseworker)
    assert fresh(case).step_no == 0


def test_four_eyes_the_submitter_cannot_approve_another_supervisor_can(
    toy_case, supervisor, supervisor2
):
    workflow.fire(case=toy_case, name="submit", by=supervisor)

    with pytest.raises(PermissionDenied) as refused:
        workflow.fire(case=toy_case, name="approve", by=supervisor)
    assert "four-eyes" in str(refused.value)
    assert fresh(toy_case).state == "review"

    step = workflow.fire(case=toy_case, name="approve", by=supervisor2)
    assert (step.actor, fresh(toy_case).state) == (supervisor2, "decided")


FOUR_EYES = "Someone other than you must do this: you took part in the step it checks (four-eyes rule)."


def test_four_eyes_counts_everyone_who_submitted_not_only_the_last(toy_case, caseworker, supervisor,
                                                                   supervisor2):
    # Given a submission by the supervisor, returned, then resubmitted by the caseworker
    workflow.fire(case=toy_case, name="submit", by=supervisor)
    workflow.fire(case=toy_case, name="return", by=supervisor2, reason="Incomplete")
    workflow.fire(case=toy_case, name="submit", by=caseworker)

    # Then the supervisor took part and may still not approve
    with pytest.raises(PermissionDenied) as refused:
        workflow.fire(case=toy_case, name="approve", by=supervisor)
    assert str(refused.value) == FOUR_EYES
    assert fresh(toy_case).state == "review"
    assert [t.name for t in workflow.available(fresh(toy_case), supervisor)] == ["return", "extend"]
    # And whoever only returned it may
    workflow.fire(case=toy_case, name="approve", by=supervisor2)
    assert fresh(toy_case).state == "decided"


def test_returning_is_not_taking_part(toy_case, caseworker, supervisor):
    workflow.fire(case=toy_case, name="submit", by=caseworker)
    workflow.fire(case=toy_case, name="return", by=supervisor, reason="Incomplete")
    workflow.fire(case=toy_case, name="submit", by=caseworker)

    workflow.fire(case=toy_case, name="approve", by=supervisor)
    assert fresh(toy_case).state == "decided"


ROUNDS = dataclasses.replace(_toy("toy_rounds"), rounds=("reopen",))


@pytest.fixture
def rounds_case(use_workflow, case) -> Case:
    use_workflow(ROUNDS)
    Case.objects.filter(pk=case.pk).update(procedure=ROUNDS.name)
    return fresh(case)


def test_four_eyes_forgets_the_rounds_before_a_reopening(rounds_case, caseworker, supervisor, supervisor2):
    # Given a first round the supervisor submitted and a colleague approved, closed, reopened
    workflow.fire(case=rounds_case, name="submit", by=supervisor)
    workflow.fire(case=rounds_case, name="approve", by=supervisor2)
    workflow.fire(case=rounds_case, name="close", by=caseworker)
    workflow.fire(case=rounds_case, name="reopen", by=supervisor2, reason="New evidence")
    # When the caseworker submits in the new round
    workflow.fire(case=rounds_case, name="submit", by=caseworker)
    # Then the supervisor's first-round submission no longer bars them
    workflow.fire(case=rounds_case, name="approve", by=supervisor)
    assert fresh(rounds_case).state == "decided"


def test_a_submission_in_the_new_round_counts(rounds_case, supervisor, supervisor2):
    workflow.fire(case=rounds_case, name="submit", by=supervisor2)
    workflow.fire(case=rounds_case, name="approve", by=supervisor)
    workflow.fire(case=rounds_case, name="close", by=supervisor)
    workflow.fire(case=rounds_case, name="reopen", by=supervisor, reason="New evidence")
    workflow.fire(case=rounds_case, name="submit", by=supervisor)

    with pytest.raises(PermissionDenied, match="four-eyes"):
        workflow.fire(case=rounds_case, name="approve", by=supervisor)
    workflow.fire(case=rounds_case, name="approve", by=supervisor2)


def test_without_rounds_every_earlier_step_counts(toy_case, caseworker, supervisor, supervisor2):
    # The toy procedure declares no rounds: a reopening does not start afresh.
    workflow.fire(case=toy_case, name="submit", by=supervisor)
    workflow.fire(case=toy_case, name="approve", by=supervisor2)
    workflow.fire(case=toy_case, name="close", by=caseworker)
    workflow.fire(case=toy_case, name="reopen", by=supervisor2, reason="New evidence")
    workflow.fire(case=toy_case, name="submit", by=caseworker)

    with pytest.raises(PermissionDenied, match="four-eyes"):
        workflow.fire(case=toy_case, name="approve", by=supervisor)


def test_excluded_names_people_from_the_apps_own_records(use_workflow, case, caseworker, supervisor,
                                                         supervisor2):
    # An app may bar people the steps do not show (who edited a document, say)
    barred: set[int] = set()
    approve = dataclasses.replace(TOY.transitions["approve"], not_by=(), excluded=lambda c: set(barred))
    excluding = dataclasses.replace(TOY, name="toy_excluded",
                                    transitions={**TOY.transitions, "approve": approve})
    use_workflow(excluding)
    Case.objects.filter(pk=case.pk).update(procedure=excluding.name)
    workflow.fire(case=fresh(case), name="submit", by=caseworker)
    barred.add(supervisor.pk)

    with pytest.raises(PermissionDenied) as refused:
        workflow.fire(case=fresh(case), name="approve", by=supervisor)
    assert str(refused.value) == FOUR_EYES
    assert transition_events(case, "denied").get().actor_id == supervisor.pk
    assert [t.name for t in workflow.available(fresh(case), supervisor)] == ["return", "extend"]

    workflow.fire(case=fresh(case), name="approve", by=supervisor2)
    assert fresh(case).state == "decided"


# --- An erased person ------------------------------------------------------------------

ERASED = "The applicant's record was erased: the case can no longer move."


def test_nothing_moves_once_the_applicant_is_erased(toy_case, caseworker, supervisor):
    workflow.fire(case=toy_case, name="submit", by=caseworker)
    services.erase_person(by=supervisor, person=fresh(toy_case).principal, code="request")
    case = fresh(toy_case)

    for name, by in (("approve", supervisor), ("return", supervisor), ("expire", None)):
        with pytest.raises(ValidationError) as refused:
            workflow.fire(case=case, name=name, by=by, reason="Why")
        assert refused.value.messages == [ERASED]
        assert workflow.refusal(case, TOY.transitions[name], by) == ERASED
    assert (fresh(case).state, fresh(case).step_no) == ("review", 1)
    assert workflow.available(case, supervisor) == []
    assert workflow.available(case, caseworker) == []
    assert [e.details["transition"] for e in transition_events(case, "denied")] == [
        "approve", "return", "expire"]


def test_after_an_erasure_who_may_not_act_hears_so_first(toy_case, caseworker, auditor, supervisor):
    services.erase_person(by=supervisor, person=fresh(toy_case).principal, code="request")

    with pytest.raises(PermissionDenied):
        workflow.fire(case=fresh(toy_case), name="submit", by=auditor)
    with pytest.raises(ValidationError, match="no longer at the step"):
        workflow.fire(case=fresh(toy_case), name="approve", by=supervisor)
    with pytest.raises(ValidationError, match="erased"):
        workflow.fire(case=fresh(toy_case), name="submit", by=caseworker)


@pytest.mark.parametrize("reason", ["", "   \n"])
def test_a_step_that_needs_reasons_is_refused_without_them(toy_case, caseworker, supervisor, reason):
    workflow.fire(case=toy_case, name="submit", by=caseworker)

    with pytest.raises(ValidationError) as refused:
        workflow.fire(case=toy_case, name="return", by=supervisor, reason=reason)

    assert refused.value.message_dict == {"reason": ["Give the reasons for this step."]}
    assert fresh(toy_case).state == "review"
    workflow.fire(case=toy_case, name="return", by=supervisor, reason="The assessment is incomplete")
    assert fresh(toy_case).state == "open"


def test_a_step_dated_in_the_future_is_refused(toy_case, caseworker):
    today = timezone.localdate()

    with pytest.raises(ValidationError) as refused:
        workflow.fire(case=toy_case, name="submit", by=caseworker,
                      on=today + datetime.timedelta(days=1))

    assert refused.value.message_dict == {"on": ["This date is in the future."]}
    assert not CaseStep.objects.filter(case=toy_case).exists()
    step = workflow.fire(case=toy_case, name="submit", by=caseworker, on=today)
    assert step.effective_on == today


def test_a_step_without_a_date_takes_effect_today(toy_case, caseworker):
    step = workflow.fire(case=toy_case, name="submit", by=caseworker)
    assert CaseStep.objects.get(pk=step.pk).effective_on == timezone.localdate()


def test_a_stale_form_is_refused_and_nothing_is_written(toy_case, caseworker, supervisor):
    workflow.fire(case=toy_case, name="submit", by=caseworker, expected_step=0)
    workflow.fire(case=toy_case, name="return", by=supervisor, reason="Redo", expected_step=1)
    steps, events, deadlines = (CaseStep.objects.count(), AuditEvent.objects.count(),
                                CaseDeadline.objects.count())

    # The caseworker's form still shows step 1; "submit" is possible again from "open".
    with pytest.raises(ValidationError) as refused:
        workflow.fire(case=toy_case, name="submit", by=caseworker, expected_step=1)

    assert "Someone else recorded a step on this case a moment ago" in refused.value.messages[0]
    assert "Open (toy)" in refused.value.messages[0]
    assert (CaseStep.objects.count(), AuditEvent.objects.count(),
            CaseDeadline.objects.count()) == (steps, events, deadlines)
    case = fresh(toy_case)
    assert (case.state, case.step_no) == ("open", 2)
    workflow.fire(case=toy_case, name="submit", by=caseworker, expected_step=2)
    assert fresh(toy_case).step_no == 3


def test_a_guard_says_why_the_step_cannot_be_taken(toy_case, caseworker):
    # Not a matter of who asks: the case does not allow it yet (invalid, not forbidden).
    with pytest.raises(ValidationError) as refused:
        workflow.fire(case=toy_case, name="fast_track", by=caseworker)

    assert refused.value.messages == ["Only trafficking cases can be fast-tracked."]
    assert fresh(toy_case).step_no == 0
    assert transition_events(toy_case, "denied").get().details["transition"] == "fast_track"
    assert [t.name for t in workflow.available(toy_case, caseworker)] == ["submit"]

    Case.objects.filter(pk=toy_case.pk).update(kind="trafficking")
    trafficking = fresh(toy_case)
    assert [t.name for t in workflow.available(trafficking, caseworker)] == ["submit", "fast_track"]
    workflow.fire(case=trafficking, name="fast_track", by=caseworker)
    assert fresh(toy_case).state == "decided"


def test_system_steps_are_fired_by_no_one_and_only_they_are(toy_case, caseworker, supervisor):
    with pytest.raises(PermissionDenied) as refused:
        workflow.fire(case=toy_case, name="submit", by=None)
    assert str(refused.value) == "Only a member of staff can do this."
    assert transition_events(toy_case, "denied").get().actor_id is None

    workflow.fire(case=toy_case, name="submit", by=caseworker)
    with pytest.raises(PermissionDenied):  # a person may not fire what only the system does
        workflow.fire(case=toy_case, name="expire", by=supervisor)

    step = workflow.fire(case=toy_case, name="expire", by=None)

    step = CaseStep.objects.get(pk=step.pk)
    assert (step.actor, step.transition, step.target) == (None, "expire", "closed")
    case = fresh(toy_case)
    assert case.state == "closed" and case.closed_at is not None
    event = transition_events(case, "ok").latest("id")
    assert (event.actor_id, event.details["transition"]) == (None, "expire")
    assert case.history.latest("history_date").history_user is None


def test_available_lists_only_what_this_user_may_do_now(
    toy_case, caseworker, caseworker2, supervisor, supervisor2, auditor, other_supervisor
):
    def names(user):
        return [t.name for t in workflow.available(fresh(toy_case), user)]

    assert names(caseworker) == ["submit"]           # fast_track: its guard says no
    assert names(supervisor) == ["submit"]
    assert names(caseworker2) == names(auditor) == names(other_supervisor) == []

    workflow.fire(case=toy_case, name="submit", by=supervisor)

    assert names(supervisor) == ["return", "extend"]  # not "approve" (four-eyes); not "expire"
    assert names(supervisor2) == ["return", "approve", "extend"]
    assert names(caseworker) == []
    assert names(other_supervisor) == []


def test_available_is_empty_for_a_case_following_no_procedure(case, caseworker):
    Case.objects.filter(pk=case.pk).update(procedure="no_such_procedure")
    assert workflow.available(fresh(case), caseworker) == []


# --- Effects ----------------------------------------------------------------------------

def test_an_effect_runs_with_the_step_and_its_details_go_to_the_audit_event(toy_case, caseworker):
    seen = []

    def effect(case: Case, step: CaseStep) -> dict:
        seen.append((case.state, case.step_no, step.number, step.pk is not None))
        return {"letter": "L-1"}

    workflow.fire(case=toy_case, name="submit", by=caseworker, effect=effect)

    assert seen == [("review", 1, 1, True)]
    assert transition_events(toy_case).get().details["letter"] == "L-1"
    assert CaseStep.objects.get(case=toy_case).details == {"letter": "L-1"}


def test_an_effect_that_fails_rolls_back_the_whole_step(toy_case, caseworker):
    history = toy_case.history.count()

    def effect(case: Case, step: CaseStep) -> None:
        CaseDeadline.objects.create(case=case, clock="effect", starts_on=D(2026, 1, 5),
                                    due_on=D(2026, 1, 6), started_by_step=step,
                                    office_id=case.office_id, assigned_to_id=case.assigned_to_id)
        raise ValidationError("The letter could not be made.")

    with pytest.raises(ValidationError) as failed:
        workflow.fire(case=toy_case, name="submit", by=caseworker, effect=effect)

    assert failed.value.messages == ["The letter could not be made."]
    case = fresh(toy_case)
    assert (case.state, case.step_no, case.procedure) == ("open", 0, "toy")
    assert not CaseStep.objects.filter(case=case).exists()
    assert not CaseDeadline.objects.filter(case=case).exists()
    assert not transition_events(case).exists()
    assert case.history.count() == history


# --- Clocks -----------------------------------------------------------------------------

def _deadlines(case: Case) -> list[tuple]:
    return list(CaseDeadline.objects.filter(case=case).order_by("id").values_list(
        "clock", "starts_on", "due_on", "started_by_step__number", "met_by_step__number"))


def test_clocks_start_restart_and_are_met(toy_case, caseworker, supervisor):
    workflow.fire(case=toy_case, name="submit", by=caseworker, on=D(2026, 1, 5))
    assert _deadlines(toy_case) == [("review", D(2026, 1, 5), D(2026, 1, 20), 1, None)]
    assert workflow.open_deadline(toy_case, "review").due_on == D(2026, 1, 20)

    # Restarted: the old period is closed off, a new one runs from the new step.
    workflow.fire(case=toy_case, name="extend", by=supervisor, on=D(2026, 1, 12))
    assert _deadlines(toy_case) == [
        ("review", D(2026, 1, 5), D(2026, 1, 20), 1, 2),
        ("review", D(2026, 1, 12), D(2026, 1, 27), 2, None),  # past George Price Day
    ]
    assert workflow.open_deadline(toy_case, "review").due_on == D(2026, 1, 27)

    # Reaching a stop state meets it; approving starts a 30-calendar-day clock.
    workflow.fire(case=toy_case, name="approve", by=supervisor, on=D(2026, 3, 5))
    assert _deadlines(toy_case)[1:] == [
        ("review", D(2026, 1, 12), D(2026, 1, 27), 2, 3),
        ("comments", D(2026, 3, 5), D(2026, 4, 7), 3, None),  # Sat 4 Apr -> Tue 7 Apr
    ]
    assert workflow.open_deadline(toy_case, "review") is None

    # Reaching a closed state meets every clock still running.
    workflow.fire(case=toy_case, name="close", by=caseworker, on=D(2026, 3, 6))
    assert _deadlines(toy_case)[2] == ("comments", D(2026, 3, 5), D(2026, 4, 7), 3, 4)
    assert not CaseDeadline.objects.filter(case=toy_case, met_at__isnull=True).exists()
    assert CaseDeadline.objects.filter(case=toy_case, met_at__isnull=False).count() == 3


def test_a_clock_counts_with_the_holidays_of_the_cases_office(toy_case, cr_case, caseworker,
                                                              other_caseworker, other_supervisor):
    workflow.fire(case=toy_case, name="submit", by=caseworker, on=D(2026, 4, 2))
    workflow.fire(case=cr_case, name="submit", by=other_caseworker, on=D(2026, 4, 2))

    assert workflow.open_deadline(toy_case, "review").due_on == D(2026, 4, 20)   # Belize
    assert workflow.open_deadline(cr_case, "review").due_on == D(2026, 4, 17)    # Costa Rica

    workflow.fire(case=cr_case, name="approve", by=other_supervisor, on=D(2026, 3, 5))
    assert workflow.open_deadline(cr_case, "comments").due_on == D(2026, 4, 6)


def test_toy_states_feed_the_queues(toy):
    assert "review" in workflow.states_waiting_for(SUP)
    assert "closed" not in workflow.states_waiting_for(SUP)

