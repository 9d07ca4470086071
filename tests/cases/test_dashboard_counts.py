"""The dashboard counts no further than a limit ("3+") and takes as many queries with few
cases as with many (docs/architecture.md#speed)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import dashboard, selectors, services
from cases.models import Case, CaseDeadline, CaseStep
from rsd import dashboard as rsd_dashboard
from tip import dashboard as tip_dashboard

LIMIT = 3


@pytest.fixture(autouse=True)
def small_panels(monkeypatch):
    """Full panels and counts past their limit with a handful of cases."""
    monkeypatch.setattr(selectors, "COUNT_LIMIT", LIMIT)
    monkeypatch.setattr(dashboard, "ROWS", 2)
    monkeypatch.setattr(rsd_dashboard, "PRIORITY_ROWS", 2)
    monkeypatch.setattr(tip_dashboard, "ROWS", 2)


@pytest.fixture
def add_cases(caseworker, supervisor, office, person_data):
    """add_cases(n): n cases assigned to the caseworker and n in the queue, each with a
    deadline passed."""
    def add(n: int) -> None:
        for k in range(n):
            for assign in (True, False):
                person = services.register_person(by=caseworker, office=office, data=person_data(
                    given_names=f"Ana {k}", documents=[]))
                case = services.open_case(by=caseworker, person=person, kind="trafficking",
                                          assign_to_me=assign)
                due = timezone.localdate() - datetime.timedelta(days=2)
                step = CaseStep.objects.create(case=case, number=1, transition="start", source="open",
                                               target="open", effective_on=due,
                                               person_id=case.principal_id)
                CaseDeadline.objects.create(case=case, clock="screening", starts_on=due,
                                            due_on=due, started_by_step=step,
                                            office_id=case.office_id, assigned_to_id=case.assigned_to_id)
    return add


def queries(client, user) -> list[str]:
    client.force_login(user)
    client.get("/")  # per-process caches (content types, holidays)
    with CaptureQueriesContext(connection) as q:
        assert client.get("/").status_code == 200
    return [x["sql"] for x in q.captured_queries]


def test_the_dashboard_takes_as_many_queries_with_many_cases(client, caseworker, supervisor,
                                                              add_cases):
    add_cases(LIMIT + 1)
    few = {u.username: queries(client, u) for u in (caseworker, supervisor)}
    add_cases(2 * LIMIT)
    many = {u.username: queries(client, u) for u in (caseworker, supervisor)}

    assert Case.objects.count() == 6 * LIMIT + 2
    for user in (caseworker, supervisor):
        assert len(many[user.username]) == len(few[user.username]), user
    # No count reads a whole table: every COUNT is over a LIMITed subquery.
    counts = [sql for sql in many[supervisor.username] if "COUNT(" in sql.upper()]
    assert counts
    for sql in counts:
        assert re.search(rf"LIMIT {LIMIT + 1}\b", sql), sql


def test_counts_past_the_limit_read_as_more(client, supervisor, add_cases, office):
    add_cases(LIMIT + 1)
    client.force_login(supervisor)

    html = client.get("/", headers={"accept-language": "en"}).content.decode()

    queue = re.search(r'<section[^>]*id="queue".*?</section>', html, re.S).group(0)
    assert f'badge text-bg-warning">{LIMIT}+<' in queue
    row = re.search(rf'<tr data-office="{office.code}">.*?</tr>', html, re.S).group(0)
    assert re.search(rf'class="overdue">.*?>{LIMIT}\+<', row)
    assert f"The 2 most urgent of {LIMIT}+ are listed." in html
    workload = re.search(r'<section[^>]*id="workload".*?</section>', html, re.S).group(0)
    assert f"<td>{LIMIT}+</td>" in workload


def test_counts_under_the_limit_are_exact(client, supervisor, add_cases, office):
    add_cases(1)
    client.force_login(supervisor)

    [row] = selectors.supervised_deadlines(supervisor)
    html = client.get("/", headers={"accept-language": "en"}).content.decode()

    assert (row.overdue, row.overdue.more, str(row.overdue)) == (2, False, "2")
    assert 'badge text-bg-warning">1<' in html  # one case in the queue


def test_bounded_count_stops_at_the_limit(caseworker, add_cases):
    add_cases(LIMIT)

    every = selectors.visible_cases(caseworker)
    few = selectors.bounded_count(every.filter(assigned_to__isnull=True))

    assert (int(selectors.bounded_count(every)), selectors.bounded_count(every).more) == (LIMIT, True)
    assert (int(few), few.more, str(few)) == (LIMIT, False, str(LIMIT))
    assert str(selectors.bounded_count(every)) == f"{LIMIT}+"


def test_a_deadline_column_past_the_limit_counts_the_cases_it_read(supervisor, add_cases, office):
    add_cases(1)  # two cases, one deadline passed each
    case = Case.objects.filter(assigned_to__isnull=False).get()
    step = CaseStep.objects.get(case=case)
    for clock in ("report", "appeal", "interview"):  # three more on one case
        CaseDeadline.objects.create(case=case, clock=clock, starts_on=step.effective_on,
                                    due_on=step.effective_on, started_by_step=step,
                                    office_id=case.office_id, assigned_to_id=case.assigned_to_id)

    [row] = selectors.supervised_deadlines(supervisor)

    # Five deadlines passed, four read (the limit and one): two cases at least.
    assert (int(row.overdue), row.overdue.more, str(row.overdue)) == (2, True, "2+")
