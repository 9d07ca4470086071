"""Who may act on a case (cases/access.py), and the engine's use of it: a transition's roles
mean what they say, for roles the core does not know too; `fire` takes its own transaction."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction

from audit.models import AuditEvent
from cases import access, selectors, services, workflow
from cases.checks import check_procedures
from cases.models import Case, CaseStep, Membership, Role
from cases.workflow import State, Transition, Workflow

CASE_MANAGER = "case_manager"  # a role an app adds (trafficking case managers, say)
CW, SUP = Role.CASEWORKER, Role.SUPERVISOR

MANAGED = Workflow(
    name="managed", kind="trafficking", label="Managed (test)",
    states={"open": State("open", "Open"), "assisted": State("assisted", "Assisted"),
            "reviewed": State("reviewed", "Reviewed")},
    transitions={
        "assist": Transition("assist", "Assist", ("open",), "assisted", (CASE_MANAGER,)),
        "review": Transition("review", "Review", ("assisted",), "reviewed", (SUP,)),
    },
)


@pytest.fixture
def managed_case(use_workflow, case) -> Case:
    use_workflow(MANAGED)
    Case.objects.filter(pk=case.pk).update(procedure=MANAGED.name)
    case.refresh_from_db()
    return case


@pytest.fixture
def case_manager(make_user, office):
    user = make_user(CW, office)
    Membership.objects.filter(user=user).update(role=CASE_MANAGER)
    access.forget(user)
    return user


@pytest.fixture
def assigned_only():
    access.acts_on_assigned_cases(CASE_MANAGER)
    yield
    access._assigned_only.discard(CASE_MANAGER)


def test_a_role_the_transition_names_may_fire_it_in_the_cases_office(managed_case, case_manager):
    step = workflow.fire(case=managed_case, name="assist", by=case_manager)

    assert step.actor == case_manager
    assert Case.objects.get(pk=managed_case.pk).state == "assisted"


def test_roles_the_transition_does_not_name_are_refused(managed_case, supervisor, caseworker):
    # The caseworker holds the case; the supervisor supervises the office: neither is named.
    for user in (supervisor, caseworker):
        with pytest.raises(PermissionDenied):
            workflow.fire(case=managed_case, name="assist", by=user)
    assert AuditEvent.objects.filter(action="case.transition", outcome="denied").count() == 2
    assert Case.objects.get(pk=managed_case.pk).state == "open"


def test_the_role_in_another_office_does_not_count(managed_case, make_user, other_office):
    elsewhere = make_user(CW, other_office)
    Membership.objects.filter(user=elsewhere).update(role=CASE_MANAGER)
    access.forget(elsewhere)

    with pytest.raises(PermissionDenied):
        workflow.fire(case=managed_case, name="assist", by=elsewhere)


def test_a_role_declared_assigned_only_acts_on_its_own_cases(managed_case, case_manager,
                                                             assigned_only):
    with pytest.raises(PermissionDenied):
        workflow.fire(case=managed_case, name="assist", by=case_manager)

    Case.objects.filter(pk=managed_case.pk).update(assigned_to=case_manager)
    managed_case.refresh_from_db()
    workflow.fire(case=managed_case, name="assist", by=case_manager)
    assert Case.objects.get(pk=managed_case.pk).state == "assisted"


def test_a_caseworker_acts_only_on_cases_assigned_to_them(case, caseworker, caseworker2, supervisor):
    case.assigned_to = caseworker
    assert access.can_edit_case(caseworker, case)
    assert not access.can_edit_case(caseworker2, case)
    assert access.can_edit_case(supervisor, case)
    assert access.acting_roles(supervisor, case, (CW, SUP)) == {SUP}
    assert access.acting_roles(caseworker2, case, (CW, SUP)) == set()


def test_fire_refuses_to_run_inside_a_transaction_of_the_callers(managed_case, case_manager):
    with pytest.raises(workflow.OutsideTransactionRequired), transaction.atomic():
        workflow.fire(case=managed_case, name="assist", by=case_manager)

    assert not CaseStep.objects.filter(case=managed_case).exists()
    assert Case.objects.get(pk=managed_case.pk).state == "open"


# --- System checks of the registered procedures -----------------------------------------

def test_the_shipped_procedures_pass_the_checks():
    assert check_procedures(None) == []


def test_a_step_without_a_page_is_reported(use_workflow):
    use_workflow(MANAGED)

    errors = [e for e in check_procedures(None) if e.id == "amparo.E022"]

    assert len(errors) == 1
    assert "assist" in errors[0].msg and "review" in errors[0].msg


def test_two_procedures_for_one_kind_and_country_are_reported(use_workflow):
    from rsd.procedures import STEP_URL, AsylumOptions

    rsd_mx = workflow.get("rsd.mx")
    use_workflow(Workflow(name="rsd.mx2", kind="asylum", label="Second", country="MX",
                          states=rsd_mx.states, transitions=rsd_mx.transitions,
                          options=AsylumOptions(step_url=STEP_URL)))

    errors = check_procedures(None)

    assert [e.id for e in errors] == ["amparo.E021"]
    assert "rsd.mx" in errors[0].msg and "rsd.mx2" in errors[0].msg


# --- Read once per request ----------------------------------------------------------------

def test_a_page_reads_the_users_roles_and_grants_once(client, supervisor, case):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(supervisor)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200

    sql = [q["sql"] for q in queries.captured_queries]
    assert sum("caseuserobjectpermission" in s.lower() for s in sql) == 1
    assert sum("casegroupobjectpermission" in s.lower() for s in sql) == 1
    assert sum('from "cases_membership"' in s.lower() and "office" in s.lower() for s in sql) <= 2


def test_a_grant_is_seen_at_once_by_the_user_object_it_was_given_to(case, supervisor, caseworker2):
    from cases import selectors, services

    assert not selectors.visible_cases(caseworker2).filter(pk=case.pk).exists()  # caches no grant
    services.grant_case_access(by=supervisor, case=case, user=caseworker2, reason="Second opinion")
    assert selectors.visible_cases(caseworker2).filter(pk=case.pk).exists()

    services.revoke_case_access(by=supervisor, case=case, user=caseworker2, reason="Done")
    assert not selectors.visible_cases(caseworker2).filter(pk=case.pk).exists()


def test_sees_case_says_what_visible_cases_holds_for_every_user_and_case(
        make_user, office, other_office, supervisor, caseworker, caseworker2, other_supervisor,
        person_data):
    """The bell judges rows by `sees_case`; the lists by `visible_cases`: one rule."""
    other_caseworker = make_user(CW, other_office)
    services.open_case(by=caseworker, person=services.register_person(
        by=caseworker, office=office, data=person_data(given_names="Ana")), kind="asylum")
    queued = services.open_case(by=caseworker, person=services.register_person(
        by=caseworker, office=office, data=person_data(given_names="Berta")), kind="asylum")
    Case.objects.filter(pk=queued.pk).update(assigned_to=None)
    theirs = services.open_case(by=caseworker2, person=services.register_person(
        by=caseworker2, office=office, data=person_data(given_names="Carla")), kind="asylum")
    abroad = services.open_case(by=other_caseworker, person=services.register_person(
        by=other_caseworker, office=other_office, data=person_data(given_names="Dora")),
        kind="asylum")
    services.grant_case_access(by=supervisor, case=theirs, user=other_supervisor, reason="Review")
    services.grant_case_access(by=other_supervisor, case=abroad, user=caseworker, reason="Joint")
    cases = list(Case.objects.all())

    users = (supervisor, caseworker, caseworker2, other_supervisor, other_caseworker)
    for user in users:
        access.forget(user)
        held = set(selectors.visible_cases(user).values_list("pk", flat=True))
        judged = {c.pk for c in cases if access.sees_case(user, c.pk, c.office_id, c.assigned_to_id)}
        assert judged == held, user.username
    assert abroad.pk in set(selectors.visible_cases(caseworker).values_list("pk", flat=True))
    assert theirs.pk not in set(selectors.visible_cases(caseworker).values_list("pk", flat=True))
