"""What an auditor may read: the events of the offices where they hold the auditor role.

There is no system-wide auditor scope yet. Case content (values of changed fields, change
reasons) is shown only where `cases.selectors.visible_cases` grants the case explicitly.
"""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Max, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import AuditEvent, ChainLink, Checkpoint
from cases import access, events, history, selectors
from cases.crypto.fields import EncryptedField, holds_value
from cases.models import Case, CaseParticipant, Document, Office, Role, User


def audited_offices(user: User) -> set[int]:
    return access.offices_where(user, Role.AUDITOR)


def is_auditor(user: User) -> bool:
    return bool(audited_offices(user))


def offices(user: User) -> QuerySet[Office]:
    return Office.objects.filter(pk__in=audited_offices(user))


def scoped_events(user: User) -> QuerySet[AuditEvent]:
    """Every event this user may read as an auditor (none for other roles)."""
    return AuditEvent.objects.filter(office__in=audited_offices(user))


def seen_actions(user: User) -> list[str]:
    return list(scoped_events(user).order_by("action").values_list("action", flat=True).distinct())


def time_zone() -> zoneinfo.ZoneInfo:
    """The one time zone the auditor's screens and exports give times in."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def describe_objects(user: User, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """What each (object_type, object_id) of some events is, for people to read.

    A case is named by its reference and a document by its case's (both only within the
    auditor's offices); a person by id alone, never by name; anything else by its kind and id."""
    wanted = {(t, i) for t, i in pairs if t}
    ids = {t: [u for u in (_uuid(i) for tt, i in wanted if tt == t) if u]
           for t in ("cases.case", "cases.document")}
    references = {("cases.case", str(pk)): ref for pk, ref in
                  offices_cases(user).filter(pk__in=ids["cases.case"]).values_list("pk", "reference")}
    documents = {("cases.document", str(pk)): ref for pk, ref in
                 Document.objects.filter(pk__in=ids["cases.document"],
                                         case__office__in=audited_offices(user))
                 .values_list("pk", "case__reference")}
    out = {}
    for object_type, object_id in wanted:
        key = (object_type, object_id)
        if key in references:
            out[key] = references[key]
        elif key in documents:
            out[key] = _("document of case %(reference)s") % {"reference": documents[key]}
        else:
            out[key] = f"{_kind(object_type)} {object_id}"
    return out


def _kind(object_type: str) -> str:
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type


def offices_cases(user: User) -> QuerySet[Case]:
    """Cases of the auditor's offices, for their references and ids only (no content)."""
    return Case.objects.filter(office__in=audited_offices(user))


def audited_case(user: User, reference: str) -> Case:
    """The case with this reference in the auditor's offices; 404 for any other."""
    try:
        return offices_cases(user).select_related("office").get(reference=reference)
    except Case.DoesNotExist:
        raise Http404("No such case.") from None


def case_objects(case: Case) -> Q:
    """Events whose object is the case, its principal or one of its documents."""
    documents = [str(pk) for pk in Document.objects.filter(case=case).values_list("pk", flat=True)]
    return (Q(object_type="cases.case", object_id=str(case.pk))
            | Q(object_type="cases.person", object_id=str(case.principal_id))
            | Q(object_type="cases.document", object_id__in=documents))


def person_objects(person_id: uuid.UUID) -> Q:
    """Events on the person and on the cases they take part in (with those cases' documents)."""
    case_ids = list(CaseParticipant.objects.filter(person_id=person_id)
                    .values_list("case_id", flat=True))
    documents = Document.objects.filter(case_id__in=case_ids).values_list("pk", flat=True)
    return (Q(object_type="cases.person", object_id=str(person_id))
            | Q(object_type="cases.case", object_id__in=[str(c) for c in case_ids])
            | Q(object_type="cases.document", object_id__in=[str(d) for d in documents]))


def _day_start(day: datetime.date) -> datetime.datetime | None:
    """Midnight of `day` in the current time zone; None when that moment is outside what a
    datetime holds in UTC (around the years 1 and 9999): no bound on that side, then."""
    try:
        start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        start.astimezone(datetime.UTC)
    except OverflowError:
        return None
    return start


def search_events(
    user: User,
    *,
    subject: uuid.UUID | str = "",
    actor: str = "",
    office: Office | None = None,
    action: str = "",
    outcome: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[AuditEvent]:
    """Events in scope matching every filter given, newest first.

    `subject` is a person id or a case reference; a reference outside the auditor's
    offices matches nothing."""
    qs = scoped_events(user)
    if isinstance(subject, uuid.UUID):
        qs = qs.filter(person_objects(subject))
    elif subject:
        case = offices_cases(user).filter(reference=subject).first()
        qs = qs.filter(case_objects(case)) if case else qs.none()
    if actor:
        qs = qs.filter(actor_username__iexact=actor.strip())
    if office is not None:
        qs = qs.filter(office=office)
    if action:
        qs = qs.filter(action=action)
    if outcome:
        qs = qs.filter(outcome=outcome)
    start = _day_start(date_from) if date_from else None
    if start is not None:
        qs = qs.filter(at__gte=start)
    end = (_day_start(date_to + datetime.timedelta(days=1))
           if date_to and date_to < datetime.date.max else None)
    if end is not None:
        qs = qs.filter(at__lt=end)
    return qs.select_related("office").order_by("-at", "-id")


@dataclass
class ChainState:
    length: int
    checkpoint: Checkpoint | None


def chain_state() -> ChainState:
    """Length of the linked chain and the latest signed checkpoint (no verification here)."""
    length = ChainLink.objects.aggregate(n=Max("position"))["n"] or 0
    return ChainState(length, Checkpoint.objects.order_by("-position").first())


# The timeline: history rows of the case and its records (as the apps registered them in
# cases/history.py), and access events.

_CHANGE_KINDS = {"+": gettext_lazy("created"), "~": gettext_lazy("changed"),
                 "-": gettext_lazy("deleted")}


@dataclass
class Change:
    name: str
    old: Any = None
    new: Any = None
    shown: bool = False  # the values are shown (values of the case, or an open field)


@dataclass
class Entry:
    at: datetime.datetime
    who: str
    kind: str  # "change" or "access"
    what: str
    object_id: str
    changes: list[Change] = field(default_factory=list)
    has_reason: bool = False
    reason: str = ""
    outcome: str = ""
    request_id: str = ""
    action: str = ""  # access: the action's name, `what` being its label


def _changes(new: Any, old: Any, *, values: bool, open_fields: tuple[str, ...] = ()) -> list[Change]:
    """Fields that differ between two consecutive history rows of one record.

    diff_against compares the plain fields. It skips sealed fields (not editable), so
    those are compared here; they are opened in memory for that, and shown only with
    `values`, or when they are among the source's `open_fields`."""
    def change(name: str, before: Any, after: Any) -> Change:
        if values or name in open_fields:
            return Change(name, before, after, shown=True)
        return Change(name)

    changes = [change(c.field, c.old, c.new) for c in new.diff_against(old).changes]
    for f in new.instance_type._meta.concrete_fields:
        if isinstance(f, EncryptedField):
            before, after = getattr(old, f.attname), getattr(new, f.attname)
            if before != after:
                changes.append(change(f.name, before, after))
    return sorted(changes, key=lambda c: c.name)


TIMELINE_PAGE = 100


@dataclass(frozen=True, order=True)
class Cursor:
    """A place in a case's timeline: entries sort by time, then stream (history sources,
    then access events), then id within the stream. A page starts after its cursor."""

    at: datetime.datetime
    stream: str
    id: int

    def token(self) -> str:
        return f"{self.at.isoformat()}|{self.stream}|{self.id}"

    @classmethod
    def parse(cls, token: str) -> Cursor | None:
        try:
            at, stream, ident = token.split("|")
            moment = datetime.datetime.fromisoformat(at)
            return cls(moment, stream, int(ident)) if timezone.is_aware(moment) else None
        except ValueError:
            return None


ACCESS_STREAM = "~access"  # sorts after every history source's label (model labels are letters)


def _after(cursor: Cursor | None, stream: str, date: str, ident: str) -> Q:
    """Rows of `stream` that come after `cursor` in the timeline's order."""
    if cursor is None:
        return Q()
    if stream < cursor.stream:
        return Q(**{f"{date}__gt": cursor.at})
    if stream > cursor.stream:
        return Q(**{f"{date}__gte": cursor.at})
    return Q(**{f"{date}__gt": cursor.at}) | Q(**{date: cursor.at, f"{ident}__gt": cursor.id})


@dataclass
class _Row:
    cursor: Cursor
    source: history.Source | None = None
    row: Any = None          # a history row, or an AuditEvent


def _history_rows(case: Case, after: Cursor | None, limit: int) -> list[_Row]:
    out = []
    for source in history.sources():
        stream = source.model._meta.label_lower
        rows = (source.rows(case).filter(_after(after, stream, "history_date", "history_id"))
                .select_related("history_user").order_by("history_date", "history_id")[:limit])
        out += [_Row(Cursor(r.history_date, stream, r.history_id), source, r) for r in rows]
    return out


def _previous_versions(source: history.Source, case: Case, rows: list[Any]) -> dict[int, Any]:
    """For each history row, the row of the same record just before it (None for a creation)."""
    before: dict[int, Any] = {}
    first: dict[Any, Any] = {}
    for r in rows:  # in order: a record's earlier row in the page precedes its later ones
        if r.id in first:
            before[r.history_id] = first[r.id]
        first[r.id] = r
    opening = {r.id: r for r in reversed(rows)}  # each record's first row on the page
    wanted = Q(pk__in=[])
    for record, r in opening.items():
        wanted |= Q(id=record, history_id__lt=r.history_id)
    latest = dict(source.rows(case).filter(wanted).values("id").annotate(last=Max("history_id"))
                  .values_list("id", "last"))
    if latest:
        earlier = {x.history_id: x for x in source.rows(case).filter(history_id__in=latest.values())}
        for record, r in opening.items():
            if record in latest:
                before[r.history_id] = earlier[latest[record]]
    return before


def _change_entry(source: history.Source, row: Any, before: Any, values: bool,
                  steps: dict[int, str]) -> Entry:
    number = history.STEP_FIELDS[-1]
    changes = []
    if row.history_type == "~" and before is not None:
        changes = _changes(row, before, values=values, open_fields=source.open_fields)
    what = f"{source.label} · {_CHANGE_KINDS.get(row.history_type, row.history_type)}"
    if (source.steps and row.history_type == "~" and before is not None
            and getattr(row, number) != getattr(before, number)):
        # A step of the procedure: named by the transition taken, not by the fields the
        # engine moved to record it.
        step = steps.get(getattr(row, number), "")
        what = _("%(record)s · step taken: %(step)s") % {"record": source.label, "step": step}
        changes = [c for c in changes if c.name not in history.STEP_FIELDS]
    reason_field = "history_change_reason"
    entry = Entry(at=row.history_date, who=row.history_user.get_username() if row.history_user else "",
                  kind="change", what=what, object_id=str(row.id), changes=changes,
                  has_reason=holds_value(row, reason_field))
    if values and entry.has_reason:
        entry.reason = str(getattr(row, reason_field) or "")
    return entry


@dataclass
class TimelinePage:
    entries: list[Entry]
    values: bool          # values and reasons shown (the auditor may see the case)
    next: str = ""        # the cursor token of the next page; "" on the last page


def case_timeline(user: User, case: Case, *, after: str = "",
                  limit: int = TIMELINE_PAGE) -> TimelinePage:
    """One page of the case's changes and accesses, oldest first, after the cursor `after`.

    Each stream (a history source, the access events) is read from the cursor for one page at
    most, and only the records on the page are looked up for the version before them: no
    page reads a case's whole history."""
    values = selectors.visible_cases(user).filter(pk=case.pk).exists()
    cursor = Cursor.parse(after) if after else None
    items = _history_rows(case, cursor, limit + 1)
    accesses = (scoped_events(user).filter(case_objects(case))
                .filter(_after(cursor, ACCESS_STREAM, "at", "id")).order_by("at", "id")[:limit + 1])
    items += [_Row(Cursor(e.at, ACCESS_STREAM, e.id), None, e) for e in accesses]
    items.sort(key=lambda i: i.cursor)
    page, more = items[:limit], len(items) > limit

    by_source: dict[str, tuple[history.Source, list[Any]]] = {}
    for item in page:
        if item.source is not None:
            by_source.setdefault(item.cursor.stream, (item.source, []))[1].append(item.row)
    previous = {(stream, hid): row for stream, (source, rows) in by_source.items()
                for hid, row in _previous_versions(source, case, rows).items()}
    numbers = {getattr(r, history.STEP_FIELDS[-1]) for source, rows in by_source.values()
               if source.steps for r in rows}
    steps = history.step_labels(case, numbers) if numbers else {}
    objects = describe_objects(user, ((i.row.object_type, i.row.object_id)
                                      for i in page if i.source is None))
    entries = []
    for item in page:
        if item.source is None:
            e = item.row
            entries.append(Entry(at=e.at, who=e.actor_username, kind="access",
                                 what=events.action_label(e.action), action=e.action,
                                 object_id=objects.get((e.object_type, e.object_id), ""),
                                 outcome=e.outcome, request_id=e.request_id))
        else:
            before = previous.get((item.cursor.stream, item.row.history_id))
            entries.append(_change_entry(item.source, item.row, before, values, steps))
    return TimelinePage(entries, values, page[-1].cursor.token() if more and page else "")
