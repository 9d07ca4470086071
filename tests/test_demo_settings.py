"""The quick-start demo (settings.dev) answers like production: styled error pages, static
files served, no debug page listing every URL."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    var = tmp_path_factory.mktemp("demo-var")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.dev", "AMPARO_VAR_DIR": str(var),
           "AMPARO_KEY_FILE": str(var / "keys.json")}
    env.pop("DATABASE_URL", None)
    env.pop("AMPARO_DEBUG", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in ("init_keys", "init_audit_key"):
        subprocess.run([*manage, command], env=env, check=True, capture_output=True)
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([*manage, "runserver", "--noreload", f"127.0.0.1:{port}"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/health/live/", timeout=1)  # noqa: S310 - http on loopback
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(10)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - http on loopback
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_a_missing_page_is_the_styled_404_not_the_debug_page(demo_server):
    status, body = _get(demo_server + "/no-such-page/")
    assert status == 404
    assert "URLconf" not in body and "Using the URLconf" not in body
    assert 'id="not-found"' in body and "Page not found at" not in body and 'href="/static/' in body


def test_static_files_are_served_without_debug(demo_server):
    status, _ = _get(demo_server + "/health/live/")
    assert status == 200
    _, page = _get(demo_server + "/login/")
    css = [part.split('"')[0] for part in page.split('href="')[1:] if part.split('"')[0].endswith(".css")]
    assert css, "the login page links no stylesheet"
    status, _ = _get(demo_server + css[0])
    assert status == 200


@pytest.mark.parametrize(("extra", "expected"), [
    ({}, "0"),  # no broker, no beat: checkpoints are signed by hand, their age not held against it
    ({"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}, "600"),  # the checkpoint period + 5 min
    ({"AMPARO_AUDIT_CHECKPOINT_MAX_AGE": "120"}, "120"),
])
def test_the_quick_start_holds_checkpoint_age_only_where_beat_signs_them(extra, expected):
    env = {k: v for k, v in os.environ.items()
           if k not in ("CELERY_BROKER_URL", "AMPARO_AUDIT_CHECKPOINT_MAX_AGE", "DATABASE_URL")}
    env.update(extra, DJANGO_SETTINGS_MODULE="settings.dev")
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; "
                               "print(settings.AMPARO_AUDIT_CHECKPOINT_MAX_AGE)"],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    assert out.stdout.strip() == expected
