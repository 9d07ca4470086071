"""The biometrics' record type for the retention schedules (cases/retention.py): the searches
asked from the search page. Once run, a search keeps who searched, when, and which people came
out with what score; that trail is deleted a period after the search ended."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from biometrics.models import FingerprintSearch
from cases import retention
from cases.models import RetentionAction


def _ended(cut: datetime.date, scope: retention.OfficeScope) -> QuerySet[FingerprintSearch]:
    # Run or given up (shred_stale_searches), its probe's key already destroyed; a queued
    # search is the worker's, never due.
    return FingerprintSearch.objects.filter(finished_at__date__lte=cut)


def register() -> None:
    # A search belongs to a user, not to an office: one rule for the installation.
    retention.register(retention.RecordType(
        "biometrics.search", _("Fingerprint searches and their candidates"),
        _("end of the search"), _ended, (RetentionAction.DELETE,), per_office=False))
