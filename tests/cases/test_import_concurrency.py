"""An import and the office's daily work at the same moment, on real PostgreSQL connections:
people are registered and cases opened while an import is half-way through a chunk; two
imports of one file create each person once; an import whose process is killed resumes
where its last saved chunk ended (docs/architecture.md#imports)."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from cases import importing, services
from cases.crypto.datakeys import key_scope
from cases.models import Case, ImportJob, ImportStatus, Person, ReferenceCounter
from tests.cases.importdata import people_rows, to_csv
from tests.races import _wait_until_blocked, connect

pytestmark = pytest.mark.postgres


def _start(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run `call` in a thread with its own database connection, as a request or task would."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            with key_scope():
                out["result"] = call()
        except BaseException as exc:  # handed back to the test
            out["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def _queued(by, office, data: bytes, monkeypatch) -> ImportJob:
    monkeypatch.setattr(importing, "_dispatch", lambda job_id: None)
    return importing.queue_import(by=by, office=office, data=data, filename="people.csv")


class Pause:
    """Holds the importing run inside its chunk's transaction, after its n-th case."""

    def __init__(self, monkeypatch, importer, after: int) -> None:
        self.reached, self.go_on = threading.Event(), threading.Event()
        real, calls = services.open_case, []

        def open_case(**kwargs: Any) -> Case:
            case = real(**kwargs)
            if kwargs["by"] == importer and not self.go_on.is_set():
                calls.append(case)
                if len(calls) == after:
                    self.reached.set()
                    assert self.go_on.wait(60), "the test never let the import go on"
            return case

        monkeypatch.setattr(services, "open_case", open_case)


def test_people_are_registered_and_cases_opened_while_an_import_writes(
        postgres, supervisor, caseworker, office, person_data, settings, monkeypatch):
    settings.AMPARO_IMPORT_CHUNK_ROWS = 5
    rows = people_rows(10)
    job = _queued(supervisor, office, to_csv(rows), monkeypatch)
    pause = Pause(monkeypatch, supervisor, after=3)
    importer, imported = _start(lambda: importing.run_import_job(job_id=job.pk))
    assert pause.reached.wait(60), imported

    # The import is half-way through its first chunk: three people written, not committed.
    watcher = connect(autocommit=True)
    try:
        # Neither the office's row nor its reference counter is locked across rows.
        watcher.execute("BEGIN")
        watcher.execute("SELECT id FROM cases_office WHERE id = %s FOR NO KEY UPDATE NOWAIT",
                        [office.pk])
        watcher.execute("SELECT last FROM cases_referencecounter WHERE office_id = %s "
                        "FOR UPDATE NOWAIT", [office.pk])
        watcher.execute("ROLLBACK")
    except psycopg.errors.LockNotAvailable as exc:
        pause.go_on.set()
        pytest.fail(f"the import holds a lock the office needs: {exc}")
    finally:
        watcher.close()

    def register_and_open() -> Case:
        person = services.register_person(by=caseworker, office=office,
                                          data=person_data(given_names="Walk-in"))
        return services.open_case(by=caseworker, person=person, kind="asylum")

    desk, registered = _start(register_and_open)
    desk.join(timeout=30)
    still_midway = importer.is_alive() and not pause.go_on.is_set()
    pause.go_on.set()  # whatever happened, let the import finish
    importer.join(timeout=60)
    assert not desk.is_alive(), "the registration waited for the import"
    assert still_midway
    assert isinstance(registered.get("result"), Case), registered
    assert isinstance(imported.get("result"), ImportJob), imported

    job.refresh_from_db()
    assert (job.status, job.created) == (ImportStatus.DONE, 10)
    assert Person.objects.filter(office=office).count() == 11
    year = timezone.localdate().year
    # The first chunk's numbers were drawn before it began writing: the walk-in took the next.
    assert registered["result"].reference == f"{office.code}-{year}-000006"
    references = sorted(Case.objects.filter(office=office).values_list("reference", flat=True))
    assert references == [f"{office.code}-{year}-{n:06d}" for n in range(1, 12)]


def test_two_imports_of_one_file_at_once_create_each_person_once(
        postgres, supervisor, office, settings, monkeypatch):
    settings.AMPARO_IMPORT_CHUNK_ROWS = 5
    data = to_csv(people_rows(10))
    first = _queued(supervisor, office, data, monkeypatch)
    second = _queued(supervisor, office, data, monkeypatch)
    pause = Pause(monkeypatch, supervisor, after=3)
    one, one_out = _start(lambda: importing.run_import_job(job_id=first.pk))
    assert pause.reached.wait(60), one_out
    two, two_out = _start(lambda: importing.run_import_job(job_id=second.pk))
    watcher = connect(autocommit=True)
    try:
        _wait_until_blocked(watcher, 1)  # the second waits at the people the first is writing
    finally:
        pause.go_on.set()
        watcher.close()
    one.join(timeout=60)
    two.join(timeout=60)
    assert isinstance(one_out.get("result"), ImportJob), one_out
    assert isinstance(two_out.get("result"), ImportJob), two_out

    jobs = list(ImportJob.objects.order_by("created_at"))
    assert {j.status for j in jobs} == {ImportStatus.DONE}
    assert sum(j.created for j in jobs) == 10 and sum(j.skipped for j in jobs) == 10
    assert Person.objects.count() == Case.objects.count() == 10
    assert len(set(Person.objects.values_list("fingerprint", flat=True))) == 10


@pytest.fixture
def worker_env(postgres):
    """The environment of a separate process on this test database."""
    db = connection.settings_dict
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "settings.test",
        "DATABASE_URL": "postgres://{user}@{host}:{port}/{name}".format(
            user=db["USER"], host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432,
            name=db["NAME"]),
        "AMPARO_IMPORT_CHUNK_ROWS": "2",
    })
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


# Runs the job in its own process and stops for good after the fifth case (inside the third
# chunk's transaction), saying so in the marker file.
KILLED_WORKER = """
import sys, time
import django
django.setup()
from cases import importing, services
from cases.crypto.datakeys import key_scope
real, calls = services.open_case, []
def open_case(**kwargs):
    case = real(**kwargs)
    calls.append(case)
    if len(calls) == 5:
        open(sys.argv[2], "w").write("half-way")
        time.sleep(600)
    return case
services.open_case = open_case
with key_scope():
    importing.run_import_job(job_id=sys.argv[1])
"""


def test_an_import_whose_process_is_killed_resumes_where_it_stopped(
        postgres, client, supervisor, office, worker_env, tmp_path, monkeypatch):
    supervisor.preferred_language = "en"
    supervisor.save()
    rows = people_rows(8)
    job = _queued(supervisor, office, to_csv(rows), monkeypatch)
    marker = tmp_path / "half-way"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, str(job.pk), str(marker)],
                            cwd=django_settings.BASE_DIR, env=worker_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail("the worker exited:\n" + proc.stdout.read())
            assert time.monotonic() < deadline, "the worker never got half-way"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    # Its server process notices the closed connection and rolls the open chunk back.
    watcher = connect(autocommit=True)
    try:
        deadline = time.monotonic() + 30
        while watcher.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                              ).fetchone()[0]:
            assert time.monotonic() < deadline, "the killed worker's transaction stayed open"
            time.sleep(0.05)
    finally:
        watcher.close()
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created, job.attempts) == (
        ImportStatus.IMPORTING, 4, 4, 1)
    assert Person.objects.count() == 4
    assert not job.is_interrupted  # not yet: its lease has not run out
    assert importing.run_import_job(job_id=job.pk) is None

    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - datetime.timedelta(hours=1))
    client.force_login(supervisor)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "4 of 8 rows were saved; resuming carries on after them" in page

    with key_scope():
        resumed = importing.run_import_job(job_id=job.pk)
    assert (resumed.status, resumed.created, resumed.skipped, resumed.attempts) == (
        ImportStatus.DONE, 8, 0, 2)
    assert Person.objects.count() == Case.objects.count() == 8
    assert {p.given_names for p in Person.objects.all()} == {r["given_names"] for r in rows}
    year = timezone.localdate().year
    assert sorted(Case.objects.values_list("reference", flat=True)) == [
        f"{office.code}-{year}-{n:06d}" for n in range(1, 9)]
    assert ReferenceCounter.objects.get(office=office).last == 8
    assert resumed.storage_name == ""
