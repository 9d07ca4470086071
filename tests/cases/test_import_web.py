"""Importing people from the web: upload, Celery task, progress page; per role and office."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import kombu.pools
import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cases import importing
from cases.crypto import files
from cases.models import Case, DataKey, ImportJob, ImportStatus, Person, Role
from cases.tasks import run_import_job_task
from tests.cases.importdata import people_rows, to_csv, to_xlsx

START = "/imports/"


@pytest.fixture
def upload_root(settings, tmp_path):
    settings.AMPARO_FILE_ROOT = tmp_path / "files"
    return settings.AMPARO_FILE_ROOT


@pytest.fixture
def boss(supervisor):
    supervisor.preferred_language = "en"
    supervisor.save()
    return supervisor


def _post(client, office, data: bytes, name: str = "intake.csv", **extra):
    return client.post(START, {"office": office.pk, "file": SimpleUploadedFile(name, data), **extra})


def _job_url(job) -> str:
    return reverse("import_job", kwargs={"job_id": job.pk})


def _sealed_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_urls():
    assert reverse("import_start") == START


# Anonymous and roles without imports


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client, office, boss):
    job = ImportJob.objects.create(office=office, created_by=boss)
    for url in (START, _job_url(job)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert client.post(START, {}).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.AUDITOR, Role.OFFICE_ADMIN,
                                  Role.SYSTEM_ADMIN])
def test_other_roles_get_403(client, make_user, office, boss, upload_root, role):
    user = make_user(role, office)
    client.force_login(user)
    job = ImportJob.objects.create(office=office, created_by=boss)
    assert client.get(START).status_code == 403
    assert _post(client, office, to_csv(people_rows(1))).status_code == 403
    assert client.get(_job_url(job)).status_code == 403
    assert ImportJob.objects.count() == 1
    assert Person.objects.count() == 0
    assert 'href="/imports/"' not in client.get("/").content.decode()


# Supervisors


@pytest.mark.django_db
def test_supervisor_sees_the_upload_page_and_nav_link(client, boss, office, other_office,
                                                      other_supervisor):
    client.force_login(boss)
    response = client.get(START)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert "given_names" in page and "case_kind" in page
    assert office.code in page and other_office.code not in page
    assert 'href="/imports/"' in client.get("/").content.decode()


@pytest.mark.django_db
def test_supervisor_imports_a_file_and_follows_its_progress(
    client, boss, office, upload_root, django_capture_on_commit_callbacks
):
    client.force_login(boss)
    rows = people_rows(5)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _post(client, office, to_xlsx(rows), name="intake.xlsx")
    # One import dispatched (the others link audit events into the chain).
    assert [c.__qualname__ for c in callbacks].count("queue_import.<locals>.<lambda>") == 1
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == _job_url(job)
    assert (job.status, job.total, job.processed, job.created, job.skipped, job.rejected) == (
        ImportStatus.DONE, 5, 5, 5, 0, 0)
    assert (job.office, job.created_by, job.file_extension) == (office, boss, "xlsx")
    assert job.started_at and job.finished_at
    assert Person.objects.count() == 5
    assert set(Case.objects.values_list("assigned_to", flat=True)) == {None}
    people = list(Person.objects.all())
    assert {(p.given_names, p.family_names) for p in people} == {
        (r["given_names"], r["family_names"]) for r in rows}
    assert {p.history.get().history_user for p in people} == {boss}
    # The sealed upload is gone and its key destroyed.
    assert job.storage_name == ""
    assert _sealed_files(upload_root) == []
    assert DataKey.objects.get(subject_id=job.pk).destroyed_at is not None

    page = client.get(_job_url(job)).content.decode()
    assert 'data-status="done"' in page
    assert 'id="import-created">5<' in page
    assert "hx-get" not in page and "http-equiv" not in page
    assert "unassigned queue" in page


@pytest.mark.django_db
def test_bad_rows_fail_the_job_and_are_listed_without_values(
    client, boss, office, upload_root, django_capture_on_commit_callbacks
):
    client.force_login(boss)
    rows = people_rows(3)
    rows[1]["date_of_birth"] = "03/05/1990"
    rows[2]["nationality"] = "Guatemala"
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, office, to_csv(rows))
    job = ImportJob.objects.get()
    assert (job.status, job.created, job.rejected) == (ImportStatus.FAILED, 0, 2)
    assert [(r["row"], r["column"]) for r in job.report] == [(3, "date_of_birth"),
                                                             (4, "nationality")]
    assert Person.objects.count() == 0
    page = client.get(_job_url(job)).content.decode()
    assert "2 rows have errors, so nothing was imported." in page
    assert "Guatemala" not in page and "03/05/1990" not in page
    personal = ("given_names", "family_names", "aliases", "phone", "email", "address",
                "date_of_birth", "document_number")
    for row in rows:
        for column in personal:
            if len(row[column]) > 3:
                assert row[column] not in page
    assert str(job.report).find("Guatemala") == -1
    assert DataKey.objects.get(subject_id=job.pk).destroyed_at is not None
    assert _sealed_files(upload_root) == []


@pytest.mark.django_db
def test_skip_invalid_from_the_web(client, boss, office, upload_root,
                                   django_capture_on_commit_callbacks):
    client.force_login(boss)
    rows = people_rows(3)
    rows[0]["sex"] = "?"
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, office, to_csv(rows), skip_invalid="on")
    job = ImportJob.objects.get()
    assert (job.status, job.skip_invalid, job.created, job.rejected) == (
        ImportStatus.DONE, True, 2, 1)
    assert Person.objects.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, office, to_csv(rows), skip_invalid="on")
    again = ImportJob.objects.order_by("-created_at").first()
    assert (again.created, again.skipped, again.rejected) == (0, 2, 1)
    assert "Already imported" in client.get(_job_url(again)).content.decode()
    assert Person.objects.count() == 2


@pytest.mark.django_db
def test_web_rows_must_belong_to_the_chosen_office(
    client, boss, office, other_office, upload_root, django_capture_on_commit_callbacks
):
    importing.services.grant_membership(by=None, user=boss, office=other_office,
                                        role=Role.CASEWORKER)
    client.force_login(boss)
    rows = people_rows(2)
    rows[1]["office_code"] = other_office.code
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, office, to_csv(rows))
    job = ImportJob.objects.get()
    assert [r["message"] for r in job.errors] == ["This import is for office BZ-BMP only."]


@pytest.mark.django_db
def test_a_bad_file_fails_with_a_clear_message(client, boss, office, upload_root,
                                               django_capture_on_commit_callbacks):
    client.force_login(boss)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, office, b"PK\x03\x04 not really a workbook", name="intake.xlsx")
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert job.report[0]["row"] is None
    page = client.get(_job_url(job)).content.decode()
    assert "not a readable XLSX workbook" in page
    assert "The file could not be imported. Nothing was written." in page


@pytest.mark.django_db
def test_an_unexpected_error_fails_the_job_and_still_shreds_the_file(
    client, boss, office, upload_root, monkeypatch, django_capture_on_commit_callbacks
):
    def boom(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(importing, "import_people", boom)
    client.force_login(boss)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, office, to_csv(people_rows(1)))
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert "unexpected error" in job.errors[0]["message"]
    assert _sealed_files(upload_root) == []
    assert DataKey.objects.get(subject_id=job.pk).destroyed_at is not None


@pytest.mark.django_db
def test_upload_form_errors(client, boss, office, other_office, upload_root, settings):
    client.force_login(boss)
    response = _post(client, other_office, to_csv(people_rows(1)))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    response = client.post(START, {"office": office.pk})
    assert response.status_code == 400
    response = _post(client, office, b"")
    assert response.status_code == 400
    settings.AMPARO_UPLOAD_MAX_BYTES = 100
    response = _post(client, office, to_csv(people_rows(3)))
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    assert ImportJob.objects.count() == 0
    assert _sealed_files(upload_root) == []


@pytest.mark.django_db
def test_the_upload_is_stored_sealed_until_the_task_runs(client, boss, office, upload_root):
    client.force_login(boss)
    rows = people_rows(2)
    data = to_csv(rows)
    _post(client, office, data)  # on_commit callbacks are not run: the job stays queued
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.QUEUED
    (sealed,) = _sealed_files(upload_root)
    raw = sealed.read_bytes()
    assert rows[0]["given_names"].encode() not in raw and b"given_names" not in raw
    assert files.load(subject_id=job.pk, table="cases_importjob", row_id=job.pk,
                      name=job.storage_name) == data

    assert run_import_job_task(str(job.pk)) == ImportStatus.DONE
    assert _sealed_files(upload_root) == []
    # A redelivered message does nothing.
    assert run_import_job_task(str(job.pk)) is None
    assert Person.objects.count() == 2


# The progress page


@pytest.mark.django_db
def test_progress_page_while_running_polls_and_works_without_javascript(client, boss, office):
    client.force_login(boss)
    job = ImportJob.objects.create(office=office, created_by=boss, status=ImportStatus.VALIDATING,
                                   total=200, processed=50, heartbeat_at=timezone.now())
    page = client.get(_job_url(job)).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page
    assert f'hx-get="{_job_url(job)}"' in page and 'hx-trigger="every 2s"' in page
    assert 'aria-valuenow="25"' in page and 'data-width-percent="25"' in page
    assert "Checked 50 of 200 rows." in page
    assert 'id="import-reload"' in page

    fragment = client.get(_job_url(job), HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert fragment.status_code == 200
    assert body.startswith('<div id="import-progress"') and "<html" not in body
    assert fragment["Cache-Control"] == "no-store"

    job.status, job.processed = ImportStatus.IMPORTING, 100
    job.save()
    body = client.get(_job_url(job), HTTP_HX_REQUEST="true").content.decode()
    assert "progress-bar-animated" in body and "hx-get" in body
    assert 'aria-valuenow="50"' in body and "100 of 200 rows are saved" in body

    job.status, job.finished_at = ImportStatus.DONE, job.created_at
    job.save()
    body = client.get(_job_url(job), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-get" not in body and 'id="import-summary"' in body


@pytest.mark.django_db
def test_jobs_of_another_office_are_404(client, boss, office, other_office, other_supervisor):
    theirs = ImportJob.objects.create(office=other_office, created_by=other_supervisor)
    mine = ImportJob.objects.create(office=office, created_by=boss)
    client.force_login(boss)
    assert client.get(_job_url(theirs)).status_code == 404
    assert client.get(_job_url(mine)).status_code == 200
    listing = client.get(START).content.decode()
    assert _job_url(mine) in listing and _job_url(theirs) not in listing
    client.force_login(other_supervisor)
    assert client.get(_job_url(mine)).status_code == 404
    assert client.get("/imports/not-a-uuid/").status_code == 404


@pytest.mark.django_db
def test_another_supervisor_of_the_office_sees_the_job(client, boss, office, make_user):
    colleague = make_user(Role.SUPERVISOR, office)
    job = ImportJob.objects.create(office=office, created_by=boss)
    client.force_login(colleague)
    assert client.get(_job_url(job)).status_code == 200


# Through a real broker and worker


def _redis_url() -> str:
    return "redis://127.0.0.1:6379/15"


def _redis_or_skip():
    import redis

    client = redis.Redis.from_url(_redis_url(), socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"needs Redis at {_redis_url()} ({type(exc).__name__})")
    return client


@pytest.fixture
def celery_worker_process(postgres):
    """A celery worker subprocess on Redis, connected to this test database."""
    broker = _redis_or_skip()
    broker.flushdb()  # database 15 belongs to the tests: drop messages of earlier runs
    db = connection.settings_dict
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "settings.test",
        "CELERY_BROKER_URL": _redis_url(),
        "DATABASE_URL": "postgres://{user}@{host}:{port}/{name}".format(
            user=db["USER"], host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432,
            name=db["NAME"]),
    })
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
    proc = subprocess.Popen(
        [celery, "-A", "settings", "worker", "--pool=solo", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=django_settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        broker.flushdb()


@pytest.fixture
def real_broker():
    """Make this process send tasks to Redis instead of running them eagerly."""
    from settings.celery import app

    def forget_connections():
        kombu.pools.reset()  # closes the pooled broker connections and forgets them
        app._pool = None
        app.amqp._producer_pool = None

    saved = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = _redis_url()
    forget_connections()
    try:
        yield app
    finally:
        forget_connections()
        app.conf.task_always_eager, app.conf.broker_url = saved


@pytest.fixture
def memory_broker():
    """A broker in this process's memory: tasks are sent, and nothing runs them."""
    from settings.celery import app

    saved = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield app
    finally:
        kombu.pools.reset()
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.task_always_eager, app.conf.broker_url = saved


@pytest.mark.django_db
def test_with_a_broker_the_upload_only_queues_the_import(
        client, boss, office, upload_root, memory_broker, monkeypatch,
        django_capture_on_commit_callbacks):
    def not_here(**kwargs):
        raise AssertionError("the import ran in the web request")

    monkeypatch.setattr(importing, "import_people", not_here)
    client.force_login(boss)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _post(client, office, to_csv(people_rows(3)))
    assert [c.__qualname__ for c in callbacks].count("queue_import.<locals>.<lambda>") == 1
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == _job_url(job)
    assert job.status == ImportStatus.QUEUED and job.storage_name
    assert Person.objects.count() == 0
    page = client.get(_job_url(job)).content.decode()
    assert "Waiting for the import to start" in page and "hx-get" in page


@pytest.mark.postgres
def test_import_through_a_real_celery_worker(client, boss, office, celery_worker_process,
                                             real_broker, monkeypatch):
    # The worker shares the key file and file root of settings.test (no upload_root here).
    def not_here(**kwargs):
        raise AssertionError("the import ran in the web process, not in the worker")

    monkeypatch.setattr(importing, "run_import_job", not_here)
    client.force_login(boss)
    rows = people_rows(4, seed=11)
    response = _post(client, office, to_csv(rows))
    assert response.status_code == 302
    job = ImportJob.objects.get()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if not job.is_running:
            break
        if celery_worker_process.poll() is not None:
            pytest.fail("the worker exited:\n" + celery_worker_process.stdout.read())
        time.sleep(0.5)
    else:
        celery_worker_process.terminate()
        pytest.fail("the worker did not finish the import:\n"
                    + celery_worker_process.communicate(timeout=20)[0])
    assert (job.status, job.created, job.rejected) == (ImportStatus.DONE, 4, 0), job.report
    people = {p.given_names for p in Person.objects.all()}
    assert people == {r["given_names"] for r in rows}
    assert Person.objects.first().history.get().history_user == boss
    assert DataKey.objects.get(subject_id=job.pk).destroyed_at is not None
    assert job.storage_name == ""
    page = client.get(_job_url(job)).content.decode()
    assert 'data-status="done"' in page


@pytest.mark.django_db
def test_the_job_reports_each_phase_while_it_runs(boss, office, upload_root, monkeypatch,
                                                  settings, django_capture_on_commit_callbacks):
    settings.AMPARO_IMPORT_CHUNK_ROWS = 1
    seen = []
    real_register = importing.services.register_person

    def register(**kwargs):
        job = ImportJob.objects.get()
        seen.append((job.status, job.processed, job.total))
        return real_register(**kwargs)

    monkeypatch.setattr(importing, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(importing.services, "register_person", register)
    checked = []
    real_check = importing._Checker.check

    def check(self, number, cells):
        job = ImportJob.objects.get()
        checked.append((job.status, job.processed, job.total))
        return real_check(self, number, cells)

    monkeypatch.setattr(importing._Checker, "check", check)
    with django_capture_on_commit_callbacks(execute=True):
        importing.queue_import(by=boss, office=office, data=to_csv(people_rows(3)))
    # Every row is checked first; then each is read again as it is written, a chunk at a time,
    # and the job counts the rows saved so far.
    assert checked == [("validating", 0, 3), ("validating", 1, 3), ("validating", 2, 3),
                       ("importing", 0, 3), ("importing", 1, 3), ("importing", 2, 3)]
    assert seen == [("importing", 0, 3), ("importing", 1, 3), ("importing", 2, 3)]
    job = ImportJob.objects.get()
    assert (job.status, job.rows_done, job.processed, job.created) == (ImportStatus.DONE, 3, 3, 3)


@pytest.mark.django_db
def test_only_supervisors_of_the_office_may_queue_an_import(caseworker, other_supervisor, office,
                                                           upload_root):
    from django.core.exceptions import PermissionDenied

    for user in (caseworker, other_supervisor):
        with pytest.raises(PermissionDenied):
            importing.queue_import(by=user, office=office, data=to_csv(people_rows(1)))
    assert ImportJob.objects.count() == DataKey.objects.count() == 0
    assert _sealed_files(upload_root) == []


@pytest.mark.django_db
def test_the_report_is_read_in_the_readers_language(
    settings, client, boss, office, make_user, upload_root, django_capture_on_commit_callbacks
):
    boss.preferred_language = "es"
    boss.save(update_fields=["preferred_language"])
    colleague = make_user(Role.SUPERVISOR, office, preferred_language="en")
    client.force_login(boss)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    rows = people_rows(2)
    rows[1]["sex"] = "x"
    rows[1]["given_names"] = "A" * 300
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, office, to_csv(rows))
    job = ImportJob.objects.get()
    page = client.get(_job_url(job)).content.decode()
    assert "Tiene más de 200 caracteres." in page and "Use uno de estos valores" in page

    client.force_login(colleague)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(_job_url(job)).content.decode()
    assert "Longer than 200 characters." in page and "Use one of: female, male" in page
    assert "caracteres" not in page
    # The uploader's report was written in Spanish, and is stored in both languages.
    assert job.report[0]["message"]["es"].startswith("Tiene más de 200")
