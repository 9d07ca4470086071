"""Notifications: written from the events the services emit, by the deadline sweep, and by
the services of transfers and shares between offices, which call this module and have the
recipients emailed once they commit (docs/architecture.md#notifications).

The receiver of `cases.events.recorded` runs in the action's transaction: a rolled-back
action leaves no notification. Nobody is told of their own action. What is stored are codes
(the case reference, a state, step or clock code, a due date); the text is written when it is
shown, in the reader's language, so no name or decrypted value is ever stored.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.db import connection, models, transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access, events, selectors, workflow
from cases.models import (
    Case,
    CaseDeadline,
    Handover,
    HandoverKind,
    HandoverStatus,
    Membership,
    Notification,
    NotificationKind,
    Office,
    Role,
    User,
)

# A deadline this many days away or closer (and not yet passed) is told once to whoever works
# on the case: its assignee, or the office's supervisors while nobody holds it.
DEADLINE_DAYS = 3


# --- The text, written when shown ---------------------------------------------------------


def _labels(params: dict[str, Any]) -> tuple[str, str]:
    """The state and clock labels of the notification's procedure, in the active language."""
    wf = workflow.get(str(params.get("procedure", "")))
    state = str(params.get("state", ""))
    clock_name = str(params.get("clock", ""))
    clock = wf.clock(clock_name) if wf else None
    return (str(wf.state(state).label) if wf else state,
            str(clock.label) if clock else clock_name)


def text(notification: Notification) -> str:
    """What the notification says, in the active language."""
    params = notification.params or {}
    reference = str(params.get("reference", ""))
    kind = notification.kind
    if kind == NotificationKind.NEW_LOGIN_PLACE:
        return _("Your account was logged in to from a browser or place not used lately (%(browser)s, "
                 "%(when)s). If it was not you, tell your office administrator at once.") % {
            "browser": str(params.get("browser", "")), "when": _when(params.get("when"))}
    if kind == NotificationKind.ASSIGNED:
        return _("Case %(reference)s was assigned to you.") % {"reference": reference}
    if kind == NotificationKind.DOCUMENT:
        return _("A document was added to case %(reference)s.") % {"reference": reference}
    if kind in _BETWEEN_OFFICES:
        return _between_offices(kind, reference, params)
    if kind == NotificationKind.RATE_LIMITED:
        return _rate_limited(params)
    state, clock = _labels(params)
    if kind == NotificationKind.WAITING:
        return _("Case %(reference)s is waiting for you: %(state)s.") % {
            "reference": reference, "state": state}
    if kind == NotificationKind.DEADLINE and params.get("reminder"):
        registered = _reminders.get(str(params["reminder"]))
        clock = str(registered[0]) if registered else str(params["reminder"])
    if kind == NotificationKind.DEADLINE:
        return _("Case %(reference)s: %(clock)s, due on %(due)s.") % {
            "reference": reference, "clock": clock, "due": str(params.get("due", ""))}
    return reference


_BETWEEN_OFFICES = {NotificationKind.TRANSFER_OFFERED, NotificationKind.CASE_REQUESTED,
                    NotificationKind.TRANSFER_ACCEPTED, NotificationKind.TRANSFER_REJECTED,
                    NotificationKind.TRANSFER_WITHDRAWN, NotificationKind.SHARED,
                    NotificationKind.SHARE_ENDED}


def _when(value: object) -> str:
    try:
        moment = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return ""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _between_offices(kind: str, reference: str, params: dict[str, Any]) -> str:
    values = {"reference": reference, "from": str(params.get("from", "")),
              "to": str(params.get("to", "")), "by": str(params.get("by", "")),
              "until": str(params.get("until", ""))}
    if kind == NotificationKind.TRANSFER_OFFERED:
        return _("%(from)s offers case %(reference)s to %(to)s: it waits for your answer.") % values
    if kind == NotificationKind.CASE_REQUESTED:
        return _("%(to)s asks %(from)s for case %(reference)s: it waits for your answer.") % values
    if kind == NotificationKind.TRANSFER_ACCEPTED:
        return _("%(by)s accepted the transfer of case %(reference)s (%(from)s → %(to)s).") % values
    if kind == NotificationKind.TRANSFER_REJECTED:
        return _("%(by)s rejected the transfer of case %(reference)s (%(from)s → %(to)s); "
                 "its answer is on the transfers page.") % values
    if kind == NotificationKind.TRANSFER_WITHDRAWN:
        return _("%(by)s withdrew the transfer of case %(reference)s (%(from)s → %(to)s): "
                 "it no longer waits for your answer.") % values
    if kind == NotificationKind.SHARE_ENDED:
        return _share_ended(values, str(params.get("office", "")))
    if params.get("office"):
        return _("Case %(reference)s was shared with your office %(office)s until %(until)s.") % {
            **values, "office": str(params["office"])}
    return _("Case %(reference)s was shared with you until %(until)s.") % values


def _share_ended(values: dict[str, str], office: str) -> str:
    values = {**values, "office": office}
    if office and values["by"]:
        return _("%(by)s ended the share of case %(reference)s with your office %(office)s.") % values
    if office:
        return _("The share of case %(reference)s with your office %(office)s ended: it lasted "
                 "until %(until)s.") % values
    if values["by"]:
        return _("%(by)s ended the share of case %(reference)s with you.") % values
    return _("The share of case %(reference)s with you ended: it lasted until %(until)s.") % values


def _rate_limited(params: dict[str, Any]) -> str:
    kinds = {"searches": _("searches"), "views": _("records viewed"), "exports": _("exports")}
    kind = str(params.get("kind", ""))
    return _("%(user)s reached the limit of %(kind)s (%(limit)s in %(minutes)s minutes) and was "
             "stopped until the period ends. If this was not their own work by hand, the audit "
             "log shows what the account read.") % {
        "user": str(params.get("user", "")), "kind": kinds.get(kind, kind),
        "limit": params.get("limit", ""), "minutes": params.get("minutes", "")}


# --- Written from the events of the services ------------------------------------------------


def _one(case: Case, recipient_id: int | None, actor: Any, kind: str) -> None:
    """Tell the case's `recipient_id` (not the one who acted): one INSERT."""
    if recipient_id is None or recipient_id == getattr(actor, "pk", None):
        return
    Notification.objects.bulk_create([Notification(
        recipient_id=recipient_id, office_id=case.office_id, case=case, kind=kind,
        params={"reference": case.reference})])


def _holders(case: Case, role: str, actor: Any, kind: str, params: dict[str, str],
             only: int | None = None) -> None:
    """Tell the active holders of `role` in the case's office (only `only`, if given), not the
    one who acted: one INSERT ... SELECT, whoever they are and however many."""
    n = Notification._meta
    m = Membership._meta
    u = User._meta
    qn = connection.ops.quote_name

    def value(name: str, v: Any) -> Any:
        field = cast("models.Field[Any, Any]", n.get_field(name))
        return field.get_db_prep_save(v, connection)

    def column(meta: Any, field: str) -> str:
        return qn(meta.get_field(field).column)

    where = [f"m.{column(m, 'office')} = %s", f"m.{column(m, 'role')} = %s",
             f"u.{column(u, 'is_active')} = %s"]
    args: list[Any] = [case.office_id, role, True]
    if only is not None:
        where.append(f"m.{column(m, 'user')} = %s")
        args.append(only)
    if getattr(actor, "pk", None) is not None:
        where.append(f"m.{column(m, 'user')} <> %s")
        args.append(actor.pk)
    fields = ("office", "case", "kind", "params", "created_at")
    values = [value("office", case.office_id), value("case", case.pk), value("kind", kind),
              value("params", {"reference": case.reference, **params}),
              value("created_at", timezone.now())]
    # Table and column names from the models; every value a parameter.
    sql = (f"INSERT INTO {qn(n.db_table)} ({column(n, 'recipient')}, "  # noqa: S608
           f"{', '.join(column(n, f) for f in fields)}) "
           f"SELECT m.{column(m, 'user')}, {', '.join(['%s'] * len(fields))} "
           f"FROM {qn(m.db_table)} m JOIN {qn(u.db_table)} u "
           f"ON u.{column(u, 'id')} = m.{column(m, 'user')} "
           f"WHERE {' AND '.join(where)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, *args])


def _assigned(event: events.Event, case: Case) -> None:
    if event.details.get("previous") != case.assigned_to_id:  # not kept where it was
        _one(case, case.assigned_to_id, event.actor, NotificationKind.ASSIGNED)


def _document_added(event: events.Event, case: Case) -> None:
    _one(case, case.assigned_to_id, event.actor, NotificationKind.DOCUMENT)


def _step_taken(event: events.Event, case: Case) -> None:
    """The case now waits for a role: tell who holds it (the assignee, for a role that acts
    only on assigned cases; every holder in the office otherwise)."""
    wf = workflow.get(case.procedure)
    state = wf.states.get(case.state) if wf else None
    if wf is None or state is None or not state.waiting_for or case.closed_at:
        return
    role = state.waiting_for
    params = {"procedure": wf.name, "state": case.state,
              "step": str(event.details.get("transition", ""))}
    if access.acts_only_when_assigned(role):
        if case.assigned_to_id is None or case.assigned_to_id == getattr(event.actor, "pk", None):
            return  # nobody to tell, or they did it themselves: no statement at all
        _holders(case, role, event.actor, NotificationKind.WAITING, params,
                 only=case.assigned_to_id)
    else:
        _holders(case, role, event.actor, NotificationKind.WAITING, params)


_FROM: dict[str, Callable[[events.Event, Case], None]] = {
    "case.assign": _assigned,
    "document.add": _document_added,
    "case.transition": _step_taken,
}


@receiver(events.recorded, dispatch_uid="cases.notifications")
def notify(sender: object, *, event: events.Event, **kwargs: Any) -> None:
    """Turn an action on a case into notifications, in the action's transaction."""
    handler = _FROM.get(event.action)
    if handler is None or event.outcome != "ok" or not isinstance(event.subject, Case):
        return
    handler(event, event.subject)


# --- Between offices: transfers and shares, written by their services -------------------------


def _tell(rows: list[Notification]) -> list[Notification]:
    """Write `rows` (one INSERT) in the caller's transaction; once it commits, their
    recipients are told by email that something waits (a link, nothing else)."""
    if not rows:
        return rows
    written = Notification.objects.bulk_create(rows)
    from cases import tasks  # tasks import this module

    ids = [n.pk for n in written]
    transaction.on_commit(lambda: tasks.notification_emails_task.delay(ids))
    return written


def _supervisors(office_id: int, actor: User | None) -> list[int]:
    rows = Membership.objects.filter(office_id=office_id, role=Role.SUPERVISOR,
                                     user__is_active=True)
    if actor is not None:
        rows = rows.exclude(user=actor)
    return sorted(set(rows.values_list("user_id", flat=True)))


def handover_started(handover: Handover, *, by: User) -> list[Notification]:
    """An office offered a case, or asked for one: tell the supervisors of the office that
    answers (they may not see the case yet: the notification goes through the transfer)."""
    kind = (NotificationKind.TRANSFER_OFFERED if handover.kind == HandoverKind.OFFER
            else NotificationKind.CASE_REQUESTED)
    return _about_handover(handover, kind, office_id=handover.answering_office_id, by=by)


def handover_answered(handover: Handover, *, by: User) -> list[Notification]:
    """Accepted, rejected or withdrawn. An answer is told to the supervisors of the office that
    started the transfer; a withdrawal to those of the office that was to answer it (the
    starting office withdrew it itself). What asked for an answer no longer waits: read."""
    Notification.objects.filter(
        handover=handover, read_at__isnull=True,
        kind__in=(NotificationKind.TRANSFER_OFFERED, NotificationKind.CASE_REQUESTED),
    ).update(read_at=timezone.now())
    kind = {HandoverStatus.ACCEPTED: NotificationKind.TRANSFER_ACCEPTED,
            HandoverStatus.REJECTED: NotificationKind.TRANSFER_REJECTED,
            HandoverStatus.WITHDRAWN: NotificationKind.TRANSFER_WITHDRAWN}[
        HandoverStatus(handover.status)]
    office_id = (handover.answering_office_id if handover.status == HandoverStatus.WITHDRAWN
                 else handover.starting_office_id)
    by_office = (handover.starting_office_id if handover.status == HandoverStatus.WITHDRAWN
                 else handover.answering_office_id)
    return _about_handover(handover, kind, office_id=office_id, by=by, by_office=by_office)


def _about_handover(handover: Handover, kind: str, *, office_id: int, by: User,
                    by_office: int | None = None) -> list[Notification]:
    codes = dict(Office.objects.filter(pk__in={handover.from_office_id, handover.to_office_id})
                 .values_list("pk", "code"))
    params = {"reference": handover.case.reference, "from": codes[handover.from_office_id],
              "to": codes[handover.to_office_id]}
    if by_office is not None:
        params["by"] = codes[by_office]
    return _tell([Notification(recipient_id=user_id, office_id=office_id,
                               case_id=handover.case_id, handover=handover, kind=kind,
                               params=params)
                  for user_id in _supervisors(office_id, by)])


def shared(case: Case, users: Iterable[User], *, by: User | None,
           until: datetime.date, office: Office | None = None) -> list[Notification]:
    """A case was shared with `users` (by name, or as staff of `office`): tell them, not who
    shared it. They see the case through the share, so the notification opens it."""
    params = {"reference": case.reference, "until": until.isoformat()}
    if office is not None:
        params["office"] = office.code
    return _tell([Notification(recipient_id=user.pk, office_id=case.office_id, case=case,
                               kind=NotificationKind.SHARED, params=params)
                  for user in users if user.pk != getattr(by, "pk", None)])


@dataclass(frozen=True)
class Ended:
    """A share of a case that ended: with the staff member `user_id` by name, or with the
    office `office_id` (code `office`), whose supervisors are told. `until` is its last day
    (None: it had no end)."""

    case_id: Any
    case_office_id: int
    reference: str
    until: datetime.date | None
    user_id: int | None = None
    office_id: int | None = None
    office: str = ""


def shares_ended(ended: list[Ended], *, by: User | None = None,
                 by_office: str = "") -> list[Notification]:
    """Shares ended, ended by `by` of the case's office `by_office` (a code), or expired (None):
    tell who lost them, not who ended them, and mark read what told them of the share. Three
    statements, however many shares: the offices' supervisors, one INSERT, one UPDATE."""
    if not ended:
        return []
    supervisors: dict[int, list[int]] = defaultdict(list)
    offices = {e.office_id for e in ended if e.office_id is not None}
    if offices:
        rows = Membership.objects.filter(office__in=offices, role=Role.SUPERVISOR,
                                         user__is_active=True)
        if by is not None:
            rows = rows.exclude(user=by)
        for user_id, office_id in rows.values_list("user_id", "office_id").distinct():
            supervisors[office_id].append(user_id)
    notices = []
    stale = models.Q(pk__in=[])
    for e in ended:
        params = {"reference": e.reference}
        if by is not None:
            params["by"] = by_office
        elif e.until is not None:
            params["until"] = e.until.isoformat()
        if e.office_id is not None:
            params["office"] = e.office
            told = sorted(supervisors.get(e.office_id, []))
            stale |= models.Q(case_id=e.case_id, params__office=e.office)
        else:
            told = [e.user_id] if e.user_id not in (None, getattr(by, "pk", None)) else []
            stale |= (models.Q(case_id=e.case_id, recipient_id=e.user_id)
                      & ~models.Q(params__has_key="office"))
        notices += [Notification(recipient_id=user_id, office_id=e.case_office_id,
                                 case_id=e.case_id, kind=NotificationKind.SHARE_ENDED,
                                 params=params) for user_id in told]
    Notification.objects.filter(stale, kind=NotificationKind.SHARED,
                                read_at__isnull=True).update(read_at=timezone.now())
    return _tell(notices)


def rate_limited(*, user: User, offices: Iterable[int], kind: str, limit: int,
                 seconds: int) -> list[Notification]:
    """A staff member reached a usage limit (cases/ratelimits.py): tell the supervisors of
    each of their offices, not themselves; once per window (the caller sees to it)."""
    rows = Membership.objects.filter(office__in=list(offices), role=Role.SUPERVISOR,
                                     user__is_active=True).exclude(user=user)
    params = {"user": user.get_username(), "kind": kind, "limit": limit,
              "minutes": max(1, round(seconds / 60))}
    return _tell([Notification(recipient_id=recipient, office_id=office_id,
                               kind=NotificationKind.RATE_LIMITED, params=params)
                  for recipient, office_id in sorted(set(rows.values_list("user_id", "office_id")))])


def tell_account(user: User, kind: str, params: dict[str, str]) -> list[Notification]:
    """A notice about the user's own account (no case, no office), emailed too."""
    return _tell([Notification(recipient=user, kind=kind, params=params)])


# --- Told by email ---------------------------------------------------------------------------


def _email_subject(kind: str) -> str:
    if kind in (NotificationKind.TRANSFER_OFFERED, NotificationKind.CASE_REQUESTED):
        return _("Amparo: a case transfer waits for your answer")
    if kind == NotificationKind.SHARED:
        return _("Amparo: a case was shared with you")
    if kind == NotificationKind.SHARE_ENDED:
        return _("Amparo: a share of a case ended")
    if kind == NotificationKind.RATE_LIMITED:
        return _("Amparo: a staff account reached a usage limit")
    if kind == NotificationKind.NEW_LOGIN_PLACE:
        return _("Amparo: a login to your account from a new browser or place")
    return _("Amparo: news of a case transfer")


def send_emails(notification_ids: Iterable[int]) -> int:
    """Tell each recipient of these notifications by email that something waits for them, in
    their language, with a link to the notification (which checks, when opened, that they
    may still see it): no reference, no office, no name. Only notifications still unread
    and still visible to their recipient are told. Returns how many emails went."""
    from django.conf import settings
    from django.core.mail import get_connection
    from django.core.mail.message import EmailMessage
    from django.urls import reverse
    from django.utils import translation

    rows = list(Notification.objects.filter(pk__in=list(notification_ids), read_at__isnull=True,
                                            recipient__is_active=True)
                .exclude(recipient__email="").select_related("recipient").order_by("pk"))
    base = settings.AMPARO_BASE_URL.rstrip("/")
    mails = []
    for notification in rows:
        user = notification.recipient
        if not selectors.visible_notifications(user).filter(pk=notification.pk).exists():
            continue
        link = base + reverse("notification_open", kwargs={"notification_id": notification.pk})
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            mails.append(EmailMessage(
                subject=_email_subject(notification.kind),
                body=_("There is something new for you in Amparo.\n\nOpen it after logging "
                       "in: %(link)s\n\nFor the safety of the people concerned, this email "
                       "says nothing more.") % {"link": link},
                from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email]))
    if mails:
        get_connection().send_messages(mails)
    return len(mails)


# --- Deadlines (a periodic task) -------------------------------------------------------------

BATCH = 500


@dataclass(frozen=True)
class Reminder:
    """Something an app dates on a case outside the engine's clocks (a support service's
    planned end, say), due on `due`. `key` names it (an id): one notification per key, due
    date and person."""

    case: Case
    key: str
    due: datetime.date


# The apps' reminders: code -> (label, source of the reminders due between two days).
ReminderSource = Callable[[datetime.date, datetime.date], Iterable[Reminder]]
_reminders: dict[str, tuple[workflow.Label, ReminderSource]] = {}


def register_reminders(code: str, label: workflow.Label, source: ReminderSource) -> None:
    """An app's dated items, told like deadlines by the same sweep (from AppConfig.ready())."""
    _reminders[code] = (label, source)


def notify_due_deadlines(*, today: datetime.date | None = None, days: int = DEADLINE_DAYS) -> int:
    """Tell whoever works on each open case that a running deadline falls within `days` days
    (its assignee; the office's supervisors while nobody holds the case). Once per period and
    person: running it again writes nothing new. The apps' reminders go the same way. Returns
    how many were written."""
    today = today or timezone.localdate()
    written = 0
    for code, (_label, source) in _reminders.items():
        written += _remind(code, list(source(today, today + datetime.timedelta(days=days))))
    return written + _notify_deadlines(today, days)


def _notify_deadlines(today: datetime.date, days: int) -> int:
    due = (CaseDeadline.objects.filter(met_at__isnull=True, due_on__gte=today,
                                       due_on__lte=today + datetime.timedelta(days=days),
                                       case__closed_at__isnull=True)
           .select_related("case").order_by("pk"))
    written = 0
    last = 0
    while True:
        batch = list(due.filter(pk__gt=last)[:BATCH])
        if not batch:
            return written
        last = batch[-1].pk
        written += _notify_batch(batch)


def _notify_batch(deadlines: list[CaseDeadline]) -> int:
    unassigned_offices = {d.case.office_id for d in deadlines if d.case.assigned_to_id is None}
    supervisors: dict[int, list[int]] = {}
    for user_id, office_id in (Membership.objects.filter(
            office__in=unassigned_offices, role=Role.SUPERVISOR, user__is_active=True)
            .values_list("user_id", "office_id")):
        supervisors.setdefault(office_id, []).append(user_id)
    told = set(Notification.objects.filter(deadline__in=deadlines)
               .values_list("recipient_id", "deadline_id"))
    rows = []
    for d in deadlines:
        case = d.case
        recipients = ([case.assigned_to_id] if case.assigned_to_id is not None
                      else supervisors.get(case.office_id, []))
        rows += [Notification(recipient_id=r, office_id=case.office_id, case=case, deadline=d,
                              kind=NotificationKind.DEADLINE,
                              params={"reference": case.reference, "procedure": case.procedure,
                                      "clock": d.clock, "due": d.due_on.isoformat()})
                 for r in recipients if (r, d.pk) not in told]
    with transaction.atomic():
        # Two sweeps at once: the unique constraint keeps one of each.
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _recipients(cases: list[Case]) -> dict[Any, list[int]]:
    """Per case id: its assignee, or its office's active supervisors while nobody holds it."""
    offices = {c.office_id for c in cases if c.assigned_to_id is None}
    supervisors: dict[int, list[int]] = {}
    for user_id, office_id in (Membership.objects.filter(
            office__in=offices, role=Role.SUPERVISOR, user__is_active=True)
            .values_list("user_id", "office_id")):
        supervisors.setdefault(office_id, []).append(user_id)
    return {c.pk: ([c.assigned_to_id] if c.assigned_to_id is not None
                   else supervisors.get(c.office_id, [])) for c in cases}


def _remind(code: str, reminders: list[Reminder]) -> int:
    """Notifications for an app's reminders, once per (person, key, due date)."""
    written = 0
    for at in range(0, len(reminders), BATCH):
        batch = [r for r in reminders[at:at + BATCH] if r.case.closed_at is None]
        recipients = _recipients([r.case for r in batch])
        told = set(Notification.objects.filter(
            kind=NotificationKind.DEADLINE, case__in=[r.case.pk for r in batch],
            params__reminder=code).values_list("recipient_id", "params__key", "params__due"))
        rows = [Notification(recipient_id=who, office_id=r.case.office_id, case=r.case,
                             kind=NotificationKind.DEADLINE,
                             params={"reference": r.case.reference, "reminder": code,
                                     "key": r.key, "due": r.due.isoformat()})
                for r in batch for who in recipients[r.case.pk]
                if (who, r.key, r.due.isoformat()) not in told]
        Notification.objects.bulk_create(rows)
        written += len(rows)
    return written


# --- Reading them ------------------------------------------------------------------------------


def mark_read(*, by: User, notification: Notification) -> None:
    """`notification` is one of `by`'s (the caller read it through the selector)."""
    if notification.recipient_id != by.pk:
        raise PermissionDenied(_("This notification is not yours."))
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at)


def mark_all_read(*, by: User) -> int:
    """Mark read every unread notification the user sees (hidden ones stay as they are)."""
    return selectors.visible_notifications(by).filter(read_at__isnull=True).update(
        read_at=timezone.now())
