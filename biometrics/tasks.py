"""Celery tasks: thin wrappers that load ids and call a service. They go to the
`biometrics` queues (CELERY_TASK_ROUTES): the one worker process that takes them holds the
gallery."""

from __future__ import annotations

from celery import shared_task

from biometrics import services
from cases.crypto.datakeys import key_scope


@shared_task(name="biometrics.dedupe")  # type: ignore[untyped-decorator]  # celery has no type hints
def dedupe_task(capture_id: str) -> list[str]:
    """The 1:N search after an enrolment (services.dedupe); returns the pairs raised."""
    with key_scope():
        found = services.dedupe(capture_id)
    return [str(f.pair.pk) for f in found if f.pair is not None]


@shared_task(name="biometrics.search")  # type: ignore[untyped-decorator]
def search_task(search_id: str) -> str | None:
    """A search asked from the search page (services.run_search); returns its status."""
    with key_scope():
        done = services.run_search(search_id)
    return done.status if done is not None else None


@shared_task(name="biometrics.shred_stale_searches")  # type: ignore[untyped-decorator]
def shred_stale_searches_task() -> int:
    """Searches the worker never ran given up, their probes' keys destroyed."""
    return services.shred_stale_searches()
