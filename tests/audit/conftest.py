"""Audit tests: a fresh signing key and checkpoint sink per test, raw SQL for tampering."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from audit import signing
from cases import events

AUDIT_TABLES = ("audit_auditevent", "audit_chainlink", "audit_checkpoint")


@dataclass
class AuditFiles:
    key: Path
    sink: Path

    @property
    def checkpoints(self) -> Path:
        return self.sink / "checkpoints.jsonl"

    @property
    def heads(self) -> Path:
        return self.sink / "heads.log"

    def head_lines(self) -> list[dict]:
        if not self.heads.exists():
            return []
        return [json.loads(line) for line in self.heads.read_text().splitlines() if line]

    def lines(self) -> list[dict]:
        if not self.checkpoints.exists():
            return []
        return [json.loads(line) for line in self.checkpoints.read_text().splitlines() if line]

    def write_lines(self, lines: list[dict]) -> None:
        self.checkpoints.write_text("".join(json.dumps(line, sort_keys=True) + "\n"
                                            for line in lines))


@pytest.fixture(autouse=True)
def audit_files(settings, tmp_path) -> AuditFiles:
    """Each test signs with its own Ed25519 key (created on first use) into its own sink."""
    files = AuditFiles(key=tmp_path / "audit-key" / "signing.pem", sink=tmp_path / "audit-sink")
    settings.AMPARO_AUDIT_KEY_FILE = files.key
    settings.AMPARO_AUDIT_SINK = files.sink
    signing.private_key()  # create it now: subprocesses of the test use the same file
    return files


# Actions the chain tests write: plain events with no meaning of their own.
TEST_ACTIONS = {"test.touch": "test event", "test.concurrent": "concurrent test event"}


@pytest.fixture
def test_actions(monkeypatch) -> None:
    """The test actions, declared for the duration of one test only."""
    for name, label in TEST_ACTIONS.items():
        monkeypatch.setitem(events._actions, name, label)


@contextlib.contextmanager
def append_only_lifted() -> Iterator[None]:
    """On PostgreSQL, switch the append-only triggers off for the current transaction
    (what an attacker with the table owner's rights can do); nothing to do on SQLite."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cur:
        for table in AUDIT_TABLES:
            cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            for table in AUDIT_TABLES:
                cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def raw(sql: str, params: list | tuple = ()) -> int:
    """Run one statement past the ORM and the triggers; returns the row count."""
    with append_only_lifted(), connection.cursor() as cur:
        cur.execute(sql, list(params))
        return cur.rowcount
