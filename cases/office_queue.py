"""What waits for an office from other offices, each with a due date
(docs/architecture.md#office-queues): transfers to answer, transferred cases not yet taken,
cases shared with the user, unread secure messages.

Due dates follow settings: a transfer is answered within `AMPARO_TRANSFER_ANSWER_DAYS` of
its start, a transferred case is taken within `AMPARO_TRANSFER_TAKE_DAYS` of its acceptance,
a secure message is read within `AMPARO_MESSAGE_READ_DAYS` of its sending; a share is due
on its last day. Every list is a query not yet run, so that a page reads one page of it and
counts it no further than it shows (`selectors.bounded_count`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from cases import access, secure_messages, selectors
from cases.models import (
    Case,
    CaseUserObjectPermission,
    Handover,
    HandoverKind,
    HandoverStatus,
    Message,
    Role,
    User,
)

DEFAULT_DAYS = {"AMPARO_TRANSFER_ANSWER_DAYS": 5, "AMPARO_TRANSFER_TAKE_DAYS": 3,
                "AMPARO_MESSAGE_READ_DAYS": 2}
KINDS = ("transfers", "arrived", "shared", "messages")


def days(name: str) -> int:
    return int(getattr(settings, name, DEFAULT_DAYS[name]))


def _cutoff(name: str) -> datetime.datetime:
    """Started before this, an item is overdue today: its due day has passed."""
    today = timezone.localdate()
    return timezone.make_aware(datetime.datetime.combine(
        today - datetime.timedelta(days=days(name)), datetime.time.min))


# --- The lists -------------------------------------------------------------------------------


def transfers(user: User) -> QuerySet[Handover]:
    """Offers to an office the user supervises and requests for a case of one, waiting for
    their answer; oldest (due first) first."""
    offices = access.offices_where(user, Role.SUPERVISOR)
    return (Handover.objects.filter(
        Q(kind=HandoverKind.OFFER, to_office__in=offices)
        | Q(kind=HandoverKind.REQUEST, from_office__in=offices), status=HandoverStatus.PENDING)
        .select_related("case", "from_office", "to_office").order_by("started_at", "pk"))


def arrived(user: User) -> QuerySet[Handover]:
    """Cases transferred to an office where the user works that wait in its queue."""
    offices = access.offices_where(user, *access.CASE_ROLES)
    return (Handover.objects.filter(
        status=HandoverStatus.ACCEPTED, to_office__in=offices, case__office=F("to_office"),
        case__assigned_to__isnull=True, case__closed_at__isnull=True)
        .select_related("case", "from_office", "to_office").order_by("answered_at", "pk"))


def shared(user: User) -> QuerySet[CaseUserObjectPermission]:
    """Cases shared with the user and not ended; the soonest end first, no end last. The
    grants the page read already say whether there is any (most users have none)."""
    if not access.offices_where(user, *access.CASE_ROLES) or not access.granted_case_ids(user):
        return CaseUserObjectPermission.objects.none()
    return (CaseUserObjectPermission.objects.filter(
        access.unexpired(), user=user, permission__codename="view_case")
        .select_related("content_object", "content_object__office")
        .order_by(F("expires_at").asc(nulls_last=True), "pk"))


def messages(user: User) -> QuerySet[Message]:
    """Unread secure messages for the user, oldest first. The bell's written-out count says
    first whether there is any (most of the time there is none): a fraction of the cost of
    building the list's statement."""
    if not access.offices_where(user, *access.CASE_ROLES) or not secure_messages.unread_count(user):
        return Message.objects.none()
    return (secure_messages.unread_messages(user)
            .select_related("thread__case", "sender_office")
            .only("id", "created_at", "thread_id", "thread__case__reference",
                  "thread__case__id", "sender_office__code")
            .order_by("created_at", "pk"))


LATE = ("transfers", "arrived", "messages")  # the lists whose items can be overdue


def overdue(kind: str, rows: QuerySet[Any]) -> QuerySet[Any]:
    if kind == "transfers":
        return rows.filter(started_at__lt=_cutoff("AMPARO_TRANSFER_ANSWER_DAYS"))
    if kind == "arrived":
        return rows.filter(answered_at__lt=_cutoff("AMPARO_TRANSFER_TAKE_DAYS"))
    if kind == "shared":
        # Due on the last day: overdue never (a share ends by itself), due today at most.
        return rows.none()
    return rows.filter(created_at__lt=_cutoff("AMPARO_MESSAGE_READ_DAYS"))


TITLES = {
    "transfers": gettext_lazy("Transfers waiting for your answer"),
    "arrived": gettext_lazy("Transferred to your office, waiting to be taken"),
    "shared": gettext_lazy("Cases shared with you"),
    "messages": gettext_lazy("Unread secure messages"),
}
EMPTY = {
    "transfers": gettext_lazy("No transfer waits for your answer."),
    "arrived": gettext_lazy("No transferred case waits in your offices' queues."),
    "shared": gettext_lazy("No case is shared with you."),
    "messages": gettext_lazy("No unread secure message."),
}
LISTS = {"transfers": transfers, "arrived": arrived, "shared": shared, "messages": messages}


def kinds_for(user: User) -> list[str]:
    """The lists `user` has: transfers to answer for supervisors, the rest for case staff."""
    if not access.offices_where(user, *access.CASE_ROLES):
        return []
    out = ["transfers"] if access.has_role(user, Role.SUPERVISOR) else []
    return [*out, "arrived", "shared", "messages"]


# --- Rows as shown ---------------------------------------------------------------------------


@dataclass
class Row:
    case: Case
    due_on: datetime.date | None
    since: datetime.datetime | None
    link: str
    offices: str = ""  # "from → to", or the sender's office
    what: str = ""  # a handover's kind, a share's parts

    @property
    def days(self) -> int | None:
        return None if self.due_on is None else (self.due_on - timezone.localdate()).days

    @property
    def overdue(self) -> bool:
        return self.days is not None and self.days < 0

    @property
    def days_overdue(self) -> int:
        return -(self.days or 0)


def _due(at: datetime.datetime | None, name: str) -> datetime.date | None:
    return None if at is None else timezone.localdate(at) + datetime.timedelta(days=days(name))


def rows(kind: str, items: list[Any]) -> list[Row]:
    out: list[Row] = []
    for item in items:
        if kind in ("transfers", "arrived"):
            h: Handover = item
            since = h.started_at if kind == "transfers" else h.answered_at
            out.append(Row(
                case=h.case, since=since,
                due_on=_due(since, "AMPARO_TRANSFER_ANSWER_DAYS" if kind == "transfers"
                            else "AMPARO_TRANSFER_TAKE_DAYS"),
                link=reverse("handover_list") if kind == "transfers"
                else reverse("case_detail", kwargs={"case_id": h.case_id}),
                offices=f"{h.from_office.code} → {h.to_office.code}", what=h.kind))
        elif kind == "shared":
            g: CaseUserObjectPermission = item
            case = g.content_object
            last = (None if g.expires_at is None
                    else timezone.localtime(g.expires_at).date() - datetime.timedelta(days=1))
            out.append(Row(case=case, since=None, due_on=last, offices=case.office.code,
                           link=reverse("case_detail", kwargs={"case_id": case.pk})))
        else:
            m: Message = item
            out.append(Row(case=m.thread.case, since=m.created_at,
                           due_on=_due(m.created_at, "AMPARO_MESSAGE_READ_DAYS"),
                           offices=m.sender_office.code,
                           link=reverse("message_thread", kwargs={"thread_id": m.thread_id})))
    return out


@dataclass
class Panel:
    kind: str
    rows: list[Row] = field(default_factory=list)
    total: selectors.Bounded = field(default_factory=lambda: selectors.Bounded(0))
    overdue: selectors.Bounded = field(default_factory=lambda: selectors.Bounded(0))

    @property
    def title(self) -> str:
        return str(TITLES[self.kind])

    @property
    def empty(self) -> str:
        return str(EMPTY[self.kind])

    @property
    def more(self) -> bool:
        return self.total > len(self.rows)


SHOWN = 5  # rows per list on the dashboard; the queue page has them all, a page at a time


def summary(user: User) -> list[Panel]:
    """The dashboard's lists: the first rows of each, how many (counted only when more than
    shown) and how many are overdue (counted no further than a page shows)."""
    panels = []
    for kind in kinds_for(user):
        qs = LISTS[kind](user)
        first = list(qs[:SHOWN + 1])
        total = (selectors.Bounded(len(first)) if len(first) <= SHOWN
                 else selectors.bounded_count(qs))
        late = (selectors.bounded_count(overdue(kind, qs)) if first and kind in LATE
                else selectors.Bounded(0))
        panels.append(Panel(kind=kind, rows=rows(kind, first[:SHOWN]), total=total, overdue=late))
    return panels
