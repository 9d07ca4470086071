"""Names of the asylum procedures are written once (rsd/names.py), and the grounds of a
reopening or a cancellation are choices with their labels in one place (rsd/models.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from cases import workflow
from rsd.models import STEP_GROUNDS, CancelGround, ReopenGround
from rsd.names import Clocks, States, Steps
from rsd.steps import PAGES


def asylum_procedures():
    return [wf for wf in workflow.registered() if wf.name.startswith("rsd.")]


def test_every_state_step_and_clock_of_the_asylum_procedures_is_a_named_constant():
    assert len(asylum_procedures()) == 4
    for wf in asylum_procedures():
        assert set(wf.states) <= set(States), wf.name
        assert set(wf.transitions) <= set(Steps), wf.name
        assert {c.name for c in wf.clocks} <= set(Clocks), wf.name
        assert set(wf.transitions) <= set(PAGES), wf.name


def test_no_constant_is_left_unused():
    used_states = {s for wf in asylum_procedures() for s in wf.states}
    used_steps = {t for wf in asylum_procedures() for t in wf.transitions}
    used_clocks = {c.name for wf in asylum_procedures() for c in wf.clocks}
    assert set(States) == used_states
    assert set(Steps) == used_steps
    assert set(Clocks) == used_clocks


def test_the_grounds_are_labelled_in_both_languages():
    assert set(STEP_GROUNDS) == {Steps.REOPEN, Steps.PROPOSE_CANCELLATION}
    for grounds in (ReopenGround, CancelGround):
        for code, label in grounds.choices:
            with translation.override("es"):
                spanish = str(label)
            with translation.override("en"):
                english = str(label)
            assert spanish != english, code


@pytest.mark.django_db
def test_the_step_form_offers_exactly_the_steps_grounds_and_the_service_refuses_others(unhcr):
    case = unhcr.at("withdrawn")
    with pytest.raises(ValidationError) as refused:
        unhcr.step(case, Steps.REOPEN, ground=CancelGround.EXCLUSION_APPLIED)
    assert "ground" in refused.value.message_dict

    unhcr.step(case, Steps.REOPEN, ground=ReopenGround.CHANGED_CIRCUMSTANCES)
    step = case.steps.order_by("-number").first()
    assert step.details["ground"] == "changed_circumstances"
