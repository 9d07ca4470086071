"""The asylum procedure reads what a system administrator configured (cases/configuration.py):
an office's number of missed interviews before closure as abandoned is proposed, deadline
periods and non-working days for the appeal period, its record and its letter."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import override

from cases import workflow
from cases.models import CaseDeadline, DeadlinePeriod, Holiday
from rsd import services
from rsd.models import Decision
from rsd.procedures import abandon_after_no_shows
from tests.rsd.conftest import ago, fresh
from tests.rsd.test_letters import read, text_of

DAY = datetime.timedelta(days=1)


def one_missed_interview_long_ago(proc):
    """One missed interview 60 days ago: the 6-week contact period is over."""
    case = proc.open()
    proc.register(case)
    proc.schedule(case)
    proc.hold_interview(case, attended=False, on=ago(60))
    return fresh(case)


def refusal(case) -> str | None:
    return workflow.refusal(case, workflow.for_case(case).transition("propose_abandonment"), None)


def test_by_default_two_missed_interviews_are_needed(mx):
    case = one_missed_interview_long_ago(mx)

    assert abandon_after_no_shows(case) == 2
    assert refusal(case) == "The applicant has missed 1 interview(s); closure needs 2."
    assert services.sweep() == {"proposed": 0, "closed": 0}
    assert fresh(case).state == "no_show"


def test_an_office_that_proposes_closure_after_one_missed_interview(mx):
    case = one_missed_interview_long_ago(mx)
    office = case.office
    office.abandon_after_no_shows = 1
    office.save()
    case = fresh(case)

    assert refusal(case) is None
    assert "propose_abandonment" in [t.name for t in workflow.available(case, mx.staff.caseworker)]
    assert services.sweep() == {"proposed": 1, "closed": 0}
    assert fresh(case).state == "abandonment_proposed"


def test_an_office_that_waits_for_a_third_missed_interview(bz):
    case = bz.register(bz.open()).case
    case = bz.expire_contact_period(case)
    office = case.office
    office.abandon_after_no_shows = 3
    office.save()

    assert refusal(fresh(case)) == "The applicant has missed 2 interview(s); closure needs 3."
    assert services.sweep() == {"proposed": 0, "closed": 0}
    assert fresh(case).state == "no_show"


def test_another_offices_setting_changes_nothing(mx, bz):
    case = one_missed_interview_long_ago(mx)
    bz.staff.office.abandon_after_no_shows = 1
    bz.staff.office.save()

    assert refusal(fresh(case)) == "The applicant has missed 1 interview(s); closure needs 2."


def _notified_refusal(proc, delivered_on: datetime.date):
    case = proc.at("decided", "rejected")
    proc.notify(case, delivered_on=delivered_on)
    case = fresh(case)
    decision = Decision.objects.get(case=case, stage="first_instance")
    deadline = CaseDeadline.objects.get(case=case, clock="appeal", met_at__isnull=True)
    return case, decision, deadline


def test_a_changed_appeal_period_counts_for_refusals_notified_after_it(mx):
    delivered = ago(2)
    _case, before, before_deadline = _notified_refusal(mx, delivered)
    thirty = workflow.add_days(delivered, 30, unit=workflow.CALENDAR, country="MX")
    assert before.appeal_due_on == before_deadline.due_on == thirty

    DeadlinePeriod.objects.create(procedure="rsd.mx", clock="appeal", days=15, unit="working")

    _case, after, after_deadline = _notified_refusal(mx, delivered)
    fifteen = workflow.add_days(delivered, 15, unit=workflow.WORKING, country="MX")
    assert fifteen != thirty
    assert after.appeal_due_on == after_deadline.due_on == fifteen
    before.refresh_from_db()
    before_deadline.refresh_from_db()
    assert before.appeal_due_on == before_deadline.due_on == thirty  # already running: kept


def test_another_procedures_period_changes_nothing(mx):
    DeadlinePeriod.objects.create(procedure="rsd.bz", clock="appeal", days=15, unit="working")
    delivered = ago(2)
    _case, decision, deadline = _notified_refusal(mx, delivered)
    assert decision.appeal_due_on == deadline.due_on == workflow.add_days(
        delivered, 30, unit=workflow.CALENDAR, country="MX")


def test_an_added_closure_day_moves_the_end_of_the_appeal_period(mx):
    delivered = ago(2)
    due = workflow.add_days(delivered, 30, unit=workflow.CALENDAR, country="MX")
    Holiday.objects.create(country="MX", date=due, name="Cierre por contingencia")

    _case, decision, deadline = _notified_refusal(mx, delivered)

    assert decision.appeal_due_on == deadline.due_on == workflow.next_working_day(due + DAY, "MX")
    assert decision.appeal_due_on > due


def test_the_letter_printed_before_delivery_states_the_period_in_force(mx):
    case = mx.at("decided", "rejected")
    DeadlinePeriod.objects.create(procedure="rsd.mx", clock="appeal", days=15, unit="working")
    due = workflow.add_days(timezone.localdate(), 15, unit=workflow.WORKING, country="MX")

    text = text_of(read(services.decision_letter(by=mx.staff.caseworker, case=case, language="en")))

    with override("en"):
        assert f"until {date_format(due, 'j F Y')}" in text
