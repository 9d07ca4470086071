from celery import shared_task

from audit import services


@shared_task(name="audit.sign_checkpoint")  # type: ignore[untyped-decorator]  # celery ships no type information
def sign_checkpoint_task() -> int | None:
    """Link pending events and sign the chain head (periodic)."""
    head = services.sign_checkpoint()
    return head.position if head else None
