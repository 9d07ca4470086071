from celery import shared_task

from cases.crypto import datakeys
from rsd import services


@shared_task(name="rsd.sweep")  # type: ignore[untyped-decorator]  # celery has no type hints
def sweep() -> dict[str, int]:
    """Daily: propose abandoned files for closure, close refusals left unappealed."""
    with datakeys.key_scope():
        return services.sweep()
