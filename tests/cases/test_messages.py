"""Secure messages between offices about a case (docs/architecture.md#secure-messages): who
may write to whom and read what, read receipts, the bell, the email that says nothing, the
sealing of subjects, bodies and attachments, and the erasure of the person."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import consent, context_processors, handovers, secure_messages, selectors, services
from cases.models import (
    ConsentPurpose,
    Message,
    MessageAttachment,
    MessageRead,
    MessageThread,
    Office,
)
from tests.cases.rawsql import read_column
from tests.conftest import PNG_BYTES

pytestmark = pytest.mark.usefixtures("file_root")

EN = {"Accept-Language": "en"}
SUBJECT = "Traslado de Rosalía Quispe Mamani"
BODY = "Rosalía Quispe teme a su expareja; vive en la colonia Las Flores, casa 12."


@pytest.fixture(autouse=True)
def consented(request):
    """The person consented to sharing with another office: the tests of who may write to
    whom start there; the consent gate's own tests take it back (`withheld`)."""
    if "case" not in request.fixturenames or "withheld" in request.fixturenames:
        return
    case = request.getfixturevalue("case")
    consent.record(by=request.getfixturevalue("supervisor"), person=case.principal,
                   purpose=ConsentPurpose.SHARING, given=True, language="es")


@pytest.fixture
def withheld(case, supervisor):
    """The person said no to sharing with another office."""
    consent.record(by=supervisor, person=case.principal, purpose=ConsentPurpose.SHARING,
                   given=False, language="es")
    return case


@pytest.fixture
def handed(case, supervisor, other_office):
    """The case is offered to the other office: that office may be written to about it."""
    handovers.offer(by=supervisor, case=case, to_office=other_office, reason="Se muda")
    return case


@pytest.fixture
def third_office(db) -> Office:
    return Office.objects.create(code="GT-GUA", name="Oficina de Guatemala", country="GT",
                                 city="Guatemala")


@pytest.fixture
def third_caseworker(make_user, third_office):
    return make_user("caseworker", third_office)


def _send(by, case, offices=(), users=(), **kw):
    return secure_messages.start_thread(by=by, case=case, subject=kw.pop("subject", SUBJECT),
                                        body=kw.pop("body", BODY), offices=list(offices),
                                        users=list(users), **kw)


# --- Who may write to whom --------------------------------------------------------------------


def test_the_offices_a_case_may_be_written_to(case, supervisor, other_office, third_office,
                                               other_caseworker):
    assert list(secure_messages.recipient_offices(case)) == [case.office]
    handovers.offer(by=supervisor, case=case, to_office=other_office, reason="Se muda")
    assert set(secure_messages.recipient_offices(case)) == {case.office, other_office}
    assert other_caseworker.pk in {m.user_id for m in secure_messages.recipient_staff(case)}
    assert third_office not in secure_messages.recipient_offices(case)


def test_an_office_or_a_person_the_case_has_nothing_to_do_with_is_refused(
        case, caseworker, third_office, third_caseworker):
    with pytest.raises(ValidationError) as office_refused:
        _send(caseworker, case, offices=[third_office])
    assert "offices" in office_refused.value.error_dict
    with pytest.raises(ValidationError) as user_refused:
        _send(caseworker, case, users=[third_caseworker])
    assert "users" in user_refused.value.error_dict
    assert not MessageThread.objects.exists()


def test_a_share_makes_the_office_of_the_person_it_is_shared_with_a_recipient(
        case, caseworker, supervisor, third_office, third_caseworker):
    services.grant_case_access(by=supervisor, case=case, user=third_caseworker, reason="Revisión")
    thread = _send(caseworker, case, users=[third_caseworker])
    assert secure_messages.get_thread(third_caseworker, thread.pk) == thread


def test_who_may_not_see_the_case_may_not_write_about_it(handed, caseworker2, other_caseworker,
                                                         other_office, caseworker):
    handed.assigned_to = caseworker
    handed.save(update_fields=["assigned_to"])
    for outsider in (caseworker2, other_caseworker):  # a colleague; the other office
        with pytest.raises(Http404):
            _send(outsider, handed, offices=[other_office])


def test_a_message_needs_a_recipient_a_subject_and_a_body(handed, caseworker, other_office):
    with pytest.raises(ValidationError) as nobody:
        _send(caseworker, handed)
    assert "offices" in nobody.value.error_dict
    with pytest.raises(ValidationError) as empty:
        _send(caseworker, handed, offices=[other_office], subject=" ", body="")
    assert set(empty.value.error_dict) == {"subject", "body"}


def test_a_huge_body_is_refused_with_its_limit(handed, caseworker, other_office):
    with pytest.raises(ValidationError) as too_long:
        _send(caseworker, handed, offices=[other_office], body="x" * (secure_messages.BODY_MAX + 1))
    assert "body" in too_long.value.error_dict
    assert not Message.objects.exists()


# --- Reading, receipts, the bell ---------------------------------------------------------------


def test_the_other_office_reads_answers_and_the_sender_sees_the_receipt(
        handed, caseworker, supervisor, other_office, other_caseworker, other_supervisor,
        caseworker2, third_caseworker):
    thread = _send(caseworker, handed, offices=[other_office])

    # Readers: the other office's staff, the sender, the sender's office's supervisor.
    for reader in (caseworker, supervisor, other_caseworker, other_supervisor):
        assert secure_messages.get_thread(reader, thread.pk) == thread
    for outsider in (caseworker2, third_caseworker):
        with pytest.raises(Http404):
            secure_messages.get_thread(outsider, thread.pk)
    assert secure_messages.unread_count(other_caseworker) == 1
    assert secure_messages.unread_count(caseworker) == 0  # one's own message

    shown = secure_messages.open_thread(by=other_caseworker, thread=thread)
    assert [m.body for m in shown] == [BODY]
    assert secure_messages.unread_count(other_caseworker) == 0
    assert secure_messages.unread_count(other_supervisor) == 1  # read receipts are per person
    secure_messages.open_thread(by=other_caseworker, thread=thread)  # again: one receipt
    assert MessageRead.objects.filter(user=other_caseworker).count() == 1

    secure_messages.reply(by=other_caseworker, thread=thread, body="Recibido, la esperamos.")
    assert secure_messages.unread_count(caseworker) == 1
    receipts = secure_messages.receipts(thread, caseworker)
    assert [r.user for r in receipts[shown[0].pk]] == [other_caseworker]
    actions = set(AuditEvent.objects.filter(object_id=str(handed.pk)).values_list("action", flat=True))
    assert {"message.send", "message.open_thread", "message.read"} <= actions


def test_a_party_who_left_the_office_no_longer_reads(handed, caseworker, other_office,
                                                     other_caseworker):
    thread = _send(caseworker, handed, users=[other_caseworker])
    assert secure_messages.get_thread(other_caseworker, thread.pk) == thread
    other_caseworker.memberships.all().delete()
    other_caseworker.__dict__.pop("_amparo_roles", None)
    with pytest.raises(Http404):
        secure_messages.get_thread(other_caseworker, thread.pk)


def test_the_bell_counts_unread_messages(client, handed, caseworker, other_office,
                                         other_caseworker):
    _send(caseworker, handed, offices=[other_office])
    _send(caseworker, handed, offices=[other_office], subject="Otra")
    client.force_login(other_caseworker)

    html = client.get(reverse("notification_list"), headers=EN).content.decode()

    assert 'id="bell-count" aria-hidden="true">2</span>' in html
    assert 'id="messages-waiting"' in html
    request = type("R", (), {"user": other_caseworker})()
    assert context_processors.notifications(request)["bell"].total == 2


def test_the_inboxes_show_references_and_senders_not_subjects(
        client, handed, caseworker, other_office, other_caseworker):
    read = _send(caseworker, handed, offices=[other_office], subject="Primera")
    secure_messages.open_thread(by=other_caseworker, thread=read)
    unread = _send(caseworker, handed, offices=[other_office], subject="Segunda")
    client.force_login(other_caseworker)

    mine = client.get(reverse("message_inbox"), headers=EN).content.decode()
    page = client.get(reverse("message_office_inbox", kwargs={"inbox_office_id": other_office.pk}),
                      headers=EN)

    assert str(unread.pk) in mine and str(read.pk) in mine
    html = page.content.decode()
    assert page.status_code == 200
    assert handed.reference in html
    assert "Primera" not in html and "Segunda" not in html and "Rosal" not in html
    assert html.index(str(unread.pk)) < html.index(str(read.pk))  # unread first
    assert client.get(reverse("message_office_inbox", kwargs={
        "inbox_office_id": handed.office_id})).status_code == 404


# --- Pages --------------------------------------------------------------------------------------


def test_wrong_roles_are_refused(client, handed, caseworker, auditor, office_admin, other_office):
    thread = _send(caseworker, handed, offices=[other_office])
    for user in (auditor, office_admin):
        client.force_login(user)
        assert client.get(reverse("message_inbox")).status_code == 403
        assert client.get(reverse("case_messages", kwargs={"case_id": handed.pk})).status_code == 403
        assert client.get(reverse("message_thread", kwargs={"thread_id": thread.pk})).status_code == 403


def test_another_office_not_a_recipient_gets_404(client, handed, caseworker, third_caseworker,
                                                 other_office):
    thread = _send(caseworker, handed, offices=[other_office],
                   upload=secure_messages.Upload("foto.png", PNG_BYTES))
    attachment = MessageAttachment.objects.get()
    client.force_login(third_caseworker)
    urls = [reverse("message_thread", kwargs={"thread_id": thread.pk}),
            reverse("case_messages", kwargs={"case_id": handed.pk}),
            reverse("message_attachment", kwargs={"thread_id": thread.pk,
                                                  "attachment_id": attachment.pk})]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("message_reply", kwargs={"thread_id": thread.pk}),
                       {"body": "Hola"}).status_code == 404
    assert AuditEvent.objects.filter(action="message.open_thread", outcome="denied").exists()


def test_compose_reply_and_receipt_through_the_pages(client, handed, caseworker, other_office,
                                                     other_caseworker):
    client.force_login(caseworker)
    case_page = client.get(reverse("case_detail", kwargs={"case_id": handed.pk}), headers=EN)
    assert 'id="case-messages"' in case_page.content.decode()

    sent = client.post(reverse("case_messages", kwargs={"case_id": handed.pk}),
                       {"offices": [other_office.pk], "subject": SUBJECT, "body": BODY,
                        "file": _file("informe.png", PNG_BYTES)})
    assert sent.status_code == 302
    thread = MessageThread.objects.get()
    assert sent["Location"] == reverse("message_thread", kwargs={"thread_id": thread.pk})

    client.force_login(other_caseworker)
    page = client.get(sent["Location"], headers=EN).content.decode()
    assert SUBJECT in page and "Las Flores" in page
    assert 'id="thread-case"' in page and f'href="/cases/{handed.pk}/"' not in page  # not theirs
    attachment = MessageAttachment.objects.get()
    download = client.get(reverse("message_attachment", kwargs={
        "thread_id": thread.pk, "attachment_id": attachment.pk}))
    assert download.status_code == 200 and download.content == PNG_BYTES
    assert "informe" not in download["Content-Disposition"]
    answered = client.post(reverse("message_reply", kwargs={"thread_id": thread.pk}),
                           {"body": "Recibido."})
    assert answered.status_code == 302

    client.force_login(caseworker)
    page = client.get(sent["Location"], headers=EN).content.decode()
    assert "Read by Staff Member" in page and "Recibido." in page


def test_half_filled_and_huge_forms_come_back_with_their_errors(client, handed, caseworker,
                                                                other_office):
    client.force_login(caseworker)
    url = reverse("case_messages", kwargs={"case_id": handed.pk})

    no_recipient = client.post(url, {"subject": "Hola", "body": "Texto"}, headers=EN)
    no_body = client.post(url, {"offices": [other_office.pk], "subject": "Hola"}, headers=EN)
    huge = client.post(url, {"offices": [other_office.pk], "subject": "Hola",
                             "body": "x" * (secure_messages.BODY_MAX + 1)}, headers=EN)

    assert no_recipient.status_code == 400
    assert "Choose at least one office or person to write to." in no_recipient.content.decode()
    assert no_body.status_code == 400 and "This field is required." in no_body.content.decode()
    assert huge.status_code == 400
    assert "at most 10000 characters" in huge.content.decode()
    assert not MessageThread.objects.exists()


def test_an_attachment_of_a_bad_type_is_refused(client, handed, caseworker, other_office):
    client.force_login(caseworker)
    response = client.post(reverse("case_messages", kwargs={"case_id": handed.pk}),
                           {"offices": [other_office.pk], "subject": "Hola", "body": "Texto",
                            "file": _file("script.html", b"<html><script>alert(1)</script>")},
                           headers=EN)
    assert response.status_code == 400
    assert "Upload a PDF or a photo" in response.content.decode()
    assert not MessageThread.objects.exists()


def _file(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


# --- Sealed, told by email, erased ------------------------------------------------------------


def test_no_plaintext_in_the_database_or_the_files(handed, caseworker, other_office, file_root):
    thread = _send(caseworker, handed, offices=[other_office],
                   upload=secure_messages.Upload("Rosalía-denuncia.png", PNG_BYTES))
    message = Message.objects.get()
    attachment = MessageAttachment.objects.get()
    stored = [read_column(MessageThread, thread.pk, "subject"),
              read_column(Message, message.pk, "body"),
              read_column(MessageAttachment, attachment.pk, "filename")]
    for blob in stored:
        assert blob
        for needle in ("Rosal", "Quispe", "Flores", "denuncia"):
            assert needle.encode() not in blob
    # Every column of every message table, as the database returns it.
    with connection.cursor() as cur:
        for model in (MessageThread, Message, MessageAttachment):
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
            text = repr(cur.fetchall())
            assert "Quispe" not in text and "Flores" not in text and "denuncia" not in text
    for path in file_root.rglob("*"):
        if path.is_file():
            assert PNG_BYTES not in path.read_bytes()


def test_the_email_says_only_that_a_message_waits(handed, caseworker, other_office,
                                                  other_caseworker, other_supervisor,
                                                  django_capture_on_commit_callbacks, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    other_caseworker.email = "cw@example.org"
    other_caseworker.preferred_language = "en"
    other_caseworker.save()
    other_supervisor.email = "sup@example.org"
    other_supervisor.save()
    caseworker.email = "sender@example.org"
    caseworker.save()

    with django_capture_on_commit_callbacks(execute=True):
        thread = _send(caseworker, handed, offices=[other_office])

    assert sorted(m.to[0] for m in mail.outbox) == ["cw@example.org", "sup@example.org"]
    link = f"{settings.AMPARO_BASE_URL}/messages/{thread.pk}/"
    person = handed.principal
    for sent in mail.outbox:
        text = sent.subject + sent.body
        assert link in sent.body
        for secret in (SUBJECT, "Rosal", "Quispe", "Flores", handed.reference,
                       person.given_names, person.family_names):
            assert secret not in text
    english = next(m for m in mail.outbox if m.to == ["cw@example.org"])
    spanish = next(m for m in mail.outbox if m.to == ["sup@example.org"])
    assert english.subject == "Amparo: a new secure message"
    assert spanish.subject != english.subject  # in the reader's language (Spanish by default)

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        secure_messages.reply(by=other_caseworker, thread=thread, body="Recibido")
    assert sorted(m.to[0] for m in mail.outbox) == ["sender@example.org", "sup@example.org"]


def test_erasing_the_person_makes_the_messages_unreadable(client, handed, caseworker, supervisor,
                                                          other_office, other_caseworker):
    thread = _send(caseworker, handed, offices=[other_office],
                   upload=secure_messages.Upload("foto.png", PNG_BYTES))
    attachment = MessageAttachment.objects.get()
    services.erase_person(by=supervisor, person=handed.principal, code="request")

    assert MessageThread.objects.get().subject is None
    assert Message.objects.get().body is None
    with pytest.raises(ValidationError):
        secure_messages.reply(by=other_caseworker, thread=thread, body="¿Sigue ahí?")
    client.force_login(other_caseworker)
    page = client.get(reverse("message_thread", kwargs={"thread_id": thread.pk}), headers=EN)
    assert page.status_code == 200 and 'id="thread-erased"' in page.content.decode()
    gone = client.get(reverse("message_attachment", kwargs={"thread_id": thread.pk,
                                                            "attachment_id": attachment.pk}))
    assert gone.status_code == 410


def test_an_auditor_with_a_grant_may_not_write(handed, supervisor, auditor, other_office):
    services.grant_case_access(by=supervisor, case=handed, user=auditor, reason="Auditoría")
    with pytest.raises(PermissionDenied):
        _send(auditor, handed, offices=[other_office])


# --- On PostgreSQL: a dump, and two people at once ----------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pg_dump_holds_no_subject_body_or_file_name(postgres, handed, caseworker, other_office):
    import os
    import subprocess

    _send(caseworker, handed, offices=[other_office],
          upload=secure_messages.Upload("Rosalía-denuncia.png", PNG_BYTES))
    params = connection.settings_dict
    command = ["pg_dump", "--no-owner", "--data-only", "--dbname", params["NAME"],
               "--host", params.get("HOST") or "127.0.0.1",
               "--port", str(params.get("PORT") or 5432),
               "--username", params.get("USER") or "postgres"]
    result = subprocess.run(command, capture_output=True, timeout=120, check=False,
                            env={**os.environ, "PGPASSWORD": params.get("PASSWORD") or ""})
    assert result.returncode == 0, result.stderr
    dump = result.stdout
    assert b"cases_messagethread" in dump and handed.reference.encode() in dump  # it is real
    for secret in ("Traslado de Rosal", "Quispe", "Las Flores", "denuncia"):
        assert secret.encode() not in dump, secret


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_answers_at_once_are_both_kept(postgres, handed, caseworker, other_office,
                                           other_caseworker, other_supervisor):
    from tests.races import race

    thread = _send(caseworker, handed, offices=[other_office])

    results = race([lambda: secure_messages.reply(by=other_caseworker, thread=thread, body="Uno"),
                    lambda: secure_messages.reply(by=other_supervisor, thread=thread, body="Dos")],
                   lambda holder: holder.execute(
                       "SELECT id FROM cases_person WHERE id = %s FOR UPDATE",
                       [handed.principal_id]))

    assert all(isinstance(r, Message) for r in results), results
    assert sorted(m.body for m in Message.objects.all()) == sorted([BODY, "Uno", "Dos"])
    newest = Message.objects.order_by("-created_at").first()
    assert MessageThread.objects.get().last_message_at == newest.created_at
    assert secure_messages.unread_count(caseworker) == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_person_opening_a_thread_twice_at_once_leaves_one_receipt(
        postgres, handed, caseworker, other_office, other_caseworker):
    from tests.races import race

    thread = _send(caseworker, handed, offices=[other_office])
    message = Message.objects.get()

    results = race([lambda: secure_messages.open_thread(by=other_caseworker, thread=thread),
                    lambda: secure_messages.open_thread(by=other_caseworker, thread=thread)],
                   lambda holder: holder.execute(
                       "INSERT INTO cases_messageread (message_id, user_id, read_at) "
                       "VALUES (%s, %s, now())", [message.pk, other_caseworker.pk]))

    assert all(isinstance(r, list) for r in results), results
    assert MessageRead.objects.filter(message=message, user=other_caseworker).count() == 1
    assert secure_messages.unread_count(other_caseworker) == 0


def test_a_recipient_id_too_large_for_the_database_is_an_invalid_choice(client, handed,
                                                                        caseworker):
    client.force_login(caseworker)
    response = client.post(reverse("case_messages", kwargs={"case_id": handed.pk}),
                           {"offices": "1" + "0" * 30, "users": "9" * 25, "subject": "Hola",
                            "body": "Texto"}, headers=EN)
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()


# --- The consent gate -------------------------------------------------------------------------


def test_without_consent_a_message_to_another_office_is_refused_and_nothing_is_written(
        withheld, handed, caseworker, other_office, other_caseworker):
    with pytest.raises(ValidationError) as refused:
        _send(caseworker, handed, offices=[other_office])
    assert "override" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        _send(caseworker, handed, users=[other_caseworker])
    assert "override" in refused.value.message_dict
    # A caseworker's reason is not enough: only a supervisor overrides.
    with pytest.raises(ValidationError, match="Only a supervisor"):
        _send(caseworker, handed, offices=[other_office], override="Urgente")
    assert not MessageThread.objects.exists() and not Message.objects.exists()
    assert not AuditEvent.objects.filter(action="consent.override").exists()


def test_within_the_case_s_office_no_consent_is_needed(withheld, caseworker, caseworker2):
    thread = _send(caseworker, withheld, users=[caseworker2], offices=[withheld.office])
    sent = AuditEvent.objects.get(action="message.send")
    assert sent.details["consent"] == "not needed"
    assert thread.messages.get().consent_override is None


def test_a_supervisor_overrides_with_a_reason_kept_sealed_and_audited(
        withheld, handed, supervisor, other_office, other_caseworker):
    reason = "Riesgo inminente: la receptora debe actuar hoy"
    thread = _send(supervisor, handed, offices=[other_office], override=reason)
    message = thread.messages.get()
    assert Message.objects.get(pk=message.pk).consent_override == reason
    assert reason.encode() not in read_column(Message, message.pk, "consent_override")
    override = AuditEvent.objects.get(action="consent.override")
    assert override.details["purpose"] == ConsentPurpose.SHARING
    assert override.details["message"] == str(message.pk)
    assert override.details["to_offices"] == [other_office.pk]
    assert reason not in str(override.details)
    assert AuditEvent.objects.get(action="message.send").details["consent"] == "overridden"
    # The other office reads why it came without consent.
    assert secure_messages.open_thread(by=other_caseworker, thread=thread)[0].consent_override \
        == reason


def test_an_answer_back_to_the_case_s_office_needs_no_consent_but_one_outward_does(
        withheld, handed, supervisor, caseworker, other_office, other_caseworker):
    thread = _send(supervisor, handed, offices=[other_office, handed.office], override="Urgente")
    # The other office writes back to the office that holds the case: nothing leaves it.
    secure_messages.reply(by=other_caseworker, thread=thread, body="Recibido")
    # The case's office answering reaches the other office again: refused without a reason.
    with pytest.raises(ValidationError) as refused:
        secure_messages.reply(by=caseworker, thread=thread, body="Más datos")
    assert "override" in refused.value.message_dict
    secure_messages.reply(by=supervisor, thread=thread, body="Más datos", override="Urgente")
    assert [e.details["consent"] for e in AuditEvent.objects.filter(action="message.send")
            .order_by("pk")] == ["overridden", "not needed", "overridden"]


def test_a_share_s_holder_passes_nothing_on_to_their_own_office_without_consent(
        withheld, supervisor, other_office, other_caseworker, make_user):
    from cases import shares
    colleague = make_user("caseworker", other_office)
    shares.share(by=supervisor, case=withheld, user=other_caseworker, parts=["procedure"],
                 until=timezone.localdate() + datetime.timedelta(days=5), reason="Remisión",
                 override="Orden judicial")
    # Writing back to the case's office shares nothing.
    _send(other_caseworker, withheld, offices=[withheld.office])
    # Writing to their own office, or to a colleague there, passes the person's data on.
    for recipients in ({"offices": [other_office]}, {"users": [colleague]}):
        with pytest.raises(ValidationError) as refused:
            _send(other_caseworker, withheld, **recipients)
        assert "override" in refused.value.message_dict
    assert MessageThread.objects.count() == 1


def test_a_withdrawn_consent_stops_the_next_message_at_once(case, supervisor, caseworker,
                                                            other_office):
    handovers.offer(by=supervisor, case=case, to_office=other_office, reason="Se muda")
    thread = _send(caseworker, case, offices=[other_office])
    assert AuditEvent.objects.get(action="message.send").details["consent"] == "given"
    consent.record(by=supervisor, person=case.principal, purpose=ConsentPurpose.SHARING,
                   given=False, language="es")
    with pytest.raises(ValidationError):
        secure_messages.reply(by=caseworker, thread=thread, body="Otro dato")
    assert thread.messages.count() == 1


def test_the_pages_ask_a_supervisor_for_the_reason_and_show_it(
        client, withheld, handed, caseworker, supervisor, other_office, other_caseworker):
    url = reverse("case_messages", kwargs={"case_id": handed.pk})
    client.force_login(caseworker)
    page = client.get(url, headers=EN)
    assert b'id="message-consent"' in page.content and b'name="override"' not in page.content
    refused = client.post(url, {"offices": [other_office.pk], "subject": SUBJECT, "body": BODY},
                          headers=EN)
    assert refused.status_code == 400 and b"has not consented" in refused.content
    client.force_login(supervisor)
    assert b'name="override"' in client.get(url, headers=EN).content
    half = client.post(url, {"offices": [other_office.pk], "subject": SUBJECT, "body": BODY},
                       headers=EN)
    assert half.status_code == 400 and not MessageThread.objects.exists()
    sent = client.post(url, {"offices": [other_office.pk, handed.office_id], "subject": SUBJECT,
                             "body": BODY, "override": "La persona no puede ser contactada"}, headers=EN)
    assert sent.status_code == 302
    thread = MessageThread.objects.get()
    client.force_login(other_caseworker)
    page = client.get(reverse("message_thread", kwargs={"thread_id": thread.pk}), headers=EN)
    assert b"Sent without the person's consent to sharing: La persona no puede" in page.content
    # The other office answers back to the case's office: no reason asked.
    assert b'id="message-consent"' not in page.content
    client.force_login(caseworker)
    page = client.get(reverse("message_thread", kwargs={"thread_id": thread.pk}), headers=EN)
    assert b'id="message-consent"' in page.content
    refused = client.post(reverse("message_reply", kwargs={"thread_id": thread.pk}),
                          {"body": "Más"}, headers=EN)
    assert refused.status_code == 400 and thread.messages.count() == 1


def test_the_case_card_counts_threads_and_unread_and_asks_once_when_there_are_none(
        handed, caseworker, other_office, other_caseworker, caseworker2):
    with CaptureQueriesContext(connection) as none:
        assert secure_messages.case_card(other_caseworker, handed) == secure_messages.CaseCard(
            selectors.Bounded(0), selectors.Bounded(0))
    assert len(none.captured_queries) <= 2  # the roles, the look for any thread

    _send(caseworker, handed, offices=[other_office])
    _send(caseworker, handed, offices=[other_office], subject="Otra")
    card = secure_messages.case_card(other_caseworker, handed)
    assert (int(card.threads), int(card.unread)) == (2, 2)
    card = secure_messages.case_card(caseworker, handed)
    assert (int(card.threads), int(card.unread)) == (2, 0)  # their own messages
    card = secure_messages.case_card(caseworker2, handed)  # not a party, not the other office
    assert (int(card.threads), int(card.unread)) == (0, 0)


def test_the_bell_s_message_count_and_the_unread_list_agree_for_everyone(
        handed, caseworker, caseworker2, supervisor, other_office, other_caseworker,
        other_supervisor, third_caseworker):
    first = _send(caseworker, handed, offices=[other_office])
    _send(caseworker, handed, users=[other_caseworker], subject="Solo a usted")
    secure_messages.reply(by=other_caseworker, thread=first, body="Recibido.")
    secure_messages.open_thread(by=other_supervisor, thread=first)
    people = (caseworker, caseworker2, supervisor, other_caseworker, other_supervisor,
              third_caseworker)
    counts = {}
    for user in people:
        counts[user.username] = int(secure_messages.unread_count(user, limit=50))
        assert counts[user.username] == secure_messages.unread_messages(user).count(), user.username
    assert counts[caseworker.username] == 1  # the reply
    assert counts[third_caseworker.username] == 0
    assert secure_messages.unread_count(other_caseworker, limit=0).more
