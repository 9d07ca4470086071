"""The pages of the data protection requests (cases/subject_requests.py)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import events, selectors, subject_export, two_factor
from cases import subject_requests as requests_
from cases.crypto import datakeys
from cases.forms import LiftRestrictionForm, RequestAnswerForm, SubjectRequestForm
from cases.http import AuthedRequest, protect_file
from cases.models import RequestKind, RequestStatus, Role, SubjectRequest
from cases.steps import add_service_errors, audited_get, role_required

PAGE = 50
EXPORT_LANGUAGES = ("es", "en")

request_staff_required = role_required(
    Role.CASEWORKER, Role.SUPERVISOR, Role.AUDITOR,
    message=gettext_lazy("Only the staff of an office see its data protection requests."))


def _request(request: AuthedRequest, request_id: uuid.UUID, action: str) -> SubjectRequest:
    return audited_get(requests_.get_request, request, request_id, action=action,
                       object_type="cases.subjectrequest")


@require_http_methods(["GET", "POST"])
@request_staff_required
def request_new(request: AuthedRequest, person_id: uuid.UUID) -> HttpResponse:
    posted = request.method == "POST"
    person = audited_get(selectors.get_person, request, person_id,
                         action="subject_request.record" if posted else "person.view",
                         object_type="cases.person")
    if person.erased_at or not requests_.handles(request.user, person):
        raise PermissionDenied(_("Only the caseworkers and supervisors of the person's office "
                                 "record their requests."))
    initial = {"received_on": timezone.localdate(), "kind": request.GET.get("kind", "")}
    form = SubjectRequestForm(request.POST if posted else None, initial=initial)
    status = 200
    if posted:
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                made = requests_.record_request(
                    by=request.user, person=person, kind=d["kind"], channel=d["channel"],
                    received_on=d["received_on"], details=d["details"],
                    legal_basis=d["legal_basis"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The request was recorded. Answer it by %(date)s.")
                                 % {"date": made.due_on.isoformat()})
                return redirect("subject_request_detail", request_id=made.pk)
    events.emit("person.view", actor=request.user, obj=person)
    return render(request, "cases/subject_request_new.html", {"person": person, "form": form},
                  status=status)


@require_GET
@request_staff_required
def request_list(request: AuthedRequest) -> HttpResponse:
    show = request.GET.get("show", "open")
    listed = requests_.visible_requests(request.user)
    if show != "all":
        show = "open"
        listed = listed.filter(status=RequestStatus.OPEN)
    total = selectors.bounded_count(listed)
    rows = list(listed.order_by("due_on", "recorded_at")[:PAGE])
    # Names for who may see the person: the others see the reference of the request only.
    visible = set(selectors.visible_people(request.user)
                  .filter(pk__in=[r.person_id for r in rows]).values_list("pk", flat=True))
    datakeys.preload(list(visible))
    for r in rows:
        r.person_shown = r.person_id in visible  # type: ignore[attr-defined]
    events.emit("subject_request.list", actor=request.user, show=show,
                people=sorted(str(pk) for pk in visible))
    return render(request, "cases/subject_requests.html", {
        "rows": rows, "total": total, "show": show, "today": timezone.localdate()})


@require_GET
@request_staff_required
def request_detail(request: AuthedRequest, request_id: uuid.UUID) -> HttpResponse:
    item = _request(request, request_id, "subject_request.view")
    person = item.person
    events.emit("subject_request.view", actor=request.user, obj=item,
                person=str(person.pk) if requests_.handles(request.user, person) else "")
    return _page(request, item)


def _page(request: AuthedRequest, item: SubjectRequest, *, status: int = 200, failed: str = "",
          answer_form: RequestAnswerForm | None = None,
          lift_form: LiftRestrictionForm | None = None) -> HttpResponse:
    person = item.person
    return render(request, "cases/subject_request.html", {
        "item": item, "person": person, "kinds": RequestKind, "failed": failed,
        "handles": not person.erased_at and requests_.handles(request.user, person),
        "supervises": not person.erased_at and requests_.supervises(request.user, person),
        "open": item.status == RequestStatus.OPEN,
        "answer_form": answer_form or RequestAnswerForm(),
        "lift_form": lift_form or LiftRestrictionForm(),
        "languages": EXPORT_LANGUAGES, "today": timezone.localdate(),
        "restriction_in_force": (item.kind == RequestKind.RESTRICTION
                                 and item.status == RequestStatus.DONE and item.lifted_at is None),
    }, status=status)


@require_POST
@request_staff_required
def request_export(request: AuthedRequest, request_id: uuid.UUID) -> HttpResponse:
    # A POST: the copy is recorded for good (the request, the register of transfers), so a
    # link from another site must not make one.
    item = _request(request, request_id, "subject_request.export")
    fmt = request.POST.get("format", "pdf")
    language = request.POST.get("language", "es")
    internal = request.POST.get("internal") == "1"
    if fmt not in ("pdf", "json") or language not in EXPORT_LANGUAGES:
        messages.error(request, _("Choose PDF or JSON, in Spanish or English."))
        return redirect("subject_request_detail", request_id=item.pk)
    if two_factor.needs_step_up(request):
        # An export of a whole record: a code entered within minutes, then back to the form.
        return two_factor.to_verify(request, reverse("subject_request_detail", args=[item.pk]))
    try:
        requests_.mark_exported(by=request.user, request=item, fmt=fmt, language=language,
                                internal=internal)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("subject_request_detail", request_id=item.pk)
    export = subject_export.build(request=item, language=language, internal=internal)
    if fmt == "json":
        body, content_type = subject_export.to_json(export), "application/json"
    else:
        body, content_type = subject_export.to_pdf(export), "application/pdf"
    response = HttpResponse(body, content_type=content_type)
    name = f"personal-data-{item.received_on.isoformat()}-{language}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    protect_file(response)
    return response


@require_POST
@request_staff_required
def request_answer(request: AuthedRequest, request_id: uuid.UUID) -> HttpResponse:
    action = request.POST.get("action", "")
    item = _request(request, request_id, "subject_request.answer")
    if action == "erase" and two_factor.needs_step_up(request):
        # Back to the request's page after the code: the answer is a form there.
        return two_factor.to_verify(request, reverse("subject_request_detail", args=[item.pk]))
    form = RequestAnswerForm(request.POST)
    lift = LiftRestrictionForm(request.POST)
    done = {
        "complete": _("The request is answered."),
        "refuse": _("The request is refused."),
        "restrict": _("Processing of the person's data is now restricted."),
        "lift": _("The restriction was lifted."),
        "erase": _("The person's data was erased."),
    }
    if action not in done:
        messages.error(request, _("Choose what to do with the request."))
        return redirect("subject_request_detail", request_id=item.pk)
    valid = lift.is_valid() if action == "lift" else form.is_valid()
    if valid and action == "erase" and not form.cleaned_data["confirm"]:
        form.add_error("confirm", _("Confirm that the erasure cannot be undone."))
        valid = False
    if valid:
        answer = form.cleaned_data.get("answer", "") if action != "lift" else ""
        try:
            if action == "complete":
                requests_.complete_request(by=request.user, request=item, answer=answer)
            elif action == "refuse":
                requests_.refuse_request(by=request.user, request=item, answer=answer)
            elif action == "restrict":
                requests_.restrict_processing(by=request.user, request=item, answer=answer)
            elif action == "lift":
                requests_.lift_restriction(by=request.user, request=item,
                                           reason=lift.cleaned_data["reason"])
            else:
                requests_.approve_erasure(by=request.user, request=item)
        except ValidationError as exc:
            add_service_errors(lift if action == "lift" else form, exc)
        else:
            messages.success(request, done[action])
            return redirect("subject_request_detail", request_id=item.pk)
    return _page(request, item, status=400, failed=action,
                 answer_form=form if action != "lift" else None,
                 lift_form=lift if action == "lift" else None)
