"""Importing people from the web: supervisors upload a file; a Celery task runs the import."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cases import importing, selectors, uploads
from cases.forms import Styled
from cases.http import AuthedRequest, HtmxRequest
from cases.models import Office, Role
from cases.steps import role_required

ACCEPT = ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportForm(Styled, forms.Form):
    office = forms.ModelChoiceField(queryset=Office.objects.none(), label=gettext_lazy("Office"))
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV (UTF-8) or XLSX, with one person per row and the columns "
                               "listed below."),
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind of file"), choices=(), required=False,
                             initial=importing.PEOPLE)
    skip_invalid = forms.BooleanField(
        label=gettext_lazy("Import the good rows even if some rows have errors"), required=False
    )

    def __init__(self, *args: Any, offices: QuerySet[Office] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast("forms.ModelChoiceField[Office]", self.fields["office"])
        field.queryset = offices if offices is not None else Office.objects.none()
        if offices is not None and len(offices) == 1:
            field.initial = offices[0]
        kinds = importing.KINDS.values()
        self.fields["file"].widget.attrs["accept"] = ",".join(
            [ACCEPT, *(k.accept for k in kinds if k.accept)])
        if len(importing.KINDS) > 1:
            cast("forms.ChoiceField", self.fields["kind"]).choices = [(k.code, k.label) for k in kinds]
        else:
            del self.fields["kind"]

    def clean_file(self) -> UploadedFile[bytes]:
        upload: UploadedFile[bytes] = self.cleaned_data["file"]
        uploads.check_size(upload.size or 0, field=None)
        return upload


supervisor_required = role_required(
    Role.SUPERVISOR, message=gettext_lazy("Only supervisors import files of people."))


@supervisor_required
def import_start(request: AuthedRequest) -> HttpResponse:
    offices = selectors.user_offices(request.user, Role.SUPERVISOR)
    posted = request.method == "POST"
    form = ImportForm(request.POST if posted else None, request.FILES if posted else None,
                      offices=offices)
    if posted and uploads.request_too_large(request.META):
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error("file", uploads.too_large_message())
    elif posted and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = importing.queue_import(
                by=request.user, office=form.cleaned_data["office"], data=upload.read(),
                filename=upload.name, skip_invalid=form.cleaned_data["skip_invalid"],
                kind=form.cleaned_data.get("kind") or importing.PEOPLE,
            )
        except ValidationError as exc:
            form.add_error("file", exc.messages)
        else:
            return redirect("import_job", job_id=job.pk)
    kinds = importing.KINDS
    jobs = [(job, kinds[job.kind].label if job.kind in kinds else job.kind)
            for job in selectors.visible_import_jobs(request.user)[:20]]
    return render(request, "cases/import_start.html", {
        "form": form, "jobs": jobs, "columns": importing.COLUMNS, "max_rows": importing.max_rows(),
        "kinds": list(kinds.values()),
    }, status=400 if form.errors else 200)


@supervisor_required
def import_job(request: HtmxRequest, job_id: uuid.UUID) -> HttpResponse:
    job = selectors.get_import_job(request.user, job_id)
    template = "cases/_import_progress.html" if request.htmx else "cases/import_job.html"
    response = render(request, template, {"job": job})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@supervisor_required
def import_resume(request: AuthedRequest, job_id: uuid.UUID) -> HttpResponse:
    """Resume an interrupted import: it carries on after the rows it saved."""
    job = selectors.get_import_job(request.user, job_id)
    try:
        importing.resume_import(by=request.user, job=job)
    except ValidationError as exc:
        messages.warning(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The import is resumed after the rows it had saved."))
    return redirect("import_job", job_id=job.pk)
