"""The workflow engine (docs/architecture.md#workflow-engine).

`definitions`: what a procedure is (states, transitions, clocks, options, the registry) and
`days`: counting calendar and working days; neither reads the database (what a system
administrator configured comes through `configured`, from a source `cases` installs). `engine`: who may
take which step now, and `fire`, the only way a case changes state. Apps register their
procedures from their AppConfig.ready().
"""

from cases.workflow.days import (
    CALENDAR,
    WORKING,
    add_days,
    is_working_day,
    next_working_day,
    public_holidays,
    working_days_between,
)
from cases.workflow.definitions import (
    SYSTEM,
    Clock,
    Guard,
    Label,
    ProcedureOptions,
    State,
    Transition,
    Workflow,
    clock_label,
    deadline_problems,
    for_case,
    for_kind,
    get,
    law_clock,
    register,
    registered,
    state_label,
    states_waiting_for,
    unregister,
    with_periods,
)
from cases.workflow.engine import (
    OutsideTransactionRequired,
    PastStep,
    available,
    clocks_ran,
    ensure_fresh,
    fire,
    open_deadline,
    record_past_steps,
    refusal,
    refusal_error,
)
from cases.workflow.facts import facts, known, once

__all__ = [
    "CALENDAR",
    "SYSTEM",
    "WORKING",
    "Clock",
    "Guard",
    "Label",
    "OutsideTransactionRequired",
    "PastStep",
    "ProcedureOptions",
    "State",
    "Transition",
    "Workflow",
    "add_days",
    "available",
    "clock_label",
    "clocks_ran",
    "deadline_problems",
    "ensure_fresh",
    "facts",
    "fire",
    "for_case",
    "for_kind",
    "get",
    "is_working_day",
    "known",
    "law_clock",
    "next_working_day",
    "once",
    "open_deadline",
    "public_holidays",
    "record_past_steps",
    "refusal",
    "refusal_error",
    "register",
    "registered",
    "state_label",
    "states_waiting_for",
    "unregister",
    "with_periods",
    "working_days_between",
]
