"""A login from a browser and network the account has not used lately: told to its owner in
the application and by email, audited; only a keyed hash of the place is kept."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from faker import Faker

from audit.models import AuditEvent
from cases import login_places
from cases.models import LoginPlace, NotificationKind, User
from tests.cases.notified import told

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
FIREFOX_NEXT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0.0.0 Mobile Safari/537.36")
EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0")
OFFICE, OFFICE_OTHER_DESK, ELSEWHERE = "203.0.113.10", "203.0.113.87", "198.51.100.23"
NEW = NotificationKind.NEW_LOGIN_PLACE


@pytest.fixture
def member(make_user, office, caseworker) -> User:
    fake = Faker("es_MX")
    User.objects.filter(pk=caseworker.pk).update(email=fake.email(), preferred_language="es")
    return User.objects.get(pk=caseworker.pk)


def log_in(user: User, address: str, agent: str, capture) -> Client:
    client = Client(REMOTE_ADDR=address, HTTP_USER_AGENT=agent)
    with capture(execute=True):
        response = client.post(reverse("login"), {"username": user.username,
                                                   "password": "pw-for-tests-only"})
    assert response.status_code == 302
    return client


def test_the_first_place_is_where_an_account_starts(member, emails,
                                                    django_capture_on_commit_callbacks):
    log_in(member, OFFICE, FIREFOX, django_capture_on_commit_callbacks)

    assert LoginPlace.objects.filter(user=member).count() == 1
    assert not told(member, NEW) and not emails
    assert not AuditEvent.objects.filter(action="login.new_device").exists()


def test_the_same_network_and_browser_family_are_not_new(member, emails,
                                                         django_capture_on_commit_callbacks):
    log_in(member, OFFICE, FIREFOX, django_capture_on_commit_callbacks)

    log_in(member, OFFICE_OTHER_DESK, FIREFOX_NEXT, django_capture_on_commit_callbacks)

    assert LoginPlace.objects.filter(user=member).count() == 1
    assert not told(member, NEW) and not emails


@pytest.mark.parametrize(("address", "agent"), [
    (ELSEWHERE, FIREFOX),  # another network
    (OFFICE, CHROME_ANDROID),  # another browser
    (OFFICE, EDGE),  # says Chrome and Safari too, is neither
])
def test_a_new_place_is_told_audited_and_emailed(member, emails, address, agent,
                                                  django_capture_on_commit_callbacks):
    log_in(member, OFFICE, FIREFOX, django_capture_on_commit_callbacks)

    client = log_in(member, address, agent, django_capture_on_commit_callbacks)

    (notice,) = told(member, NEW)
    assert notice.case_id is None and notice.office_id is None
    assert login_places.browser_family(agent) in notice.text
    event = AuditEvent.objects.get(action="login.new_device")
    assert (event.actor_id, event.object_id) == (member.pk, str(member.pk))
    assert event.details == {"browser": login_places.browser_family(agent)}
    (mail,) = emails
    assert mail.to == [member.email] and "Amparo" in mail.subject
    assert address not in mail.body and address not in str(notice.params)
    # It is on the reader's list and opens to the list (it has no case).
    page = client.get(reverse("notification_list")).content.decode()
    assert f'data-kind="{NEW}"' in page
    opened = client.get(reverse("notification_open", args=[notice.pk]))
    assert opened.url == reverse("notification_list")


def test_no_address_or_agent_is_stored(member, django_capture_on_commit_callbacks):
    log_in(member, ELSEWHERE, CHROME_ANDROID, django_capture_on_commit_callbacks)

    (place,) = LoginPlace.objects.filter(user=member).values_list("key", flat=True)
    assert len(place) == 64 and "198.51" not in place and "Android" not in place
    assert place == login_places.place_key(ELSEWHERE, CHROME_ANDROID)
    assert place != login_places.place_key(OFFICE, CHROME_ANDROID)


def test_a_place_unused_for_the_whole_window_is_new_again(member, settings, emails,
                                                          django_capture_on_commit_callbacks):
    settings.AMPARO_LOGIN_PLACE_DAYS = 30
    log_in(member, OFFICE, FIREFOX, django_capture_on_commit_callbacks)
    log_in(member, ELSEWHERE, FIREFOX, django_capture_on_commit_callbacks)
    emails.clear()
    LoginPlace.objects.filter(user=member, key=login_places.place_key(ELSEWHERE, FIREFOX)).update(
        last_seen=timezone.now() - datetime.timedelta(days=31))

    log_in(member, ELSEWHERE, FIREFOX, django_capture_on_commit_callbacks)

    assert len(told(member, NEW)) == 2 and len(emails) == 1
    assert AuditEvent.objects.filter(action="login.new_device").count() == 2


def test_another_user_s_places_do_not_count(member, make_user, office, emails,
                                            django_capture_on_commit_callbacks):
    colleague = make_user("caseworker", office)
    log_in(colleague, OFFICE, FIREFOX, django_capture_on_commit_callbacks)
    log_in(member, ELSEWHERE, FIREFOX, django_capture_on_commit_callbacks)

    log_in(member, OFFICE, FIREFOX, django_capture_on_commit_callbacks)

    assert len(told(member, NEW)) == 1 and not told(colleague, NEW)
    assert member.pk not in {n.recipient_id for n in told(colleague)}


def test_a_notice_is_the_recipient_s_alone(member, make_user, office,
                                           django_capture_on_commit_callbacks):
    log_in(member, OFFICE, FIREFOX, django_capture_on_commit_callbacks)
    log_in(member, ELSEWHERE, FIREFOX, django_capture_on_commit_callbacks)
    (notice,) = told(member, NEW)
    colleague = Client()
    colleague.force_login(make_user("supervisor", office))

    assert colleague.get(reverse("notification_open", args=[notice.pk])).status_code == 404


def test_a_wrong_password_from_a_new_place_is_not_a_login(member, emails,
                                                          django_capture_on_commit_callbacks):
    log_in(member, OFFICE, FIREFOX, django_capture_on_commit_callbacks)
    client = Client(REMOTE_ADDR=ELSEWHERE, HTTP_USER_AGENT=CHROME_ANDROID)

    client.post(reverse("login"), {"username": member.username, "password": "wrong-one-here"})

    assert not told(member, NEW) and LoginPlace.objects.filter(user=member).count() == 1


@pytest.mark.parametrize(("agent", "family"), [
    (FIREFOX, "Firefox, Windows"), (CHROME_ANDROID, "Chrome, Android"),
    (EDGE, "Edge, Windows"), ("", "unknown"), ("curl/8.5.0", "unknown"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Safari/605.1.15", "Safari, macOS"),
])
def test_browser_families(agent, family):
    assert login_places.browser_family(agent) == family


@pytest.mark.parametrize(("address", "net"), [
    ("203.0.113.10", "203.0.113.0/24"), ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
    (None, "unknown"), ("not an address", "unknown"),
])
def test_networks(address, net):
    assert login_places.network(address) == net
