"""The biometrics pages: enrolment of a finger and the face photo (from the person page),
the sealed images served to who may see the person, and the 1:1 verification (from the case
page). Views parse, check, call a service and render."""

from __future__ import annotations

import io
import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from PIL import Image

from biometrics import engine, pages, services
from biometrics.forms import BaseSearchFormSet, CaptureForm, PhotoForm, SearchFormSet, VerifyForm
from biometrics.models import Consent, FingerprintCapture, FingerprintSearch, SearchStatus
from cases import events, selectors, uploads
from cases.crypto import datakeys
from cases.http import AuthedRequest, HtmxRequest, protect_file
from cases.models import Person
from cases.steps import add_service_errors, audited_get, case_staff_required


def _person(request: AuthedRequest, person_id: uuid.UUID) -> Person:
    return audited_get(selectors.get_person, request, person_id, action="person.view",
                       object_type="cases.person")


def _too_large(request: AuthedRequest, form: CaptureForm | PhotoForm | VerifyForm, field: str) -> bool:
    if uploads.request_too_large(request.META):
        form.is_valid()
        form.errors.pop(field, None)
        form.add_error(field, uploads.too_large_message())
        return True
    return False


@require_http_methods(["GET", "POST"])
@case_staff_required
def enrol(request: AuthedRequest, person_id: uuid.UUID) -> HttpResponse:
    person = _person(request, person_id)
    if not services.may_capture(request.user, person):
        raise PermissionDenied(_("You cannot take fingerprints or photos for this person."))
    form = CaptureForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if not _too_large(request, form, "capture") and form.is_valid():
            data = form.cleaned_data["capture"].read()
            try:
                capture = services.enrol_finger(
                    by=request.user, person=person, finger=form.cleaned_data["finger"],
                    data=data, device=form.cleaned_data["device"], consent=Consent.GIVEN)
            except engine.Refused as refused:
                form.add_error("capture", refused.reason)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _(
                    "%(finger)s enrolled (quality %(quality)d). It is compared with everyone "
                    "enrolled; a supervisor reviews any possible duplicate.") % {
                        "finger": capture.get_finger_display(), "quality": capture.quality})
                return redirect("person_detail", person_id=person.pk)
    events.emit("person.view", actor=request.user, obj=person)
    return render(request, "biometrics/enrol.html", {
        "person": person, "form": form, "captures": services.current_captures(person)},
        status=status)


@require_http_methods(["GET", "POST"])
@case_staff_required
def photo(request: AuthedRequest, person_id: uuid.UUID) -> HttpResponse:
    person = _person(request, person_id)
    if not services.may_capture(request.user, person):
        raise PermissionDenied(_("You cannot take fingerprints or photos for this person."))
    form = PhotoForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if not _too_large(request, form, "photo") and form.is_valid():
            try:
                services.set_photo(by=request.user, person=person,
                                   data=form.cleaned_data["photo"].read(),
                                   device=form.cleaned_data["device"], consent=Consent.GIVEN)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Face photo saved."))
                return redirect("person_detail", person_id=person.pk)
    events.emit("person.view", actor=request.user, obj=person)
    return render(request, "biometrics/photo.html", {"person": person, "form": form}, status=status)


def _image(data: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = "inline"
    protect_file(response)
    return response


@require_GET
@case_staff_required
def photo_image(request: AuthedRequest, person_id: uuid.UUID) -> HttpResponse:
    person = _person(request, person_id)
    found = services.current_photo(person)
    if found is None or not found.storage_name:
        raise Http404("No photo.")
    events.emit("biometrics.view_photo", actor=request.user, obj=person)
    try:
        data = services.read_photo(found)
    except datakeys.KeyDestroyed:
        raise Http404("Erased.") from None
    return _image(data, found.content_type)


@require_GET
@case_staff_required
def print_image(request: AuthedRequest, capture_id: uuid.UUID) -> HttpResponse:
    capture = FingerprintCapture.objects.filter(pk=capture_id).exclude(image_name="").first()
    if capture is None or not selectors.visible_people(request.user).filter(pk=capture.person_id).exists():
        events.emit("biometrics.view_print", actor=request.user, outcome="denied",
                    object_type="biometrics.fingerprintcapture", object_id=str(capture_id))
        raise Http404("No such fingerprint.")
    events.emit("biometrics.view_print", actor=request.user, obj=capture,
                office_id=capture.person.office_id, finger=capture.finger)
    try:
        data = services.read_print(capture)
    except datakeys.KeyDestroyed:
        raise Http404("Erased.") from None
    # Shown as captured would show the ridges only as the scanner saw them: sent as PNG.
    return _image(_as_png(data), "image/png")


def _as_png(data: bytes) -> bytes:
    """A BMP, TIFF or JPEG scan as PNG, which every browser shows."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return data
    buffer = io.BytesIO()
    with Image.open(io.BytesIO(data)) as img:
        img.convert("L").save(buffer, format="PNG")
    return buffer.getvalue()


@require_http_methods(["GET", "POST"])
@case_staff_required
def verify(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    case = audited_get(selectors.get_case, request, case_id, action="case.view",
                       object_type="cases.case")
    if not services.may_verify(request.user, case):
        raise PermissionDenied(_("Only who works on the case verifies the person's identity."))
    person = case.principal
    fingers = [c.finger for c in services.current_captures(person)]
    form = VerifyForm(request.POST or None, request.FILES or None, fingers=fingers)
    status = 200
    if request.method == "POST":
        status = 400
        if not fingers:
            form.add_error(None, _("No finger of this person is enrolled: "
                                   "enrol one from the person page first."))
        elif not _too_large(request, form, "capture") and form.is_valid():
            try:
                made = services.verify(by=request.user, case=case, kind=form.cleaned_data["kind"],
                                       finger=form.cleaned_data["finger"],
                                       data=form.cleaned_data["capture"].read())
            except engine.Refused as refused:
                form.add_error("capture", refused.reason)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if made.result == "match":
                    messages.success(request, _("Same person: the fresh print matches the enrolled "
                                                "one (score %(score)d).") % {"score": made.score})
                else:
                    messages.warning(request, _("Not confirmed: the fresh print does not match the "
                                                "enrolled one (score %(score)d). Capture again, or "
                                                "check the person's identity another way.") % {
                                                    "score": made.score})
                return redirect("case_detail", case_id=case.pk)
    events.emit("case.view", actor=request.user, obj=case)
    return render(request, "biometrics/verify.html", {
        "case": case, "person": person, "form": form, "fingers": fingers,
        "photo": services.current_photo(person)}, status=status)


@require_http_methods(["GET", "POST"])
@case_staff_required
def search(request: AuthedRequest) -> HttpResponse:
    """A 1:N search with fresh prints: checked here, searched by the worker that holds the
    gallery (services.queue_search), shown on the search's own page. The uploaded images are
    read, never stored."""
    bound = request.method == "POST"
    formset = SearchFormSet(request.POST if bound else None, request.FILES if bound else None,
                            prefix="fingers")
    problems: list[str] = []
    status = 200
    if bound:
        status = 400
        if uploads.request_too_large(request.META):
            problems.append(uploads.too_large_message())
        elif formset.is_valid():
            images = {finger: upload.read() for finger, upload in formset.images().items()}
            try:
                queued = services.queue_search(by=request.user, images=images)
            except engine.Refused as refused:
                _refused_row(formset, refused, problems)
            except ValidationError as exc:
                problems.extend(exc.messages)
            else:
                return redirect("biometrics:search_result", search_id=queued.pk)
    return render(request, "biometrics/search.html", {
        "formset": formset, "problems": problems, "found": None}, status=status)


@require_GET
@case_staff_required
def search_result(request: HtmxRequest, search_id: uuid.UUID) -> HttpResponse:
    """One's own search: waiting for the worker (the result column asks again by itself), or
    its candidates as the user may see them now."""
    queued = get_object_or_404(FingerprintSearch, pk=search_id, by=request.user)
    found = services.search_result(request.user, queued) if queued.status == SearchStatus.DONE else None
    template = "biometrics/_search_result.html" if request.htmx else "biometrics/search.html"
    return render(request, template, {
        "formset": SearchFormSet(prefix="fingers"), "problems": [], "search": queued,
        "found": found, "summary": pages.summary(found) if found else "",
        "rows": pages.search_rows(request.user, found)})


def _refused_row(formset: BaseSearchFormSet, refused: engine.Refused, problems: list[str]) -> None:
    """The engine's refusal beside the image it is about."""
    finger = getattr(refused, "finger", None)
    for form in formset.forms:
        if form.cleaned_data and form.cleaned_data["finger"] == finger:
            form.add_error("image", refused.reason)
            return
    problems.append(refused.reason)
