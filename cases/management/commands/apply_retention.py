import datetime
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases import retention
from cases.crypto.datakeys import key_scope


class Command(BaseCommand):
    help = ("Apply the retention rules (docs/architecture.md#retention): erase, anonymise or "
            "delete what is past its period; rules not yet turned on only report. Safe to stop "
            "and re-run. Exit status 1 when something failed.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Report only; change nothing.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument("--limit", type=int, default=None,
                            help="At most this many records erased, anonymised or deleted.")
        parser.add_argument("--today", default=None, help="Apply as of this date (YYYY-MM-DD).")

    def handle(self, *args: Any, **opts: Any) -> None:
        limit = opts["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be 1 or more.")
        try:
            today = datetime.date.fromisoformat(opts["today"]) if opts["today"] else None
        except ValueError:
            raise CommandError("--today must be a date, YYYY-MM-DD.") from None
        with key_scope():
            record = retention.run(today=today, dry_run=opts["dry_run"], limit=limit,
                                   via="command")
        report = retention.as_json(record)
        if opts["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            for rule in report["rules"]:
                mode = "acts" if rule["acting"] and not record.dry_run else "reports"
                skipped = ", ".join(f"{k}: {v}" for k, v in rule["skipped"].items()) or "none"
                self.stdout.write(
                    f"{rule['record_type']} (office {rule['office'] or 'all'}, {rule['action']}, "
                    f"{mode}): due {rule['due']}, erased {rule['erased']}, anonymised "
                    f"{rule['anonymised']}, deleted {rule['deleted']}, skipped {skipped}, "
                    f"failed {rule['failed']}")
            self.stdout.write(f"Run {record.pk}: {record.done} done, {record.failed} failed.")
        if record.failed:
            raise CommandError(f"{record.failed} records could not be handled: see run {record.pk}.")
