"""What the case page shows of the asylum procedure (the procedure's `panel` option)."""

from __future__ import annotations

from typing import Any

from cases import access
from cases.crypto import datakeys
from cases.models import Case, User
from cases.vocab import specific_need_label
from rsd import selectors
from rsd.models import Stage
from rsd.procedures import options_of


def panel_context(case: Case, user: User) -> dict[str, Any]:
    proc = selectors.procedure_of(case)
    datakeys.preload([m.person_id for m in proc.family])
    options = options_of(proc.workflow)

    def authority(key: str) -> str:
        if key == "appeal":
            return case.office.appeal_body or str(options.appeal_body)
        return str(options.authorities.get(key, ""))

    application = proc.application
    can_edit = access.can_edit_case(user, case) and not case.principal.erased_at
    first = next((d for d in proc.decisions if d.stage == Stage.FIRST_INSTANCE), None)
    # An appeal's outcome is one of the case's decisions, already read.
    decided = {d.pk: d for d in proc.decisions}
    return {
        "application": application,
        "needs": [specific_need_label(n) for n in application.specific_needs or []] if application else [],
        "family": proc.family,
        "interviews": proc.interviews,
        "assessments": [(a, proc.citations.get(a.pk, [])) for a in proc.assessments],
        "decisions": [(d, authority(d.authority)) for d in proc.decisions],
        "appeals": [(ap, (decided.get(ap.outcome_id) or ap.outcome) if ap.outcome_id else None)
                    for ap in proc.appeals],
        # The interview record, the assessments' texts, the reasons of decisions and appeals:
        # for who works on the case (its caseworker, the office's supervisors), not for a
        # colleague who sees it waiting in the office's queue.
        "show_records": access.reads_records(user, case),
        "can_add_family": can_edit and not case.closed_at,
        "can_edit_application": can_edit and not case.closed_at and application is not None,
        # Letters are printed by who may act on the case (the service checks it too).
        "letter": first is not None and can_edit,
    }
