"""Shared fixtures: two offices in two countries and staff of every role in each."""

from __future__ import annotations

import datetime
import importlib
import itertools
import os
import time

import pytest
from django.conf import settings
from django.db import connection
from django.utils import translation

from cases import models, services
from cases.crypto.datakeys import key_scope
from cases.models import Office, Role, User

_seq = itertools.count(1)


def pytest_runtest_teardown(item, nextitem):
    """Past AMPARO_TEST_DEADLINE (seconds since the epoch; .ci/run sets it) the run stops
    after this test and reports what ran, instead of being cut off without a report."""
    deadline = os.environ.get("AMPARO_TEST_DEADLINE")
    if deadline and nextitem is not None and time.time() > float(deadline):
        item.session.shouldstop = "the suite's time limit (AMPARO_TEST_DEADLINE) was reached"


@pytest.fixture(scope="session", autouse=True)
def _flush_by_delete():
    """On PostgreSQL, the tables are emptied after a transactional test with DELETE, and only
    the append-only tables (whose triggers refuse DELETE) with TRUNCATE: Django's TRUNCATE of
    every table took a second per test, the DELETEs a few milliseconds. Every foreign key is
    deferred to the commit, so the order of the DELETEs does not matter."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return original(self, style, tables, reset_sequences=reset_sequences,
                            allow_cascade=allow_cascade)
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
                           "WHERE NOT tgisinternal")
            guarded = {row[0] for row in cursor.fetchall()} & set(tables)
        quote = self.quote_name
        sql = [f"TRUNCATE {', '.join(quote(t) for t in sorted(guarded))} CASCADE;"] if guarded else []
        return sql + [f"DELETE FROM {quote(t)};" for t in tables if t not in guarded]  # noqa: S608

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(pytest.mark.django_db(transaction=True))
        # What these test is the same on both engines (pages in a browser, an attacker's
        # requests to a server whose statements serve both engines): CI runs them once.
        if "browser" in item.keywords or "attack" in item.keywords:
            item.add_marker(pytest.mark.ci_sqlite)


@pytest.fixture(autouse=True)
def _keys():
    with key_scope():
        yield


@pytest.fixture(autouse=True)
def _language():
    """Each test starts in the default language, whatever the test before it switched to."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def _rate_limit_counters():
    """Each test counts its requests from zero (user ids come back after a rollback)."""
    from django.core.cache import caches

    caches["ratelimits"].clear()
    yield


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://... (as .ci/run does)")
    return connection


@pytest.fixture
def use_workflow():
    """Register procedures for one test; the registry is as it was afterwards."""
    from cases import workflow

    replaced = []

    def use(wf):
        replaced.append((wf.name, workflow.get(wf.name)))
        return workflow.register(wf)

    yield use
    for name, previous in reversed(replaced):
        if previous is None:
            workflow.unregister(name)
        else:
            workflow.register(previous)


@pytest.fixture
def office(db) -> Office:
    return Office.objects.create(code="BZ-BMP", name="Refugees Department", country="BZ",
                                 city="Belmopan")


@pytest.fixture
def other_office(db) -> Office:
    return Office.objects.create(code="CR-SJO", name="Refugee Unit", country="CR",
                                 city="San José")


@pytest.fixture
def make_user(db):
    def make(role: str | None = None, office: Office | None = None, **extra) -> User:
        n = next(_seq)
        user = User.objects.create_user(
            username=extra.pop("username", f"user{n}"), password="pw-for-tests-only",
            first_name=extra.pop("first_name", "Staff"), last_name=f"Member {n}", **extra,
        )
        if role and office:
            services.grant_membership(by=None, user=user, office=office, role=role)
        return user

    return make


@pytest.fixture
def caseworker(make_user, office) -> User:
    return make_user(Role.CASEWORKER, office)


@pytest.fixture
def caseworker2(make_user, office) -> User:
    return make_user(Role.CASEWORKER, office)


@pytest.fixture
def supervisor(make_user, office) -> User:
    return make_user(Role.SUPERVISOR, office)


@pytest.fixture
def auditor(make_user, office) -> User:
    return make_user(Role.AUDITOR, office)


@pytest.fixture
def analyst(make_user, office) -> User:
    return make_user(Role.ANALYST, office)


@pytest.fixture
def office_admin(make_user, office) -> User:
    return make_user(Role.OFFICE_ADMIN, office)


@pytest.fixture
def system_admin(make_user, office) -> User:
    return make_user(Role.SYSTEM_ADMIN, office)


@pytest.fixture
def other_caseworker(make_user, other_office) -> User:
    return make_user(Role.CASEWORKER, other_office)


@pytest.fixture
def other_supervisor(make_user, other_office) -> User:
    return make_user(Role.SUPERVISOR, other_office)


@pytest.fixture
def person_data():
    def make(**overrides) -> services.PersonData:
        values = dict(
            given_names="María José", family_names="Núñez Pérez", sex="female",
            date_of_birth=datetime.date(1990, 5, 3), aliases=["Majo"],
            nationalities=["HN"], languages=["es"], phone="+5016101234",
            email="majo@example.org", address="Calle 5, Barrio Sur",
            specific_needs=["woman_at_risk"],
            documents=[services.IdentityDocumentData("passport", "A123456", "HN")],
        )
        values.update(overrides)
        return services.PersonData(**values)

    return make


@pytest.fixture
def person(caseworker, office, person_data):
    return services.register_person(by=caseworker, office=office, data=person_data())


@pytest.fixture
def case(caseworker, person):
    return services.open_case(by=caseworker, person=person, kind="asylum")


# Files, keys and uploads for the core suite (tests/cases/).

# A 1x1 PNG (whole: its chunks are walked when its metadata is removed) and a small PDF:
# the smallest uploads the type check accepts.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360606060000000050001a5f64540"
    "0000000049454e44ae426082"
)


def pdf_bytes(text: str) -> bytes:
    return (
        "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
        f"2 0 obj << /Length {len(text)} >> stream\n({text}) Tj\nendstream endobj\n%%EOF\n"
    ).encode()


@pytest.fixture
def file_root(settings, tmp_path):
    """Uploaded files go to a fresh directory for the test."""
    root = tmp_path / "files"
    root.mkdir()
    settings.AMPARO_FILE_ROOT = root
    return root


@pytest.fixture
def key_file(settings, tmp_path):
    """A copy of the test key file that a test may change (new KEKs, removed KEKs)."""
    import shutil

    from cases.crypto import keyring

    keyring.provider()  # make sure the test key file exists before copying it
    path = tmp_path / "keys" / "amparo-keys.json"
    path.parent.mkdir()
    shutil.copy(keyring.key_file_path(), path)
    keyring.reset()
    settings.AMPARO_KEY_FILE = path
    yield path
    keyring.reset()


@pytest.fixture
def default_rules(db):
    """The rules the migrations seed; a transactional test earlier in the run flushes them."""
    seeded = [*importlib.import_module("cases.migrations.0024_retention").DEFAULTS,
              *importlib.import_module("biometrics.migrations.0003_search_retention").DEFAULTS]
    for record_type, years, months, days, action in seeded:
        models.RetentionRule.objects.get_or_create(
            record_type=record_type, office=None,
            defaults={"years": years, "months": months, "days": days, "action": action,
                      "enabled": True, "destructive": False})


@pytest.fixture
def emails(settings):
    """The emails sent (Celery runs its tasks at once; the in-memory backend keeps them)."""
    from django.core import mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    mail.outbox.clear()
    return mail.outbox
