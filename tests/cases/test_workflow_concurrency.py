"""Two people taking a step on one case at the same moment, on real PostgreSQL connections
(row locks do not exist in SQLite, so these tests skip there): exactly one step is recorded
and the other person is told why nothing happened.

As in test_concurrency.py, a third connection holds the case row until both callers are
queued behind it, then lets go, so they really race every run; the winner's effect sleeps
while it holds the lock, so the loser is still waiting when the winner commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from audit.models import AuditEvent
from cases import services, workflow
from cases.models import Case, CaseStep, Role
from cases.workflow import State, Transition, Workflow
from tests.races import race_on_case as _race

pytestmark = pytest.mark.postgres

CW, SUP = Role.CASEWORKER, Role.SUPERVISOR
RACE = Workflow(
    name="toy_race", kind="asylum", label="Toy procedure (races)",
    states={s.name: s for s in [State("open", "Open"), State("review", "Under review"),
                                State("withdrawn", "Withdrawn", closed=True)]},
    transitions={t.name: t for t in [
        Transition("submit", "Submit", ("open",), "review", (CW, SUP)),
        Transition("withdraw", "Withdraw", ("open",), "withdrawn", (SUP,)),
    ]},
)


def _slow_effect(case: Case, step: CaseStep) -> dict:
    time.sleep(0.3)  # holding the case's lock: the other caller is still waiting on it
    return {}


@pytest.fixture
def race_case(postgres, use_workflow, case) -> Case:
    use_workflow(RACE)
    Case.objects.filter(pk=case.pk).update(procedure=RACE.name)
    case.refresh_from_db()
    return case


def _events(case: Case, outcome: str):
    return AuditEvent.objects.filter(action="case.transition", object_id=str(case.pk), outcome=outcome)


def test_two_people_taking_the_same_step_at_once_one_wins(race_case, caseworker, supervisor):
    results = _race(race_case, [
        lambda u=u: workflow.fire(case=race_case, name="submit", by=u, effect=_slow_effect)
        for u in (caseworker, supervisor)
    ])

    winners = [r for r in results if isinstance(r, CaseStep)]
    losers = [r for r in results if isinstance(r, ValidationError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].messages == ["The case is no longer at the step where this can be done."]
    step = CaseStep.objects.get(case=race_case)
    assert (step.number, step.transition, step.actor_id) == (1, "submit", winners[0].actor_id)
    case = Case.objects.get(pk=race_case.pk)
    assert (case.state, case.step_no) == ("review", 1)
    assert _events(case, "ok").count() == 1
    loser = supervisor if winners[0].actor_id == caseworker.pk else caseworker
    denied = _events(case, "denied").get()  # the loser's refusal stays on the record
    assert (denied.actor_id, denied.details) == (loser.pk, {"transition": "submit", "state": "review"})


def test_two_different_steps_on_the_same_form_one_wins(race_case, caseworker, supervisor):
    results = _race(race_case, [
        lambda: workflow.fire(case=race_case, name="submit", by=caseworker, expected_step=0,
                              effect=_slow_effect),
        lambda: workflow.fire(case=race_case, name="withdraw", by=supervisor, expected_step=0,
                              effect=_slow_effect),
    ])

    winners = [r for r in results if isinstance(r, CaseStep)]
    losers = [r for r in results if isinstance(r, ValidationError)]
    assert len(winners) == 1 and len(losers) == 1, results
    case = Case.objects.get(pk=race_case.pk)
    assert (case.state, case.step_no) == (winners[0].target, 1)
    assert losers[0].messages == [
        f"Someone else recorded a step on this case a moment ago (it is now: "
        f"{RACE.states[case.state].label}). Nothing was recorded; look at the case again "
        f"before you go on."
    ]
    assert list(CaseStep.objects.filter(case=case).values_list("transition", flat=True)) == [
        winners[0].transition]
    assert _events(case, "ok").count() == 1
    assert (case.closed_at is not None) == (case.state == "withdrawn")


def test_a_step_in_progress_holds_up_no_other_case_of_the_office(
    race_case, caseworker, person_data, office
):
    person = services.register_person(by=caseworker, office=office,
                                      data=person_data(given_names="Otra Persona"))
    other = services.open_case(by=caseworker, person=person, kind="asylum")
    Case.objects.filter(pk=other.pk).update(procedure=RACE.name)
    inside, release = threading.Event(), threading.Event()
    finished: dict[str, Any] = {}

    def held_effect(case: Case, step: CaseStep) -> dict:
        inside.set()
        release.wait(timeout=15)
        return {}

    def run(name: str, call: Callable[[], Any]) -> None:
        try:
            finished[name] = (call(), release.is_set())
        except Exception as exc:  # handed back to the test
            finished[name] = (exc, release.is_set())
        finally:
            connection.close()

    slow = threading.Thread(target=run, args=("slow", lambda: workflow.fire(
        case=race_case, name="submit", by=caseworker, effect=held_effect)))
    others = [
        # Another case of the office; and a new case for that case's person.
        threading.Thread(target=run, args=("step", lambda: workflow.fire(
            case=other, name="submit", by=caseworker))),
        threading.Thread(target=run, args=("open", lambda: services.open_case(
            by=caseworker, person=person, kind="trafficking"))),
    ]
    slow.start()
    try:
        assert inside.wait(timeout=15), "the first step never started"
        for t in others:
            t.start()
        deadline = time.monotonic() + 3  # plenty for two small writes that do not wait
        for t in others:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
    finally:
        release.set()
        slow.join(timeout=30)
        for t in others:
            if t.ident is not None:  # started
                t.join(timeout=30)

    assert isinstance(finished["slow"][0], CaseStep), finished
    # Both finished, and neither had to wait for the first step to let go.
    assert isinstance(finished["step"][0], CaseStep) and not finished["step"][1], finished
    assert isinstance(finished["open"][0], Case) and not finished["open"][1], finished
