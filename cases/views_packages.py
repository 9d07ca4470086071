"""The pages of case packages between installations (cases/case_packages.py): other
offices' keys, sending a case, receiving a package."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import access, case_packages, events, office_keys, selectors, two_factor
from cases.crypto.packages import PackageRefused, PublicBundle
from cases.forms import Styled
from cases.http import AuthedRequest, protect_file
from cases.models import Office, PartnerKey, ReceivedPackage, Role
from cases.steps import add_service_errors, audited_get, role_required

MAX_BUNDLE_BYTES = 16 * 1024

packages_required = role_required(
    Role.CASEWORKER, Role.SUPERVISOR, Role.OFFICE_ADMIN, Role.SYSTEM_ADMIN,
    message=gettext_lazy("Only the staff of an office work with case packages."))


class BundleForm(Styled, forms.Form):
    bundle = forms.FileField(label=gettext_lazy("Key bundle of the other office"),
                             help_text=gettext_lazy("The JSON file its administrator made with "
                                                    "'office_key'."))

    def clean_bundle(self) -> PublicBundle:
        upload = self.cleaned_data["bundle"]
        if upload.size > MAX_BUNDLE_BYTES:
            raise ValidationError(_("A key bundle is a small JSON file; this one is too large."))
        try:
            return PublicBundle.from_json(upload.read())
        except ValueError:
            raise ValidationError(_("This file is not an office key bundle, or it was "
                                    "changed.")) from None


class ReceiveForm(Styled, forms.Form):
    package = forms.FileField(label=gettext_lazy("Case package"))

    def clean_package(self) -> bytes:
        data: bytes = self.cleaned_data["package"].read()  # its size: import_package
        return data


def _request_limit() -> int:
    """The largest request that carries a package: the package and a form around it."""
    return case_packages.max_bytes() + 1024 * 1024


class PackageUploadHandler(MemoryFileUploadHandler):
    """Keeps a package in memory up to the package limit (larger than an upload's), never
    in a temporary file."""

    def handle_raw_input(self, input_data: Any, META: Any, content_length: int, boundary: Any,
                         encoding: str | None = None) -> None:
        self.activated = content_length <= _request_limit()


def _package_too_large(request: HttpRequest) -> bool:
    """The request is larger than a package may be: its file was dropped unread."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > _request_limit()
    except ValueError:
        return False


class PartnerField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: PartnerKey) -> str:
        return f"{obj.office_code} · {obj.name} ({obj.fingerprint[:9]}…)"


class SendForm(Styled, forms.Form):
    to = PartnerField(label=gettext_lazy("To the office"), queryset=PartnerKey.objects.none())
    contact = forms.BooleanField(label=gettext_lazy("Include the contact details"), required=False)
    history = forms.BooleanField(label=gettext_lazy("Include the case's steps"), required=False,
                                 initial=True)
    documents = forms.BooleanField(label=gettext_lazy("Include the case's documents (scans and "
                                                      "photos)"), required=False)
    reason = forms.CharField(label=gettext_lazy("Why the case goes"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))
    override = forms.CharField(
        label=gettext_lazy("Without the person's consent to sharing, because"), required=False,
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Only where the person has not consented: the reason is "
                               "recorded in the audit log."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = (  # type: ignore[attr-defined]
            PartnerKey.objects.filter(revoked_at__isnull=True).order_by("office_code"))
        self.fields["documents"].help_text = _(
            "They go sealed inside the package, which may be at most %(limit)s MB.") % {
            "limit": case_packages.max_bytes_text()}


def _own_fingerprints(user: object) -> list[tuple[Office, str]]:
    offices = Office.objects.filter(
        pk__in=access.offices_where(user, Role.SUPERVISOR, Role.OFFICE_ADMIN)).order_by("code")  # type: ignore[arg-type]
    out = []
    for office in offices:
        try:
            out.append((office, office_keys.bundle(office).fingerprint))
        except office_keys.NoOfficeKeys:
            out.append((office, ""))
    return out


def _page(request: AuthedRequest, *, bundle_form: BundleForm | None = None,
          receive_form: ReceiveForm | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    admin = case_packages.can_register_keys(user)
    receives = access.has_role(user, Role.CASEWORKER, Role.SUPERVISOR)
    received = ReceivedPackage.objects.filter(
        office_id__in=access.offices_where(user, Role.CASEWORKER, Role.SUPERVISOR)
    ).select_related("sender", "case", "office").order_by("-received_at")[:50]
    return render(request, "cases/packages.html", {
        "admin": admin, "receives": receives,
        "keys": PartnerKey.objects.order_by("office_code", "-registered_at") if admin else [],
        "own": _own_fingerprints(user),
        "bundle_form": bundle_form or (BundleForm() if admin else None),
        "receive_form": receive_form or (ReceiveForm() if receives else None),
        "received": received if receives else [],
    }, status=status)


@require_GET
@packages_required
def packages(request: AuthedRequest) -> HttpResponse:
    events.emit("package.list", actor=request.user)
    return _page(request)


@require_POST
@packages_required
def key_register(request: AuthedRequest) -> HttpResponse:
    if not case_packages.can_register_keys(request.user):
        raise PermissionDenied(_("Only an office administrator registers other offices' keys."))
    if (step_up := two_factor.step_up(request)) is not None:
        return step_up  # a key operation: a code entered within AMPARO_STEP_UP_MINUTES
    form = BundleForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            key, new = case_packages.register_partner_key(by=request.user,
                                                          bundle=form.cleaned_data["bundle"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            text = (_("Registered %(office)s. Check this fingerprint with them by phone: "
                      "%(fingerprint)s") if new else
                    _("%(office)s was already registered with this key (fingerprint "
                      "%(fingerprint)s)."))
            messages.success(request, text % {"office": key.office_code,
                                              "fingerprint": key.fingerprint})
            return redirect("packages")
    return _page(request, bundle_form=form, status=400)


@require_POST
@packages_required
def key_revoke(request: AuthedRequest, partner_key_id: uuid.UUID) -> HttpResponse:
    if not case_packages.can_register_keys(request.user):
        raise PermissionDenied(_("Only an office administrator registers other offices' keys."))
    if (step_up := two_factor.step_up(request)) is not None:
        return step_up
    key = get_object_or_404(PartnerKey, pk=partner_key_id)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        events.emit("package.key_revoke", actor=request.user, obj=key, office_code=key.office_code,
                    fingerprint=key.fingerprint)
        messages.success(request, _("The key of %(office)s was revoked: packages from it are "
                                    "refused.") % {"office": key.office_code})
    return redirect("packages")


@csrf_exempt  # checked below, once the package's own upload handler is in place
@require_POST
def receive(request: AuthedRequest) -> HttpResponseBase:
    request.upload_handlers = [PackageUploadHandler(request)]
    return _receive(request)


@csrf_protect
@packages_required
def _receive(request: AuthedRequest) -> HttpResponse:
    if not access.has_role(request.user, Role.CASEWORKER, Role.SUPERVISOR):
        raise PermissionDenied(_("Only caseworkers and supervisors receive case packages."))
    if _package_too_large(request):
        form = ReceiveForm({})
        form.is_valid()
        form.errors.pop("package", None)
        size = int(request.META.get("CONTENT_LENGTH") or 0)
        form.add_error("package", case_packages.refusal_message(
            case_packages.refused_for_size(by=request.user, size=size)))
        return _page(request, receive_form=form, status=400)
    form = ReceiveForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            received, new = case_packages.import_package(by=request.user,
                                                         data=form.cleaned_data["package"])
        except PackageRefused as refused:
            form.add_error("package", case_packages.refusal_message(refused))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            count = received.case.documents.count() if new else 0  # all came with it
            if count:
                messages.success(request, ngettext(
                    "The case was received as %(ref)s, with %(count)d document.",
                    "The case was received as %(ref)s, with %(count)d documents.", count)
                    % {"ref": received.case.reference, "count": count})
            elif new:
                messages.success(request, _("The case was received as %(ref)s.")
                                 % {"ref": received.case.reference})
            else:
                messages.info(request, _("This case was received before, as %(ref)s: nothing "
                                         "new was created.") % {"ref": received.case.reference})
            return redirect("case_detail", case_id=received.case_id)
    return _page(request, receive_form=form, status=400)


@require_http_methods(["GET", "POST"])
@role_required(Role.SUPERVISOR, message=gettext_lazy("Only a supervisor sends a case to another "
                                                      "installation."))
def send(request: AuthedRequest, case_id: uuid.UUID) -> HttpResponse:
    case = audited_get(selectors.get_case, request, case_id, action="package.export",
                       object_type="cases.case")
    if Role.SUPERVISOR not in access.roles_in(request.user, case.office_id):
        raise PermissionDenied(_("Only a supervisor of the case's office sends it to another "
                                 "installation."))
    posted = request.method == "POST"
    form = SendForm(request.POST if posted else None)
    if posted:
        if (step_up := two_factor.step_up(request)) is not None:
            return step_up  # a code entered within AMPARO_STEP_UP_MINUTES, as for every export
        if form.is_valid():
            d = form.cleaned_data
            parts = {p for p in ("contact", "history", "documents") if d[p]}
            try:
                data = case_packages.export_case(by=request.user, case=case, to=d["to"],
                                                 parts=parts, reason=d["reason"],
                                                 override=d["override"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            except office_keys.NoOfficeKeys:
                form.add_error(None, _("This office has no keys for case packages yet: its "
                                       "administrator makes them with 'office_key %(code)s'.")
                               % {"code": case.office.code})
            else:
                response = HttpResponse(data, content_type="application/octet-stream")
                name = f"{case.reference}-to-{d['to'].office_code}.amparo"
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                protect_file(response)
                return response
    return render(request, "cases/package_send.html", {"case": case, "form": form},
                  status=400 if posted else 200)
