from celery import shared_task

from cases.crypto import datakeys
from rsd import services


@shared_task(name="rsd.sweep")  # type: ignore[untyped-decorator]  # celery has no type hints
def sweep() -> dict[str, int]:
    """Propose abandoned files for closure, close refusals left unappealed (every 6 hours:
    settings.CELERY_BEAT_SCHEDULE)."""
    with datakeys.key_scope():
        return services.sweep()
