"""The background linker: with a broker, requests write their events and the periodic task
`audit.link` chains them, so no request takes the chain's lock or commits twice."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.db import transaction

from audit import chain, tasks, verify
from audit.models import AuditEvent, ChainLink
from cases import events

pytestmark = [pytest.mark.usefixtures("test_actions")]


@pytest.fixture
def background(settings):
    settings.AMPARO_AUDIT_LINKER = "background"


@pytest.mark.django_db(transaction=True)
def test_in_background_mode_a_commit_links_nothing_and_the_task_links_everything(background):
    # Given events written by two transactions and one in autocommit
    for n in range(2):
        with transaction.atomic():
            events.emit("test.touch", object_type="test.thing", object_id=str(n))
            events.emit("test.touch", object_type="test.thing", object_id=f"{n}b")
    events.emit("test.touch", object_type="test.thing", object_id="last")
    # Then none of them is linked by the request that wrote it
    assert AuditEvent.objects.count() == 5
    assert ChainLink.objects.count() == 0

    # When the linker runs
    assert tasks.link_task() == 5
    # Then every event is in the chain, in the order written, and the chain verifies
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    assert list(ChainLink.objects.order_by("position").values_list("event_id", flat=True)) == ids
    assert verify.verify().ok
    # And a second run has nothing to do
    assert tasks.link_task() == 0


@pytest.mark.django_db(transaction=True)
def test_the_linker_drains_in_batches(background):
    for n in range(7):
        events.emit("test.touch", object_type="test.thing", object_id=str(n))

    assert chain.link_all(batch=3) == 7
    assert ChainLink.objects.order_by("-position").values_list("position", flat=True).first() == 7
    assert verify.verify().ok


@pytest.mark.django_db(transaction=True)
def test_inline_mode_links_at_commit(settings):
    settings.AMPARO_AUDIT_LINKER = "inline"
    with transaction.atomic():
        events.emit("test.touch", object_type="test.thing", object_id="1")
    assert ChainLink.objects.count() == 1


def test_the_beat_schedule_runs_the_linker_within_seconds(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["audit-link"]
    assert entry["task"] == "audit.link"
    assert entry["schedule"] <= 10


@pytest.mark.django_db
def test_an_unknown_linker_mode_is_refused_at_start_up(settings):
    settings.AMPARO_AUDIT_LINKER = "sometimes"
    assert "amparo.E102" in {m.id for m in run_checks()}
    settings.AMPARO_AUDIT_LINKER = "background"
    assert "amparo.E102" not in {m.id for m in run_checks()}
