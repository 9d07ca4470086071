"""Per-user budgets of searches, record views and exports (cases/ratelimits.py): refused at
N+1 with a 429 and Retry-After, one event and one notification per window, fresh after it."""

from __future__ import annotations

import types

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from faker import Faker

from audit.models import AuditEvent
from cases import checks, ratelimits
from cases.models import NotificationKind
from tests.cases.notified import told

EN = {"accept-language": "en"}


def _exceeded() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="ratelimit.exceeded").order_by("pk"))


def _open_case_page(client, case, times: int) -> list[int]:
    url = reverse("case_detail", args=[case.pk])
    return [client.get(url, headers=EN).status_code for _ in range(times)]


def test_the_case_page_past_the_budget_is_refused_with_when_to_try_again(client, settings,
                                                                         caseworker, case):
    settings.AMPARO_RATELIMIT_VIEWS = "3/600"
    client.force_login(caseworker)

    assert _open_case_page(client, case, 3) == [200, 200, 200]
    response = client.get(reverse("case_detail", args=[case.pk]), headers=EN)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 600
    html = response.content.decode()
    assert 'id="rate-limited" data-kind="views"' in html
    assert "Try again in" in html and case.reference not in html


def test_the_refusal_is_one_event_and_one_notification_per_window(client, settings, caseworker,
                                                                  supervisor, other_supervisor,
                                                                  person, case, emails,
                                                                  django_capture_on_commit_callbacks):
    settings.AMPARO_RATELIMIT_VIEWS = "2/600"
    supervisor.email = Faker("es_MX").email()
    supervisor.save(update_fields=["email"])
    client.force_login(caseworker)

    with django_capture_on_commit_callbacks(execute=True):
        statuses = _open_case_page(client, case, 6)
    statuses.append(client.get(reverse("person_detail", args=[person.pk])).status_code)

    assert statuses == [200, 200, 429, 429, 429, 429, 429]
    [event] = _exceeded()
    assert event.actor_id == caseworker.pk and event.outcome == "denied"
    assert event.office_id == case.office_id
    assert event.details["kind"] == "views" and event.details["limit"] == 2
    assert event.details["view"] == "case_detail"
    assert [n.kind for n in told(supervisor)] == [NotificationKind.RATE_LIMITED]
    assert told(caseworker, NotificationKind.RATE_LIMITED) == []
    assert told(other_supervisor) == []  # another office's supervisors are not told
    [email] = emails
    assert email.to == [supervisor.email] and caseworker.username not in email.body


def test_the_supervisor_reads_who_reached_which_limit_and_the_other_office_does_not(
        client, settings, caseworker, supervisor, other_supervisor, case):
    settings.AMPARO_RATELIMIT_VIEWS = "1/600"
    client.force_login(caseworker)
    _open_case_page(client, case, 2)
    [notice] = told(supervisor)

    client.force_login(supervisor)
    page = client.get(reverse("notification_list"), headers=EN).content.decode()
    opened = client.get(reverse("notification_open", args=[notice.pk]))

    assert f"{caseworker.username} reached the limit of records viewed (1 in 10 minutes)" in page
    assert opened.status_code == 302 and opened["Location"] == reverse("notification_list")
    client.force_login(other_supervisor)
    assert client.get(reverse("notification_open", args=[notice.pk])).status_code == 404


def test_the_budget_is_fresh_in_the_next_window(client, settings, caseworker, case, monkeypatch):
    settings.AMPARO_RATELIMIT_VIEWS = "2/600"
    # The budgets' own clock, a second into a 600-second window: a slow page cannot carry the
    # requests into the next window (a one-second window on the real clock did, on a busy CI).
    now = [1_800_000_001.0]
    monkeypatch.setattr(ratelimits, "time", types.SimpleNamespace(time=lambda: now[0]))
    client.force_login(caseworker)

    first = _open_case_page(client, case, 3)
    now[0] += 599  # the first second of the next window
    second = _open_case_page(client, case, 1)

    assert first == [200, 200, 429]
    assert second == [200]


def test_the_window_ends_where_retry_after_says(settings):
    settings.AMPARO_RATELIMIT_SEARCHES = "2/600"
    start = 1_800_000_000.0  # the start of a 600-second window

    counts = [ratelimits.count(7, ratelimits.SEARCHES, now=start + s) for s in (1, 2, 3, 4)]
    after = ratelimits.count(7, ratelimits.SEARCHES, now=start + 600)

    assert [c.allowed for c in counts] == [True, True, False, False]
    assert [c.first_refused for c in counts] == [False, False, True, False]
    assert counts[2].retry_after(now=start + 3) == 597
    assert after.allowed and after.number == 1


def test_two_staff_members_do_not_share_a_budget_nor_one_budget_another(
        client, settings, caseworker, caseworker2, case, office):
    settings.AMPARO_RATELIMIT_VIEWS = "2/600"
    settings.AMPARO_RATELIMIT_SEARCHES = "2/600"
    case.assigned_to = None
    case.save(update_fields=["assigned_to"])  # in the office's queue: both caseworkers see it
    client.force_login(caseworker)
    assert _open_case_page(client, case, 3) == [200, 200, 429]

    searched = client.get(reverse("people_search")).status_code
    client.force_login(caseworker2)

    assert searched == 200  # the views budget spent, searches still open
    assert _open_case_page(client, case, 2) == [200, 200]


def test_a_search_past_its_budget_is_refused_before_it_runs(client, settings, caseworker, person):
    settings.AMPARO_RATELIMIT_SEARCHES = "2/600"
    client.force_login(caseworker)
    url = reverse("people_search")
    term = {"name": "Núñez"}

    statuses = [client.post(url, term).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert AuditEvent.objects.filter(action="person.search").count() == 2
    assert _exceeded()[0].details["kind"] == "searches"


def test_an_export_counts_only_when_it_is_made(client, settings, supervisor, case):
    settings.AMPARO_RATELIMIT_EXPORTS = "1/3600"
    client.force_login(supervisor)
    url = reverse("package_send", args=[case.pk])

    forms = [client.get(url).status_code for _ in range(3)]  # the form: no export yet
    first = client.post(url, {}).status_code
    second = client.post(url, {}).status_code

    assert 429 not in forms and first != 429
    assert second == 429
    assert _exceeded()[0].details["kind"] == "exports"


def test_pages_outside_the_budgets_and_anonymous_visitors_are_not_counted(client, settings,
                                                                          caseworker, case):
    settings.AMPARO_RATELIMIT_VIEWS = "1/600"
    url = reverse("case_detail", args=[case.pk])
    anonymous = [client.get(url).status_code for _ in range(3)]
    client.force_login(caseworker)

    dashboards = [client.get(reverse("dashboard")).status_code for _ in range(3)]

    assert anonymous == [302, 302, 302]
    assert dashboards == [200, 200, 200]
    assert _open_case_page(client, case, 2) == [200, 429]


@pytest.mark.parametrize("value", ["300", "0/600", "ten/600", "300/0"])
def test_a_budget_that_does_not_read_as_limit_per_seconds_is_a_configuration_error(settings,
                                                                                  value):
    settings.AMPARO_RATELIMIT_EXPORTS = value

    with pytest.raises(ImproperlyConfigured, match="AMPARO_RATELIMIT_EXPORTS"):
        ratelimits.budget(ratelimits.EXPORTS)
    assert [e.id for e in checks.check_rate_limits(None)] == ["amparo.E060"]


def test_the_counters_live_in_the_ratelimits_cache(settings, caseworker):
    settings.AMPARO_RATELIMIT_VIEWS = "5/600"

    ratelimits.count(caseworker.pk, ratelimits.VIEWS)
    caches["ratelimits"].clear()

    assert ratelimits.count(caseworker.pk, ratelimits.VIEWS).number == 1


def test_counters_in_each_workers_memory_are_a_deployment_warning(settings):
    assert [w.id for w in checks.check_rate_limit_cache(None)] == ["amparo.W060"]

    settings.CACHES = {**settings.CACHES, "ratelimits": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/2"}}

    assert checks.check_rate_limit_cache(None) == []


def test_counters_out_of_reach_leave_the_page_served_and_say_so(client, settings, caseworker,
                                                                case, caplog):
    settings.AMPARO_RATELIMIT_VIEWS = "1/600"
    settings.CACHES = {**settings.CACHES, "ratelimits": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0"}}
    client.force_login(caseworker)

    assert _open_case_page(client, case, 2) == [200, 200]
    assert "rate-limit counters unavailable; case_detail not counted" in caplog.text
    assert AuditEvent.objects.filter(action="case.view").count() == 2


def test_every_counted_page_is_a_page_of_the_application():
    from django.urls import get_resolver

    resolver = get_resolver()
    names = {name for name in resolver.reverse_dict if isinstance(name, str)}
    for namespace, (_prefix, sub) in resolver.namespace_dict.items():
        names |= {f"{namespace}:{name}" for name in sub.reverse_dict if isinstance(name, str)}

    assert sorted(set(ratelimits.PAGES) - names) == []
