"""The pages of secure messages (cases/secure_messages.py; docs/architecture.md#secure-messages).

Lists show a thread's case reference, who wrote and when, never its subject or body; a thread
opens on its own page, which records the opening and marks its messages read."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import access, consent, events, secure_messages, selectors, uploads
from cases.crypto import datakeys
from cases.forms import Styled
from cases.http import AuthedRequest, protect_file
from cases.models import Case, ConsentPurpose, MessageThread, Office, Role, User
from cases.paging import BoundedPaginator
from cases.steps import add_service_errors, audited_get, case_staff_required

PAGE_SIZE = 25


class IdChoices(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    """Choices by integer id: an id no database column can hold is an invalid choice, not a
    database error."""

    def _check_values(self, value: Any) -> Any:
        for v in value:
            try:
                n = int(str(v))
            except ValueError:
                continue  # the parent's own check refuses it
            if not -(2**63) <= n < 2**63:
                raise ValidationError(self.error_messages["invalid_choice"],
                                      code="invalid_choice", params={"value": v})
        return super()._check_values(value)  # type: ignore[misc]  # private in the stubs


class StaffChoice(IdChoices):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.username)


class OfficeChoice(IdChoices):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} · {obj.name}"


class ReplyForm(Styled, forms.Form):
    body = forms.CharField(label=gettext_lazy("Message"), max_length=secure_messages.BODY_MAX,
                           widget=forms.Textarea(attrs={"rows": 5}))
    file = forms.FileField(label=gettext_lazy("Attachment"), required=False,
                           help_text=gettext_lazy("Optional: a PDF or a photo (JPEG, PNG, TIFF, WebP)."))
    override = forms.CharField(
        label=gettext_lazy("Without the person's consent to sharing, because"), required=False,
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("The person has not consented to sharing their data with another "
                               "office. Only where it must go without: your reason is kept with "
                               "the message and recorded in the audit log."))

    def __init__(self, *args: Any, overrides: bool = False, **kwargs: Any) -> None:
        """`overrides`: the writer is a supervisor who may have to give the reason (the
        person has not consented to sharing); for anyone else the field is left out."""
        super().__init__(*args, **kwargs)
        if not overrides:
            del self.fields["override"]


class ComposeForm(ReplyForm):
    offices = OfficeChoice(label=gettext_lazy("To the offices"), required=False,
                           queryset=Office.objects.none(), widget=forms.CheckboxSelectMultiple)
    users = StaffChoice(label=gettext_lazy("To staff members"), required=False,
                        queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple)
    subject = forms.CharField(label=gettext_lazy("Subject"),
                              max_length=secure_messages.SUBJECT_MAX)

    field_order = ["offices", "users", "subject", "body", "file", "override"]

    def __init__(self, *args: Any, case: Case, writer: User, **kwargs: Any) -> None:
        kwargs.setdefault("overrides", _overrides(writer, case.office_id, case.principal))
        super().__init__(*args, **kwargs)
        self.fields["offices"].queryset = secure_messages.recipient_offices(case)  # type: ignore[attr-defined]
        self.fields["users"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(pk__in=secure_messages.recipient_staff(case).values("user_id"))
            .exclude(pk=writer.pk).order_by("last_name", "first_name", "username"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = data.get("offices") or data.get("users")
        if not chosen and "offices" not in self.errors and "users" not in self.errors:
            self.add_error("offices", _("Choose at least one office or person to write to."))
        return data


def _overrides(writer: User, office_id: int, person: Any) -> bool:
    """Whether the form asks `writer` for a reason to write without consent: a supervisor
    (of the case's office or any of theirs) about a person who has not consented."""
    return (access.has_role(writer, Role.SUPERVISOR)
            and not consent.allows(person, ConsentPurpose.SHARING))


def _upload(request: AuthedRequest, form: ReplyForm) -> secure_messages.Upload | None:
    upload = form.cleaned_data.get("file")
    if not upload:
        return None
    return secure_messages.Upload(name=upload.name, data=upload.read())


def _too_large(request: AuthedRequest, form: ReplyForm) -> bool:
    """A body over what the server keeps in memory: its file was dropped before the form."""
    if not uploads.request_too_large(request.META):
        return False
    form.is_valid()
    form.errors.pop("file", None)
    form.add_error("file", uploads.too_large_message())
    return True


# --- Inboxes ----------------------------------------------------------------------------------


def _inbox(request: AuthedRequest, office: Office | None) -> HttpResponse:
    rows = secure_messages.inbox(request.user, office=office)
    page = BoundedPaginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    offices = Office.objects.filter(
        pk__in=access.offices_where(request.user, *access.CASE_ROLES)).order_by("code")
    return render(request, "cases/messages_inbox.html",
                  {"page": page, "office": office, "offices": offices})


@require_GET
@case_staff_required
def message_inbox(request: AuthedRequest) -> HttpResponse:
    """Every thread the user may read."""
    return _inbox(request, None)


@require_GET
@case_staff_required
def message_office_inbox(request: AuthedRequest, inbox_office_id: int) -> HttpResponse:
    """The threads of one of the user's offices."""
    if inbox_office_id not in access.offices_where(request.user, *access.CASE_ROLES):
        raise Http404("No such office.")
    return _inbox(request, Office.objects.get(pk=inbox_office_id))


# --- A case's messages and a new one ----------------------------------------------------------


@require_http_methods(["GET", "POST"])
@case_staff_required
def case_messages(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    case = audited_get(selectors.get_case, request, case_id, action="message.send",
                       object_type="cases.case")
    posted = request.method == "POST"
    form = ComposeForm(request.POST if posted else None, request.FILES if posted else None,
                       case=case, writer=request.user)
    if posted and not _too_large(request, form) and form.is_valid():
        d = form.cleaned_data
        try:
            thread = secure_messages.start_thread(
                by=request.user, case=case, subject=d["subject"], body=d["body"],
                offices=list(d["offices"]), users=list(d["users"]), upload=_upload(request, form),
                override=d.get("override") or "")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Message sent."))
            return redirect("message_thread", thread_id=thread.pk)
    threads = list(secure_messages.inbox_for_case(request.user, case)[:50])
    return render(request, "cases/case_messages.html",
                  {"case": case, "form": form, "threads": threads,
                   "consented": consent.allows(case.principal, ConsentPurpose.SHARING)},
                  status=400 if posted else 200)


# --- A thread ----------------------------------------------------------------------------------


def _reply_form(request: AuthedRequest, thread: MessageThread, data: Any = None,
                files: Any = None) -> tuple[ReplyForm, bool]:
    """The answer form, and whether an answer needs the person's consent it does not have."""
    needs = (thread.subject is not None and secure_messages.needs_override(
        thread.person, secure_messages.reply_outside(request.user, thread)))
    office_id = secure_messages.reader_office(request.user, thread)
    overrides = needs and office_id is not None and Role.SUPERVISOR in access.roles_in(
        request.user, office_id)
    return ReplyForm(data, files, overrides=overrides), needs


def _thread_page(request: AuthedRequest, thread: MessageThread, form: ReplyForm | None = None,
                 status: int = 200) -> HttpResponse:
    blank, needs = _reply_form(request, thread)
    shown = secure_messages.open_thread(by=request.user, thread=thread)
    receipts = secure_messages.receipts(thread, request.user)
    rows = [{"message": m, "mine": m.sender_id == request.user.pk,
             "reads": receipts.get(m.pk, [])} for m in shown]
    case_visible = selectors.visible_cases(request.user).filter(pk=thread.case_id).exists()
    return render(request, "cases/message_thread.html", {
        "thread": thread, "rows": rows, "case_visible": case_visible,
        "erased": thread.subject is None, "form": form or blank, "needs_consent": needs},
        status=status)


@require_GET
@case_staff_required
def message_thread(request: AuthedRequest, thread_id: uuid.UUID) -> HttpResponse:
    thread = audited_get(secure_messages.get_thread, request, thread_id,
                         action="message.open_thread", object_type="cases.messagethread")
    return _thread_page(request, thread)


@require_POST
@case_staff_required
def message_reply(request: AuthedRequest, thread_id: uuid.UUID) -> HttpResponse:
    thread = audited_get(secure_messages.get_thread, request, thread_id,
                         action="message.send", object_type="cases.messagethread")
    form, _needs = _reply_form(request, thread, request.POST, request.FILES)
    if not _too_large(request, form) and form.is_valid():
        try:
            secure_messages.reply(by=request.user, thread=thread, body=form.cleaned_data["body"],
                                  upload=_upload(request, form),
                                  override=form.cleaned_data.get("override") or "")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Answer sent."))
            return redirect("message_thread", thread_id=thread.pk)
    return _thread_page(request, thread, form, status=400)


@require_GET
@case_staff_required
def message_attachment(request: AuthedRequest, thread_id: uuid.UUID,
                       attachment_id: uuid.UUID) -> HttpResponse:
    try:
        attachment = secure_messages.get_attachment(request.user, thread_id, attachment_id)
    except Http404:
        events.emit("message.attachment", actor=request.user, outcome="denied",
                    object_type="cases.messageattachment", object_id=str(attachment_id),
                    thread=str(thread_id))
        raise
    case = attachment.message.thread.case
    # Recorded before the bytes are read: a download that cannot be recorded does not happen.
    events.emit("message.attachment", actor=request.user, obj=case, thread=str(thread_id),
                attachment=str(attachment.pk))
    try:
        data = secure_messages.read_attachment(attachment)
    except datakeys.KeyDestroyed:
        return HttpResponse(_("This file was erased with its person's data."), status=410,
                            content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type=attachment.content_type)
    ext = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png",
           "image/tiff": ".tif", "image/webp": ".webp"}.get(attachment.content_type, "")
    # Named by the case and the time: the original file name may name the person.
    name = (f"{case.reference}-message-"
            f"{timezone.localtime(attachment.message.created_at):%Y%m%d-%H%M%S}{ext}")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    protect_file(response)
    return response
