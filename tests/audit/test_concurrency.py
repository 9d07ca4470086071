"""Several processes writing events at once on PostgreSQL leave one unbroken chain that
holds every event exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.db import connection

from audit import chain, verify
from audit.models import AuditEvent, ChainLink

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
EVENTS_EACH = 200

# Each writer waits for the start file, then writes its events, one transaction each: the
# event is inserted, and linked right after its commit, as in a request.
WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import django
    django.setup()
    from django.conf import settings
    from django.db import transaction
    from cases import events
    events.declare({"test.concurrent": "concurrent test event"})
    name, count, key, sink, go = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]
    settings.AMPARO_AUDIT_KEY_FILE, settings.AMPARO_AUDIT_SINK = Path(key), Path(sink)
    Path(go).with_name(f"ready-{name}").touch()
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        if time.monotonic() > deadline:
            sys.exit("never started")
        time.sleep(0.005)
    for i in range(count):
        with transaction.atomic():
            events.emit("test.concurrent", object_type="test.writer", object_id=f"{name}-{i}")
""")


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return (f"postgres://{s.get('USER') or 'postgres'}{password}@{s.get('HOST') or '127.0.0.1'}:"
            f"{s.get('PORT') or 5432}/{s['NAME']}")


def test_concurrent_writers_leave_one_unbroken_chain(postgres, audit_files, tmp_path):
    # Given several writer processes on the test database, all waiting for the same signal
    go = tmp_path / "go"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test",
           "DATABASE_URL": _database_url()}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, f"w{n}", str(EVENTS_EACH), str(audit_files.key),
             str(audit_files.sink), str(go)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(PROCESSES)
    ]
    # When they all start writing at the same moment
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < PROCESSES:
        assert time.monotonic() < deadline, "the writers never got ready"
        assert all(w.poll() is None for w in writers), "a writer stopped early"
        time.sleep(0.02)
    go.touch()
    for writer in writers:
        _out, err = writer.communicate(timeout=180)
        assert writer.returncode == 0, err[-2000:]
    # Then each writer linked its own events right after they committed: nothing is left
    assert chain.link_pending() == 0

    # And every event was written once and sits in exactly one link
    expected = {f"w{n}-{i}" for n in range(PROCESSES) for i in range(EVENTS_EACH)}
    written = list(AuditEvent.objects.filter(action="test.concurrent").values_list(
        "object_id", flat=True))
    assert len(written) == len(expected)
    assert set(written) == expected
    total = AuditEvent.objects.count()
    links = list(ChainLink.objects.order_by("position").values_list("position", "event_id"))
    assert [p for p, _ in links] == list(range(1, total + 1))
    assert len({e for _, e in links}) == total
    # And each writer's events are in the chain in the order that writer wrote them
    order = dict(ChainLink.objects.values_list("event__object_id", "position"))
    for n in range(PROCESSES):
        positions = [order[f"w{n}-{i}"] for i in range(EVENTS_EACH)]
        assert positions == sorted(positions)
    # And the writers really ran at the same time: their events are interleaved
    spans = [(min(order[f"w{n}-{i}"] for i in range(EVENTS_EACH)),
              max(order[f"w{n}-{i}"] for i in range(EVENTS_EACH))) for n in range(PROCESSES)]
    assert any(a[0] < b[1] and b[0] < a[1] for a in spans for b in spans if a != b)
    # And the chain verifies from the genesis to the head
    report = verify.verify()
    assert report.ok, report.failure
    assert report.links == total
    # And the writers, taking turns on the witness, left its newest head at the chain's head,
    # every line after the one before it
    positions = [line["position"] for line in audit_files.head_lines()]
    assert positions == sorted(set(positions))
    assert report.witness_head.position == positions[-1] == total
    assert report.witnessed == len(positions) > PROCESSES
