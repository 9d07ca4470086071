"""Reminders of support services and plan reviews due soon, told by the deadline sweep of
cases.notifications (hourly) to whoever works on the case, as it tells the engine's deadlines:
once per service (or plan), due date and person. Overdue ones are on the dashboards
(tip/dashboard.py)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _

from cases import notifications
from tip import selectors

SERVICE, REVIEW = "tip.service_due", "tip.plan_review"


def _services(start: datetime.date, end: datetime.date) -> Iterator[notifications.Reminder]:
    for service in selectors.services_due(start, end).iterator(chunk_size=500):
        if service.planned_end:  # the query asked for one
            yield notifications.Reminder(case=service.case, key=str(service.pk), due=service.planned_end)


def _reviews(start: datetime.date, end: datetime.date) -> Iterator[notifications.Reminder]:
    for plan in selectors.reviews_due(start, end).iterator(chunk_size=500):
        if plan.review_on:
            yield notifications.Reminder(case=plan.case, key=str(plan.pk), due=plan.review_on)


def register() -> None:
    notifications.register_reminders(SERVICE, _("end of a support service"), _services)
    notifications.register_reminders(REVIEW, _("review of the support plan"), _reviews)
