"""A 1:N fingerprint search as a user would run it (docs/architecture.md#biometrics)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from biometrics import engine, pages, services
from cases.crypto.datakeys import key_scope
from cases.models import User


class Command(BaseCommand):
    help = (
        "Search every enrolled person of every office with one or more fingers "
        "(--finger N IMAGE, repeated). Candidates come best first, each with the case "
        "references the user may see, the score and the decision (match, possible, no match)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--finger", nargs=2, action="append", metavar=("N", "IMAGE"),
                            required=True, help="A finger position (1-10) and its image.")
        parser.add_argument("--user", required=True,
                            help="User name of the caseworker or supervisor searching.")
        parser.add_argument("--json", action="store_true", help="One JSON object on standard output.")

    def handle(self, *args: Any, finger: list[list[str]], user: str, json: bool = False,
               **opts: Any) -> None:
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"There is no active user named {user!r}.")
        images: dict[int, bytes] = {}
        with translation.override(by.preferred_language):
            for position, image in finger:
                if not (position.isascii() and position.isdigit()) or not 1 <= int(position) <= 10:
                    raise CommandError(_("The finger must be a number from 1 to 10."))
                if int(position) in images:
                    raise CommandError(_("Finger %(finger)s is given twice.") % {"finger": position})
                try:
                    images[int(position)] = Path(image).read_bytes()
                except OSError:
                    raise CommandError(_("The image file cannot be read: %(path)s") % {
                        "path": image}) from None
            try:
                with key_scope():
                    found = services.search(by=by, images=images)
            except engine.Refused as exc:
                raise CommandError(_("Finger %(finger)s: %(reason)s") % {
                    "finger": getattr(exc, "finger", "?"), "reason": exc.reason}) from None
            except (PermissionDenied, ValidationError) as exc:
                raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from None
            self.report(found, as_json=json)

    def report(self, found: services.Search, *, as_json: bool) -> None:
        out = {"candidates": [{"person": str(c.person_id), "cases": c.cases, "score": c.score,
                               "decision": c.decision} for c in found.candidates],
               "gallery_people": found.gallery_people, "rescored": found.rescored,
               "seconds": round(found.seconds, 3)}
        if as_json:
            self.stdout.write(json.dumps(out, ensure_ascii=False))
            return
        self.stdout.write(pages.summary(found))
        for c in found.candidates:
            self.stdout.write(f"{c.decision:9}  {c.score:4d}  {c.person_id}  {', '.join(c.cases) or '—'}")
