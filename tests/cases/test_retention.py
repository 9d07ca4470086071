"""Retention schedules (cases/retention.py): what is due, what holds a person, the run's
report and the command's JSON contract."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import erasure, retention, services, subject_requests
from cases.models import (
    Case,
    CaseStep,
    DataKey,
    LoginCounter,
    Person,
    RetentionRule,
    RetentionRun,
)
from rsd.models import Appeal, Decision

pytestmark = pytest.mark.usefixtures("file_root", "default_rules")


TODAY = datetime.date(2026, 6, 15)


def at(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def rule(record_type: str, *, office=None, acting=True, **period) -> RetentionRule:
    """The seeded global rule (or a new office rule), made to act with this period."""
    values = {"years": 0, "months": 0, "days": 0, **period, "destructive": acting}
    if office is None:
        RetentionRule.objects.filter(record_type=record_type, office=None).update(**values)
        return RetentionRule.objects.get(record_type=record_type, office=None)
    return RetentionRule.objects.create(record_type=record_type, office=office,
                                        action=RetentionRule.objects.get(
                                            record_type=record_type, office=None).action,
                                        **values)


def only(*record_types: str) -> None:
    RetentionRule.objects.exclude(record_type__in=record_types).update(enabled=False)


def idle(person: Person, since: datetime.date) -> Person:
    Person.objects.filter(pk=person.pk).update(updated_at=at(since))
    return person


def closed(case: Case, state: str, on: datetime.date) -> Case:
    Case.objects.filter(pk=case.pk).update(state=state, closed_at=at(on))
    return case


@pytest.fixture
def register(caseworker, other_caseworker, office, person_data):
    def make(office_=None, **overrides) -> Person:
        return services.register_person(by=other_caseworker if office_ else caseworker,
                                        office=office_ or office, data=person_data(**overrides))
    return make


def reread(person: Person) -> Person:
    return Person.objects.get(pk=person.pk)


def report_of(run: RetentionRun, record_type: str, office=None) -> dict:
    [found] = [r for r in run.report["rules"]
               if r["record_type"] == record_type and r["office"] == office]
    return found


# --- Dates ----------------------------------------------------------------------------------------

def test_the_cutoff_counts_back_years_months_and_days():
    assert retention.cutoff(TODAY, years=2) == datetime.date(2024, 6, 15)
    assert retention.cutoff(datetime.date(2026, 3, 31), months=1) == datetime.date(2026, 2, 28)
    assert retention.cutoff(datetime.date(2028, 2, 29), years=1) == datetime.date(2027, 2, 28)
    assert retention.cutoff(TODAY, days=15) == datetime.date(2026, 5, 31)
    assert retention.cutoff(datetime.date(2026, 1, 10), months=13) == datetime.date(2024, 12, 10)


# --- People --------------------------------------------------------------------------------------

def test_defaults_only_report_until_an_administrator_turns_them_on(register):
    person = idle(register(), TODAY - datetime.timedelta(days=5 * 365))
    assert not RetentionRule.objects.filter(destructive=True).exists()

    run = retention.run(today=TODAY)

    assert reread(person).erased_at is None
    assert report_of(run, "person.no_case")["due"] == 1
    assert run.done == 0 and DataKey.objects.get(subject_id=person.pk).destroyed_at is None


def test_a_person_is_due_on_the_last_day_of_the_period_not_the_day_before(register):
    only("person.no_case")
    rule("person.no_case", years=2)
    due = idle(register(), datetime.date(2024, 6, 15))
    not_yet = idle(register(given_names="Ana"), datetime.date(2024, 6, 16))

    run = retention.run(today=TODAY)

    assert reread(due).erased_at is not None and reread(due).erasure_code == "retention"
    assert DataKey.objects.get(subject_id=due.pk).destroyed_at is not None
    assert reread(not_yet).erased_at is None and reread(not_yet).given_names == "Ana"
    assert report_of(run, "person.no_case") | {"rule": 0} == {
        "rule": 0, "record_type": "person.no_case", "office": None, "action": "erase",
        "acting": True, "due": 1, "erased": 1, "anonymised": 0, "deleted": 0, "skipped": {},
        "failed": 0}
    assert AuditEvent.objects.filter(action="person.erase", object_id=str(due.pk)).count() == 1
    assert AuditEvent.objects.filter(action="retention.run", object_id=str(run.pk)).exists()


def test_a_dry_run_erases_nothing(register):
    only("person.no_case")
    rule("person.no_case", years=1)
    person = idle(register(), datetime.date(2020, 1, 1))

    run = retention.run(today=TODAY, dry_run=True)

    assert reread(person).erased_at is None and reread(person).given_names == "María José"
    assert run.dry_run and run.done == 0 and report_of(run, "person.no_case")["due"] == 1


def test_held_restricted_and_requesting_people_are_skipped_with_the_reason(register, supervisor,
                                                                          caseworker):
    only("person.no_case")
    rule("person.no_case", years=1)
    long_ago = datetime.date(2020, 1, 1)
    held = register(given_names="Held")
    Person.objects.filter(pk=held.pk).update(legal_hold=True)
    asking = register(given_names="Asking")
    subject_requests.record_request(by=caseworker, person=asking, kind="access",
                                    channel="in_person", received_on=timezone.localdate())
    free = register(given_names="Free")
    for p in (held, asking, free):
        idle(p, long_ago)

    run = retention.run(today=TODAY)

    assert reread(held).erased_at is None and reread(asking).erased_at is None
    assert reread(free).erased_at is not None
    assert report_of(run, "person.no_case")["skipped"] == {"legal_hold": 1, "open_request": 1}


def test_an_open_case_in_another_office_holds_a_person_of_a_closed_asylum_case(
        register, caseworker, other_caseworker, person, case):
    only("asylum.rejected")
    rule("asylum.rejected", years=5)
    closed(case, "rejected_final", datetime.date(2020, 1, 1))
    other = services.open_case(by=caseworker, person=register(given_names="Other"), kind="asylum")
    other.people.add(person)  # the person takes part in a case still open
    run = retention.run(today=TODAY)
    assert reread(person).erased_at is None
    assert report_of(run, "asylum.rejected")["skipped"] == {"open_case": 1}

    Case.objects.filter(pk=other.pk).update(closed_at=at(datetime.date(2020, 1, 2)),
                                            state="withdrawn")
    retention.run(today=TODAY)
    assert reread(person).erased_at is not None


def test_a_pending_appeal_holds_a_person(person, case, caseworker):
    only("asylum.rejected")
    rule("asylum.rejected", years=1)
    closed(case, "rejected_final", datetime.date(2020, 1, 1))
    step = CaseStep.objects.create(case=case, number=1, transition="decide", source="open",
                                   target="rejected_final", effective_on=datetime.date(2019, 12, 1),
                                   person=person, actor=caseworker)
    decision = Decision.objects.create(case=case, person=person, stage="first_instance",
                                       authority="x", outcome="rejected", legal_basis="none",
                                       decided_on=datetime.date(2019, 12, 1), recorded_by=caseworker,
                                       step=step)
    appeal = Appeal.objects.create(case=case, person=person, decision=decision,
                                   lodged_on=datetime.date(2019, 12, 20), lodged_by=caseworker)

    run = retention.run(today=TODAY)
    assert reread(person).erased_at is None
    assert report_of(run, "asylum.rejected")["skipped"] == {"pending_appeal": 1}

    Appeal.objects.filter(pk=appeal.pk).update(outcome=decision)
    retention.run(today=TODAY)
    assert reread(person).erased_at is not None


def test_each_ending_has_its_own_period(register, caseworker):
    only("asylum.recognized", "asylum.withdrawn")
    rule("asylum.recognized", years=10)
    rule("asylum.withdrawn", years=3)
    recognised = register(given_names="Reconocida")
    withdrew = register(given_names="Desistió")
    for p in (recognised, withdrew):
        closed(services.open_case(by=caseworker, person=p, kind="asylum"),
               "recognized" if p == recognised else "withdrawn", datetime.date(2020, 1, 1))

    run = retention.run(today=TODAY)

    assert reread(recognised).erased_at is None and reread(withdrew).erased_at is not None
    assert report_of(run, "asylum.recognized")["due"] == 0
    assert report_of(run, "asylum.withdrawn")["erased"] == 1


def test_an_office_rule_replaces_the_global_one_for_that_office(register, other_office):
    only("person.no_case")
    rule("person.no_case", years=1)
    rule("person.no_case", office=other_office, years=10)
    here = idle(register(), datetime.date(2020, 1, 1))
    there = idle(register(other_office, given_names="Lejos"), datetime.date(2020, 1, 1))

    run = retention.run(today=TODAY)

    assert reread(here).erased_at is not None and reread(there).erased_at is None
    assert report_of(run, "person.no_case")["due"] == 1
    assert report_of(run, "person.no_case", other_office.pk)["due"] == 0


def test_a_failing_person_is_reported_and_the_run_goes_on(register):
    only("person.no_case")
    rule("person.no_case", years=1)
    failing = idle(register(given_names="Falla"), datetime.date(2020, 1, 1))
    fine = idle(register(given_names="Bien"), datetime.date(2020, 1, 1))

    def clear(person):
        if person.pk == failing.pk:
            raise RuntimeError("storage unreachable")

    erasure.register("test-failing", clear)
    try:
        run = retention.run(today=TODAY)
    finally:
        erasure._clearers.pop("test-failing")

    # The failed erasure left nothing half done: the key is still there.
    assert reread(failing).erased_at is None and reread(failing).given_names == "Falla"
    assert DataKey.objects.get(subject_id=failing.pk).destroyed_at is None
    assert reread(fine).erased_at is not None
    assert run.failed == 1 and run.done == 1
    assert run.report["errors"] == [{"rule": report_of(run, "person.no_case")["rule"],
                                     "object": str(failing.pk), "error": "RuntimeError",
                                     "office": str(failing.office_id)}]
    # The command's JSON contract is unchanged: the office is for the pages' scoping.
    assert retention.as_json(run)["errors"] == [
        {"rule": report_of(run, "person.no_case")["rule"], "object": str(failing.pk),
         "error": "RuntimeError"}]

    again = retention.run(today=TODAY)  # the next run retries it
    assert reread(failing).erased_at is not None and again.done == 1 and again.failed == 0


def test_a_second_run_touches_nobody_twice_and_the_limit_leaves_the_rest(register):
    only("person.no_case")
    rule("person.no_case", years=1)
    people = [idle(register(given_names=f"P{n}"), datetime.date(2020, 1, 1)) for n in range(3)]

    first = retention.run(today=TODAY, limit=2)
    second = retention.run(today=TODAY)
    third = retention.run(today=TODAY)

    assert (first.done, second.done, third.done) == (2, 1, 0)
    assert report_of(third, "person.no_case")["due"] == 0
    assert all(reread(p).erased_at is not None for p in people)
    assert AuditEvent.objects.filter(action="person.erase").count() == 3


# --- Technical records ---------------------------------------------------------------------------

def test_old_login_counters_are_deleted_and_recent_ones_kept(db):
    only("login.counter")
    rule("login.counter", days=30)
    old = LoginCounter.objects.create(username="a", started=at(datetime.date(2026, 5, 16)))
    recent = LoginCounter.objects.create(username="b", started=at(datetime.date(2026, 5, 17)))

    run = retention.run(today=TODAY)

    assert not LoginCounter.objects.filter(pk=old.pk).exists()
    assert LoginCounter.objects.filter(pk=recent.pk).exists()
    assert report_of(run, "login.counter")["deleted"] == 1


def test_answered_requests_are_anonymised(caseworker, person):
    only("subject_request.closed")
    rule("subject_request.closed", years=1)
    made = subject_requests.record_request(by=caseworker, person=person, kind="correction",
                                           channel="in_person", received_on=timezone.localdate(),
                                           details="Su apellido es Núñez")
    subject_requests.complete_request(by=caseworker, request=made, answer="Corregido")
    type(made).objects.filter(pk=made.pk).update(decided_at=at(datetime.date(2024, 1, 1)))

    run = retention.run(today=TODAY)

    made.refresh_from_db()
    assert made.details is None and made.answer is None and made.status == "done"
    assert report_of(run, "subject_request.closed")["anonymised"] == 1


# --- The command ---------------------------------------------------------------------------------

def test_the_command_prints_the_json_contract(register):
    only("person.no_case", "login.counter")
    rule("person.no_case", years=1)
    person = idle(register(), datetime.date(2020, 1, 1))
    out = io.StringIO()

    call_command("apply_retention", "--json", "--dry-run", "--limit", "5", "--today",
                 "2026-06-15", stdout=out)

    report = json.loads(out.getvalue())
    assert set(report) == {"run", "today", "dry_run", "limit", "done", "failed", "rules",
                           "errors"}
    assert report["today"] == "2026-06-15" and report["dry_run"] is True and report["limit"] == 5
    assert report["done"] == 0 and report["failed"] == 0 and report["errors"] == []
    assert RetentionRun.objects.get(pk=report["run"]).via == "command"
    assert [r["record_type"] for r in report["rules"]] == ["login.counter", "person.no_case"]
    assert reread(person).erased_at is None


def test_the_command_refuses_a_bad_date_and_a_bad_limit(db):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("apply_retention", "--today", "15/06/2026", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--limit"):
        call_command("apply_retention", "--limit", "0", stdout=io.StringIO())
    assert not RetentionRun.objects.exists()


def test_the_daily_task_runs_the_schedule(settings, register):
    from cases.tasks import apply_retention_task

    only("person.no_case")
    rule("person.no_case", days=1)
    person = idle(register(), timezone.localdate() - datetime.timedelta(days=1))

    run_id = apply_retention_task.delay().get()

    assert RetentionRun.objects.get(pk=run_id).via == "task"
    assert reread(person).erased_at is not None
    schedule = settings.CELERY_BEAT_SCHEDULE["retention"]
    assert schedule["task"] == "cases.apply_retention"
    assert schedule["schedule"].hour == {2} and schedule["schedule"].minute == {30}


# --- The pages ------------------------------------------------------------------------------------

EN = {"accept-language": "en"}


def test_supervisors_and_auditors_see_the_runs_caseworkers_do_not(client, supervisor, auditor,
                                                                  caseworker, office_admin):
    run = retention.run(today=TODAY, dry_run=True)
    for user in (supervisor, auditor):
        client.force_login(user)
        listed = client.get(reverse("retention_runs"), headers=EN)
        assert listed.status_code == 200 and reverse("retention_run", args=[run.pk]) in \
            listed.content.decode()
        page = client.get(reverse("retention_run", args=[run.pk]), headers=EN)
        assert page.status_code == 200 and "Person without any case" in page.content.decode()
    for user in (caseworker, office_admin):
        client.force_login(user)
        assert client.get(reverse("retention_runs")).status_code == 403
        assert client.get(reverse("retention_rules")).status_code == 403
    assert AuditEvent.objects.filter(action="retention.view", actor_id=auditor.pk).exists()


def test_turning_erasure_on_needs_a_system_administrator_and_a_confirmation(client, supervisor,
                                                                           system_admin):
    target = RetentionRule.objects.get(record_type="person.no_case", office=None)
    url = reverse("retention_rule", args=[target.pk])
    wanted = {"years": 2, "months": 0, "days": 0, "enabled": "on", "destructive": "on"}

    client.force_login(supervisor)
    assert client.post(url, wanted).status_code == 403

    client.force_login(system_admin)
    refused = client.post(url, wanted, headers=EN)
    assert refused.status_code == 400 and "Confirm that this rule" in refused.content.decode()
    target.refresh_from_db()
    assert not target.destructive

    assert client.post(url, {**wanted, "confirm": "on"}).status_code == 302
    target.refresh_from_db()
    assert target.destructive and target.updated_by == system_admin
    event = AuditEvent.objects.get(action="retention.rule_change")
    assert event.actor_id == system_admin.pk


def test_a_rule_needs_a_period(client, system_admin):
    target = RetentionRule.objects.get(record_type="notification", office=None)
    client.force_login(system_admin)
    response = client.post(reverse("retention_rule", args=[target.pk]),
                           {"years": 0, "months": 0, "days": 0, "enabled": "on"}, headers=EN)
    assert response.status_code == 400
    target.refresh_from_db()
    assert target.months == 6


def test_a_supervisor_holds_and_releases_a_person_and_the_reason_is_sealed(
        client, supervisor, caseworker, other_supervisor, person):
    url = reverse("person_legal_hold", args=[person.pk])
    client.force_login(caseworker)
    assert client.post(url, {"reason": "Orden judicial"}).status_code == 403
    client.force_login(other_supervisor)
    assert client.post(url, {"reason": "Orden judicial"}).status_code == 404
    client.force_login(supervisor)
    assert client.post(url, {"reason": "  "}).status_code == 400

    assert client.post(url, {"reason": "Orden judicial 45/2026"}).status_code == 302
    held = reread(person)
    assert held.legal_hold and held.legal_hold_reason == "Orden judicial 45/2026"
    raw = Person.objects.filter(pk=person.pk).values_list("legal_hold_reason", flat=True).get()
    assert b"45/2026" not in bytes(raw)
    assert AuditEvent.objects.filter(action="person.legal_hold", object_id=str(person.pk)).exists()

    only("person.no_case")
    rule("person.no_case", years=1)
    idle(person, datetime.date(2020, 1, 1))
    retention.run(today=TODAY)
    assert reread(person).erased_at is None

    assert client.post(url, {"reason": "Se levantó la orden"}).status_code == 302
    assert not reread(person).legal_hold
    assert AuditEvent.objects.filter(action="person.legal_hold_lift").exists()
    idle(person, datetime.date(2020, 1, 1))
    retention.run(today=TODAY)
    assert reread(person).erased_at is not None


def test_a_superuser_adds_an_office_rule_report_only_in_the_admin(client, make_user, office):
    admin_user = make_user(is_superuser=True, is_staff=True)
    client.force_login(admin_user)
    url = reverse("admin:cases_retentionrule_add")
    refused = client.post(url, {"record_type": "login.counter", "office": office.pk, "years": 1,
                                "months": 0, "days": 0, "action": "delete"})
    assert refused.status_code == 200  # login counters have one rule for all offices
    assert not RetentionRule.objects.filter(office=office).exists()

    added = client.post(url, {"record_type": "person.no_case", "office": office.pk, "years": 3,
                              "months": 0, "days": 0, "action": "erase"})
    assert added.status_code == 302
    made = RetentionRule.objects.get(record_type="person.no_case", office=office)
    assert not made.destructive and made.years == 3
    assert AuditEvent.objects.filter(action="retention.rule_change", object_id=str(made.pk)).exists()


def test_the_menu_leads_viewers_to_the_runs(client, auditor, system_admin, caseworker):
    for user, shown in ((auditor, True), (system_admin, True), (caseworker, False)):
        client.force_login(user)
        page = client.get(reverse("dashboard"), headers=EN).content.decode()
        assert ('id="nav-retention"' in page) is shown


def test_an_old_import_job_goes_with_its_key(supervisor, office):
    from cases import importing
    from cases.models import ImportJob

    only("import.job")
    rule("import.job", months=3)
    job = importing.queue_import(by=supervisor, office=office, data=b"given_names\n",
                                 filename="empty.csv")
    ImportJob.objects.filter(pk=job.pk).update(finished_at=at(datetime.date(2026, 3, 15)))
    recent = importing.queue_import(by=supervisor, office=office, data=b"given_names\n",
                                    filename="empty2.csv")
    ImportJob.objects.filter(pk=recent.pk).update(finished_at=at(datetime.date(2026, 3, 16)))

    run = retention.run(today=TODAY)

    assert not ImportJob.objects.filter(pk=job.pk).exists()
    assert ImportJob.objects.filter(pk=recent.pk).exists()
    assert DataKey.objects.get(subject_id=job.pk).destroyed_at is not None
    assert DataKey.objects.get(subject_id=recent.pk).destroyed_at is None  # its report is read
    assert report_of(run, "import.job")["deleted"] == 1 and run.failed == 0
