"""Notifications between offices (docs/architecture.md#notifications): a transfer offered or a
case asked for tells the supervisors of the office that answers; an answer tells those of the
office that started it, a withdrawal those of the office that was to answer; a share tells
whoever receives it. Never the one who acted, never another office; shown only while the
reader may still see the transfer or the case; the email says nothing but that something
waits, and a link."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from cases import consent, handovers, notifications, selectors, services, shares
from cases.models import (
    Case,
    Handover,
    Membership,
    Notification,
    NotificationKind,
    Office,
    Role,
    User,
)
from tests.cases.notified import fresh, told
from tests.races import race

SOON = timezone.localdate() + datetime.timedelta(days=10)
EN = {"accept-language": "en"}
REASON = "La señora Quispe vive ahora en Orange Walk"
ANSWER = "Entrevista con la señora Quispe ya programada"


@pytest.fixture
def second_office(db) -> Office:
    """Another office of the same country (Belize), as in test_handovers."""
    return Office.objects.create(code="BZ-ORW", name="Orange Walk", country="BZ", city="Orange Walk")


@pytest.fixture
def second_supervisor(make_user, second_office):
    return make_user(Role.SUPERVISOR, second_office, email="orw-sup@example.org")


@pytest.fixture
def second_supervisor2(make_user, second_office):
    return make_user(Role.SUPERVISOR, second_office, email="orw-sup2@example.org",
                     preferred_language="en")


@pytest.fixture
def second_caseworker(make_user, second_office):
    return make_user(Role.CASEWORKER, second_office, email="orw-cw@example.org")


@pytest.fixture
def supervisor2(make_user, office):
    return make_user(Role.SUPERVISOR, office, email="bmp-sup2@example.org")


def addressed(outbox) -> list[str]:
    return sorted(m.to[0] for m in outbox)


def nothing_personal(case: Case, *more: str) -> None:
    """No name, reason or answer stored in any notification."""
    stored = str(list(Notification.objects.values_list("kind", "params")))
    for value in (case.principal.given_names, case.principal.family_names, "Quispe", *more):
        assert value not in stored


# --- Who is told of what ---------------------------------------------------------------------


def test_an_offer_tells_the_receiving_office_s_supervisors_and_nobody_else(
        client, case, caseworker, supervisor, supervisor2, second_office, second_supervisor,
        second_supervisor2, second_caseworker, other_supervisor):
    offer = handovers.offer(by=supervisor, case=case, to_office=second_office, reason=REASON)

    for who in (second_supervisor, second_supervisor2):
        (n,) = told(who)
        assert (n.kind, n.handover_id, n.case_id, n.office_id) == (
            NotificationKind.TRANSFER_OFFERED, offer.pk, case.pk, second_office.pk)
    # The sender, its colleagues, the case's caseworker, the other office's caseworker and a
    # supervisor of an office the transfer has nothing to do with: nothing.
    for nobody in (supervisor, supervisor2, caseworker, second_caseworker, other_supervisor):
        assert told(nobody) == []
    nothing_personal(case, REASON)

    # The office asked does not see the case, yet sees the notification: it opens the
    # transfers page, where the offer waits for its answer.
    reader = fresh(second_supervisor)
    assert not selectors.visible_cases(reader).filter(pk=case.pk).exists()
    assert selectors.unread_notifications(reader) == 1
    (n,) = told(second_supervisor)
    with translation.override("en"):
        assert n.text == (f"BZ-BMP offers case {case.reference} to BZ-ORW: it waits for your "
                          "answer.")
    client.force_login(second_supervisor)
    listed = client.get(reverse("notification_list"), headers=EN).content.decode()
    assert f"offers case {case.reference}" in listed
    opened = client.get(reverse("notification_open", args=[n.pk]))
    assert opened.status_code == 302
    assert opened["Location"] == f"{reverse('handover_list')}#handover-{offer.pk}"
    page = client.get(opened["Location"]).content.decode()
    assert f'id="handover-{offer.pk}"' in page and REASON in page
    n.refresh_from_db()
    assert n.read_at is not None
    assert selectors.unread_notifications(fresh(second_supervisor)) == 0


def test_a_request_tells_the_case_s_office_supervisors_and_nobody_else(
        case, caseworker, supervisor, supervisor2, second_office, second_supervisor,
        second_supervisor2, second_caseworker):
    asked = handovers.ask(by=second_supervisor, reference=case.reference, office=second_office,
                          reason=REASON)

    for who in (supervisor, supervisor2):
        (n,) = told(who)
        assert (n.kind, n.handover_id) == (NotificationKind.CASE_REQUESTED, asked.pk)
        with translation.override("en"):
            assert n.text == (f"BZ-ORW asks BZ-BMP for case {case.reference}: it waits for "
                              "your answer.")
    for nobody in (second_supervisor, second_supervisor2, second_caseworker, caseworker):
        assert told(nobody) == []


def test_an_accepted_request_tells_the_asking_office_s_supervisors(
        client, case, supervisor, supervisor2, second_office, second_supervisor,
        second_supervisor2, second_caseworker):
    asked = handovers.ask(by=second_supervisor, reference=case.reference, office=second_office,
                          reason=REASON)

    handovers.accept(by=supervisor, handover=asked, answer=ANSWER)

    for who in (second_supervisor, second_supervisor2):  # the asker's colleague too
        (n,) = told(who, NotificationKind.TRANSFER_ACCEPTED)
        assert n.office_id == second_office.pk
        with translation.override("en"):
            assert n.text == (f"BZ-BMP accepted the transfer of case {case.reference} "
                              "(BZ-BMP → BZ-ORW).")
    assert told(supervisor, NotificationKind.TRANSFER_ACCEPTED) == []  # who answered
    assert told(supervisor2, NotificationKind.TRANSFER_ACCEPTED) == []
    assert told(second_caseworker) == []
    nothing_personal(case, REASON, ANSWER)
    client.force_login(second_supervisor)
    (n,) = told(second_supervisor)
    page = client.get(client.get(reverse("notification_open", args=[n.pk]))["Location"])
    assert f'id="handover-{asked.pk}"' in page.content.decode()


def test_a_rejection_tells_the_sender_whose_page_shows_the_answer(
        client, case, supervisor, supervisor2, second_office, second_supervisor,
        second_supervisor2):
    offer = handovers.offer(by=supervisor, case=case, to_office=second_office, reason=REASON)

    handovers.reject(by=second_supervisor, handover=offer, answer=ANSWER)

    for who in (supervisor, supervisor2):
        (n,) = told(who)
        assert n.kind == NotificationKind.TRANSFER_REJECTED
    assert told(second_supervisor, NotificationKind.TRANSFER_REJECTED) == []
    assert told(second_supervisor2, NotificationKind.TRANSFER_REJECTED) == []
    nothing_personal(case, REASON, ANSWER)  # the answer stays sealed on the transfer
    client.force_login(supervisor)
    (n,) = told(supervisor)
    page = client.get(client.get(reverse("notification_open", args=[n.pk]))["Location"],
                      headers=EN).content.decode()
    assert f'id="handover-{offer.pk}"' in page and ANSWER in page


def test_a_withdrawal_tells_the_office_that_was_to_answer(
        case, supervisor, supervisor2, second_office, second_supervisor, second_supervisor2):
    asked = handovers.ask(by=second_supervisor, reference=case.reference, office=second_office,
                          reason=REASON)

    handovers.withdraw(by=second_supervisor, handover=asked)

    for who in (supervisor, supervisor2):
        assert [n.kind for n in told(who)] == [NotificationKind.CASE_REQUESTED,
                                               NotificationKind.TRANSFER_WITHDRAWN]
    assert told(second_supervisor) == told(second_supervisor2) == []


def test_a_supervisor_of_both_offices_is_not_told_of_their_own_offer_or_answer(
        case, supervisor, office, second_office, second_supervisor, make_user):
    both = make_user(Role.SUPERVISOR, office)
    services.grant_membership(by=None, user=both, office=second_office, role=Role.SUPERVISOR)

    offer = handovers.offer(by=both, case=case, to_office=second_office, reason=REASON)
    handovers.reject(by=both, handover=offer, answer=ANSWER)

    assert told(both) == []
    assert [n.kind for n in told(second_supervisor)] == [NotificationKind.TRANSFER_OFFERED]
    assert [n.kind for n in told(supervisor)] == [NotificationKind.TRANSFER_REJECTED]


def test_a_rolled_back_transfer_tells_nobody_and_sends_nothing(
        case, supervisor, second_office, second_supervisor, emails,
        django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(RuntimeError), transaction.atomic()):
        handovers.offer(by=supervisor, case=case, to_office=second_office, reason=REASON)
        raise RuntimeError("the request failed after the offer")

    assert not Handover.objects.exists()
    assert not Notification.objects.exists()
    assert callbacks == [] and emails == []


# --- Scope -------------------------------------------------------------------------------------


def test_a_supervisor_who_leaves_the_office_no_longer_sees_its_transfer_notifications(
        client, case, supervisor, second_office, second_supervisor, make_user):
    admin = make_user(Role.OFFICE_ADMIN, second_office)
    handovers.offer(by=supervisor, case=case, to_office=second_office, reason=REASON)
    (n,) = told(second_supervisor)

    services.revoke_membership(by=admin, membership=Membership.objects.get(
        user=second_supervisor, office=second_office, role=Role.SUPERVISOR))

    reader = fresh(second_supervisor)
    assert selectors.unread_notifications(reader) == 0
    assert not selectors.visible_notifications(reader).exists()
    client.force_login(second_supervisor)
    assert client.get(reverse("notification_open", args=[n.pk])).status_code == 404
    assert case.reference not in client.get(reverse("notification_list")).content.decode()
    n.refresh_from_db()
    assert n.read_at is None


def test_someone_else_s_transfer_notification_is_not_found(
        client, case, supervisor, second_office, second_supervisor, other_supervisor):
    handovers.offer(by=supervisor, case=case, to_office=second_office, reason=REASON)
    (n,) = told(second_supervisor)

    for stranger in (other_supervisor, supervisor):  # another office; the sender
        client.force_login(stranger)
        assert client.get(reverse("notification_open", args=[n.pk])).status_code == 404


def test_the_bell_counts_a_transfer_in_one_statement(case, supervisor, second_office,
                                                      second_supervisor,
                                                      django_assert_num_queries):
    from cases import access

    handovers.offer(by=supervisor, case=case, to_office=second_office, reason=REASON)
    reader = fresh(second_supervisor)
    access.roles_by_office(reader)  # as the page's roles context processor did

    with django_assert_num_queries(1):
        assert selectors.unread_notifications(reader) == 1


# --- Wrong roles ---------------------------------------------------------------------------------


def test_a_wrong_role_answering_gets_403_and_nothing_is_written(
        client, case, caseworker, supervisor, second_office, second_supervisor,
        second_caseworker, emails, django_capture_on_commit_callbacks):
    asked = handovers.ask(by=second_supervisor, reference=case.reference, office=second_office,
                          reason=REASON)
    before = list(Notification.objects.order_by("pk").values_list("pk", "read_at"))
    emails.clear()

    with django_capture_on_commit_callbacks(execute=True):
        for wrong in (caseworker, second_caseworker, second_supervisor):
            client.force_login(wrong)  # the case's caseworker, the asker's, the asker
            for action in ("accept", "reject"):
                answered = client.post(reverse("handover_answer", args=[asked.pk]),
                                       {"action": action, "answer": "No"})
                assert answered.status_code == 403, (wrong, action)
        client.force_login(supervisor)  # the owner withdraws nothing it did not start
        assert client.post(reverse("handover_withdraw", args=[asked.pk])).status_code == 403

    asked.refresh_from_db()
    case.refresh_from_db()
    assert (asked.status, asked.answered_by, asked.answered_at) == ("pending", None, None)
    assert not asked.answer
    assert case.office_id != second_office.pk
    assert list(Notification.objects.order_by("pk").values_list("pk", "read_at")) == before
    assert emails == []


# --- Email -------------------------------------------------------------------------------------


def test_the_email_says_only_that_something_waits(
        case, caseworker, supervisor, second_office, second_supervisor, second_supervisor2,
        second_caseworker, emails, django_capture_on_commit_callbacks, settings):
    supervisor.email = "bmp-sup@example.org"
    supervisor.save()
    caseworker.email = "bmp-cw@example.org"
    caseworker.save()

    with django_capture_on_commit_callbacks(execute=True):
        offer = handovers.offer(by=supervisor, case=case, to_office=second_office, reason=REASON)

    assert addressed(emails) == ["orw-sup2@example.org", "orw-sup@example.org"]
    person = case.principal
    for sent in emails:
        (n,) = told(User.objects.get(email=sent.to[0]))
        assert f"{settings.AMPARO_BASE_URL}/notifications/{n.pk}/" in sent.body
        text = sent.subject + sent.body
        for secret in (case.reference, "BZ-BMP", "BZ-ORW", "Orange Walk", "Quispe",
                       person.given_names, person.family_names, supervisor.last_name,
                       str(offer.pk)):
            assert secret not in text
    english = next(m for m in emails if m.to == ["orw-sup2@example.org"])
    spanish = next(m for m in emails if m.to == ["orw-sup@example.org"])
    assert english.subject == "Amparo: a case transfer waits for your answer"
    with translation.override("es"):  # the reader's language (Spanish by default)
        assert spanish.subject == translation.gettext(
            "Amparo: a case transfer waits for your answer")

    emails.clear()
    with django_capture_on_commit_callbacks(execute=True):
        handovers.reject(by=second_supervisor, handover=offer, answer=ANSWER)
    assert addressed(emails) == ["bmp-sup@example.org"]  # not the caseworker, not who answered
    assert ANSWER not in emails[0].body and "Quispe" not in emails[0].body


def test_no_email_for_a_notification_hidden_or_read_before_it_goes(
        case, supervisor, second_office, second_supervisor, second_supervisor2, make_user,
        emails):
    admin = make_user(Role.OFFICE_ADMIN, second_office)
    handovers.offer(by=supervisor, case=case, to_office=second_office, reason=REASON)
    ids = list(Notification.objects.values_list("pk", flat=True))
    services.revoke_membership(by=admin, membership=Membership.objects.get(
        user=second_supervisor, office=second_office, role=Role.SUPERVISOR))
    notifications.mark_all_read(by=fresh(second_supervisor2))

    assert notifications.send_emails(ids) == 0
    assert emails == []


# --- Shares ------------------------------------------------------------------------------------


@pytest.fixture
def consented(case, caseworker):
    consent.record(by=caseworker, person=case.principal, purpose="sharing", given=True,
                   language="es")
    return case


def test_a_named_share_tells_who_receives_it_once(client, consented, supervisor, caseworker,
                                                  other_caseworker, other_supervisor, emails,
                                                  django_capture_on_commit_callbacks):
    case = consented
    other_caseworker.email = "cr-cw@example.org"
    other_caseworker.save()

    with django_capture_on_commit_callbacks(execute=True):
        shares.share(by=supervisor, case=case, user=other_caseworker, parts=["procedure"],
                     until=SOON, reason=REASON)

    (n,) = told(other_caseworker)
    assert (n.kind, n.params) == (NotificationKind.SHARED,
                                  {"reference": case.reference, "until": SOON.isoformat()})
    for nobody in (supervisor, caseworker, other_supervisor):
        assert told(nobody) == []
    assert addressed(emails) == ["cr-cw@example.org"]
    assert case.reference not in emails[0].body + emails[0].subject
    client.force_login(other_caseworker)
    opened = client.get(reverse("notification_open", args=[n.pk]))
    assert opened["Location"] == reverse("case_detail", args=[case.pk])
    assert client.get(opened["Location"]).status_code == 200

    # Changing the parts or the end is not news; ending the share hides what was told, and
    # the bell counts only that it ended.
    shares.share(by=supervisor, case=case, user=other_caseworker, parts=["procedure", "notes"],
                 until=SOON, reason=REASON)
    assert len(told(other_caseworker)) == 1
    shares.revoke(by=supervisor, case=case, user=other_caseworker)
    assert client.get(reverse("notification_open", args=[n.pk])).status_code == 404
    assert [m.kind for m in told(other_caseworker)] == [NotificationKind.SHARED,
                                                        NotificationKind.SHARE_ENDED]
    assert selectors.unread_notifications(fresh(other_caseworker)) == 1


def test_a_share_with_an_office_tells_its_caseworkers_and_supervisors(
        consented, supervisor, caseworker, other_office, other_caseworker, other_supervisor,
        make_user):
    case = consented
    admin = make_user(Role.OFFICE_ADMIN, other_office)
    auditor = make_user(Role.AUDITOR, other_office)

    shares.share_with_office(by=supervisor, case=case, office=other_office,
                             parts=["procedure"], until=SOON, reason=REASON)

    for who in (other_caseworker, other_supervisor):
        (n,) = told(who)
        assert (n.kind, n.params["office"]) == (NotificationKind.SHARED, other_office.code)
        with translation.override("en"):
            assert n.text == (f"Case {case.reference} was shared with your office CR-SJO "
                              f"until {SOON.isoformat()}.")
        assert selectors.get_notification(fresh(who), n.pk) == n
    for nobody in (supervisor, caseworker, admin, auditor):
        assert told(nobody) == []
    # Sharing with the office again: nobody new, nothing new.
    shares.share_with_office(by=supervisor, case=case, office=other_office,
                             parts=["procedure", "notes"], until=SOON, reason=REASON)
    assert Notification.objects.count() == 2


# --- Two supervisors at once (PostgreSQL) -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_supervisors_accepting_a_request_at_once_tell_the_asker_once(
        postgres, case, supervisor, supervisor2, second_office, second_supervisor,
        second_supervisor2, emails):
    asked = handovers.ask(by=second_supervisor, reference=case.reference, office=second_office,
                          reason=REASON)
    assert addressed(emails) == ["bmp-sup2@example.org"]  # the owner's supervisor with an address
    emails.clear()

    results = race([lambda: handovers.accept(by=supervisor, handover=asked),
                    lambda: handovers.accept(by=supervisor2, handover=asked)],
                   lambda holder: holder.execute(
                       "SELECT id FROM cases_handover WHERE id = %s FOR UPDATE", [asked.pk]))

    won = [r for r in results if isinstance(r, Handover)]
    lost = [r for r in results if isinstance(r, ValidationError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "already answered" in str(lost[0])
    asked.refresh_from_db()
    case.refresh_from_db()
    assert asked.status == "accepted" and case.office_id == second_office.pk
    for who in (second_supervisor, second_supervisor2):
        assert len(told(who, NotificationKind.TRANSFER_ACCEPTED)) == 1
    assert Notification.objects.filter(kind=NotificationKind.TRANSFER_ACCEPTED).count() == 2
    assert addressed(emails) == ["orw-sup2@example.org", "orw-sup@example.org"]


def test_a_supervisor_answering_as_the_wrong_office_is_refused_by_the_service(
        case, supervisor, second_office, second_supervisor):
    asked = handovers.ask(by=second_supervisor, reference=case.reference, office=second_office,
                          reason=REASON)
    with pytest.raises(PermissionDenied):
        handovers.accept(by=second_supervisor, handover=asked)
    assert told(second_supervisor) == []
