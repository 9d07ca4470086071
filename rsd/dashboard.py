"""The asylum part of the dashboard: the review queue's size and priority cases waiting for
their interview (registered with cases.dashboard from RsdConfig.ready)."""

from __future__ import annotations

from cases import access, selectors
from cases.dashboard import Section, first_cases
from cases.models import CaseKind, Role, User
from rsd.selectors import priority_not_interviewed

PRIORITY_ROWS = 10


def section(user: User) -> Section | None:
    if not access.has_role(user, *access.CASE_ROLES):
        return None
    priority, total = first_cases(priority_not_interviewed(user), PRIORITY_ROWS, "applied_on")
    context = {"priority": priority, "priority_total": total, "review_count": None}
    if access.has_role(user, Role.SUPERVISOR):
        # The queue's own filter, without its ordering annotations: only the number is shown,
        # counted up to a limit.
        context["review_count"] = selectors.bounded_count(
            selectors.waiting_for(user, Role.SUPERVISOR).filter(kind=CaseKind.ASYLUM))
    return Section(template="rsd/_dashboard.html", context=context, cases=priority)
