"""What a step and the case page cost in statements (docs/architecture.md#speed).

A step is one transaction, one commit: the case row locked (with its principal joined),
the step row written once with its details, the step's own records and their history
rows, the case and its history row, the clocks, the audit event. No second read of the
case or the principal, no re-fetch afterwards. The ceilings below are what the services
issue now, on PostgreSQL and SQLite alike: a new read in a step fails here.

Timed figures are in bench/ (workflow.py), never here.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import selectors as case_selectors
from cases import services as case_services
from cases.models import Case, CaseStep, User
from cases.workflow import configured
from rsd import services
from rsd.models import Interview, InterviewStatus
from tests.conftest import pdf_bytes
from tests.rsd.conftest import ago, application_data, assessment_data, at_local, decision_data, fake

# Commits are counted, so each test commits for real (and empties the tables afterwards).
pytestmark = pytest.mark.django_db(transaction=True)

# The step's statements, BEGIN and COMMIT included, as a request makes it: the case read
# by the page (get_case) before. With the production linker the audit link is not the
# step's (docs/architecture.md#audit).
# A step that opens a deadline counting days reads the configuration's version (one row by
# key; docs/architecture.md#configuration): record_application, notify_negative.
# A step that leaves the case waiting for someone other than its actor tells them: + one
# INSERT ... SELECT of the notifications (cases/notifications.py), whoever they are.
# Every step keeps the statistics' summary rows of its case (stats/facts.py): one UPDATE of
# them when the case is saved; a new application or decision one read and one INSERT more, a
# closing step, the first hearing and the delivery of a first-instance decision one read and
# one INSERT; an appeal one INSERT. A step that meets running periods of a clock marks their
# summary rows met (one UPDATE), one that starts periods adds theirs (one INSERT).
CEILING = {
    "record_application": 15,
    "schedule_interview": 13,
    "reschedule_interview": 15,
    # + the interview's day checked under the lock (a guard); + the first hearing's summary
    # row (one read and one INSERT, like a decision's); + the interview target met.
    "record_interview": 16,
    "submit_assessment": 14,  # + the office's supervisors told (under review)
    "return_assessment": 15,  # + the assigned caseworker told
    "decide": 20,  # + the assigned caseworker told (to notify); + the decision period met
    # + the delivery's summary row (one read and one INSERT); + the appeal period started
    "notify_negative": 20,
    # + the office's supervisors told (appeal lodged); + the appeal's row, the period met
    "lodge_appeal": 15,
    "dismiss_appeal": 18,  # + the assigned caseworker told (to notify)
    "notify_appeal": 17,
    "withdraw": 13,  # + the interview target met (closed)
}


def _step(label: str, user: User, case: Case, call) -> list[str]:
    """Run one step the way its page does; the statements it issued."""
    loaded = case_selectors.get_case(user, case.pk)
    before = loaded.step_no
    with CaptureQueriesContext(connection) as captured:
        call(loaded)
    statements = [q["sql"] for q in captured.captured_queries]
    assert Case.objects.get(pk=case.pk).step_no == before + 1, f"{label} recorded no step"
    return statements


def _inside(statements: list[str]) -> list[str]:
    """The statements of the step's transaction."""
    start = statements.index("BEGIN") if "BEGIN" in statements else 0
    return statements[start:statements.index("COMMIT") + 1]


@pytest.fixture
def production_linker(settings):
    settings.AMPARO_AUDIT_LINKER = "background"


@pytest.fixture(autouse=True)
def _configuration_known(transactional_db):
    """As in a running process: what a system administrator configured (non-working days,
    periods) is read once per version of it; a step that counts days reads only the version."""
    configured.snapshot()


def test_each_step_is_one_commit_and_a_bounded_number_of_statements(mx, mx_staff, production_linker):
    cw, sup, sup2 = mx_staff.caseworker, mx_staff.supervisor, mx_staff.supervisor2
    case = mx.open()
    soon = timezone.now() + datetime.timedelta(days=3)
    steps = [
        ("record_application", cw, lambda c: services.record_application(
            by=cw, case=c, data=application_data())),
        ("schedule_interview", cw, lambda c: services.schedule_interview(
            by=cw, case=c, when=soon, place="Sala 1", interviewer=cw)),
        ("reschedule_interview", cw, lambda c: services.schedule_interview(
            by=cw, case=c, when=soon + datetime.timedelta(days=1), place="Sala 2", interviewer=cw,
            expected_step=c.step_no)),
        ("record_interview", cw, lambda c: services.record_interview(
            by=cw, case=c, attended=True, transcript=fake.paragraph(), notes=fake.sentence(),
            expected_step=c.step_no)),
        ("submit_assessment", cw, lambda c: services.submit_assessment(
            by=cw, case=c, data=assessment_data("rejected"), expected_step=c.step_no)),
        ("return_assessment", sup, lambda c: services.review_assessment(
            by=sup, case=c, approve=False, comments=fake.sentence(), expected_step=c.step_no)),
        ("submit_again", cw, lambda c: services.submit_assessment(
            by=cw, case=c, data=assessment_data("rejected"))),
        ("decide", sup2, lambda c: services.record_decision(
            by=sup2, case=c, step_name="decide", data=decision_data("rejected"), expected_step=c.step_no)),
        ("notify_negative", cw, lambda c: services.record_notification(
            by=cw, case=c, delivered_on=ago(1), language="es", expected_step=c.step_no)),
        ("lodge_appeal", cw, lambda c: services.lodge_appeal(
            by=cw, case=c, lodged_on=ago(0), grounds=fake.paragraph(), expected_step=c.step_no)),
        ("dismiss_appeal", sup, lambda c: services.decide_appeal(
            by=sup, case=c, data=decision_data("rejected", decided_on=ago(0)), expected_step=c.step_no)),
        ("notify_appeal", cw, lambda c: services.record_notification(
            by=cw, case=c, delivered_on=ago(0), language="es", expected_step=c.step_no)),
    ]
    seen = {}
    for label, user, call in steps:
        if label == "record_interview":  # the interview's day has come (test-only time shift)
            Interview.objects.filter(case=case, status=InterviewStatus.SCHEDULED).update(
                scheduled_for=at_local(ago(2)))
        seen[label] = _step(label, user, case, call)
    other = mx.at("registered")
    seen["withdraw"] = _step("withdraw", cw, other, lambda c: services.take_step(
        by=cw, case=c, name="withdraw", reason=fake.sentence()))

    for label, statements in seen.items():
        assert statements.count("COMMIT") == 1, (label, statements)
        if label in CEILING:
            assert len(statements) <= CEILING[label], (label, len(statements), statements)
        inside = _inside(statements)
        # The case is read once, locked; the principal joined to it, never read on its own.
        reads = [s for s in inside if s.startswith('SELECT "cases_case"')
                 or (s.startswith("SELECT c.") and 'FROM "cases_case" c ' in s)]
        assert len(reads) == 1, (label, inside)
        if connection.vendor == "postgresql":  # the case row, not its office's
            assert reads[0].endswith("FOR UPDATE OF c"), (label, reads)
        assert not any(s.startswith('SELECT "cases_person"') for s in inside), (label, inside)
        # The step row is written once, with its details.
        assert not any(s.startswith('UPDATE "cases_casestep"') for s in inside), (label, inside)
        assert sum(s.startswith('INSERT INTO "cases_casestep"') for s in inside) == 1, label
        # Its history and audit stay.
        assert any(s.startswith('INSERT INTO "cases_historicalcase"') for s in inside), label
        assert any(s.startswith('INSERT INTO "audit_auditevent"') for s in inside), label
        # Nothing read back after the commit.
        assert statements[-1] == "COMMIT", (label, statements[statements.index("COMMIT"):])

    steps_recorded = CaseStep.objects.filter(case=case)
    assert [s.transition for s in steps_recorded.order_by("number")][-3:] == [
        "lodge_appeal", "dismiss_appeal", "notify_appeal_dismissal"]
    assert steps_recorded.get(transition="decide").details["decision_outcome"] == "rejected"


def test_a_step_returns_what_it_recorded(mx, mx_staff):
    """No re-fetch: what the service returns is the record as written."""
    case = mx.at("interview_scheduled")
    scheduled = Interview.objects.filter(case=case, status=InterviewStatus.SCHEDULED)
    scheduled.update(scheduled_for=at_local(ago(2)))
    loaded = case_selectors.get_case(mx_staff.caseworker, case.pk)

    interview = services.record_interview(by=mx_staff.caseworker, case=loaded, attended=True,
                                          transcript=" Dijo que huyó. ", notes="")

    stored = Interview.objects.get(pk=interview.pk)
    assert (interview.status, interview.transcript) == (stored.status, stored.transcript) == (
        InterviewStatus.ATTENDED, "Dijo que huyó.")
    assert stored.history.count() == 2  # scheduled, then held


def _interview_reads(mx, mx_staff, *, moved: bool) -> int:
    case = mx.at("interview_scheduled")
    scheduled = Interview.objects.filter(case=case, status=InterviewStatus.SCHEDULED)
    scheduled.update(scheduled_for=at_local(ago(2)))
    page = case_selectors.get_case(mx_staff.caseworker, case.pk)
    if moved:  # another step was recorded since the page read the case (its number is what counts)
        Case.objects.filter(pk=case.pk).update(step_no=page.step_no + 1)
    with CaptureQueriesContext(connection) as captured:
        services.record_interview(by=mx_staff.caseworker, case=page, attended=True,
                                  transcript="Relato completo.")
    assert Interview.objects.get(case=case, status=InterviewStatus.ATTENDED).transcript == "Relato completo."
    return sum(q["sql"].startswith('SELECT "rsd_interview"') for q in captured.captured_queries)


def test_a_record_read_before_another_step_is_read_again_inside_the_step(mx, mx_staff, production_linker):
    """The record a service checked before its transaction is used as read only if no other
    step was recorded on the case since the page read it; otherwise it is read again, locked."""
    # Plus one read by the step's guard under the lock (the interview's day has come).
    assert _interview_reads(mx, mx_staff, moved=False) == 2
    assert _interview_reads(mx, mx_staff, moved=True) == 3


# --- The case page --------------------------------------------------------------------------

def _page_queries(client, case: Case) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("case_detail", args=[case.pk]))
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


# Session, user, roles, the case, the audit event, the navbar's unread counts (notifications
# and secure messages), the "Messages" card's one statement, the trafficking risk screen
# card's one (tip) and the identity checks' two (biometrics: a finger enrolled, the latest
# checks), sections of the page (cases/sections.py), included; the supervisor's page also
# lists the staff the case can be assigned to and whom it is shared with. On PostgreSQL the procedure card's
# fingerprint is one more on a first view; a second view reads the card from the cache
# instead of the card's and the panel's nine reads (cases/fragments.py).
PAGE_CEILING = {"caseworker": 26, "supervisor": 28}
KEPT_CARD_SAVES = 9


def _grown(mx, mx_staff, file_root) -> Case:
    """A case with a long history: a missed interview, a returned assessment, a refusal
    appealed and decided (13 steps); family, notes and documents."""
    cw = mx_staff.caseworker
    case = mx.open()
    mx.register(case)
    mx.schedule(case)
    services.schedule_interview(by=cw, case=case_selectors.get_case(cw, case.pk),
                                when=timezone.now() + datetime.timedelta(days=5), place="Sala 3",
                                interviewer=cw)
    mx.hold_interview(case, attended=False, on=ago(40))
    mx.schedule(case)
    mx.hold_interview(case)
    mx.submit(case, "rejected")
    mx.return_assessment(case, fake.sentence())
    mx.submit(case, "rejected")
    mx.first_decision(case, "rejected", by=mx_staff.supervisor2)
    mx.notify(case)
    mx.appeal(case)
    mx.decide_appeal(case, "rejected", by=mx_staff.supervisor)
    for n in range(3):
        services.add_family_member(
            by=cw, case=Case.objects.get(pk=case.pk),
            data=case_services.PersonData(given_names=fake.first_name(), family_names=fake.last_name(),
                                          sex="female", date_of_birth=datetime.date(2010 + n, 1, 1)),
            relationship="child", accompanying=True, derivative=True)
        case_services.add_note(by=cw, case=case, text=fake.sentence())
        case_services.add_document(by=cw, case=case, title=f"Constancia {n}", filename=f"c{n}.pdf",
                                   data=pdf_bytes(fake.sentence()))
    return Case.objects.get(pk=case.pk)


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
def test_the_case_page_costs_the_same_for_a_short_and_a_long_history(client, mx, mx_staff, file_root, role,
                                                                    production_linker):
    short = mx.at("registered")
    long = _grown(mx, mx_staff, file_root)
    assert (short.step_no, long.step_no) == (1, 13)
    client.force_login(getattr(mx_staff, role))

    small, big = _page_queries(client, short), _page_queries(client, long)

    assert len(big) == len(small), "\n".join(big)
    fingerprint = int(connection.vendor == "postgresql")
    assert len(big) <= PAGE_CEILING[role] + fingerprint, "\n".join(big)
    if connection.vendor == "postgresql":
        kept = _page_queries(client, long)
        assert len(kept) == len(big) - KEPT_CARD_SAVES, "\n".join(kept)
        assert len(_page_queries(client, short)) == len(kept)
    page = client.get(reverse("case_detail", args=[long.pk])).content.decode()
    timeline = page[page.index('id="timeline"'):]
    assert timeline[:timeline.index("</table>")].count("<tr>") == 1 + 13  # header, every step
    assert "Constancia 2" in page
