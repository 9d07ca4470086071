from celery import shared_task

from audit import chain, services


@shared_task(name="audit.sign_checkpoint")  # type: ignore[untyped-decorator]  # celery ships no type information
def sign_checkpoint_task() -> int | None:
    """Link pending events and sign the chain head (periodic)."""
    head = services.sign_checkpoint()
    return head.position if head else None


@shared_task(name="audit.link")  # type: ignore[untyped-decorator]  # celery ships no type information
def link_task() -> int:
    """Link committed events into the chain (periodic, every AMPARO_AUDIT_LINK_SECONDS)."""
    return chain.link_all()
