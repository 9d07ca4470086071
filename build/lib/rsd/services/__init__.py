"""Every write of the asylum procedure. Steps go through `cases.workflow.fire`, which locks
the case, checks role, guards and four-eyes, and records the step with its audit event;
the functions here validate what the step carries and write it inside that transaction.
One module per part of the procedure; this package is their public face. Reads (the
current assessment, the decision that stands...) are in rsd.selectors."""

from __future__ import annotations

from rsd.services._common import DECISION_STEPS, EARLIEST, GROUNDS
from rsd.services.application import (
    APPLICATION_FIELDS,
    ApplicationData,
    add_family_member,
    filing_is_late,
    record_application,
    update_application,
)
from rsd.services.assessment import AssessmentData, review_assessment, save_assessment, submit_assessment
from rsd.services.closure import PLAIN_STEPS, sweep, take_step
from rsd.services.coi import COI_DOCUMENT_TYPE, add_coi_source, retire_coi_source
from rsd.services.decisions import (
    DecisionData,
    decide_appeal,
    decision_letter,
    lodge_appeal,
    record_decision,
    record_notification,
)
from rsd.services.interviews import record_interview, schedule_interview

__all__ = [
    "APPLICATION_FIELDS", "COI_DOCUMENT_TYPE", "DECISION_STEPS", "EARLIEST", "GROUNDS",
    "PLAIN_STEPS", "ApplicationData", "AssessmentData", "DecisionData",
    "add_coi_source", "add_family_member", "decide_appeal", "decision_letter",
    "filing_is_late", "lodge_appeal", "record_application", "record_decision", "record_interview",
    "record_notification", "retire_coi_source", "review_assessment", "save_assessment",
    "schedule_interview", "submit_assessment", "sweep", "take_step", "update_application",
]
