"""Celery tasks: thin wrappers that load ids and call a service."""

from __future__ import annotations

from celery import shared_task

from cases import events, importing
from cases.crypto import datakeys, keyring
from cases.crypto.datakeys import key_scope


@shared_task(name="cases.run_import_job")  # type: ignore[untyped-decorator]  # celery has no type hints
def run_import_job_task(job_id: str) -> str | None:
    """Run an uploaded import (cases.importing.run_import_job); returns its final status."""
    with key_scope():
        job = importing.run_import_job(job_id=job_id)
    return job.status if job else None


@shared_task(name="cases.rotate_kek")  # type: ignore[untyped-decorator]  # celery has no type hints
def rotate_kek_task(batch_size: int = 500) -> int:
    """Re-wrap one batch of data keys with the active KEK, then queue the next batch."""
    done = datakeys.rotate_batch(batch_size=batch_size)
    events.emit("key.rotate", kek=keyring.provider().active_kek_id, rewrapped=done, via="task")
    if done == batch_size:
        rotate_kek_task.delay(batch_size)
    return done


@shared_task(name="cases.shred_stale_imports")  # type: ignore[untyped-decorator]  # celery has no type hints
def shred_stale_imports_task() -> int:
    """Periodic: resume interrupted import jobs; fail and shred those that will not finish."""
    return importing.shred_stale_jobs()
