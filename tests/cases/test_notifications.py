"""Notifications (docs/architecture.md#notifications): written by the real services from the
events they emit, in the action's transaction; never of one's own action; shown only while
the case is in the reader's scope; their text written in the reader's language; the navbar's
bell one statement."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from audit.models import AuditEvent
from cases import access, context_processors, notifications, selectors, services
from cases.models import Case, CaseDeadline, Notification, NotificationKind, Role
from cases.tasks import notify_deadlines_task
from tests.audit.test_events import audit_unwritable
from tests.conftest import pdf_bytes
from tests.rsd.conftest import Asylum, Staff

pytestmark = pytest.mark.usefixtures("file_root")

DAY = datetime.timedelta(days=1)
EN = {"accept-language": "en"}


def today() -> datetime.date:
    return timezone.localdate()


def told(user, kind: str | None = None) -> list[Notification]:
    rows = Notification.objects.filter(recipient=user).order_by("pk")
    return list(rows.filter(kind=kind) if kind else rows)


@pytest.fixture
def supervisor2(make_user, office):
    return make_user(Role.SUPERVISOR, office)


@pytest.fixture
def asylum(office, caseworker, caseworker2, supervisor, supervisor2, auditor, office_admin,
           person_data) -> Asylum:
    """Belize cases taken along the asylum procedure by the real services."""
    return Asylum(Staff(office=office, caseworker=caseworker, supervisor=supervisor,
                        supervisor2=supervisor2, caseworker2=caseworker2, auditor=auditor,
                        office_admin=office_admin, procedure="rsd.bz"), person_data)


def no_personal_data(*cases: Case) -> None:
    """Nothing stored in any notification names or describes a person."""
    stored = json.dumps(list(Notification.objects.values("kind", "params")), ensure_ascii=False)
    for case in cases:
        principal = case.principal
        for value in (principal.given_names, principal.family_names, *(principal.aliases or [])):
            assert value not in stored
    for word in ("Pasaporte", "pasaporte.pdf", "Núñez", "María"):
        assert word not in stored


# --- Each kind, from the real service calls -------------------------------------------------


def test_an_assignment_tells_the_assignee_and_nobody_else(supervisor, caseworker, caseworker2, case):
    services.assign_case(by=supervisor, case=case, assignee=caseworker2, reason="Workload")

    (n,) = told(caseworker2)
    assert (n.kind, n.case_id, n.office_id, n.read_at) == ("assigned", case.pk, case.office_id, None)
    assert n.params == {"reference": case.reference}
    assert n.text == f"Case {case.reference} was assigned to you."
    assert told(caseworker) == told(supervisor) == []
    no_personal_data(case)
    # Kept with the same person: nothing new to tell.
    services.assign_case(by=supervisor, case=case, assignee=caseworker2, reason="Still yours")
    assert len(told(caseworker2)) == 1


def test_nobody_is_told_of_their_own_action(supervisor, caseworker, office, person_data, case):
    services.add_document(by=caseworker, case=case, title="Pasaporte", filename="pasaporte.pdf",
                          data=pdf_bytes("passport"))
    services.add_note(by=caseworker, case=case, text="Llamó por teléfono.")
    services.assign_case(by=supervisor, case=case, assignee=supervisor, reason="Mine now")
    queued = services.open_case(by=caseworker, kind="trafficking", assign_to_me=False,
                                person=services.register_person(by=caseworker, office=office,
                                                                data=person_data(documents=[])))
    services.take_case(by=caseworker, case=queued)

    assert Notification.objects.count() == 0


def test_a_document_added_by_someone_else_tells_the_assignee(supervisor, caseworker, case):
    services.add_document(by=supervisor, case=case, title="Pasaporte", filename="pasaporte.pdf",
                          data=pdf_bytes("passport"))

    (n,) = told(caseworker)
    assert n.kind == "document"
    assert n.params == {"reference": case.reference}
    assert n.text == f"A document was added to case {case.reference}."
    assert told(supervisor) == []
    no_personal_data(case)


def test_a_document_on_an_unassigned_case_tells_nobody(supervisor, caseworker, office, person_data):
    person = services.register_person(by=caseworker, office=office, data=person_data())
    queued = services.open_case(by=caseworker, person=person, kind="asylum", assign_to_me=False)

    services.add_document(by=supervisor, case=queued, title="Foto", filename="foto.pdf",
                          data=pdf_bytes("photo"))

    assert Notification.objects.count() == 0


def test_a_step_to_a_supervisor_s_queue_tells_the_office_s_supervisors_but_not_its_actor(
        asylum, caseworker, caseworker2, supervisor, supervisor2, auditor, other_supervisor):
    case = asylum.at("interviewed")
    assert Notification.objects.count() == 0  # every step so far was the assignee's own

    asylum.submit(case)  # the caseworker submits: the case waits for a supervisor

    for boss in (supervisor, supervisor2):
        (n,) = told(boss)
        assert n.kind == "waiting"
        assert n.params == {"reference": case.reference, "procedure": "rsd.bz",
                            "state": "under_review", "step": "submit_assessment"}
        assert n.text == f"Case {case.reference} is waiting for you: Assessment under review."
    assert told(caseworker) == told(caseworker2) == told(auditor) == told(other_supervisor) == []

    asylum.approve(case, by=supervisor)  # on to the committee: still a supervisor's

    (committee,) = told(supervisor2)[1:]
    assert committee.params["state"] == "committee"
    assert len(told(supervisor)) == 1  # not told of their own step
    no_personal_data(case)


def test_a_step_back_to_the_caseworker_tells_the_assignee_only(asylum, caseworker, caseworker2,
                                                               supervisor):
    case = asylum.at("under_review")

    asylum.return_assessment(case, "Falta la evaluación de credibilidad.", by=supervisor)

    (n,) = told(caseworker, "waiting")
    assert n.params["state"] == "interviewed"
    assert n.text == f"Case {case.reference} is waiting for you: Interviewed: assessment to write."
    assert told(caseworker2) == []
    assert told(supervisor, "waiting")[-1].params["state"] == "under_review"  # from the submission
    no_personal_data(case)


def test_a_supervisor_assigned_a_case_waiting_for_a_caseworker_is_not_told(asylum, supervisor,
                                                                          supervisor2):
    case = asylum.at("under_review")
    services.assign_case(by=supervisor2, case=case, assignee=supervisor, reason="Cover")
    Notification.objects.all().delete()

    asylum.return_assessment(case, "Revisar.", by=supervisor2)

    assert Notification.objects.count() == 0  # the state waits for a caseworker's step


# --- Deadlines: the periodic task ------------------------------------------------------------


def _due_in(case: Case, days: int, clock: str = "interview") -> CaseDeadline:
    """The running period of `clock` made due in `days` days (a test-only time shift)."""
    deadline = CaseDeadline.objects.get(case=case, clock=clock, met_at__isnull=True)
    deadline.due_on = today() + days * DAY
    deadline.save(update_fields=["due_on"])
    return deadline


def test_the_deadline_task_tells_once_per_deadline_and_person(asylum, caseworker, supervisor,
                                                             supervisor2):
    case = asylum.at("registered")  # the interview clock runs
    deadline = _due_in(case, 3)

    first = notify_deadlines_task.delay().get()
    second = notify_deadlines_task.delay().get()

    (n,) = told(caseworker)
    assert (first, second) == (1, 0)
    assert (n.kind, n.deadline_id, n.case_id) == ("deadline", deadline.pk, case.pk)
    assert n.params == {"reference": case.reference, "procedure": "rsd.bz", "clock": "interview",
                        "due": deadline.due_on.isoformat()}
    assert n.text == (f"Case {case.reference}: Interview (target), due on "
                      f"{deadline.due_on.isoformat()}.")
    assert told(supervisor) == told(supervisor2) == []
    # Read or not, the same deadline is not told again.
    notifications.mark_read(by=caseworker, notification=n)
    assert notify_deadlines_task.delay().get() == 0
    assert Notification.objects.count() == 1


def test_an_unassigned_case_s_deadline_tells_the_office_s_supervisors(asylum, supervisor, supervisor2,
                                                                     caseworker, other_supervisor):
    case = asylum.at("registered")
    services.assign_case(by=supervisor, case=case, assignee=None, reason="Back to the queue")
    _due_in(case, 1)

    assert notifications.notify_due_deadlines() == 2
    assert notifications.notify_due_deadlines() == 0

    assert [n.kind for n in told(supervisor) + told(supervisor2)] == ["deadline", "deadline"]
    assert told(caseworker) == told(other_supervisor) == []


def test_a_reassigned_case_s_deadline_tells_the_new_assignee_too(asylum, supervisor, caseworker,
                                                               caseworker2):
    case = asylum.at("registered")
    _due_in(case, 2)
    notifications.notify_due_deadlines()
    services.assign_case(by=supervisor, case=case, assignee=caseworker2, reason="Leave")

    assert notifications.notify_due_deadlines() == 1

    assert len(told(caseworker, "deadline")) == len(told(caseworker2, "deadline")) == 1


@pytest.mark.parametrize("when", ["in four days", "passed", "met", "closed"])
def test_deadlines_far_passed_met_or_of_closed_cases_are_not_told(asylum, caseworker, when):
    case = asylum.at("registered")
    deadline = _due_in(case, {"in four days": 4, "passed": -1}.get(when, 1))
    if when == "met":
        CaseDeadline.objects.filter(pk=deadline.pk).update(met_at=timezone.now())
    if when == "closed":
        Case.objects.filter(pk=case.pk).update(closed_at=timezone.now())

    assert notifications.notify_due_deadlines() == 0
    assert told(caseworker) == []


def test_the_deadline_task_is_in_the_beat_schedule(settings):
    assert {"task": "cases.notify_deadlines", "schedule": 3600} in settings.CELERY_BEAT_SCHEDULE.values()


# --- In the action's transaction ---------------------------------------------------------------


class Undone(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_action_leaves_no_notification(supervisor, caseworker, caseworker2, case):
    with pytest.raises(Undone), transaction.atomic():
        services.assign_case(by=supervisor, case=case, assignee=caseworker2, reason="Workload")
        services.add_document(by=supervisor, case=case, title="Pasaporte",
                              filename="pasaporte.pdf", data=pdf_bytes("passport"))
        assert len(told(caseworker2)) == 2  # written, inside the action's transaction
        raise Undone

    assert Notification.objects.count() == 0
    assert Case.objects.get(pk=case.pk).assigned_to == caseworker


@pytest.mark.django_db(transaction=True)
def test_a_step_that_cannot_be_audited_leaves_no_notification(asylum, supervisor):
    case = asylum.at("interviewed")

    with audit_unwritable(), pytest.raises(Exception):  # noqa: B017  (AuditUnavailable)
        asylum.submit(case)

    assert Case.objects.get(pk=case.pk).state == "interviewed"
    assert Notification.objects.count() == 0


# --- The pages ---------------------------------------------------------------------------------


def _notify(user, case: Case, kind: str = NotificationKind.DOCUMENT, **params) -> Notification:
    return Notification.objects.create(recipient=user, office_id=case.office_id, case=case,
                                       kind=kind, params={"reference": case.reference, **params})


def test_the_list_shows_newest_first_unread_in_bold_each_linking_through_its_own_url(
        client, supervisor, caseworker, case):
    services.add_document(by=supervisor, case=case, title="Pasaporte", filename="pasaporte.pdf",
                          data=pdf_bytes("passport"))
    older = _notify(caseworker, case, NotificationKind.ASSIGNED)
    older.created_at -= DAY
    older.read_at = timezone.now()
    older.save()
    client.force_login(caseworker)

    response = client.get(reverse("notification_list"), headers=EN)

    html = response.content.decode()
    assert response.status_code == 200
    rows = list(response.context["page"].object_list)
    assert [n.kind for n in rows] == ["document", "assigned"]
    assert html.index(f"A document was added to case {case.reference}.") < html.index(
        f"Case {case.reference} was assigned to you.")
    assert html.count("fw-bold") == 1
    for n in rows:
        assert reverse("notification_open", args=[n.pk]) in html
    assert 'id="mark-all-read"' in html


def test_opening_one_marks_it_read_and_goes_to_the_case_which_records_its_view(
        client, supervisor, caseworker, case):
    services.add_document(by=supervisor, case=case, title="Pasaporte", filename="pasaporte.pdf",
                          data=pdf_bytes("passport"))
    (n,) = told(caseworker)
    client.force_login(caseworker)

    response = client.get(reverse("notification_open", args=[n.pk]), follow=True)

    assert response.redirect_chain == [(reverse("case_detail", args=[case.pk]), 302)]
    n.refresh_from_db()
    assert n.read_at is not None
    assert AuditEvent.objects.filter(action="case.view", object_id=str(case.pk),
                                     actor=caseworker).count() == 1
    # Opening it again keeps the first reading time.
    first = n.read_at
    client.get(reverse("notification_open", args=[n.pk]))
    n.refresh_from_db()
    assert n.read_at == first


def test_someone_else_s_notification_is_not_found_and_stays_unread(client, supervisor, caseworker,
                                                                    caseworker2, case):
    services.add_document(by=supervisor, case=case, title="Pasaporte", filename="pasaporte.pdf",
                          data=pdf_bytes("passport"))
    (n,) = told(caseworker)

    for other in (caseworker2, supervisor):  # the supervisor sees the case, not the notification
        client.force_login(other)
        assert client.get(reverse("notification_open", args=[n.pk])).status_code == 404
        assert case.reference not in client.get(reverse("notification_list")).content.decode()
    assert client.get(reverse("notification_open", args=[n.pk + 1000])).status_code == 404
    n.refresh_from_db()
    assert n.read_at is None


def test_a_reassigned_case_hides_its_notifications_reference_and_all(client, supervisor, caseworker,
                                                                     caseworker2, case):
    services.assign_case(by=supervisor, case=case, assignee=caseworker2, reason="Leave")
    (n,) = told(caseworker2)
    client.force_login(caseworker2)
    assert case.reference in client.get(reverse("notification_list")).content.decode()

    services.assign_case(by=supervisor, case=case, assignee=caseworker, reason="Back")
    access.forget(caseworker2)

    page = client.get(reverse("notification_list"), headers=EN).content.decode()
    assert case.reference not in page
    assert 'id="bell-count"' not in page
    assert "You have no notifications." in page
    assert client.get(reverse("notification_open", args=[n.pk])).status_code == 404
    assert selectors.unread_notifications(caseworker2) == 0


def test_a_withdrawn_role_hides_the_notifications(client, supervisor, office_admin, caseworker, case):
    services.add_document(by=supervisor, case=case, title="Pasaporte", filename="pasaporte.pdf",
                          data=pdf_bytes("passport"))
    (n,) = told(caseworker)

    services.revoke_membership(by=office_admin, membership=caseworker.memberships.get())
    client.force_login(caseworker)

    assert case.reference not in client.get(reverse("notification_list")).content.decode()
    assert client.get(reverse("notification_open", args=[n.pk])).status_code == 404


def test_a_shared_case_s_notification_shows_while_the_grant_lasts(client, supervisor, other_supervisor,
                                                                  case):
    services.grant_case_access(by=supervisor, case=case, user=other_supervisor, reason="Joint review")
    n = _notify(other_supervisor, case)
    client.force_login(other_supervisor)
    assert selectors.unread_notifications(other_supervisor) == 1
    assert case.reference in client.get(reverse("notification_list")).content.decode()

    services.revoke_case_access(by=supervisor, case=case, user=other_supervisor, reason="Done")
    access.forget(other_supervisor)

    assert selectors.unread_notifications(other_supervisor) == 0
    assert case.reference not in client.get(reverse("notification_list")).content.decode()
    assert client.get(reverse("notification_open", args=[n.pk])).status_code == 404


def test_mark_all_read_marks_the_user_s_visible_ones_only(client, supervisor, caseworker, caseworker2,
                                                           case, office, person_data):
    mine = [_notify(caseworker, case) for _ in range(3)]
    theirs = _notify(caseworker2, case)  # caseworker2 does not see the case: hidden from them
    client.force_login(caseworker)

    assert client.get(reverse("notifications_read")).status_code == 405
    response = client.post(reverse("notifications_read"), follow=True, headers=EN)
    again = client.post(reverse("notifications_read"))  # a double click changes nothing more

    assert response.redirect_chain == [(reverse("notification_list"), 302)]
    assert "All your notifications are marked as read." in response.content.decode()
    assert again.status_code == 302
    assert all(n.read_at for n in Notification.objects.filter(pk__in=[m.pk for m in mine]))
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_needs_the_csrf_token(caseworker, case):
    from django.test import Client

    _notify(caseworker, case)
    client = Client(enforce_csrf_checks=True)
    client.force_login(caseworker)

    assert client.post(reverse("notifications_read")).status_code == 403
    assert Notification.objects.get().read_at is None


def test_the_empty_list_says_what_will_appear_here(client, auditor):
    client.force_login(auditor)

    page = client.get(reverse("notification_list"), headers=EN).content.decode()

    assert "You have no notifications." in page
    assert "when a case is assigned to you" in page
    assert 'id="mark-all-read"' not in page


def test_the_list_is_paginated(client, caseworker, case, monkeypatch):
    from cases import views_notifications

    monkeypatch.setattr(views_notifications, "PAGE_SIZE", 2)
    made = [_notify(caseworker, case) for _ in range(5)]
    client.force_login(caseworker)

    first = client.get(reverse("notification_list")).context["page"]
    last = client.get(reverse("notification_list"), {"page": 3}).context["page"]

    assert [n.pk for n in first.object_list] == [made[4].pk, made[3].pk]
    assert [n.pk for n in last.object_list] == [made[0].pk]


# --- The bell ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("unread", "shown"), [(0, None), (1, "1"), (9, "9"), (10, "9+"), (25, "9+")])
def test_the_bell_shows_the_unread_count_up_to_9(client, caseworker, case, unread, shown):
    for _ in range(unread):
        _notify(caseworker, case)
    read = _notify(caseworker, case)
    notifications.mark_read(by=caseworker, notification=read)
    client.force_login(caseworker)

    html = client.get(reverse("dashboard"), headers=EN).content.decode()

    assert 'id="bell"' in html
    if shown is None:
        assert 'id="bell-count"' not in html
    else:
        assert f'id="bell-count" aria-hidden="true">{shown}</span>' in html
        assert f"Notifications, {shown} unread" in html


def _bell_queries(user, *, roles_read: bool = True) -> tuple[int, list[str]]:
    request = RequestFactory().get("/")
    request.user = user
    if roles_read:  # as the roles context processor did for the same page
        access.roles_by_office(user)
    with CaptureQueriesContext(connection) as captured:
        ctx = context_processors.notifications(request)
        count = ctx["bell"].unread if ctx else None
        if ctx:
            assert ctx["bell"].unread == count  # read once per page
    return count, [q["sql"] for q in captured.captured_queries]


def test_the_bell_costs_one_indexed_statement_and_nothing_for_anonymous_users(
        caseworker, supervisor, other_supervisor, case):
    from django.contrib.auth.models import AnonymousUser

    services.grant_case_access(by=supervisor, case=case, user=other_supervisor, reason="Review")
    for user in (caseworker, supervisor, other_supervisor):
        for _ in range(12):
            _notify(user, case)

    for user in (caseworker, supervisor):  # their office roles decide
        count, statements = _bell_queries(user)
        assert str(count) == "9+"
        assert len(statements) == 1, statements
        assert '"cases_notification"' in statements[0]
        assert "cases_caseuserobjectpermission" not in statements[0]
    # A shared case: the user's grants are read too (once; the page keeps them).
    count, statements = _bell_queries(other_supervisor)
    assert str(count) == "9+"
    assert len(statements) == 2, statements
    assert '"cases_notification"' in statements[0]
    assert "cases_caseuserobjectpermission" in statements[1]
    assert access.grants_known(other_supervisor)
    assert _bell_queries(AnonymousUser(), roles_read=False) == (None, [])


def test_the_list_costs_the_same_however_many_notifications(client, caseworker, case):
    from cases.views_notifications import PAGE_SIZE

    client.force_login(caseworker)
    for _ in range(PAGE_SIZE + 1):  # two pages
        _notify(caseworker, case)

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("notification_list"))
    for _ in range(10 * PAGE_SIZE):
        _notify(caseworker, case)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("notification_list"))

    assert len(few.captured_queries) == len(many.captured_queries), "\n".join(
        q["sql"] for q in few.captured_queries + many.captured_queries)


# --- Language ------------------------------------------------------------------------------------


def test_the_text_is_written_in_the_reader_s_language(client, asylum, supervisor):
    case = asylum.at("under_review")
    (n,) = told(supervisor)

    with translation.override("es"):
        spanish = n.text
    with translation.override("en"):
        english = n.text

    assert "Evaluación de elegibilidad en revisión" in spanish and case.reference in spanish
    assert english == f"Case {case.reference} is waiting for you: Assessment under review."
    client.force_login(supervisor)
    page = client.get(reverse("notification_list"), headers={"accept-language": "es"})
    assert "Evaluación de elegibilidad en revisión" in page.content.decode()


def test_the_bell_counts_a_visible_notification_behind_a_crowd_of_hidden_ones(
        monkeypatch, caseworker, caseworker2, case, person):
    """Past the rows the bell reads at first, the database is asked with the whole scope."""
    monkeypatch.setattr(selectors, "BELL_SCAN", 3)
    theirs = services.open_case(by=caseworker2, person=person, kind="asylum")
    Notification.objects.filter(recipient=caseworker2).delete()
    seen = _notify(caseworker2, theirs)
    seen.created_at -= DAY
    seen.save(update_fields=["created_at"])
    for _ in range(4):  # newer, about a case assigned to someone else
        _notify(caseworker2, case)

    assert selectors.unread_notifications(caseworker2) == 1
    monkeypatch.setattr(selectors, "BELL_SCAN", 100)
    assert selectors.unread_notifications(caseworker2) == 1
    theirs.assigned_to = caseworker
    theirs.save(update_fields=["assigned_to"])
    assert selectors.unread_notifications(caseworker2) == 0
