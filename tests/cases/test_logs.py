"""The application log is JSON lines (cases/logs.py): a crafted URL with an encoded line break
and a fake log line stays inside one escaped line."""

from __future__ import annotations

import datetime
import io
import json
import logging

import pytest

from cases.logs import JsonFormatter

FORGED = '{"time": "2026-01-01T00:00:00+00:00", "level": "CRITICAL", "message": "forged"}'


@pytest.fixture
def log_lines():
    """What the configured console handler's formatter writes, one string per line."""
    [console] = [h for h in logging.getLogger().handlers if getattr(h, "name", "") == "console"]
    assert isinstance(console.formatter, JsonFormatter)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(console.formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: stream.getvalue().splitlines()
    root.removeHandler(handler)


def test_a_path_with_a_line_break_and_a_fake_line_stays_one_escaped_line(client, caseworker,
                                                                         log_lines):
    client.force_login(caseworker)

    response = client.get("/cases/x%0d%0a" + FORGED.replace(" ", "%20") + "/")

    assert response.status_code == 404
    lines = log_lines()
    assert len(lines) == 1
    [entry] = [json.loads(line) for line in lines]
    assert entry["level"] == "WARNING" and entry["logger"] == "django.request"
    assert entry["path"] == "/cases/x\r\n" + FORGED + "/"
    assert entry["user_id"] == caseworker.pk and entry["status"] == 404
    assert "\r" not in lines[0] and "CRITICAL" not in [json.loads(line)["level"] for line in lines]
    assert datetime.datetime.fromisoformat(entry["time"]).utcoffset() == datetime.timedelta(0)


def test_a_message_with_control_characters_and_an_exception_is_one_line():
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        import sys

        record = logging.LogRecord("amparo.test", logging.ERROR, __file__, 1,
                                   "integrity check failed on %s", ("/a\r\n\x1b[31mb",),
                                   sys.exc_info())

    line = JsonFormatter().format(record)

    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    entry = json.loads(line)
    assert entry["message"] == "integrity check failed on /a\r\n\x1b[31mb"
    assert "ValueError: bad\nvalue" in entry["exception"]
    assert "user_id" not in entry and "path" not in entry
