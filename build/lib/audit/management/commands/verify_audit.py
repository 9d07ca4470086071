from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.verify import verify


class Command(BaseCommand):
    help = ("Recompute the audit hash chain, check every event's MAC and every signed "
            "checkpoint. Exits non-zero naming the first event that fails.")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            report = verify(progress=lambda n: self.stdout.write(f"  {n} events checked"))
        except ValueError as exc:  # an unreadable checkpoint line in the sink
            raise CommandError(f"Audit log verification FAILED: {exc}") from exc
        if not report.ok:
            raise CommandError(f"Audit log verification FAILED at {report.failure}. "
                               f"{report.links} events verified before it.")
        for note in report.notes:
            self.stdout.write(f"Note: {note}.")
        self.stdout.write(self.style.SUCCESS(
            f"Audit log intact: {report.links} events, {report.checkpoints} signed "
            "checkpoints verified."))
