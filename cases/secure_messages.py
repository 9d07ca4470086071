"""Secure messages about a case between staff and offices (docs/architecture.md#secure-messages).

Services (every write) and the scoped reads of threads. Subjects, bodies and attachments are
sealed with the key of the case's principal. Who may start a thread: staff who may see the case
and hold a case role. Who it may be for: the case's office, an office the case is handed over
to or from (waiting or accepted), an office of someone the case is shared with, and the
caseworkers and supervisors of those offices. Who reads it: its parties (a whole office's
caseworkers and supervisors, or one staff member), its sender, and the supervisors of every
office named on it. Everyone who reads a thread may answer in it.

A message that reaches an office other than the case's and the writer's own shares the
person's data with it: that needs the person's consent to sharing, or a supervisor's written
reason to write without it (sealed on the message, a `consent.override` event).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access, consent, events, metadata, restriction, selectors, texts, uploads
from cases.crypto import files
from cases.models import (
    Case,
    CaseUserObjectPermission,
    ConsentPurpose,
    Handover,
    HandoverStatus,
    Membership,
    Message,
    MessageAttachment,
    MessageRead,
    MessageThread,
    Office,
    OfficeShare,
    Person,
    Role,
    ThreadParty,
    User,
)

SUBJECT_MAX = 200
BODY_MAX = texts.NOTE  # 10,000 characters
ATTACHMENT = uploads.CASE_DOCUMENT


# --- Who may be written to ------------------------------------------------------------------


def recipient_offices(case: Case) -> QuerySet[Office]:
    """The offices a message about `case` may go to (active ones)."""
    handed = Handover.objects.filter(
        case=case, status__in=(HandoverStatus.PENDING, HandoverStatus.ACCEPTED))
    granted_users = CaseUserObjectPermission.objects.filter(
        content_object=case, permission__codename="view_case").values("user_id")
    granted_offices = Membership.objects.filter(
        user__in=granted_users, role__in=access.CASE_ROLES).values("office_id")
    return Office.objects.filter(
        Q(pk=case.office_id) | Q(pk__in=handed.values("from_office_id"))
        | Q(pk__in=handed.values("to_office_id")) | Q(pk__in=granted_offices)
        | Q(pk__in=OfficeShare.objects.filter(case=case, expires_at__gt=timezone.now())
            .values("office_id")),
        is_active=True).order_by("code")


def recipient_staff(case: Case) -> QuerySet[Membership]:
    """The caseworkers' and supervisors' memberships of those offices (one row per user and
    office), active accounts only."""
    return (Membership.objects.filter(office__in=recipient_offices(case).values("pk"),
                                      role__in=access.CASE_ROLES, user__is_active=True)
            .select_related("user", "office").order_by("office__code", "user__username"))


def _writing_office(user: User, offices: Iterable[int], prefer: int) -> int | None:
    """The office `user` writes from: `prefer` (the case's office) when they work there, else
    the first of `offices` where they hold a case role."""
    mine = access.offices_where(user, *access.CASE_ROLES)
    if prefer in mine:
        return prefer
    return next((o for o in sorted(offices) if o in mine), None)


# --- Who may read ---------------------------------------------------------------------------


def readable_threads(user: User) -> QuerySet[MessageThread]:
    """The threads `user` may read: a party in an office where they still hold a case role, a
    member of an office the thread is for, or a supervisor of an office named on it."""
    if not user.is_authenticated or not user.is_active:
        return MessageThread.objects.none()
    return MessageThread.objects.filter(pk__in=_readable_thread_ids(user))


def _readable_thread_ids(user: User) -> QuerySet[ThreadParty, Any]:
    """The ids of `readable_threads`, as a subquery (read straight from the parties)."""
    worked = access.offices_where(user, *access.CASE_ROLES)
    supervised = access.offices_where(user, Role.SUPERVISOR)
    if not worked:
        return ThreadParty.objects.none().values("thread_id")
    return ThreadParty.objects.filter(
        (Q(user=user) | Q(user__isnull=True)) & Q(office__in=worked)
        | Q(office__in=supervised)).values("thread_id")


def get_thread(user: User, thread_id: uuid.UUID | str) -> MessageThread:
    """The thread if `user` may read it; 404 otherwise (never reveal that it exists)."""
    from django.http import Http404

    try:
        return (readable_threads(user).select_related("case", "case__office", "person")
                .get(pk=thread_id))
    except (MessageThread.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such message.") from None


def unread_messages(user: User) -> QuerySet[Message]:
    """Messages of threads `user` may read, written by someone else, not yet opened by them."""
    if not user.is_authenticated or not user.is_active:
        return Message.objects.none()
    return (Message.objects.filter(thread_id__in=_readable_thread_ids(user))
            .exclude(sender=user)
            .exclude(Exists(MessageRead.objects.filter(message=OuterRef("pk"), user=user))))


def unread_count(user: User, limit: int = selectors.BELL_LIMIT) -> selectors.Bounded:
    """How many unread messages, up to `limit`: the ids of at most `limit` + 1 (no COUNT:
    the bell's statement costs the same however many there are). The navbar asks on every
    page, so the statement is `unread_messages` written out once here rather than built by
    the ORM each time (the tests hold the two to the same answer)."""
    worked = access.offices_where(user, *access.CASE_ROLES) if user.is_authenticated else set()
    if not worked or not user.is_active:
        return selectors.Bounded(0)
    supervised = access.offices_where(user, Role.SUPERVISOR)
    message, party, read = (m._meta.db_table for m in (Message, ThreadParty, MessageRead))
    marks = ", ".join(["%s"] * len(worked))
    also = f" OR p.office_id IN ({', '.join(['%s'] * len(supervised))})" if supervised else ""
    sql = (f"SELECT m.id FROM {message} m WHERE m.thread_id IN ("  # noqa: S608 - names from models
           f"SELECT p.thread_id FROM {party} p WHERE ((p.user_id = %s OR p.user_id IS NULL)"
           f" AND p.office_id IN ({marks})){also})"
           f" AND m.sender_id <> %s"
           f" AND NOT EXISTS (SELECT 1 FROM {read} r WHERE r.message_id = m.id AND r.user_id = %s)"
           f" LIMIT %s")
    params = [user.pk, *sorted(worked), *sorted(supervised), user.pk, user.pk, limit + 1]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return selectors.bounded(len(cursor.fetchall()), limit)


def inbox(user: User, *, office: Office | None = None) -> QuerySet[MessageThread]:
    """Every thread the user may read, or those naming one of their offices; unread first,
    then newest. Each carries `unread` and its case's reference."""
    threads = readable_threads(user)
    if office is not None:
        threads = threads.filter(Exists(ThreadParty.objects.filter(
            thread=OuterRef("pk"), office=office)))
    unread = Message.objects.filter(thread=OuterRef("pk")).exclude(sender=user).exclude(
        Exists(MessageRead.objects.filter(message=OuterRef("pk"), user=user)))
    return (threads.annotate(unread=Exists(unread))
            .select_related("case", "started_by")
            .only("id", "case__reference", "started_by__username", "started_by__first_name",
                  "started_by__last_name", "last_message_at", "started_at")
            .order_by("-unread", "-last_message_at", "-pk"))


def inbox_for_case(user: User, case: Case) -> QuerySet[MessageThread]:
    unread = Message.objects.filter(thread=OuterRef("pk")).exclude(sender=user).exclude(
        Exists(MessageRead.objects.filter(message=OuterRef("pk"), user=user)))
    return (readable_threads(user).filter(case=case).annotate(unread=Exists(unread))
            .select_related("started_by").order_by("-unread", "-last_message_at", "-pk"))


@dataclass(frozen=True)
class CaseCard:
    threads: selectors.Bounded
    unread: selectors.Bounded


def case_card(user: User, case: Case) -> CaseCard:
    """The case page's "Messages" card: threads the user may read and their unread
    messages, each counted no further than a page shows, in one statement (after a plain
    look for any thread of the case: most cases have none, and that look is cheap)."""
    if not MessageThread.objects.filter(case=case).exists():
        return CaseCard(selectors.Bounded(0), selectors.Bounded(0))
    limit = selectors.COUNT_LIMIT
    threads = readable_threads(user).filter(case=OuterRef("pk")).order_by().values("pk")
    unread = (unread_messages(user).filter(thread__case=OuterRef("pk")).order_by()
              .values("pk"))
    counts = (Case.objects.filter(pk=case.pk)
              .annotate(threads=selectors.CountUpTo(threads[:limit + 1]),
                        unread=selectors.CountUpTo(unread[:limit + 1]))
              .values_list("threads", "unread").first()) or (0, 0)
    return CaseCard(selectors.bounded(counts[0], limit), selectors.bounded(counts[1], limit))


# --- Writing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


def _check_text(subject: str | None, body: str) -> None:
    errors: dict[str, str] = {}
    if subject is not None and not subject.strip():
        errors["subject"] = _("Write a subject.")
    if not body.strip():
        errors["body"] = _("Write the message.")
    texts.check(errors, {"subject": (subject or "", SUBJECT_MAX), "body": (body, BODY_MAX)})
    if errors:
        raise ValidationError(errors)


def _check_upload(upload: Upload | None) -> tuple[Upload | None, str]:
    """The attachment without its metadata (a photo's GPS position, a PDF's author), and its
    content type."""
    if upload is None:
        return None, ""
    texts.ensure(upload.name, texts.SHORT, field="file")
    content_type = uploads.check_upload(upload.data, accepted=ATTACHMENT)
    return Upload(upload.name, metadata.strip(upload.data, content_type)), content_type


def _check_person(person: Person) -> None:
    if person.erased_at:
        raise ValidationError(_("This person's record was erased."))
    restriction.ensure_processing_allowed(person)


# --- The consent gate -----------------------------------------------------------------------


def outside_offices(case: Case, party_offices: Iterable[int], writer_office: int) -> set[int]:
    """The offices a message shares the person's data with: those named on the thread, but
    the case's own office (which holds the data) and the writer's (which has it already)."""
    return set(party_offices) - {case.office_id, writer_office}


def needs_override(person: Person, outside: set[int]) -> bool:
    """Whether a message to `outside` needs a supervisor's reason: the person has not
    consented to sharing with another office (their current answer)."""
    return bool(outside) and not consent.allows(person, ConsentPurpose.SHARING)


@dataclass(frozen=True)
class Gate:
    status: str  # "not needed", "given", "overridden"
    override: str = ""


def _consent_gate(*, by: User, person: Person, outside: set[int], writer_office: int,
                  override: str) -> Gate:
    """Read under the person's row lock, the one a new consent answer takes: a withdrawal
    committed before stops this message."""
    if not outside:
        return Gate("not needed")
    if consent.allows(person, ConsentPurpose.SHARING):
        return Gate("given")
    override = override.strip()
    if not override:
        raise ValidationError({"override": _(
            "The person has not consented to sharing their data with another office. Record "
            "their consent on their page, or a supervisor gives the reason to write without it.")})
    if Role.SUPERVISOR not in access.roles_in(by, writer_office):
        raise ValidationError({"override": _(
            "Only a supervisor writes to another office without the person's consent.")})
    texts.ensure(override, texts.SHORT, field="override")
    return Gate("overridden", override)


def _add_message(*, thread: MessageThread, by: User, office_id: int, body: str,
                 upload: Upload | None, content_type: str, gate: Gate,
                 outside: set[int]) -> Message:
    now = timezone.now()
    message = Message.objects.create(thread=thread, person_id=thread.person_id, sender=by,
                                     sender_office_id=office_id, body=body.strip(),
                                     consent_override=gate.override or None, created_at=now)
    MessageThread.objects.filter(pk=thread.pk).update(last_message_at=now)
    name = ""
    try:
        if upload is not None:
            attachment_id = uuid.uuid4()
            name = files.store(subject_id=thread.person_id,
                               table=MessageAttachment._meta.db_table, row_id=attachment_id,
                               data=upload.data)
            MessageAttachment.objects.create(
                id=attachment_id, message=message, person_id=thread.person_id,
                filename=upload.name, content_type=content_type, size=len(upload.data),
                storage_name=name)
        if gate.status == "overridden":
            events.emit("consent.override", actor=by, obj=thread.person,
                        purpose=ConsentPurpose.SHARING, case=str(thread.case_id),
                        thread=str(thread.pk), message=str(message.pk), to_offices=sorted(outside))
        events.emit("message.send", actor=by, obj=thread.case, thread=str(thread.pk),
                    message=str(message.pk), attachment=upload is not None,
                    consent=gate.status)
    except Exception:
        if name:  # no sealed file without its row
            files.delete(name)
        raise
    from cases import tasks  # tasks import this module

    message_id = str(message.pk)
    transaction.on_commit(lambda: tasks.message_emails_task.delay(message_id))
    return message


def start_thread(*, by: User, case: Case, subject: str, body: str,
                 offices: Sequence[Office] = (), users: Sequence[User] = (),
                 upload: Upload | None = None, override: str = "") -> MessageThread:
    """Write a new message about `case` to offices and/or staff members; `override`: a
    supervisor's reason to write to another office without the person's consent."""
    _check_text(subject, body)
    upload, content_type = _check_upload(upload)
    if not offices and not users:
        raise ValidationError({"offices": _("Choose at least one office or person to write to.")})
    with transaction.atomic():
        case = selectors.get_case(by, case.pk)  # 404 when the writer may not see it
        allowed = {o.pk for o in recipient_offices(case)}
        sender_office = _writing_office(by, allowed, case.office_id)
        if sender_office is None:
            raise PermissionDenied(_("Only caseworkers and supervisors who see the case write "
                                     "about it."))
        person = Person.objects.select_for_update().get(pk=case.principal_id)
        _check_person(person)
        if any(o.pk not in allowed for o in offices):
            raise ValidationError({"offices": _(
                "This office cannot be written to about this case.")})
        staff = {(m.user_id, m.office_id) for m in recipient_staff(case)}
        user_rows: dict[int, int] = {}
        for user in users:
            office_id = next((o for (u, o) in sorted(staff) if u == user.pk), None)
            if office_id is None:
                raise ValidationError({"users": _(
                    "This person cannot be written to about this case.")})
            user_rows[user.pk] = office_id
        user_rows.setdefault(by.pk, sender_office)
        # A new thread shares the data with every office it names but the case's own: the
        # writer's office too when it holds the case only through a share (writing to it
        # passes the data on); the writer's own row shares nothing.
        outside = outside_offices(
            case, {o.pk for o in offices} | {o for u, o in user_rows.items() if u != by.pk},
            case.office_id)
        gate = _consent_gate(by=by, person=person, outside=outside, writer_office=sender_office,
                             override=override)
        thread = MessageThread.objects.create(case=case, person=person, subject=subject.strip(),
                                              started_by=by)
        ThreadParty.objects.bulk_create(
            [ThreadParty(thread=thread, office_id=o.pk) for o in {o.pk: o for o in offices}.values()]
            + [ThreadParty(thread=thread, office_id=o, user_id=u) for u, o in user_rows.items()])
        _add_message(thread=thread, by=by, office_id=sender_office, body=body, upload=upload,
                     content_type=content_type, gate=gate, outside=outside)
    return thread


def reader_office(user: User, thread: MessageThread) -> int | None:
    """The office through which `user` reads `thread` (their party row first)."""
    worked = access.offices_where(user, *access.CASE_ROLES)
    supervised = access.offices_where(user, Role.SUPERVISOR)
    rows = list(thread.parties.values_list("office_id", "user_id"))
    for office_id, user_id in rows:
        if user_id == user.pk and office_id in worked:
            return office_id
    for office_id, user_id in rows:
        if user_id is None and office_id in worked:
            return office_id
    return next((o for o, _u in rows if o in supervised), None)


def reply_outside(user: User, thread: MessageThread) -> set[int]:
    """The offices an answer by `user` shares the person's data with (see `outside_offices`)."""
    office_id = reader_office(user, thread)
    if office_id is None:
        return set()
    return outside_offices(thread.case, thread.parties.values_list("office_id", flat=True),
                           office_id)


def reply(*, by: User, thread: MessageThread, body: str,
          upload: Upload | None = None, override: str = "") -> Message:
    """Answer in a thread; everyone who may read it may answer (to another office without the
    person's consent: a supervisor, with `override`)."""
    _check_text(None, body)
    upload, content_type = _check_upload(upload)
    with transaction.atomic():
        thread = get_thread(by, thread.pk)
        office_id = reader_office(by, thread)
        if office_id is None:  # pragma: no cover - get_thread would have refused
            raise PermissionDenied
        person = Person.objects.select_for_update().get(pk=thread.person_id)
        _check_person(person)
        outside = reply_outside(by, thread)
        gate = _consent_gate(by=by, person=person, outside=outside, writer_office=office_id,
                             override=override)
        return _add_message(thread=thread, by=by, office_id=office_id, body=body, upload=upload,
                            content_type=content_type, gate=gate, outside=outside)


# --- Reading --------------------------------------------------------------------------------


def open_thread(*, by: User, thread: MessageThread) -> list[Message]:
    """The thread's messages, oldest first; those from others are marked read by `by` (the
    first time), and the opening is recorded."""
    messages = list(thread.messages.select_related("sender", "sender_office")
                    .prefetch_related("attachments").order_by("created_at", "pk"))
    with transaction.atomic():
        events.emit("message.open_thread", actor=by, obj=thread.case, thread=str(thread.pk))
        seen = set(MessageRead.objects.filter(user=by, message__thread=thread)
                   .values_list("message_id", flat=True))
        new = [m for m in messages if m.sender_id != by.pk and m.pk not in seen]
        if new:
            MessageRead.objects.bulk_create(
                [MessageRead(message=m, user=by) for m in new], ignore_conflicts=True)
            events.emit("message.read", actor=by, obj=thread.case, thread=str(thread.pk),
                        messages=[str(m.pk) for m in new])
    return messages


def receipts(thread: MessageThread, sender: User) -> dict[uuid.UUID, list[MessageRead]]:
    """Who read each of `sender`'s messages in the thread, and when."""
    out: dict[uuid.UUID, list[MessageRead]] = {}
    for r in (MessageRead.objects.filter(message__thread=thread, message__sender=sender)
              .select_related("user").order_by("read_at")):
        out.setdefault(r.message_id, []).append(r)
    return out


def get_attachment(user: User, thread_id: uuid.UUID, attachment_id: uuid.UUID) -> MessageAttachment:
    from django.http import Http404

    thread = get_thread(user, thread_id)
    found = (MessageAttachment.objects.filter(pk=attachment_id, message__thread=thread)
             .select_related("message__thread__case").first())
    if found is None:
        raise Http404("No such file.")
    return found


def read_attachment(attachment: MessageAttachment) -> bytes:
    return files.load(subject_id=attachment.person_id, table=MessageAttachment._meta.db_table,
                      row_id=attachment.pk, name=attachment.storage_name)


# --- Told by email ----------------------------------------------------------------------------


def email_recipients(message: Message) -> list[User]:
    """Who is told by email of `message`: the staff named on its thread and the caseworkers and
    supervisors of the offices it is for, with an address, except its sender."""
    rows = list(ThreadParty.objects.filter(thread_id=message.thread_id)
                .values_list("office_id", "user_id"))
    named = {u for _o, u in rows if u is not None}
    offices = {o for o, u in rows if u is None}
    members = Membership.objects.filter(office__in=offices, role__in=access.CASE_ROLES,
                                        office__is_active=True).values("user_id")
    return list(User.objects.filter(Q(pk__in=named) | Q(pk__in=members), is_active=True)
                .exclude(pk=message.sender_id).exclude(email="").order_by("pk"))


def send_emails(message_id: uuid.UUID | str) -> int:
    """Tell each recipient by email that a message waits for them, in their language, with a
    link to the thread: no subject, no body, no name, no case reference. Returns how many."""
    from django.conf import settings
    from django.core.mail import get_connection
    from django.core.mail.message import EmailMessage
    from django.urls import reverse
    from django.utils import translation

    message = Message.objects.filter(pk=message_id).only("id", "thread_id", "sender_id").first()
    if message is None:
        return 0
    link = settings.AMPARO_BASE_URL.rstrip("/") + reverse(
        "message_thread", kwargs={"thread_id": message.thread_id})
    mails = []
    for user in email_recipients(message):
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            mails.append(EmailMessage(
                subject=_("Amparo: a new secure message"),
                body=_("There is a new secure message for you in Amparo.\n\nOpen it after "
                       "logging in: %(link)s\n\nFor the safety of the people concerned, this "
                       "email says nothing more.") % {"link": link},
                from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email]))
    if mails:
        get_connection().send_messages(mails)
    return len(mails)
