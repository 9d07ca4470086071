"""Imports write a chunk of rows per transaction and record how far they got: a job whose
run stops is shown as interrupted and resumed after its last saved chunk, never writing a
row twice. Case numbers are drawn a chunk at a time (docs/architecture.md#imports)."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import importing, services
from cases.models import Case, DataKey, ImportJob, ImportStatus, Person, ReferenceCounter, Role
from cases.models.imports import MAX_ATTEMPTS
from tests.cases.importdata import people_rows, to_csv

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_root")]


class Died(BaseException):
    """The process ends here: no except or finally of the import's own runs."""


@pytest.fixture
def chunks_of(settings):
    def use(n: int) -> None:
        settings.AMPARO_IMPORT_CHUNK_ROWS = n
    return use


@pytest.fixture
def boss(supervisor):
    supervisor.preferred_language = "en"
    supervisor.save()
    return supervisor


def _references(office) -> list[str]:
    return sorted(Case.objects.filter(office=office).values_list("reference", flat=True))


def _numbered(office, *numbers: int) -> list[str]:
    year = timezone.localdate().year
    return [f"{office.code}-{year}-{n:06d}" for n in numbers]


def _queued(by, office, data: bytes, monkeypatch) -> ImportJob:
    """A queued job whose task the test runs itself."""
    monkeypatch.setattr(importing, "_dispatch", lambda job_id: None)
    job = importing.queue_import(by=by, office=office, data=data, filename="people.csv")
    monkeypatch.undo()
    return job


def _die_at_open_case(monkeypatch, call: int) -> None:
    real = services.open_case
    calls = []

    def open_case(**kwargs):
        calls.append(1)
        if len(calls) == call:
            raise Died
        return real(**kwargs)

    monkeypatch.setattr(services, "open_case", open_case)


def _silent_for(job: ImportJob, seconds: int = 3600) -> None:
    """The job's worker was last heard of `seconds` ago."""
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - datetime.timedelta(seconds=seconds))


# Chunks


def test_each_chunk_is_saved_as_it_is_written(caseworker, office, chunks_of):
    chunks_of(2)
    progress = []
    rows = people_rows(5)
    rows[2]["sex"] = "?"
    result = importing.import_people(by=caseworker, data=to_csv(rows), skip_invalid=True,
                                     on_progress=lambda *p: progress.append(p))
    assert [p for p in progress if p[0] == "importing"] == [
        ("importing", 0, 5), ("importing", 2, 5), ("importing", 5, 5)]
    assert (result.created, result.rejected) == (4, 1)
    # Numbered in the file's order, none lost.
    assert _references(office) == _numbered(office, 1, 2, 3, 4)
    assert [c.reference for c in Case.objects.order_by("opened_at")] == _references(office)


def test_a_file_with_bad_rows_writes_nothing_whatever_the_chunks(caseworker, chunks_of):
    chunks_of(1)
    rows = people_rows(6)
    rows[5]["email"] = "nope"
    result = importing.import_people(by=caseworker, data=to_csv(rows))
    assert (result.created, result.rejected, result.written) == (0, 1, False)
    assert Person.objects.count() == DataKey.objects.count() == 0
    assert not ReferenceCounter.objects.exists()


def test_importing_again_uses_no_case_numbers(caseworker, office, person_data, chunks_of):
    chunks_of(2)
    data = to_csv(people_rows(4))
    importing.import_people(by=caseworker, data=data)
    again = importing.import_people(by=caseworker, data=data)
    assert (again.created, again.skipped) == (0, 4)
    person = services.register_person(by=caseworker, office=office, data=person_data())
    case = services.open_case(by=caseworker, person=person, kind="asylum")
    assert case.reference == _numbered(office, 5)[0]


def test_numbers_drawn_for_a_person_found_registered_meanwhile_are_given_back(
        caseworker, office, person_data, monkeypatch):
    rows = people_rows(3)
    real_lock = importing._lock_people

    def lock_people(chunk):
        if len(chunk) == 3:  # someone imports the second person after the chunk counted them
            importing.import_people(by=caseworker, data=to_csv(rows[1:2]))
        real_lock(chunk)

    monkeypatch.setattr(importing, "_lock_people", lock_people)
    result = importing.import_people(by=caseworker, data=to_csv(rows))
    assert (result.created, result.skipped) == (2, 1)
    # Numbers 1-3 were drawn for this import; the other import drew 4 and used it; 3 is
    # not given back (4 follows it), so the references are 1, 2 and 4.
    assert _references(office) == _numbered(office, 1, 2, 4)


# Jobs: stopping and resuming


def test_a_job_whose_worker_dies_is_interrupted_and_resumes_after_its_saved_rows(
        client, boss, office, chunks_of, monkeypatch, django_capture_on_commit_callbacks):
    chunks_of(2)
    rows = people_rows(6)
    job = _queued(boss, office, to_csv(rows), monkeypatch)
    _die_at_open_case(monkeypatch, call=4)  # the second person of the second chunk
    with pytest.raises(Died):
        importing.run_import_job(job_id=job.pk)
    monkeypatch.undo()

    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created, job.attempts) == (
        ImportStatus.IMPORTING, 2, 2, 1)
    assert job.reserved == {"year": timezone.localdate().year, "next": 3, "last": 4}
    assert Person.objects.count() == 2 and job.storage_name
    # A redelivered message while the run may still be alive does nothing.
    assert importing.run_import_job(job_id=job.pk) is None
    assert not job.is_interrupted

    _silent_for(job)
    job.refresh_from_db()
    assert job.is_interrupted and job.can_resume
    client.force_login(boss)
    page = client.get(reverse("import_job", args=[job.pk])).content.decode()
    assert "2 of 6 rows were saved; resuming carries on after them" in page
    assert 'data-status="interrupted">Interrupted<' in page
    assert "<td>Interrupted</td>" in client.get(reverse("import_start")).content.decode()
    assert "hx-get" not in page and 'http-equiv="refresh"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("import_resume", args=[job.pk]))
    assert response.status_code == 302

    job.refresh_from_db()
    assert (job.status, job.created, job.skipped, job.rows_done, job.attempts) == (
        ImportStatus.DONE, 6, 0, 6, 2)
    assert Person.objects.count() == Case.objects.count() == 6
    assert _references(office) == _numbered(office, 1, 2, 3, 4, 5, 6)  # the drawn ones reused
    assert job.storage_name == "" and DataKey.objects.get(subject_id=job.pk).destroyed_at
    resumed = AuditEvent.objects.get(action="import.resume")
    assert (resumed.actor_id, resumed.details["rows_done"]) == (boss.pk, 2)
    assert "The import is resumed" in client.get(reverse("import_job", args=[job.pk])).content.decode()
    listing = client.get(reverse("import_start")).content.decode()
    assert "Interrupted" not in listing


def test_a_resumed_job_keeps_its_report_and_counts(boss, office, chunks_of, monkeypatch):
    chunks_of(2)
    rows = people_rows(6)
    importing.import_people(by=boss, data=to_csv(rows[:1]))  # row 2 is imported already
    rows[3]["sex"] = "?"  # row 5 is bad
    job = _queued(boss, office, to_csv(rows), monkeypatch)
    ImportJob.objects.filter(pk=job.pk).update(skip_invalid=True)
    # Chunks: rows 2-3 (row 2 skipped), rows 4-6 (row 5 rejected), row 7, where it dies.
    _die_at_open_case(monkeypatch, call=4)
    with pytest.raises(Died):
        importing.run_import_job(job_id=job.pk)
    monkeypatch.undo()
    job.refresh_from_db()
    assert (job.rows_done, job.created, job.skipped) == (5, 3, 1)
    _silent_for(job)

    job = importing.run_import_job(job_id=job.pk)
    assert (job.status, job.total, job.created, job.skipped, job.rejected) == (
        ImportStatus.DONE, 6, 4, 1, 1)
    assert [(r["row"], r["level"]) for r in job.report] == [(2, "skipped"), (5, "error")]
    assert job.report_counts == {"errors": {"sex": 1}, "skipped": 1}
    assert Person.objects.count() == 5


def test_a_run_that_lost_its_job_to_another_writes_nothing(boss, office, monkeypatch):
    job = _queued(boss, office, to_csv(people_rows(3)), monkeypatch)
    real_check = importing._Checker.check

    def check(self, number, cells):
        # Meanwhile the job was taken over (its lease ran out while this run was stuck).
        ImportJob.objects.filter(pk=job.pk).update(worker=uuid.uuid4())
        return real_check(self, number, cells)

    monkeypatch.setattr(importing._Checker, "check", check)
    assert importing.run_import_job(job_id=job.pk) is None
    assert Person.objects.count() == 0
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATING and job.storage_name  # the other run's


def test_an_unexpected_error_after_saved_chunks_says_what_was_imported(
        client, boss, office, chunks_of, monkeypatch):
    chunks_of(2)
    job = _queued(boss, office, to_csv(people_rows(5)), monkeypatch)
    real = services.open_case
    calls = []

    def open_case(**kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real(**kwargs)

    monkeypatch.setattr(services, "open_case", open_case)
    job = importing.run_import_job(job_id=job.pk)
    assert (job.status, job.created, job.rows_done) == (ImportStatus.FAILED, 2, 2)
    assert job.errors[0]["message"] == (
        "The import stopped on an unexpected error. People imported before it stopped: 2. "
        "Upload the file again to import the rest (people already imported are skipped), or "
        "tell your system administrator.")
    assert job.storage_name == "" and job.reserved == {}
    # The numbers drawn for the chunk that failed were given back.
    assert ReferenceCounter.objects.get(office=office).last == 2
    client.force_login(boss)
    page = client.get(reverse("import_job", args=[job.pk])).content.decode()
    assert "The people counted above were imported" in page
    assert 'id="import-created">2<' in page and "Nothing was written" not in page


def test_the_sweep_resumes_interrupted_jobs_and_gives_up_on_hopeless_ones(
        boss, office, chunks_of, monkeypatch, django_capture_on_commit_callbacks):
    chunks_of(1)
    interrupted = _queued(boss, office, to_csv(people_rows(3, seed=1)), monkeypatch)
    _die_at_open_case(monkeypatch, call=2)
    with pytest.raises(Died):
        importing.run_import_job(job_id=interrupted.pk)
    monkeypatch.undo()
    hopeless = _queued(boss, office, to_csv(people_rows(3, seed=2)), monkeypatch)
    _die_at_open_case(monkeypatch, call=2)
    with pytest.raises(Died):
        importing.run_import_job(job_id=hopeless.pk)
    monkeypatch.undo()
    ImportJob.objects.filter(pk=hopeless.pk).update(attempts=MAX_ATTEMPTS)
    alive = _queued(boss, office, to_csv(people_rows(3, seed=3)), monkeypatch)
    ImportJob.objects.filter(pk=alive.pk).update(status=ImportStatus.IMPORTING,
                                                 heartbeat_at=timezone.now(), attempts=1)
    for job in (interrupted, hopeless):
        _silent_for(job)

    assert importing.shred_stale_jobs() == 1

    interrupted.refresh_from_db()
    assert (interrupted.status, interrupted.created, interrupted.attempts) == (
        ImportStatus.DONE, 3, 2)
    hopeless.refresh_from_db()
    assert (hopeless.status, hopeless.created, hopeless.storage_name) == (
        ImportStatus.FAILED, 1, "")
    assert hopeless.errors[0]["message"] == (
        "The import never finished (the worker stopped). People imported before it stopped: "
        "1. Upload the file again to import the rest: people already imported are skipped.")
    assert not hopeless.can_resume
    alive.refresh_from_db()
    assert alive.status == ImportStatus.IMPORTING and alive.storage_name
    assert AuditEvent.objects.filter(action="import.resume", actor=None).count() == 1
    assert AuditEvent.objects.filter(action="import.abandon").count() == 1


def test_a_live_job_older_than_the_cutoff_is_left_to_finish(boss, office, monkeypatch):
    job = _queued(boss, office, to_csv(people_rows(2)), monkeypatch)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.IMPORTING, heartbeat_at=timezone.now(), attempts=1,
        created_at=timezone.now() - datetime.timedelta(hours=7))
    assert importing.shred_stale_jobs() == 0
    job.refresh_from_db()
    assert job.status == ImportStatus.IMPORTING and job.storage_name


# Who may resume


def test_only_a_supervisor_of_the_office_resumes_and_only_an_interrupted_job(
        client, boss, office, make_user, other_supervisor, monkeypatch):
    job = _queued(boss, office, to_csv(people_rows(2)), monkeypatch)
    url = reverse("import_resume", args=[job.pk])
    client.force_login(boss)
    response = client.post(url, follow=True)
    assert "This import is not interrupted: there is nothing to resume." in response.content.decode()
    assert client.get(url).status_code == 405

    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.IMPORTING, attempts=1)
    _silent_for(job)
    client.force_login(make_user(Role.CASEWORKER, office))
    assert client.post(url).status_code == 403
    client.force_login(other_supervisor)
    assert client.post(url).status_code == 404
    with pytest.raises(importing.PermissionDenied):
        importing.resume_import(by=other_supervisor, job=job)
    ImportJob.objects.filter(pk=job.pk).update(attempts=MAX_ATTEMPTS)
    client.force_login(boss)
    page = client.get(reverse("import_job", args=[job.pk])).content.decode()
    assert "It cannot be resumed again." in page and "/resume/" not in page
    assert not AuditEvent.objects.filter(action="import.resume").exists()
    assert Person.objects.count() == 0
