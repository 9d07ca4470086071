"""Celery tasks: thin wrappers that load ids and call a service."""

from __future__ import annotations

import uuid

from celery import shared_task

from cases import events, importing, notifications, retention, secure_messages, sessions, shares
from cases.crypto import datakeys, keyring
from cases.crypto.datakeys import key_scope


@shared_task(name="cases.run_import_job")  # type: ignore[untyped-decorator]  # celery has no type hints
def run_import_job_task(job_id: str) -> str | None:
    """Run an uploaded import (cases.importing.run_import_job); returns its final status."""
    with key_scope():
        job = importing.run_import_job(job_id=job_id)
    return job.status if job else None


@shared_task(name="cases.rotate_kek")  # type: ignore[untyped-decorator]  # celery has no type hints
def rotate_kek_task(batch_size: int = 500, after: str | None = None) -> int:
    """Re-wrap one batch of data keys with the active KEK (after key id `after`), then queue
    the next batch. Keys that cannot be unwrapped are skipped and named in the event."""
    batch = datakeys.rotate_batch(batch_size=batch_size,
                                  after=uuid.UUID(after) if after else None)
    events.emit("key.rotate", kek=keyring.provider().active_kek_id, rewrapped=batch.rewrapped,
                via="task", skipped=len(batch.skipped),
                skipped_keys=[str(k) for k in batch.skipped])
    if batch.last is not None and batch.looked_at == batch_size:
        rotate_kek_task.delay(batch_size, str(batch.last))
    return batch.rewrapped


@shared_task(name="cases.shred_stale_imports")  # type: ignore[untyped-decorator]  # celery has no type hints
def shred_stale_imports_task() -> int:
    """Periodic: resume interrupted import jobs; fail and shred those that will not finish."""
    return importing.shred_stale_jobs()


@shared_task(name="cases.notify_deadlines")  # type: ignore[untyped-decorator]  # celery has no type hints
def notify_deadlines_task() -> int:
    """Periodic (hourly): tell who works on a case that a deadline is 3 days away or less,
    once per deadline and person (cases.notifications.notify_due_deadlines)."""
    return notifications.notify_due_deadlines()


@shared_task(name="cases.apply_retention")  # type: ignore[untyped-decorator]  # celery has no type hints
def apply_retention_task() -> str:
    """Periodic (daily, AMPARO_RETENTION_AT): apply the retention rules (cases.retention.run);
    returns the run's id."""
    with key_scope():
        return str(retention.run(via="task").pk)


@shared_task(name="cases.expire_shares")  # type: ignore[untyped-decorator]  # celery has no type hints
def expire_shares_task() -> int:
    """Periodic (every 15 minutes): remove the shares of cases that have ended
    (cases.shares.expire); reads stopped at the end already."""
    return shares.expire()


@shared_task(name="cases.clear_sessions")  # type: ignore[untyped-decorator]  # celery has no type hints
def clear_sessions_task() -> int:
    """Periodic (every 15 minutes): remove the rows of sessions that expired without coming
    back (cases.sessions.clear_dead)."""
    return sessions.clear_dead()


@shared_task(name="cases.message_emails")  # type: ignore[untyped-decorator]  # celery has no type hints
def message_emails_task(message_id: str) -> int:
    """Tell the recipients of a secure message by email that it waits for them
    (cases.secure_messages.send_emails: a link, nothing of the message)."""
    return secure_messages.send_emails(message_id)


@shared_task(name="cases.notification_emails")  # type: ignore[untyped-decorator]  # celery has no type hints
def notification_emails_task(notification_ids: list[int]) -> int:
    """Tell the recipients of notifications between offices by email that something waits
    for them (cases.notifications.send_emails: a link, nothing of the case)."""
    return notifications.send_emails(notification_ids)
