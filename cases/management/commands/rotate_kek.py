from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cases import events
from cases.crypto import datakeys, keyring
from cases.models import DataKey


class Command(BaseCommand):
    help = "Re-wrap every data key with the active KEK, in batches. Safe to stop and re-run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int = 500, **opts: Any) -> None:
        active = keyring.provider(fresh=True).active_kek_id
        todo = DataKey.objects.filter(destroyed_at__isnull=True).exclude(kek_id=active).count()
        self.stdout.write(f"{todo} data keys to re-wrap with {active}.")
        done = 0
        while True:
            n = datakeys.rotate_batch(batch_size=batch_size)
            if not n:
                break
            done += n
            self.stdout.write(f"  {done}/{todo}")
        left = DataKey.objects.filter(destroyed_at__isnull=True).exclude(kek_id=active).count()
        events.emit("key.rotate", kek=active, rewrapped=done, left=left, via="command")
        self.stdout.write(self.style.SUCCESS(f"Re-wrapped {done} data keys; {left} left."))
