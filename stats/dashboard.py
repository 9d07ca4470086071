"""The statistics' part of the dashboard: links for the supervisors and analysts, and to
decision consistency for the caseworkers."""

from __future__ import annotations

from cases import access
from cases.dashboard import Section
from cases.models import User
from stats.selectors import CONSISTENCY_ROLES, STATS_ROLES


def section(user: User) -> Section | None:
    if not access.has_role(user, *CONSISTENCY_ROLES):
        return None
    return Section(template="stats/_dashboard.html",
                   context={"reads_indicators": access.has_role(user, *STATS_ROLES)}, cases=[])
