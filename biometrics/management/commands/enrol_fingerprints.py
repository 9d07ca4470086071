"""Enrol scanned ten-print cards in bulk (docs/architecture.md#biometrics)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from biometrics import engine, services
from biometrics.models import Consent, Finger
from cases import selectors
from cases.crypto.datakeys import key_scope
from cases.models import User

COLUMNS = ("case_reference", "finger", "image")
MAX_ROWS = 100_000
DEVICE = "ten-print card"


@dataclass
class Row:
    row: int
    case_reference: str
    finger: int | None
    status: str = "refused"
    reason: str = ""
    quality: int | None = None
    possible_duplicates: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "case_reference": self.case_reference, "finger": self.finger,
                "status": self.status, "reason": self.reason, "quality": self.quality,
                "possible_duplicates": self.possible_duplicates}


class Command(BaseCommand):
    help = (
        "Enrol fingerprints from scanned ten-print cards. The manifest is a CSV file with the "
        "columns case_reference (the case's principal applicant is enrolled), finger (1-10, "
        "ISO/IEC 19794-2 positions) and image (a path, absolute or relative to the manifest). "
        "Each row is checked, enrolled and searched against everyone enrolled; a bad row is "
        "refused with its reason and stores nothing. Consent is recorded as signed on the "
        "paper file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest", help="The CSV manifest.")
        parser.add_argument("--user", required=True,
                            help="User name of the caseworker or supervisor enrolling.")
        parser.add_argument("--json", action="store_true",
                            help="One JSON object per row on standard output.")

    def handle(self, *args: Any, manifest: str, user: str, json: bool = False, **opts: Any) -> None:
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"There is no active user named {user!r}.")
        path = Path(manifest)
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        except UnicodeDecodeError:
            raise CommandError(_("The manifest must be a CSV file in UTF-8.")) from None
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CommandError(_("The manifest lacks the columns: %(columns)s.") % {
                "columns": ", ".join(missing)})
        enrolled = refused = 0
        with translation.override(by.preferred_language):
            for number, values in enumerate(reader, start=2):
                if number - 1 > MAX_ROWS:
                    raise CommandError(_("The manifest has more than %(n)d rows.") % {"n": MAX_ROWS})
                with key_scope():
                    row = self.enrol_row(by=by, number=number, values=values, base=path.parent)
                enrolled += row.status == "enrolled"
                refused += row.status == "refused"
                self.report(row, as_json=json)
            if not json:
                self.stdout.write(_("%(enrolled)d enrolled, %(refused)d refused.") % {
                    "enrolled": enrolled, "refused": refused})

    def enrol_row(self, *, by: User, number: int, values: dict[str, Any], base: Path) -> Row:
        reference = (values.get("case_reference") or "").strip()
        finger_text = (values.get("finger") or "").strip()
        finger = int(finger_text) if finger_text.isascii() and finger_text.isdigit() else None
        row = Row(row=number, case_reference=reference, finger=finger)
        if finger not in Finger.values:
            row.reason = _("The finger must be a number from 1 to 10.")
            return row
        case = (selectors.visible_cases(by).filter(reference=reference)
                .prefetch_related(None).select_related("principal").first() if reference else None)
        if case is None or case.principal is None:
            row.reason = _("No case with this reference that you may see.")
            return row
        image = (values.get("image") or "").strip()
        file = Path(image) if Path(image).is_absolute() else base / image
        try:
            if not image or not file.is_file():
                raise OSError
            if file.stat().st_size > engine.MAX_BYTES:
                raise engine.Refused("too_large")
            data = file.read_bytes()
        except OSError:
            row.reason = _("The image file cannot be read: %(path)s") % {"path": image}
            return row
        except engine.Refused as exc:
            row.reason = exc.reason
            return row
        try:
            capture = services.enrol_finger(by=by, person=case.principal, finger=finger, data=data,
                                            device=DEVICE, consent=Consent.ON_FILE, dedupe=False)
        except engine.Refused as exc:
            row.reason = exc.reason
            return row
        except (ValidationError, PermissionDenied) as exc:
            row.reason = " ".join(getattr(exc, "messages", [str(exc)]))
            return row
        row.status, row.quality = "enrolled", capture.quality
        visible = selectors.visible_cases(by)
        for found in services.dedupe(capture.pk):
            refs = list(visible.filter(participants__person_id=found.person_id)
                        .order_by("opened_at").values_list("reference", flat=True))
            row.possible_duplicates.append({"person": str(found.person_id), "cases": refs,
                                            "score": found.score})
        return row

    def report(self, row: Row, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(row.as_json(), ensure_ascii=False))
            return
        if row.status == "enrolled":
            line = _("Row %(row)d, %(reference)s, finger %(finger)s: enrolled (quality %(quality)s).") % {
                "row": row.row, "reference": row.case_reference, "finger": row.finger,
                "quality": row.quality}
            self.stdout.write(self.style.SUCCESS(line))
            for d in row.possible_duplicates:
                self.stdout.write(self.style.WARNING(_(
                    "  possible duplicate: %(person)s (%(cases)s), score %(score)d") % {
                        "person": d["person"], "cases": ", ".join(d["cases"]) or "—",
                        "score": d["score"]}))
        else:
            self.stdout.write(self.style.ERROR(_("Row %(row)d, %(reference)s: refused. %(reason)s") % {
                "row": row.row, "reference": row.case_reference or "—", "reason": row.reason}))
