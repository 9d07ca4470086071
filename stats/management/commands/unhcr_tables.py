from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from cases import events
from cases.models import Office
from stats import unhcr


class Command(BaseCommand):
    help = ("Write UNHCR's annual asylum tables for YEAR into DIR: asylum_applications.csv, "
            "asylum_decisions.csv and unhcr_tables.xlsx with both sheets, counts below the "
            "threshold suppressed (docs/architecture.md#statistics).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--out", required=True, help="The folder to write into.")
        parser.add_argument("--office", action="append", default=[],
                            help="An office code (repeat for several); default: every office.")
        parser.add_argument("--threshold", type=int, default=None,
                            help="Suppress counts from 1 to THRESHOLD-1 (default "
                                 "AMPARO_STATS_THRESHOLD; 0: none).")

    def handle(self, *args: Any, year: int, out: str, office: list[str],
               threshold: int | None, **opts: Any) -> None:
        if not 1990 <= year <= 2100:
            raise CommandError("--year must be a year such as 2026.")
        if threshold is not None and threshold < 0:
            raise CommandError("--threshold cannot be negative.")
        offices = None
        if office:
            offices = Office.objects.filter(code__in=office)
            unknown = set(office) - set(offices.values_list("code", flat=True))
            if unknown:
                raise CommandError(f"Unknown office: {', '.join(sorted(unknown))}.")
        folder = Path(out)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"Cannot create {out}: {exc.strerror}.") from None
        tables = unhcr.compute(year, offices=offices, threshold=threshold)
        with translation.override("en"):  # the files go to UNHCR: in English
            notes = tables.notes()
        try:
            for name in tables.files():
                part = folder / (name + ".part")
                with open(part, "w", newline="", encoding="utf-8") as f:
                    unhcr.write_csv(f, tables, name)
                part.replace(folder / name)
            part = folder / (unhcr.XLSX_FILE + ".part")
            with open(part, "wb") as fb:
                unhcr.write_xlsx(fb, tables)
            part.replace(folder / unhcr.XLSX_FILE)
            (folder / "notes.txt").write_text("\n".join(notes) + "\n", encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot write into {out}: {exc.strerror}.") from None
        events.emit("stats.unhcr_tables", object_type="stats.unhcr", object_id=str(year),
                    year=year, offices=sorted(office), threshold=tables.threshold,
                    suppressed=tables.suppressed())
        self.stdout.write(f"Wrote {len(tables.application_keys)} application rows and "
                          f"{len(tables.decision_keys)} decision rows for {year} into {out}.")
        for line in notes:
            self.stdout.write(line)
