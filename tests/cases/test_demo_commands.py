"""The demo commands load logins whose password is in the source: they refuse to run under the
production settings, and only the settings' AMPARO_DEMO_COMMANDS lets them run at all."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError

from cases.management.demo_command import DemoCommand
from cases.models import Membership, Office, Person, User
from tests.cases.test_settings import manage, prod_env  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[2]
DEMO_COMMANDS = ["seed_demo", "seed_asylum_demo", "seed_tip_demo", "seed_biometrics_demo"]


def _is_demo(name: str) -> bool:
    return name.startswith("seed_") or "demo" in name


def test_every_seed_or_demo_command_is_a_demo_command():
    found = {name: app for name, app in get_commands().items() if _is_demo(name)}

    assert set(DEMO_COMMANDS) <= set(found)
    for name, app in found.items():
        assert isinstance(load_command_class(app, name), DemoCommand), (
            f"{app}'s {name} loads demo data but does not derive from DemoCommand")


@pytest.mark.django_db
@pytest.mark.parametrize("command", DEMO_COMMANDS)
def test_a_demo_command_refuses_when_the_settings_do_not_allow_it(command, settings):
    settings.AMPARO_DEMO_COMMANDS = False

    with pytest.raises(CommandError, match="do not allow demo commands"):
        call_command(command)

    assert not User.objects.exists()
    assert not Office.objects.exists()


@pytest.mark.django_db
def test_the_test_settings_allow_the_demo():
    call_command("seed_demo", people=4, stdout=StringIO())

    assert Person.objects.count() == 4
    assert Membership.objects.filter(user__username="sysadmin").exists()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_production_refuses_every_demo_command_and_writes_nothing(prod_env):  # noqa: F811
    # A production database, migrated, with no one in it (given time: every migration runs).
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--settings=settings.prod"],
        cwd=ROOT, env=prod_env, capture_output=True, text=True, timeout=900, check=False)
    assert migrated.returncode == 0, migrated.stderr
    database = Path(prod_env["DATABASE_URL"].removeprefix("sqlite:///"))
    before = _digest(database)

    for command in DEMO_COMMANDS:
        result = manage(prod_env, command)

        assert result.returncode != 0, f"{command} ran under settings.prod: {result.stdout}"
        # In the production default language, English or Spanish.
        assert f"CommandError: {command} " in result.stderr
        assert "settings.dev" in result.stderr
        assert "settings.prod" in result.stderr
        assert "Added" not in result.stdout and "amparo-demo-only" not in result.stdout

    assert _digest(database) == before
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM cases_user").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM cases_office").fetchone() == (0,)
    assert not (Path(prod_env["AMPARO_VAR_DIR"]) / "demo").exists()
