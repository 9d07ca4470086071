from typing import Any

from django.core.management.base import BaseCommand

from audit import chain, signing
from audit.services import sign_checkpoint
from cases import events


class Command(BaseCommand):
    help = ("Retire the audit signing key and make a new one current. The retired key is kept "
            "beside the key file (KEYFILE.retired/) for verify_audit: back up both.")

    def handle(self, *args: Any, **opts: Any) -> None:
        # The old key's last word: what is pending is linked and signed with it.
        before = sign_checkpoint()
        old, new = signing.rotate()
        # Its MAC is the new key's: only the holder of the new key can say the old one retired.
        events.emit("audit.key_rotated", retired=old, current=new, username="operator")
        chain.link_pending()
        after = sign_checkpoint()
        self.stdout.write(self.style.SUCCESS(
            f"Audit signing key {old} retired (kept in {signing.retired_path()}); {new} is "
            "current."))
        if before is not None:
            self.stdout.write(f"Last checkpoint with the retired key: position {before.position}.")
        if after is not None:
            self.stdout.write(f"First checkpoint with the new key: position {after.position}.")
        self.stdout.write(
            "Copy the new key file and the retired folder to every server and worker, and to "
            "the key backup; servers still on the retired key fail verify_audit after "
            "AMPARO_AUDIT_ROTATION_GRACE seconds.")
