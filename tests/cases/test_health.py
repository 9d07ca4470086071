"""/health/ (readiness: one database query) and /health/live/ (the process answers)."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent


def test_ready_answers_anyone_from_one_query_and_records_nothing(client, db):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/health/")

    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert len(queries) == 1
    assert "no-cache" in response["Cache-Control"]
    assert not AuditEvent.objects.exists()


def test_live_needs_no_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live/")
    assert response.status_code == 200


def test_only_get_and_head(client, db):
    assert client.head("/health/").status_code == 200
    assert client.post("/health/").status_code == 405


SCRIPT = """
import django
django.setup()
from django.test import Client
c = Client()
print(c.get("/health/").status_code, c.get("/health/live/").status_code)
"""


def test_ready_says_503_when_the_database_does_not_answer():
    # A real server with its database unreachable (nothing listens on port 9).
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test",
           "DATABASE_URL": "postgres://nobody@127.0.0.1:9/amparo_none"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["503", "200"]
