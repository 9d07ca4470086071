"""The auditor's part of the dashboard (registered with cases.dashboard from AuditConfig.ready):
activity and refused requests in the audited offices, and the state of the chain."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from audit import selectors
from audit.models import AuditEvent, Outcome
from cases import events as events_vocab
from cases.dashboard import Section
from cases.models import User

COUNT_CAP = 1000  # counts stop here ("1000+"): the log only grows
REFUSED_ROWS = 10
WEEK = datetime.timedelta(days=7)


def _bounded(qs: QuerySet[AuditEvent], cap: int = COUNT_CAP) -> int:
    return len(qs.values_list("pk", flat=True)[: cap + 1])


def section(user: User) -> Section | None:
    if not selectors.is_auditor(user):
        return None
    now = timezone.now()
    since = now - WEEK
    events = selectors.scoped_events(user).filter(at__gte=since)
    refused = events.filter(outcome=Outcome.DENIED).select_related("office").order_by("-at", "-id")
    refused_rows = list(refused[:REFUSED_ROWS])
    state = selectors.chain_state()
    period = datetime.timedelta(seconds=getattr(settings, "AMPARO_CHECKPOINT_SECONDS", 300))
    checkpoint = state.checkpoint
    stale = checkpoint is None or now - checkpoint.signed_at > 2 * period
    # Only the last day's events (the `at` index): a sweep of the whole log would grow with it;
    # a linker stopped for longer shows as a late checkpoint.
    unlinked = _bounded(AuditEvent.objects.filter(at__gte=now - datetime.timedelta(days=1),
                                                  link__isnull=True))
    context = {
        "week_events": _bounded(events), "refused_count": _bounded(refused),
        "refused": [(e, events_vocab.action_label(e.action)) for e in refused_rows],
        "cap": COUNT_CAP, "since": since.date(),
        "chain_length": state.length, "checkpoint": checkpoint, "checkpoint_stale": stale,
        "unlinked": unlinked,
    }
    return Section(template="audit/_dashboard.html", context=context)
