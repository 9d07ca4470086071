from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.verify import verify


class Command(BaseCommand):
    help = ("Recompute the audit hash chain, check every event's MAC, every signed checkpoint "
            "and the witnessed heads (heads.log). Exits non-zero naming the first event that "
            "fails, or the events removed from the end.")

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
        head = report.witness_head
        if head is not None:
            self.stdout.write(f"Witness: newest head #{head.position}, written at {head.at}; "
                              f"{report.witnessed} witnessed heads match the chain.")
        self.stdout.write(self.style.SUCCESS(
            f"Audit log intact: {report.links} events, {report.checkpoints} signed "
            "checkpoints verified."))
