"""Import jobs whose worker never finished are failed and shredded by the periodic sweep."""

import datetime

from django.utils import timezone

from cases import importing
from cases.crypto import datakeys
from cases.models import DataKey, ImportJob, ImportStatus
from cases.tasks import shred_stale_imports_task


def _queued_job(supervisor, office, settings, tmp_path):
    """A job whose task message was lost: its on-commit dispatch never runs."""
    settings.AMPARO_FILE_ROOT = tmp_path
    return importing.queue_import(by=supervisor, office=office, data=b"given_names\nAna\n",
                                  filename="a.csv")


def test_a_stale_job_is_failed_and_its_file_shredded(supervisor, office, settings, tmp_path,
                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job = _queued_job(supervisor, office, settings, tmp_path)
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=7))
    assert any(tmp_path.rglob("*.sealed"))

    assert shred_stale_imports_task.delay().get() == 1

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and job.storage_name == ""
    assert not any(tmp_path.rglob("*.sealed"))
    assert DataKey.objects.get(subject_id=job.pk).destroyed_at is not None
    assert "never finished" in job.errors[0]["message"]


def test_a_recent_job_is_left_alone(supervisor, office, settings, tmp_path,
                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job = _queued_job(supervisor, office, settings, tmp_path)

    assert importing.shred_stale_jobs() == 0

    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED
    assert datakeys.key_for_subject(job.pk)
