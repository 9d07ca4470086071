"""The trafficking part of the dashboard: cases awaiting screening (caseworkers and
supervisors) and identification (supervisors), and overdue support services and plan reviews
(both), registered from TipConfig.ready."""

from __future__ import annotations

from django.utils import timezone

from cases import access
from cases.dashboard import Section, first_cases, first_records
from cases.models import Case, Role, User
from tip.names import States
from tip.selectors import awaiting, overdue_reviews, overdue_services

ROWS = 10


def section(user: User) -> Section | None:
    if not access.has_role(user, *access.CASE_ROLES):
        return None
    today = timezone.localdate()
    screening, screening_total = first_cases(awaiting(user, States.OPEN, States.SCREENING), ROWS)
    services, services_total = first_records(overdue_services(user, today), ROWS,
                                             "kind", "planned_end", "status")
    reviews, reviews_total = first_records(overdue_reviews(user, today), ROWS, "review_on")
    context = {"screening": screening, "screening_total": screening_total,
               "identification": None, "identification_total": None,
               "overdue_services": services, "overdue_services_total": services_total,
               "overdue_reviews": reviews, "overdue_reviews_total": reviews_total}
    cases: list[Case] = list(screening)
    if access.has_role(user, Role.SUPERVISOR):
        identification, total = first_cases(awaiting(user, States.IDENTIFICATION), ROWS)
        context.update(identification=identification, identification_total=total)
        cases += identification
    cases += [s.case for s in services] + [p.case for p in reviews]
    unique = list({c.pk: c for c in cases}.values())
    return Section(template="tip/_dashboard.html", context=context, cases=unique)
