"""Steps that carry only reasons (withdrawal, abandonment, reopening, cancellation)
and the periodic sweep."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from cases import workflow
from cases.models import Case, CaseStep, User
from rsd import selectors as rsd_selectors
from rsd.models import STEP_GROUNDS, InterviewStatus
from rsd.names import Clocks, States, Steps
from rsd.services._common import check_asylum_case
from rsd.services.interviews import end_scheduled_interviews

# --- Steps that carry only reasons ---------------------------------------------------------

PLAIN_STEPS = (Steps.RECORD_CONTACT, Steps.PROPOSE_ABANDONMENT, Steps.CONFIRM_ABANDONMENT, Steps.KEEP_OPEN,
               Steps.CLOSE_UNAPPEALED, Steps.CLOSE_WITH_PROTECTION, Steps.WITHDRAW, Steps.REOPEN,
               Steps.PROPOSE_CANCELLATION, Steps.CANCEL_RECOGNITION, Steps.KEEP_RECOGNITION)


def take_step(*, by: User | None, case: Case, name: str, reason: str = "", ground: str = "",
              expected_step: int | None = None) -> CaseStep:
    """Withdrawal, abandonment, closure, reopening, cancellation: a reason (and a ground)."""
    check_asylum_case(case)
    if name not in PLAIN_STEPS:
        raise ValidationError(_("This step needs its own form."))
    grounds = STEP_GROUNDS.get(name)
    if grounds and ground not in grounds.values:
        raise ValidationError({"ground": _("Choose the ground.")})
    wf = workflow.for_case(case)
    closing = bool(wf and name in wf.transitions and wf.state(wf.transitions[name].target).closed)

    def effect(case: Case, step: CaseStep) -> dict[str, Any]:
        if closing:  # nobody should wait in an interview room for a closed case
            end_scheduled_interviews(by=by, case=case, status=InterviewStatus.CANCELLED)
        return {"ground": ground} if grounds else {}

    return workflow.fire(case=case, name=name, by=by, reason=reason, expected_step=expected_step,
                         effect=effect)


# --- Periodic sweeps ------------------------------------------------------------------------

def sweep(*, limit: int = 500) -> dict[str, int]:
    """Propose abandoned files for closure and close refusals left unappealed (a periodic task).

    The task only proposes abandonment: a supervisor confirms it. Each case is its own
    transaction; a case someone is working on right now is simply taken next time.
    """
    counts = {"proposed": 0, "closed": 0}
    for names, state, clock, key in (
        ((Steps.PROPOSE_ABANDONMENT,), States.NO_SHOW, Clocks.CONTACT, "proposed"),
        ((Steps.CLOSE_UNAPPEALED, Steps.CLOSE_WITH_PROTECTION), States.APPEAL_PERIOD, Clocks.APPEAL,
         "closed"),
    ):
        # Oldest deadline first, every candidate looked at: cases a guard keeps waiting (one
        # missed interview) must not crowd out those that are due.
        for case_id in rsd_selectors.lapsed_cases(clock, state).iterator(chunk_size=500):
            if counts[key] >= limit:
                break
            case = Case.objects.select_related("office").get(pk=case_id)
            wf = workflow.for_case(case)
            # A guard may say not yet (too few missed interviews) or pick the closing step.
            name = next((n for n in names if wf and not workflow.refusal(case, wf.transition(n), None)),
                        None)
            if name is None:
                continue
            try:
                workflow.fire(case=case, name=name, by=None)
            except (ValidationError, PermissionDenied):
                continue  # it moved on meanwhile
            counts[key] += 1
    return counts
