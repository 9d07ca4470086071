"""The pages of the regional duplicate check (cases/regional.py;
docs/architecture.md#regional-duplicate-check): asking about a person, answering another
installation's inquiry, reading its answer. Each file carries keyed tokens and codes only."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import access, office_keys, regional, selectors
from cases.forms import Styled
from cases.http import AuthedRequest, protect_file
from cases.models import InquiryDirection, PartnerKey, RegionalInquiry
from cases.paging import BoundedPaginator
from cases.steps import add_service_errors, audited_get, case_staff_required
from cases.views_packages import PartnerField

PAGE_SIZE = 25
MAX_FILE_BYTES = 64 * 1024  # an inquiry holds at most 3 x 40 tokens


class InquireForm(Styled, forms.Form):
    to = PartnerField(label=gettext_lazy("To the office"), queryset=PartnerKey.objects.none(),
                      help_text=gettext_lazy("An office of another installation whose key "
                                             "your administrator registered."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = (  # type: ignore[attr-defined]
            PartnerKey.objects.filter(revoked_at__isnull=True).order_by("office_code"))


class FileForm(Styled, forms.Form):
    file = forms.FileField(label=gettext_lazy("File"))

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError(_("This file is larger than an inquiry or an answer can be."))
        data: bytes = upload.read()
        return data


def _download(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    protect_file(response)
    return response


def _page(request: AuthedRequest, *, answer_form: FileForm | None = None,
          read_form: FileForm | None = None, status: int = 200) -> HttpResponse:
    shown = request.GET.get("list") or InquiryDirection.SENT
    if shown not in InquiryDirection.values:
        raise Http404("No such list.")
    offices = access.offices_where(request.user, *access.CASE_ROLES)
    rows = (RegionalInquiry.objects.filter(direction=shown, office__in=offices)
            .select_related("office").order_by("-at", "-pk"))
    page = BoundedPaginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "cases/regional.html", {
        "page": page, "shown": shown, "query": urlencode({"list": shown}),
        "has_key": regional.regional_key() is not None, "per_day": regional.per_day(),
        "answer_form": answer_form or FileForm(prefix="answer"),
        "read_form": read_form or FileForm(prefix="read")}, status=status)


@require_GET
@case_staff_required
def regional_inquiries(request: AuthedRequest) -> HttpResponse:
    """The inquiries sent from the user's offices, or answered by them, and the forms to
    answer one and to read an answer."""
    return _page(request)


@require_http_methods(["GET", "POST"])
@case_staff_required
def regional_inquire(request: AuthedRequest, person_id: uuid.UUID) -> HttpResponse:
    """Ask another installation's office whether it knows this person: the signed inquiry
    is a file to send it."""
    person = audited_get(selectors.get_person, request, person_id, action="regional.inquire",
                         object_type="cases.person")
    if not ({"caseworker", "supervisor"} & access.roles_in(request.user, person.office_id)):
        raise PermissionDenied(_("Only the caseworkers and supervisors of the person's office ask."))
    posted = request.method == "POST"
    form = InquireForm(request.POST if posted else None)
    if posted and form.is_valid():
        to = form.cleaned_data["to"]
        try:
            data = regional.inquire(by=request.user, person=person, to=to)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except office_keys.NoOfficeKeys:
            form.add_error(None, _("This office has no keys for case packages yet: its "
                                   "administrator makes them with 'office_key %(code)s'.")
                           % {"code": person.office.code})
        else:
            return _download(data, f"inquiry-{person.office.code}-to-{to.office_code}.json")
    sent = (RegionalInquiry.objects.filter(direction=InquiryDirection.SENT, person=person)
            .order_by("-at")[:10])
    return render(request, "cases/regional_inquire.html", {
        "person": person, "form": form, "sent": sent,
        "has_key": regional.regional_key() is not None}, status=400 if posted else 200)


@require_POST
@case_staff_required
def regional_answer(request: AuthedRequest) -> HttpResponse:
    """Answer an inquiry addressed to one of the user's offices: the signed answer is a file
    to send back."""
    form = FileForm(request.POST, request.FILES, prefix="answer")
    if form.is_valid():
        try:
            data = regional.answer(by=request.user, data=form.cleaned_data["file"])
        except (regional.InquiryRefused, PermissionDenied) as refused:
            form.add_error("file", str(refused))
        except office_keys.NoOfficeKeys:
            form.add_error("file", _("The office it is addressed to has no keys yet: its "
                                     "administrator makes them with 'office_key'."))
        else:
            return _download(data, "answer.json")
    return _page(request, answer_form=form, status=400)


@require_POST
@case_staff_required
def regional_read(request: AuthedRequest) -> HttpResponse:
    """Read the answer to an inquiry sent from here: recorded on the inquiry."""
    form = FileForm(request.POST, request.FILES, prefix="read")
    if form.is_valid():
        try:
            sent = regional.read_answer(by=request.user, data=form.cleaned_data["file"])
        except (regional.InquiryRefused, PermissionDenied) as refused:
            form.add_error("file", str(refused))
        else:
            if sent.result == regional.POSSIBLE:
                messages.warning(request, _(
                    "Possible match: ask %(office)s about inquiry %(inquiry)s. A formal request "
                    "(a case package) follows, with the person's consent.") % {
                        "office": sent.ask_office, "inquiry": sent.inquiry})
            else:
                messages.success(request, _("No match for inquiry %(inquiry)s.")
                                 % {"inquiry": sent.inquiry})
            return redirect("regional_inquiries")
    return _page(request, read_form=form, status=400)
