"""The fingerprint searches' retention rule (biometrics/retention.py): a search's trail (who
searched, who came out) is deleted a period after the search ended, never while it waits for
the worker, and only once an administrator turns the seeded rule on."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from biometrics import services
from biometrics.models import FingerprintSearch, SearchStatus
from cases import retention
from cases.crypto import datakeys
from cases.models import RetentionRule
from tests.biometrics.prints import impression

pytestmark = pytest.mark.usefixtures("file_root", "default_rules")

TODAY = datetime.date(2026, 6, 15)


def _search(by, *, ended: datetime.date | None, created: datetime.date) -> FingerprintSearch:
    """A search asked on `created`; run and ended on `ended`, or still waiting (None)."""
    queued = services.queue_search(by=by, images={1: impression(11, 2)})  # no broker: waits
    if ended is not None:
        assert services.run_search(queued.pk).status == SearchStatus.DONE
    noon = datetime.time(12)
    FingerprintSearch.objects.filter(pk=queued.pk).update(
        created_at=timezone.make_aware(datetime.datetime.combine(created, noon)),
        finished_at=ended and timezone.make_aware(datetime.datetime.combine(ended, noon)))
    return queued


def _only_searches() -> RetentionRule:
    RetentionRule.objects.exclude(record_type="biometrics.search").update(enabled=False)
    return RetentionRule.objects.get(record_type="biometrics.search", office=None)


def _report(run) -> dict:
    [found] = [r for r in run.report["rules"] if r["record_type"] == "biometrics.search"]
    return found


def test_the_seeded_rule_reports_a_year_old_search_and_deletes_nothing(caseworker):
    rule = _only_searches()
    assert (rule.years, rule.months, rule.days, rule.action, rule.destructive) == (
        1, 0, 0, "delete", False)
    old = _search(caseworker, created=datetime.date(2025, 6, 1), ended=datetime.date(2025, 6, 1))

    run = retention.run(today=TODAY)

    assert _report(run)["due"] == 1 and _report(run)["deleted"] == 0
    assert FingerprintSearch.objects.filter(pk=old.pk).exists()


def test_an_acting_rule_deletes_ended_searches_and_leaves_waiting_and_recent_ones(
        client, caseworker):
    RetentionRule.objects.filter(pk=_only_searches().pk).update(destructive=True)
    long_ago = datetime.date(2025, 6, 15)  # the last day of the period: due
    old = _search(caseworker, created=long_ago, ended=long_ago)
    recent = _search(caseworker, created=long_ago, ended=datetime.date(2025, 6, 16))
    waiting = _search(caseworker, created=long_ago, ended=None)

    run = retention.run(today=TODAY)

    assert _report(run)["deleted"] == 1 and run.failed == 0
    assert set(FingerprintSearch.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}
    assert datakeys.key_for_subject(waiting.pk)  # the worker can still read its probe
    client.force_login(caseworker)
    gone = client.get(reverse("biometrics:search_result", args=[old.pk]))
    assert gone.status_code == 404
    assert retention.run(today=TODAY).done == 0  # nothing left to do


def test_an_office_rule_for_searches_is_not_applied(caseworker, office):
    _only_searches()
    RetentionRule.objects.create(record_type="biometrics.search", office=office, days=1,
                                 action="delete", destructive=True)
    old = _search(caseworker, created=datetime.date(2025, 1, 1), ended=datetime.date(2025, 1, 1))

    retention.run(today=TODAY)

    assert FingerprintSearch.objects.filter(pk=old.pk).exists()
