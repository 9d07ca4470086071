from typing import Any

from django.core.management.base import BaseCommand

from audit.services import sign_checkpoint


class Command(BaseCommand):
    help = "Link pending audit events and sign the chain head into the checkpoint sink."

    def handle(self, *args: Any, **opts: Any) -> None:
        head = sign_checkpoint()
        if head is None:
            self.stdout.write("Nothing new to sign.")
        else:
            self.stdout.write(self.style.SUCCESS(
                f"Signed checkpoint at position {head.position} (key {head.key_id})."))
