"""A share that ends tells who loses it (docs/architecture.md#notifications): a named share's
staff member, an office's supervisors; ended by a supervisor or by the periodic expiry, which
tells a whole batch in one INSERT. What asked for an answer, or told of a share, no longer
counts in the bell once the transfer is answered or the share ends."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from faker import Faker

from cases import access, consent, handovers, selectors, services, shares
from cases.models import (
    CaseUserObjectPermission,
    Notification,
    NotificationKind,
    Office,
    OfficeShare,
    Role,
    User,
)
from cases.tasks import expire_shares_task
from tests.cases.notified import fresh, told

SOON = timezone.localdate() + datetime.timedelta(days=10)
LATER = timezone.now() + datetime.timedelta(days=30)  # every share made here has ended by then
EN = {"accept-language": "en"}
REASON = "Remisión a la oficina regional"

fake = Faker("es_MX")


@pytest.fixture
def person(caseworker, office, person_data):
    """Someone generated for the test: their names must reach no notification or email."""
    return services.register_person(by=caseworker, office=office, data=person_data(
        given_names=f"{fake.first_name()} {fake.first_name()}",
        family_names=f"{fake.last_name()} {fake.last_name()}",
        aliases=[fake.name()], email=fake.email(), address=fake.street_address(),
        date_of_birth=fake.date_of_birth(minimum_age=18, maximum_age=70)))


@pytest.fixture
def consented(case, caseworker):
    consent.record(by=caseworker, person=case.principal, purpose="sharing", given=True,
                   language="es")
    return case


@pytest.fixture
def third_supervisor(make_user):
    """A supervisor of an office nothing here concerns."""
    third = Office.objects.create(code="MX-TAP", name="Tapachula", country="MX", city="Tapachula")
    return make_user(Role.SUPERVISOR, third)


@pytest.fixture
def other_supervisor2(make_user, other_office):
    return make_user(Role.SUPERVISOR, other_office, email="sjo-sup2@example.org",
                     preferred_language="en")


def names(case) -> list[str]:
    principal = case.principal
    return [principal.given_names, principal.family_names, *(principal.aliases or [])]


def nothing_personal(case, *texts: str) -> None:
    stored = str(list(Notification.objects.values_list("kind", "params")))
    for value in names(case):
        assert value not in stored
        for text in texts:
            assert value not in text


def share_with(supervisor, case, user) -> None:
    shares.share(by=supervisor, case=case, user=user, parts=["procedure"], until=SOON,
                 reason=REASON)


# --- A named share ------------------------------------------------------------------------------


def test_revoking_a_named_share_tells_who_loses_it_and_nobody_else(
        client, consented, supervisor, caseworker, other_caseworker, other_supervisor,
        third_supervisor):
    case = consented
    share_with(supervisor, case, other_caseworker)
    (shared,) = told(other_caseworker)

    shares.revoke(by=supervisor, case=case, user=other_caseworker, reason=REASON)

    (ended,) = told(other_caseworker, NotificationKind.SHARE_ENDED)
    assert (ended.case_id, ended.office_id, ended.params) == (
        case.pk, case.office_id, {"reference": case.reference, "by": "BZ-BMP"})
    for nobody in (supervisor, caseworker, other_supervisor, third_supervisor):
        assert told(nobody) == []
    with translation.override("en"):
        assert ended.text == f"BZ-BMP ended the share of case {case.reference} with you."
    # What told of the share no longer counts: the bell counts its end, which shows although
    # the case no longer does.
    shared.refresh_from_db()
    assert shared.read_at is not None
    reader = fresh(other_caseworker)
    assert not selectors.visible_cases(reader).filter(pk=case.pk).exists()
    assert selectors.unread_notifications(reader) == 1
    assert list(selectors.visible_notifications(reader)) == [ended]
    client.force_login(other_caseworker)
    listed = client.get(reverse("notification_list"), headers=EN).content.decode()
    assert f"ended the share of case {case.reference} with you" in listed
    nothing_personal(case, listed)
    opened = client.get(reverse("notification_open", args=[ended.pk]))
    assert opened["Location"] == reverse("notification_list")  # not the case, gone from them
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 404
    assert selectors.unread_notifications(fresh(other_caseworker)) == 0


def test_a_wrong_role_cannot_end_a_share_and_nobody_is_told(
        client, consented, supervisor, caseworker, other_caseworker, other_supervisor,
        other_office):
    case = consented
    share_with(supervisor, case, other_caseworker)
    office_share = shares.share_with_office(by=supervisor, case=case, office=other_office,
                                            parts=["procedure"], until=SOON, reason=REASON)
    grants = CaseUserObjectPermission.objects.count()
    before = list(Notification.objects.order_by("pk").values_list("pk", "read_at"))

    # The case's caseworker, the recipient, the receiving office's supervisor.
    for wrong in (caseworker, other_caseworker, other_supervisor):
        with pytest.raises(PermissionDenied):
            shares.revoke(by=fresh(wrong), case=case, user=other_caseworker)
        with pytest.raises(PermissionDenied):
            shares.revoke_office(by=fresh(wrong), case=case, office_share_id=office_share.pk)
        client.force_login(wrong)
        for url in (reverse("case_unshare", args=[case.pk, other_caseworker.pk]),
                    reverse("case_office_unshare", args=[case.pk, office_share.pk])):
            assert client.post(url).status_code in (403, 404), (wrong, url)

    assert CaseUserObjectPermission.objects.count() == grants
    assert OfficeShare.objects.filter(pk=office_share.pk).exists()
    assert list(Notification.objects.order_by("pk").values_list("pk", "read_at")) == before
    assert not Notification.objects.filter(kind=NotificationKind.SHARE_ENDED).exists()


def test_the_email_of_an_ended_share_says_only_that_something_waits(
        consented, supervisor, other_caseworker, emails, django_capture_on_commit_callbacks,
        settings):
    case = consented
    other_caseworker.email = "sjo-cw@example.org"
    other_caseworker.preferred_language = "en"
    other_caseworker.save()
    share_with(supervisor, case, other_caseworker)
    emails.clear()

    with django_capture_on_commit_callbacks(execute=True):
        shares.revoke(by=supervisor, case=case, user=other_caseworker, reason=REASON)

    (sent,) = emails
    (ended,) = told(other_caseworker, NotificationKind.SHARE_ENDED)
    assert sent.to == ["sjo-cw@example.org"]
    assert sent.subject == "Amparo: a share of a case ended"
    assert f"{settings.AMPARO_BASE_URL}/notifications/{ended.pk}/" in sent.body
    text = sent.subject + sent.body
    for secret in (case.reference, "BZ-BMP", "CR-SJO", REASON, supervisor.last_name):
        assert secret not in text
    nothing_personal(case, text)
    with translation.override("es"):
        nothing_personal(case, ended.text)


# --- A share with an office ----------------------------------------------------------------------


def test_ending_an_office_share_tells_that_office_s_supervisors_only(
        consented, supervisor, caseworker, other_office, other_caseworker, other_supervisor,
        other_supervisor2, third_supervisor, make_user):
    case = consented
    supervisor2 = make_user(Role.SUPERVISOR, case.office)
    auditor = make_user(Role.AUDITOR, other_office)
    office_share = shares.share_with_office(by=supervisor, case=case, office=other_office,
                                            parts=["procedure"], until=SOON, reason=REASON)
    shared = told(other_caseworker) + told(other_supervisor) + told(other_supervisor2)
    assert len(shared) == 3

    shares.revoke_office(by=supervisor, case=case, office_share_id=office_share.pk,
                         reason=REASON)

    for who in (other_supervisor, other_supervisor2):
        (ended,) = told(who, NotificationKind.SHARE_ENDED)
        assert ended.params == {"reference": case.reference, "by": "BZ-BMP", "office": "CR-SJO"}
        with translation.override("en"):
            assert ended.text == (f"BZ-BMP ended the share of case {case.reference} with your "
                                  "office CR-SJO.")
        assert selectors.unread_notifications(fresh(who)) == 1
    # The office's caseworker lost it too, but its supervisors are told; the sharing office,
    # the office's auditor and another office: nothing.
    for nobody in (other_caseworker, supervisor, supervisor2, caseworker, auditor,
                   third_supervisor):
        assert told(nobody, NotificationKind.SHARE_ENDED) == []
    for n in shared:
        n.refresh_from_db()
        assert n.read_at is not None
    assert selectors.unread_notifications(fresh(other_caseworker)) == 0
    nothing_personal(case)


def test_an_expired_office_share_tells_its_office_s_supervisors(
        consented, supervisor, other_office, other_caseworker, other_supervisor):
    case = consented
    shares.share_with_office(by=supervisor, case=case, office=other_office,
                             parts=["procedure"], until=SOON, reason=REASON)

    assert expire_shares_task.apply(kwargs={}).get() == 0  # not ended yet: nobody told
    assert not Notification.objects.filter(kind=NotificationKind.SHARE_ENDED).exists()
    assert shares.expire(now=LATER) == 2

    (ended,) = told(other_supervisor, NotificationKind.SHARE_ENDED)
    assert ended.params == {"reference": case.reference, "until": SOON.isoformat(),
                            "office": "CR-SJO"}
    with translation.override("en"):
        assert ended.text == (f"The share of case {case.reference} with your office CR-SJO "
                              f"ended: it lasted until {SOON.isoformat()}.")
    assert told(other_caseworker, NotificationKind.SHARE_ENDED) == []
    assert told(supervisor) == []
    assert selectors.unread_notifications(fresh(other_caseworker)) == 0
    assert selectors.unread_notifications(fresh(other_supervisor)) == 1


# --- Expiry, a batch at a time ---------------------------------------------------------------------


def _notification_statements(queries) -> list[str]:
    table = Notification._meta.db_table
    return [q["sql"] for q in queries if table in q["sql"]]


def test_expiry_tells_everyone_in_one_insert_however_many_shares(
        consented, supervisor, other_office, make_user, django_capture_on_commit_callbacks):
    case = consented
    statements = {}
    for count in (1, 20):
        staff = [make_user(Role.CASEWORKER, other_office) for _ in range(count)]
        for user in staff:
            share_with(supervisor, case, user)
        with (CaptureQueriesContext(connection) as queries,
              django_capture_on_commit_callbacks() as callbacks):
            assert shares.expire(now=LATER) == count
        statements[count] = _notification_statements(queries.captured_queries)
        # One email task for the batch.
        assert [c for c in callbacks if "_tell" in c.__qualname__] == callbacks[-1:]
        for user in staff:
            (ended,) = told(user, NotificationKind.SHARE_ENDED)
            assert ended.params == {"reference": case.reference, "until": SOON.isoformat()}
            with translation.override("en"):
                assert ended.text == (f"The share of case {case.reference} with you ended: "
                                      f"it lasted until {SOON.isoformat()}.")
            assert selectors.unread_notifications(fresh(user)) == 1
            assert not Notification.objects.filter(recipient=user, kind=NotificationKind.SHARED,
                                                   read_at__isnull=True).exists()
    # Told in one INSERT, what told of the shares marked read in one UPDATE: the same
    # statements for twenty shares as for one.
    assert len(statements[1]) == len(statements[20]) == 2, statements
    assert [s.split()[0] for s in statements[20]] == ["UPDATE", "INSERT"]
    assert Notification.objects.filter(kind=NotificationKind.SHARE_ENDED).count() == 21
    assert shares.expire(now=LATER) == 0  # nothing left: nobody told twice
    assert Notification.objects.filter(kind=NotificationKind.SHARE_ENDED).count() == 21
    assert told(supervisor) == []
    nothing_personal(case)


def test_the_bell_counts_an_ended_share_in_one_statement(
        consented, supervisor, other_caseworker, django_assert_num_queries):
    share_with(supervisor, consented, other_caseworker)
    shares.revoke(by=supervisor, case=consented, user=other_caseworker)
    reader = fresh(other_caseworker)
    access.roles_by_office(reader)  # as the page's roles context processor did

    with django_assert_num_queries(1):
        assert selectors.unread_notifications(reader) == 1


# --- Transfers that no longer wait ---------------------------------------------------------------


@pytest.fixture
def second_office(db) -> Office:
    return Office.objects.create(code="BZ-ORW", name="Orange Walk", country="BZ", city="Orange Walk")


@pytest.fixture
def second_supervisor(make_user, second_office):
    return make_user(Role.SUPERVISOR, second_office)


@pytest.fixture
def second_supervisor2(make_user, second_office):
    return make_user(Role.SUPERVISOR, second_office)


def waiting(user: User) -> list[Notification]:
    return list(Notification.objects.filter(
        recipient=user, read_at__isnull=True,
        kind__in=(NotificationKind.TRANSFER_OFFERED, NotificationKind.CASE_REQUESTED)))


@pytest.mark.parametrize("answer", ["accept", "reject"])
def test_an_answered_offer_no_longer_waits_in_the_bell(
        case, supervisor, second_office, second_supervisor, second_supervisor2, answer):
    offer = handovers.offer(by=supervisor, case=case, to_office=second_office, reason=REASON)
    for who in (second_supervisor, second_supervisor2):
        assert selectors.unread_notifications(fresh(who)) == 1
        assert handovers.waiting_count(fresh(who)) == 1

    if answer == "accept":
        handovers.accept(by=second_supervisor, handover=offer)
    else:
        handovers.reject(by=second_supervisor, handover=offer, answer="Sin cupo")

    # The colleague who did not answer is not asked any more either.
    for who in (second_supervisor, second_supervisor2):
        assert waiting(who) == []
        assert selectors.unread_notifications(fresh(who)) == 0
        assert handovers.waiting_count(fresh(who)) == 0
        (n,) = told(who)
        assert n.kind == NotificationKind.TRANSFER_OFFERED and n.read_at is not None
    # Who offered is told of the answer, and was asked nothing.
    answered = (NotificationKind.TRANSFER_ACCEPTED if answer == "accept"
                else NotificationKind.TRANSFER_REJECTED)
    assert [n.kind for n in told(supervisor)] == [answered]
    assert selectors.unread_notifications(fresh(supervisor)) == 1


def test_a_withdrawn_request_no_longer_waits_in_the_bell(
        case, supervisor, second_office, second_supervisor, make_user, person_data):
    supervisor2 = make_user(Role.SUPERVISOR, case.office)
    asked = handovers.ask(by=second_supervisor, reference=case.reference, office=second_office,
                          reason=REASON)
    other = handovers.offer(by=second_supervisor, case=services.open_case(
        by=second_supervisor, person=services.register_person(
            by=second_supervisor, office=second_office, data=person_data(
                given_names=fake.first_name(), family_names=fake.last_name(),
                aliases=[], email=fake.email())),
        kind="asylum"), to_office=case.office, reason=REASON)
    assert selectors.unread_notifications(fresh(supervisor)) == 2

    handovers.withdraw(by=second_supervisor, handover=asked)

    for who in (supervisor, supervisor2):
        # Told of the withdrawal; the request it withdrew and nothing else is read.
        assert [(n.kind, n.read_at is None) for n in told(who)] == [
            (NotificationKind.CASE_REQUESTED, False), (NotificationKind.TRANSFER_OFFERED, True),
            (NotificationKind.TRANSFER_WITHDRAWN, True)]
        assert selectors.unread_notifications(fresh(who)) == 2  # the withdrawal, the other offer
        assert [n.handover_id for n in waiting(who)] == [other.pk]

