"""Reminders of support services and plan reviews due soon (tip/reminders.py), written by the
deadline sweep of cases.notifications to whoever works on the case, once per item, due date and
person; overdue, delivered and closed ones are not reminded (the dashboards show what is late)."""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils import translation

from cases import notifications
from cases import services as case_services
from cases.models import Notification, NotificationKind
from tests.tip.conftest import fresh, today
from tip import services, support
from tip.support import ServiceData
from tip.vocab import ServiceKind, ServiceStatus

DAY = datetime.timedelta(days=1)


def _service(tip, case, **overrides):
    values = dict(kind=ServiceKind.SHELTER, planned_start=today(), planned_end=today() + 2 * DAY)
    values.update(overrides)
    return support.add_service(by=tip.caseworker, case=fresh(case), data=ServiceData(**values))


def _mine(user):
    return list(Notification.objects.filter(recipient=user, kind=NotificationKind.DEADLINE))


def test_a_service_due_soon_is_told_once_to_the_assignee(tip, caseworker, supervisor):
    case = tip.open()
    service = _service(tip, case)
    # Overdue: on the dashboard, not reminded.
    _service(tip, case, planned_start=today() - 9 * DAY, planned_end=today() - DAY)
    _service(tip, case, kind=ServiceKind.MEDICAL, planned_end=today() + 10 * DAY)  # not soon
    assert notifications.notify_due_deadlines(today=today()) == 1
    [told] = _mine(caseworker)
    assert told.params == {"reference": case.reference, "reminder": "tip.service_due",
                           "key": str(service.pk), "due": (today() + 2 * DAY).isoformat()}
    with translation.override("es"):
        assert case.reference in told.text and told.text != case.reference
    assert _mine(supervisor) == []
    assert notifications.notify_due_deadlines(today=today()) == 0
    # A new planned end is a new reminder.
    support.update_service(by=caseworker, service=service, data=ServiceData(
        kind=ServiceKind.SHELTER, planned_start=today(), planned_end=today() + 3 * DAY))
    assert notifications.notify_due_deadlines(today=today()) == 1


def test_delivered_services_and_closed_cases_are_not_reminded(tip, caseworker):
    case = tip.open()
    _service(tip, case, status=ServiceStatus.DELIVERED, actual_start=today() - 3 * DAY,
             actual_end=today())
    assert notifications.notify_due_deadlines(today=today()) == 0
    closed = tip.open()
    _service(tip, closed)
    services.take_step(by=caseworker, case=fresh(closed), name="close", ground="ObjectivesMet",
                       reason="Objetivos cumplidos.")
    assert notifications.notify_due_deadlines(today=today()) == 0


def test_a_plan_review_of_an_unassigned_case_goes_to_the_office_s_supervisors(tip, supervisor,
                                                                               caseworker):
    case = tip.open()
    support.save_plan(by=caseworker, case=fresh(case), objectives="Vivienda estable.",
                      review_on=today() + DAY)
    case_services.assign_case(by=supervisor, case=fresh(case), assignee=None)
    assert notifications.notify_due_deadlines(today=today()) == 1
    [told] = _mine(supervisor)
    assert told.params["reminder"] == "tip.plan_review"
    assert _mine(caseworker) == []


def test_the_reminder_is_listed_and_opens_the_case(client, tip, caseworker):
    case = tip.open()
    _service(tip, case)
    notifications.notify_due_deadlines(today=today())
    client.force_login(caseworker)
    page = client.get(reverse("notification_list"))
    assert case.reference in page.content.decode()
    assert "end of a support service" in page.content.decode()
    [told] = _mine(caseworker)
    opened = client.get(reverse("notification_open", args=[told.pk]))
    assert opened.status_code == 302 and opened["Location"] == reverse("case_detail", args=[case.pk])
