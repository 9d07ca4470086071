import time
from typing import Any

from django.core.management.base import BaseCommand

from stats import facts


class Command(BaseCommand):
    help = ("Rebuild the statistics' summary table from the cases (after a bulk load or a "
            "write that bypassed the application; docs/architecture.md#statistics-speed).")

    def handle(self, *args: Any, **opts: Any) -> None:
        t0 = time.perf_counter()
        written = facts.refresh_all(progress=lambda n: self.stdout.write(f"  {n:,} rows")
                                    if opts["verbosity"] > 1 else None)
        self.stdout.write(f"Wrote {written:,} rows in {time.perf_counter() - t0:.0f} s.")
