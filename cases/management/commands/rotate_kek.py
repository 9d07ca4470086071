from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import events
from cases.crypto import datakeys, keyring
from cases.models import DataKey

# At most this many skipped key ids go into the audit event (all are printed).
EVENT_IDS = 100


class Command(BaseCommand):
    help = ("Re-wrap every data key with the active KEK, in batches. Safe to stop and re-run. "
            "Keys that cannot be unwrapped are skipped and named at the end (exit status 1).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int = 500, **opts: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        active = keyring.provider(fresh=True).active_kek_id
        todo = DataKey.objects.filter(destroyed_at__isnull=True).exclude(kek_id=active).count()
        self.stdout.write(f"{todo} data keys to re-wrap with {active}.")
        done, skipped = 0, []
        after = None
        while True:  # key id order: each batch starts after the last one, so this ends
            batch = datakeys.rotate_batch(batch_size=batch_size, after=after)
            if batch.last is None:
                break
            after = batch.last
            done += batch.rewrapped
            skipped += batch.skipped
            self.stdout.write(f"  {done}/{todo}")
        left = DataKey.objects.filter(destroyed_at__isnull=True).exclude(kek_id=active).count()
        events.emit("key.rotate", kek=active, rewrapped=done, left=left, via="command",
                    skipped=len(skipped), skipped_keys=[str(k) for k in skipped[:EVENT_IDS]])
        self.stdout.write(self.style.SUCCESS(f"Re-wrapped {done} data keys; {left} left."))
        if skipped:
            raise CommandError(
                f"{len(skipped)} data keys cannot be unwrapped and were skipped (data key ids, "
                f"see README, 'Keys'): {', '.join(str(k) for k in skipped)}")
