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


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


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
    if date_from:
        qs = qs.filter(at__gte=_day_start(date_from))
    if date_to:
        qs = qs.filter(at__lt=_day_start(date_to + datetime.timedelta(days=1)))
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


def _changes(new: Any, old: Any, *, values: bool) -> list[Change]:
    """Fields that differ between two consecutive history rows of one record.

    diff_against compares the plain fields. It skips sealed fields (not editable), so
    those are compared here; they are opened in memory for that, and shown only with
    `values`."""
    delta = new.diff_against(old)
    changes = [Change(c.field, c.old, c.new) if values else Change(c.field)
               for c in delta.changes]
    for f in new.instance_type._meta.concrete_fields:
        if isinstance(f, EncryptedField):
            before, after = getattr(old, f.attname), getattr(new, f.attname)
            if before != after:
                changes.append(Change(f.name, before, after) if values else Change(f.name))
    return sorted(changes, key=lambda c: c.name)


def _history_entries(case: Case, *, values: bool) -> list[Entry]:
    entries = []
    steps: dict[int, str] | None = None
    number = history.STEP_FIELDS[-1]
    for source in history.sources():
        previous: dict[Any, Any] = {}
        rows = source.rows(case).select_related("history_user").order_by("history_date", "history_id")
        for row in rows:
            key = row.id
            before = previous.get(key)
            previous[key] = row
            changes = []
            if row.history_type == "~" and before is not None:
                changes = _changes(row, before, values=values)
            what = f"{source.label} · {_CHANGE_KINDS.get(row.history_type, row.history_type)}"
            if (source.steps and row.history_type == "~" and before is not None
                    and getattr(row, number) != getattr(before, number)):
                # A step of the procedure: named by the transition taken, not by the fields
                # the engine moved to record it.
                if steps is None:
                    steps = history.step_labels(case)
                step = steps.get(getattr(row, number), "")
                what = _("%(record)s · step taken: %(step)s") % {"record": source.label, "step": step}
                changes = [c for c in changes if c.name not in history.STEP_FIELDS]
            reason_field = "history_change_reason"
            entry = Entry(
                at=row.history_date,
                who=row.history_user.get_username() if row.history_user else "",
                kind="change",
                what=what,
                object_id=str(key),
                changes=changes,
                has_reason=holds_value(row, reason_field),
            )
            if values and entry.has_reason:
                entry.reason = str(getattr(row, reason_field) or "")
            entries.append(entry)
    return entries


def case_timeline(user: User, case: Case) -> tuple[list[Entry], bool]:
    """Changes and accesses of the case, oldest first, and whether values are shown."""
    values = selectors.visible_cases(user).filter(pk=case.pk).exists()
    entries = _history_entries(case, values=values)
    accesses = list(scoped_events(user).filter(case_objects(case)).order_by("at", "id"))
    objects = describe_objects(user, ((e.object_type, e.object_id) for e in accesses))
    for e in accesses:
        entries.append(Entry(at=e.at, who=e.actor_username, kind="access",
                             what=events.action_label(e.action), action=e.action,
                             object_id=objects.get((e.object_type, e.object_id), ""),
                             outcome=e.outcome, request_id=e.request_id))
    entries.sort(key=lambda e: e.at)
    return entries, values
