"""The generic deadline and queue selectors (cases/selectors.py) and the dashboard's deadline
panels: any procedure's clocks, for the right people only.

The deadlines here are rows as the workflow engine writes them, for a trafficking case and a
made-up clock: the selectors know nothing of the asylum procedure. The asylum views of the
same panels are tested through the services in tests/rsd/test_lists.py.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from cases import access, selectors, services
from cases.models import Case, CaseDeadline, CaseStep, Role
from cases.workflow import State, Workflow

DAY = datetime.timedelta(days=1)


def today() -> datetime.date:
    return timezone.localdate()


def deadline(case: Case, due_on: datetime.date, *, clock: str = "screening",
             met: bool = False) -> CaseDeadline:
    """A period of `clock` running on `case` (met already when `met`)."""
    number = CaseStep.objects.filter(case=case).count() + 1
    step = CaseStep.objects.create(case=case, number=number, transition="start", source="open",
                                   target="open", effective_on=due_on - 30 * DAY,
                                   person_id=case.principal_id)
    return CaseDeadline.objects.create(case=case, clock=clock, starts_on=due_on - 30 * DAY,
                                       due_on=due_on, started_by_step=step,
                                       office_id=case.office_id, assigned_to_id=case.assigned_to_id,
                                       met_at=timezone.now() if met else None)


@pytest.fixture
def world(caseworker, caseworker2, supervisor, other_caseworker, office, other_office,
          person_data):
    def open_case(by, office, name, assign_to_me=True):
        person = services.register_person(by=by, office=office, data=person_data(given_names=name))
        return services.open_case(by=by, person=person, kind="trafficking", assign_to_me=assign_to_me)

    cases = {
        "overdue": open_case(caseworker, office, "Ana"),
        "soon": open_case(caseworker, office, "Berta"),
        "later": open_case(caseworker, office, "Carmen"),
        "met": open_case(caseworker, office, "Dolores"),
        "closed": open_case(caseworker, office, "Elena"),
        "colleague": open_case(caseworker2, office, "Fabiola"),
        "queue": open_case(supervisor, office, "Gloria", assign_to_me=False),
        "foreign": open_case(other_caseworker, other_office, "Hilda"),
    }
    deadline(cases["overdue"], today() - 3 * DAY)
    deadline(cases["overdue"], today() + 2 * DAY, clock="report")  # overdue and due soon
    deadline(cases["soon"], today() + 7 * DAY)
    deadline(cases["later"], today() + 8 * DAY)
    deadline(cases["met"], today() - 3 * DAY, met=True)
    deadline(cases["closed"], today() - 3 * DAY)
    Case.objects.filter(pk=cases["closed"].pk).update(state="closed", closed_at=timezone.now())
    deadline(cases["colleague"], today())
    deadline(cases["queue"], today() - 1 * DAY)
    deadline(cases["foreign"], today() - 1 * DAY)
    return cases


def names(deadlines, world) -> list[str]:
    by_pk = {c.pk: name for name, c in world.items()}
    return [f"{by_pk[d.case_id]}:{d.clock}" for d in deadlines]


def test_a_caseworker_s_own_cases_deadlines_passed_or_due_within_7_days(world, caseworker):
    mine = selectors.due_deadlines(caseworker, mine_only=True)

    assert names(mine, world) == ["overdue:screening", "overdue:report", "soon:screening"]


def test_without_mine_only_the_queue_they_see_comes_too(world, caseworker, caseworker2):
    assert names(selectors.due_deadlines(caseworker), world) == [
        "overdue:screening", "queue:screening", "overdue:report", "soon:screening"]
    assert names(selectors.due_deadlines(caseworker2), world) == [
        "queue:screening", "colleague:screening"]


def test_a_supervisor_sees_every_case_of_their_offices_and_no_other(world, supervisor,
                                                                    other_supervisor):
    supervised = access.offices_where(supervisor, Role.SUPERVISOR)

    found = names(selectors.due_deadlines(supervisor, offices=supervised), world)

    assert sorted(found) == sorted(["overdue:screening", "overdue:report", "soon:screening",
                                    "colleague:screening", "queue:screening"])
    assert names(selectors.due_deadlines(other_supervisor), world) == ["foreign:screening"]


def test_the_window_can_be_wider(world, caseworker):
    wide = selectors.due_deadlines(caseworker, mine_only=True, within_days=8)

    assert "later:screening" in names(wide, world)


def test_no_case_role_no_deadlines(world, auditor, office_admin):
    assert list(selectors.due_deadlines(auditor)) == []
    assert list(selectors.due_deadlines(office_admin, mine_only=True)) == []


def test_counts_per_office(world, supervisor, office):
    [row] = selectors.supervised_deadlines(supervisor)

    assert row.office == office
    # overdue: "overdue" and "queue"; due soon: "overdue" (its report), "soon", "colleague".
    assert (row.overdue, row.due_soon) == (2, 3)


# --- Cases waiting for a role ------------------------------------------------------------

TOY = Workflow(
    name="toy.queue", kind="trafficking", label="Toy",
    states={s.name: s for s in (
        State("open", "Open", waiting_for=Role.CASEWORKER),
        # The asylum procedures' "committee" waits for a supervisor; here for a caseworker.
        State("committee", "Committee (toy)", waiting_for=Role.CASEWORKER),
        State("review", "Review (toy)", waiting_for=Role.SUPERVISOR),
        State("done", "Done", closed=True),
    )},
)


@pytest.fixture
def toy(use_workflow):
    use_workflow(TOY)
    return TOY


def put(case: Case, state: str, procedure: str = TOY.name) -> None:
    Case.objects.filter(pk=case.pk).update(state=state, procedure=procedure)


def test_waiting_for_matches_the_state_within_its_own_procedure(toy, world, supervisor, caseworker):
    put(world["overdue"], "review")
    put(world["queue"], "review")
    put(world["soon"], "committee")  # a caseworker's step in this procedure
    put(world["later"], "committee", procedure="rsd.bz")  # a supervisor's step in Belize's
    put(world["foreign"], "review")

    waiting = set(selectors.waiting_for(supervisor, Role.SUPERVISOR))

    assert waiting == {world["overdue"], world["queue"], world["later"]}
    assert list(selectors.waiting_for(caseworker, Role.SUPERVISOR)) == []  # not one of theirs
    assert world["soon"] in set(selectors.waiting_for(caseworker, Role.CASEWORKER))
    [row] = selectors.supervised_deadlines(supervisor)
    assert row.waiting == 3


def test_a_closed_case_waits_for_nobody(toy, world, supervisor):
    put(world["overdue"], "review")
    Case.objects.filter(pk=world["overdue"].pk).update(closed_at=timezone.now())

    assert list(selectors.waiting_for(supervisor, Role.SUPERVISOR)) == []


# --- The dashboard -------------------------------------------------------------------------

def section(html: str, element_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{element_id}".*?</section>', html, re.S)
    return match.group(0) if match else ""


def test_the_caseworker_dashboard_lists_their_own_deadlines(client, world, caseworker):
    client.force_login(caseworker)

    html = client.get("/").content.decode()

    mine = section(html, "my-deadlines")
    assert world["overdue"].reference in mine
    assert world["soon"].reference in mine
    assert "Ana" in mine  # the principal's name, decrypted
    assert "overdue by 3 days" in mine
    for other in ("later", "met", "closed", "colleague", "queue", "foreign"):
        assert world[other].reference not in mine, other
    assert section(html, "office-deadlines") == ""  # not a supervisor


def test_a_colleague_does_not_see_them(client, world, caseworker2):
    client.force_login(caseworker2)

    mine = section(client.get("/").content.decode(), "my-deadlines")

    assert world["colleague"].reference in mine
    assert world["overdue"].reference not in mine


def test_the_supervisor_dashboard_counts_and_lists_their_offices(client, world, supervisor, office):
    client.force_login(supervisor)

    html = section(client.get("/").content.decode(), "office-deadlines")

    row = re.search(rf'<tr data-office="{office.code}">.*?</tr>', html, re.S).group(0)
    assert re.search(r'class="overdue">.*?>2<', row)
    assert 'class="due-soon">3<' in row
    for name in ("overdue", "soon", "colleague", "queue"):
        assert world[name].reference in html, name
    for name in ("later", "met", "closed", "foreign"):
        assert world[name].reference not in html, name


def test_another_office_s_supervisor_sees_none_of_them(client, world, other_supervisor):
    client.force_login(other_supervisor)

    html = section(client.get("/").content.decode(), "office-deadlines")

    assert world["foreign"].reference in html
    assert world["overdue"].reference not in html


def test_the_deadlines_shown_are_a_recorded_read(client, world, caseworker):
    client.force_login(caseworker)

    client.get("/")

    event = AuditEvent.objects.filter(action="case.list").latest("id")
    assert event.details["show"] == "dashboard"
    assert {str(world["overdue"].pk), str(world["soon"].pk)} <= set(event.details["cases"])
    assert len(event.details["cases"]) == len(set(event.details["cases"]))


def test_the_panel_rows_show_each_cell_escaped_in_the_page_language(world, supervisor, office):
    from django.template.loader import render_to_string
    from django.utils import translation

    from cases import dashboard

    rows = dashboard.deadlines(supervisor).offices
    by_case = {r.case.pk: r for r in rows}
    by_case[world["queue"].pk].label = "<b>Revisión</b> & más"

    with translation.override("es"):
        html = render_to_string("cases/_deadlines.html", {"rows": rows, "total": len(rows),
                                                          "with_office": True})
    cells = {m.group(2): m.group(0) for m in re.finditer(
        r'<tr class="[^"]*" data-clock="[^"]*">.*?<a href="/cases/([^/]+)/">([^<]+)</a>.*?</tr>',
        html, re.S)}
    assert len(re.findall(r"<tr class=", html)) == len(rows) == 5
    overdue = re.search(r'<tr class="table-danger" data-clock="screening">.*?</tr>', html, re.S).group(0)
    assert world["overdue"].reference in overdue and "vencido hace 3 días" in overdue
    assert f"<td>{office.code}</td><td>{world['overdue'].assigned_to}</td>" in overdue
    assert "Ana" in overdue  # the principal's name, decrypted
    assert (today() - 3 * DAY).isoformat() in overdue
    queued = cells[world["queue"].reference]
    assert "vencido hace 1 día" in queued and "— en cola —" in queued
    assert "&lt;b&gt;Revisión&lt;/b&gt; &amp; más" in queued and "<b>" not in html
    assert "vence hoy" in cells[world["colleague"].reference]
    assert 'class="badge text-bg-light">en 7 días<' in cells[world["soon"].reference]
    assert 'table-danger' not in cells[world["soon"].reference]
    mine = render_to_string("cases/_deadlines.html", {"rows": rows, "total": len(rows)})
    assert "— queue —" not in mine and f"<td>{office.code}</td>" not in mine


def test_the_deadline_panels_take_a_fixed_number_of_queries(client, world, caseworker, supervisor,
                                                            django_assert_max_num_queries):
    client.force_login(supervisor)
    client.get("/")  # warm the per-process caches (content types, holidays)
    with django_assert_max_num_queries(40) as few:
        client.get("/")
    for name in ("later", "met"):  # three more cases with deadlines due soon
        deadline(world[name], today() + DAY)
    deadline(world["colleague"], today() - DAY, clock="report")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/")


def test_running_deadlines_follow_the_case_to_its_new_assignee(world, caseworker, caseworker2,
                                                               supervisor):
    # The panels walk the deadlines' copies of the case's assignee: assigning and taking
    # must move them, and a met deadline keeps the assignee it had.
    deadline(world["soon"], today() - 5 * DAY, clock="report", met=True)
    services.assign_case(by=supervisor, case=world["soon"], assignee=caseworker2)

    assert "soon:screening" not in names(selectors.due_deadlines(caseworker, mine_only=True), world)
    assert "soon:screening" in names(selectors.due_deadlines(caseworker2, mine_only=True), world)
    copies = dict(CaseDeadline.objects.filter(case=world["soon"]).values_list("clock", "assigned_to"))
    assert copies == {"screening": caseworker2.pk, "report": caseworker.pk}

    services.assign_case(by=supervisor, case=world["soon"], assignee=None)
    assert "soon:screening" not in names(selectors.due_deadlines(caseworker2, mine_only=True), world)
    services.take_case(by=caseworker, case=world["soon"])
    assert "soon:screening" in names(selectors.due_deadlines(caseworker, mine_only=True), world)


def test_a_caseworker_who_lost_the_office_loses_its_deadlines(world, caseworker):
    caseworker.memberships.filter(role=Role.CASEWORKER).delete()
    access.forget(caseworker)

    assert list(selectors.due_deadlines(caseworker, mine_only=True)) == []


def test_the_migration_copies_each_cases_office_and_assignee(world, other_office):
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("cases.migrations.0013_deadline_copies")
    CaseDeadline.objects.update(office=other_office, assigned_to=None)  # as before the copies

    # The migration writes through the connection it is run on (its schema editor's).
    migration.copy_from_cases(apps, SimpleNamespace(connection=connection))

    for d in CaseDeadline.objects.select_related("case"):
        assert (d.office_id, d.assigned_to_id) == (d.case.office_id, d.case.assigned_to_id)
