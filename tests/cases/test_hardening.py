"""Served files run nothing, the language cookie is as safe as the session's, and the
development settings serve only this computer with their public key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from cases import services
from settings.runserver_guard import DEV_SECRET_KEY, public_runserver
from tests.cases.test_settings import manage, prod_env  # noqa: F401  (a fixture)
from tests.conftest import PNG_BYTES, pdf_bytes

BASE_DIR = Path(__file__).resolve().parents[2]
EVERYWHERE = "0.0.0.0"  # noqa: S104  (what the tests below expect to be refused)


# Served files


@pytest.fixture
def documents(file_root, caseworker, case):
    return {
        "pdf": services.add_document(by=caseworker, case=case, title="Pasaporte",
                                     filename="p.pdf", data=pdf_bytes("passport")),
        "png": services.add_document(by=caseworker, case=case, title="Foto", filename="f.png",
                                     data=PNG_BYTES),
    }


def _download(client, document, **params):
    return client.get(reverse("document_download", kwargs={
        "case_id": document.case_id, "document_id": document.pk}), params)


@pytest.mark.parametrize("kind", ["pdf", "png"])
@pytest.mark.parametrize("inline", [False, True])
def test_every_served_document_is_sandboxed_and_never_sniffed(client, caseworker, documents,
                                                              kind, inline):
    client.force_login(caseworker)

    response = _download(client, documents[kind], **({"inline": "1"} if inline else {}))

    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert policy.split(";")[0] == "sandbox" and "default-src 'none'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"


def test_a_pdf_is_always_downloaded_a_photo_may_be_shown(client, caseworker, documents):
    client.force_login(caseworker)

    assert _download(client, documents["pdf"], inline="1")["Content-Disposition"].startswith(
        "attachment;")
    assert _download(client, documents["png"], inline="1")["Content-Disposition"].startswith(
        "inline;")
    assert _download(client, documents["png"])["Content-Disposition"].startswith("attachment;")


# The language cookie


def test_the_language_cookie_set_at_login_is_http_only_and_same_site(client, caseworker):
    response = client.post(reverse("login"), {"username": caseworker.username,
                                              "password": "pw-for-tests-only"})

    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == caseworker.preferred_language
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP in tests and the demo; production sets it


def test_the_language_cookie_of_the_switcher_is_http_only_and_same_site(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})

    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_the_login_cookie_follows_the_secure_setting(client, caseworker, settings):
    settings.LANGUAGE_COOKIE_SECURE = True

    response = client.post(reverse("login"), {"username": caseworker.username,
                                              "password": "pw-for-tests-only"})

    assert response.cookies[settings.LANGUAGE_COOKIE_NAME]["secure"]


def test_production_sends_the_language_cookie_over_https_only(prod_env):  # noqa: F811
    result = manage(prod_env, "shell", "-c", "from django.conf import settings as s; print("
                    "s.LANGUAGE_COOKIE_SECURE, s.LANGUAGE_COOKIE_HTTPONLY, "
                    "s.LANGUAGE_COOKIE_SAMESITE, s.SESSION_COOKIE_SECURE)")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["True", "True", "Lax", "True"]


# runserver with the public development key


@pytest.mark.parametrize("args", [
    [], ["8000"], ["127.0.0.1:8000"], ["localhost:8000"], ["[::1]:8000"], ["-6"],
    ["--noreload", "127.0.0.2:9000"], ["--settings", "settings.dev", "8000"],
    ["--settings=settings.dev", "--noreload"],
])
def test_runserver_on_this_computer_is_allowed(args):
    assert public_runserver(["manage.py", "runserver", *args], DEV_SECRET_KEY) is None


@pytest.mark.parametrize(("args", "host"), [
    ([f"{EVERYWHERE}:8000"], EVERYWHERE), (["0:8000"], EVERYWHERE), (["[::]:8000"], "[::]"),
    (["192.168.1.20:8000"], "192.168.1.20"), (["amparo.example.org:8000"], "amparo.example.org"),
    (["--noreload", f"{EVERYWHERE}:8000"], EVERYWHERE), (["-v", "2", "0:80"], EVERYWHERE),
])
def test_runserver_reachable_from_elsewhere_is_refused(args, host):
    refusal = public_runserver(["manage.py", "runserver", *args], DEV_SECRET_KEY)

    assert refusal is not None
    assert f"on {host}:" in refusal and "public SECRET_KEY" in refusal


def test_a_private_key_or_another_command_is_not_refused():
    assert public_runserver(["manage.py", "runserver", "0.0.0.0:8000"], "a-private-key") is None
    assert public_runserver(["manage.py", "migrate", "0.0.0.0:8000"], DEV_SECRET_KEY) is None
    assert public_runserver(["manage.py"], DEV_SECRET_KEY) is None


def test_manage_py_refuses_before_serving(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SECRET_KEY", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["AMPARO_VAR_DIR"] = str(tmp_path)

    result = subprocess.run([sys.executable, "manage.py", "runserver", "--noreload", "0.0.0.0:0"],
                            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
                            check=False)

    assert result.returncode == 1
    assert "Refusing to run the development server on 0.0.0.0" in result.stderr
