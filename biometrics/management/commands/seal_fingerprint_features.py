"""Seal the index features of captures enrolled before they were kept
(docs/architecture.md#biometrics)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from biometrics import services
from biometrics.models import FingerprintCapture


class Command(BaseCommand):
    help = (
        "Compute and seal the index features of every current fingerprint capture that has "
        "none yet, so that a restarted worker reads them instead of computing them. Safe to "
        "stop and run again: it goes on where it stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=200, help="Captures per transaction.")

    def handle(self, *args: Any, batch: int = 200, **opts: Any) -> None:
        missing = FingerprintCapture.objects.filter(
            features__isnull=True, replaced_at__isnull=True, person__erased_at__isnull=True).count()
        self.stdout.write(_("%(count)d captures have no index features yet.") % {"count": missing})
        done = 0
        for sealed in services.seal_missing_features(batch=max(1, batch)):
            done += sealed
            self.stdout.write(_("Sealed the features of %(done)d of %(count)d captures.") % {
                "done": done, "count": missing})
        self.stdout.write(_("Done: %(done)d captures now have their index features.") % {
            "done": done})
