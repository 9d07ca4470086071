"""Production settings: `check --deploy` passes when configured, and refuses to start when not."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from audit import signing
from cases.crypto import keyring

BASE_DIR = Path(__file__).resolve().parents[2]
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")


@pytest.fixture
def prod_env(tmp_path) -> dict[str, str]:
    key_file = tmp_path / "keys" / "amparo-keys.json"
    keyring.write_key_file(key_file, keyring.new_key_file_data())
    audit_key = tmp_path / "audit-signing.pem"
    signing.create_key(audit_key)
    breached = tmp_path / "pwned-passwords.txt"  # one generated hash, in the published format
    breached.write_text(f"{secrets.token_hex(20).upper()}:3\r\n")
    env = {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}
    env.update({
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "amparo.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "AMPARO_KEY_FILE": str(key_file),
        "AMPARO_VAR_DIR": str(tmp_path / "var"),
        "AMPARO_FILE_ROOT": str(tmp_path / "files"),
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",  # only read, never connected to
        "AMPARO_RATELIMIT_CACHE_URL": "redis://127.0.0.1:6379/2",  # the same
        "AMPARO_AUDIT_KEY_FILE": str(audit_key),
        "AMPARO_BREACHED_PASSWORDS_FILE": str(breached),
    })
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args, "--settings=settings.prod"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def run_under_production(env: dict[str, str], script: str) -> subprocess.CompletedProcess[str]:
    """A Python script in a process of its own under `settings.prod`."""
    return subprocess.run([sys.executable, "-c", script], cwd=BASE_DIR,
                          env={**env, "DJANGO_SETTINGS_MODULE": "settings.prod"},
                          capture_output=True, text=True, timeout=300, check=False)


def test_check_deploy_passes_with_production_variables(prod_env):
    result = manage(prod_env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_check_deploy_warns_without_a_breached_password_list(prod_env):
    del prod_env["AMPARO_BREACHED_PASSWORDS_FILE"]

    result = manage(prod_env, "check", "--deploy")

    assert "amparo.W063" in result.stdout + result.stderr


def test_production_refuses_to_start_with_a_list_it_cannot_read(prod_env, tmp_path):
    prod_env["AMPARO_BREACHED_PASSWORDS_FILE"] = str(tmp_path / "not-there.txt")

    result = manage(prod_env, "check")

    assert result.returncode != 0
    assert "amparo.E063" in result.stdout + result.stderr


@pytest.mark.parametrize("variable", ["DJANGO_SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"])
def test_production_refuses_to_start_without(prod_env, variable):
    del prod_env[variable]

    result = manage(prod_env, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Set {variable}" in result.stderr


def test_production_refuses_a_short_secret_key(prod_env):
    prod_env["DJANGO_SECRET_KEY"] = "short"

    result = manage(prod_env, "check", "--deploy")

    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY to 50 or more random characters" in result.stderr


def test_check_deploy_names_a_missing_key_file(prod_env, tmp_path):
    prod_env["AMPARO_KEY_FILE"] = str(tmp_path / "missing" / "keys.json")

    result = manage(prod_env, "check", "--deploy")

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "amparo.E001" in output
    assert "AMPARO_KEY_FILE" in output
    assert not (tmp_path / "missing" / "keys.json").exists()


def test_check_deploy_warns_without_a_broker(prod_env):
    del prod_env["CELERY_BROKER_URL"]

    result = manage(prod_env, "check", "--deploy")

    assert "amparo.W001" in result.stdout + result.stderr
    assert "CELERY_BROKER_URL" in result.stdout + result.stderr


def test_production_answers_health_probes_over_plain_http_and_redirects_the_rest(prod_env):
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client(HTTP_HOST='amparo.example.org')\n"
        "print(c.get('/health/live/').status_code, c.get('/login/').status_code)\n"
    )
    result = run_under_production(prod_env, script)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "301"]


def test_postgresql_connections_run_without_jit(postgres):
    # JIT compiled the search's plans on every call: 15-35 ms on top of a 7 ms statement.
    with postgres.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def test_postgresql_prepares_the_statements_a_connection_runs_again(postgres):
    """Server-side binding: the second run of a statement prepares it, so its plan is kept for
    the connection instead of being made on every request (docs/architecture.md#speed)."""
    from cases.models import Office

    shape = 'FROM "cases_office" WHERE ("cases_office"."city" = $1'
    for _ in range(3):
        list(Office.objects.filter(code="PREPARED", city="Nowhere").values_list("appeal_body"))
    with postgres.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall() if shape in row[0]]
    assert prepared, "the repeated statement was not prepared"
    assert "PREPARED" not in prepared[0]  # the values are sent apart


def test_prepared_statements_can_be_turned_off_for_a_pooler():
    script = ("import django; django.setup()\n"
              "from django.conf import settings\n"
              "o = settings.DATABASES['default']['OPTIONS']\n"
              "print(o.get('server_side_binding'), o.get('prepare_threshold'))\n")
    env = {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}
    env.update(DJANGO_SETTINGS_MODULE="settings.test",
               DATABASE_URL="postgres://app@db.invalid:5432/amparo")
    seen = {}
    for value in ("1", "0"):
        result = subprocess.run([sys.executable, "-c", script], cwd=BASE_DIR, capture_output=True,
                                text=True, env={**env, "AMPARO_DB_PREPARE": value}, timeout=120)
        assert result.returncode == 0, result.stderr
        seen[value] = result.stdout.split()
    assert seen == {"1": ["True", "2"], "0": ["None", "None"]}


def test_production_cookies_are_host_prefixed_secure_and_out_of_scripts_reach(prod_env):
    """`__Host-` cookies (Secure, Path=/, no Domain: no other host or plain HTTP sets or reads
    them), and neither the session nor the CSRF cookie readable by a script."""
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "settings.STORAGES = {**settings.STORAGES, 'staticfiles': {\n"  # no collectstatic here
        "    'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}}\n"
        "from django.test import Client\n"
        "c = Client(HTTP_HOST='amparo.example.org')\n"
        "r = c.get('/login/', secure=True)\n"
        "assert r.status_code == 200, r.status_code\n"
        "r = c.post('/i18n/setlang/', {'language': 'es'}, secure=True,\n"
        "           HTTP_REFERER='https://amparo.example.org/login/')\n"
        "print(settings.SESSION_COOKIE_NAME, settings.SESSION_COOKIE_SECURE,\n"
        "      settings.SESSION_COOKIE_HTTPONLY, settings.SESSION_COOKIE_PATH,\n"
        "      settings.SESSION_COOKIE_DOMAIN or '-')\n"  # set at login, like the others
        "for m in c.cookies.values():\n"
        "    print(m.key, m['secure'] or '-', m['httponly'] or '-', m['path'] or '-',\n"
        "          m['domain'] or '-')\n"
    )
    result = run_under_production(prod_env, script)

    assert result.returncode == 0, result.stderr
    cookies = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert set(cookies) == {"__Host-amparo_session", "__Host-amparo_csrf",
                            "__Host-amparo_language"}, result.stdout
    for name, (secure, httponly, path, domain) in cookies.items():
        assert name.startswith("__Host-"), name
        assert (secure, httponly, path, domain) == ("True", "True", "/", "-"), name
