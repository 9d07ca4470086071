"""The office queue (cases/office_queue.py): transfers to answer, transferred cases to take,
cases shared with the user and unread secure messages, each with its due date, on the
dashboard of whom they wait for and on /between-offices/ a page at a time."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import access, consent, handovers, office_queue, secure_messages, services, shares, views_queue
from cases.models import ConsentPurpose, Handover, Message

pytestmark = pytest.mark.usefixtures("file_root")

EN = {"Accept-Language": "en"}
QUEUE = reverse("office_queue")


@pytest.fixture
def offered(case, supervisor, other_office):
    return handovers.offer(by=supervisor, case=case, to_office=other_office, reason="Se muda")


def _days_ago(n: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=n)


def _lists(client, user) -> dict[str, list[str]]:
    client.force_login(user)
    page = client.get(reverse("dashboard"), headers=EN)
    assert page.status_code == 200
    return {p.kind: [r.case.reference for r in p.rows] for p in page.context["office_queue"]}


def test_an_offer_waits_for_the_receiving_supervisors_with_its_due_date(
        client, offered, case, supervisor, other_supervisor, other_caseworker, settings):
    settings.AMPARO_TRANSFER_ANSWER_DAYS = 4
    assert _lists(client, other_supervisor)["transfers"] == [case.reference]
    panel = client.get(reverse("dashboard"), headers=EN).context["office_queue"][0]
    due = timezone.localdate() + datetime.timedelta(days=4)
    assert panel.rows[0].due_on == due and not panel.rows[0].overdue and panel.overdue == 0
    # Not for the office that sent it, not for caseworkers (supervisors answer).
    assert _lists(client, supervisor)["transfers"] == []
    assert "transfers" not in _lists(client, other_caseworker)
    # Five days on it is overdue, on the dashboard and the queue page.
    Handover.objects.filter(pk=offered.pk).update(started_at=_days_ago(5))
    client.force_login(other_supervisor)
    page = client.get(reverse("dashboard"), headers=EN)
    panel = page.context["office_queue"][0]
    assert panel.rows[0].overdue and panel.rows[0].days_overdue == 1 and panel.overdue == 1
    assert b"overdue by 1 day" in page.content
    page = client.get(QUEUE, headers=EN)
    assert page.status_code == 200 and case.reference.encode() in page.content
    assert [t.overdue for t in page.context["tabs"] if t.kind == "transfers"] == [1]


def test_a_request_waits_for_the_case_s_office(client, case, supervisor, other_supervisor,
                                               other_office):
    handovers.ask(by=other_supervisor, reference=case.reference, office=other_office,
                  reason="La persona vive aquí")
    assert _lists(client, supervisor)["transfers"] == [case.reference]
    assert _lists(client, other_supervisor)["transfers"] == []


def test_an_accepted_case_waits_to_be_taken_in_the_new_office_until_someone_takes_it(
        client, offered, case, other_supervisor, other_caseworker, caseworker, settings):
    settings.AMPARO_TRANSFER_TAKE_DAYS = 1
    handovers.accept(by=other_supervisor, handover=offered)
    assert _lists(client, other_caseworker)["arrived"] == [case.reference]
    assert _lists(client, other_supervisor)["arrived"] == [case.reference]
    assert _lists(client, caseworker)["arrived"] == []
    Handover.objects.filter(pk=offered.pk).update(answered_at=_days_ago(3))
    client.force_login(other_caseworker)
    assert client.get(reverse("dashboard")).context["office_queue"][0].overdue == 1
    services.take_case(by=other_caseworker, case=case)
    assert _lists(client, other_caseworker)["arrived"] == []


def test_a_case_shared_with_a_caseworker_shows_until_its_last_day(
        client, case, supervisor, caseworker, other_caseworker):
    consent.record(by=caseworker, person=case.principal, purpose=ConsentPurpose.SHARING,
                   given=True, language="es")
    until = timezone.localdate() + datetime.timedelta(days=9)
    shares.share(by=supervisor, case=case, user=other_caseworker, parts=["procedure"],
                 until=until, reason="Remisión")
    assert _lists(client, other_caseworker)["shared"] == [case.reference]
    panel = client.get(reverse("dashboard")).context["office_queue"]
    assert [p.rows[0].due_on for p in panel if p.kind == "shared"] == [until]
    shares.revoke(by=supervisor, case=case, user=other_caseworker)
    assert _lists(client, other_caseworker)["shared"] == []


def test_an_unread_message_waits_until_it_is_opened(client, offered, case, caseworker,
                                                    other_caseworker, other_office, settings):
    consent.record(by=caseworker, person=case.principal, purpose=ConsentPurpose.SHARING,
                   given=True, language="es")
    settings.AMPARO_MESSAGE_READ_DAYS = 2
    thread = secure_messages.start_thread(by=caseworker, case=case, subject="Traslado",
                                          body="Llega el lunes", offices=[other_office])
    assert _lists(client, other_caseworker)["messages"] == [case.reference]
    assert _lists(client, caseworker)["messages"] == []  # one's own message waits for nobody
    Message.objects.update(created_at=_days_ago(3))
    client.force_login(other_caseworker)
    page = client.get(reverse("dashboard"), headers=EN)
    assert [p.overdue for p in page.context["office_queue"] if p.kind == "messages"] == [1]
    assert b"Subject" not in page.content and b"Traslado" not in page.content
    secure_messages.open_thread(by=other_caseworker, thread=thread)
    assert _lists(client, other_caseworker)["messages"] == []


def test_with_nothing_unread_the_messages_list_is_not_read(offered, case, caseworker,
                                                            other_caseworker, other_office):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def message_reads() -> tuple[list[office_queue.Panel], list[str]]:
        access.forget(other_caseworker)
        access.roles_by_office(other_caseworker), access.granted_case_ids(other_caseworker)
        with CaptureQueriesContext(connection) as read:
            panels = office_queue.summary(other_caseworker)
        return panels, [q["sql"] for q in read.captured_queries if "cases_message" in q["sql"]]

    panels, reads = message_reads()
    assert [p.total for p in panels if p.kind == "messages"] == [0]
    # The bell's written-out count found nothing unread: the list's statement was not run.
    assert len(reads) == 1 and reads[0].startswith("SELECT m.id FROM")

    consent.record(by=caseworker, person=case.principal, purpose=ConsentPurpose.SHARING,
                   given=True, language="es")
    secure_messages.start_thread(by=caseworker, case=case, subject="Traslado", body="Llega",
                                 offices=[other_office])
    panels, reads = message_reads()
    [messages] = [p for p in panels if p.kind == "messages"]
    assert messages.total == 1 and [r.case.reference for r in messages.rows] == [case.reference]
    assert len(reads) == 3  # the bell's count, the list, how many of it are overdue


def test_the_queue_page_is_paginated_and_counts_stay_bounded(
        client, make_user, office, other_office, other_supervisor, person_data, monkeypatch):
    monkeypatch.setattr(views_queue, "PAGE_SIZE", 2)
    sup = make_user("supervisor", office)
    worker = make_user("caseworker", office)
    refs = []
    for n in range(5):
        person = services.register_person(by=worker, office=office,
                                          data=person_data(given_names=f"Ana {n}",
                                                           documents=[]))
        case = services.open_case(by=worker, person=person, kind="asylum")
        handovers.offer(by=sup, case=case, to_office=other_office, reason="Se muda")
        refs.append(case.reference)
    client.force_login(other_supervisor)
    first = client.get(QUEUE, {"list": "transfers"})
    third = client.get(QUEUE, {"list": "transfers", "page": 3})
    assert [r.case.reference for r in first.context["rows"]] == refs[:2]
    assert [r.case.reference for r in third.context["rows"]] == refs[4:]
    assert b"list=transfers&amp;page=2" in first.content
    dashboard = client.get(reverse("dashboard")).context["office_queue"][0]
    assert len(dashboard.rows) == office_queue.SHOWN and dashboard.total == 5
    event = AuditEvent.objects.filter(action="case.list").latest("pk")
    assert event.details["show"] == "office_queue:transfers" or event.details["show"] == "dashboard"


def test_who_may_not_open_the_queue(client, auditor, office_admin, caseworker):
    for user in (auditor, office_admin):
        client.force_login(user)
        assert client.get(QUEUE).status_code == 403
    client.force_login(caseworker)
    assert client.get(QUEUE, {"list": "transfers"}).status_code == 404  # a supervisor's list
    assert client.get(QUEUE, {"list": "nonsense"}).status_code == 404
    assert client.get(QUEUE).status_code == 200
    assert client.post(QUEUE).status_code == 405
