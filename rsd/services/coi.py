"""The office's library of Country-of-Origin Information."""

from __future__ import annotations

import datetime
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _
from django_countries import countries

from cases import access, events, texts, uploads
from cases.models import Office, Role, User
from rsd.models import CoiSource
from rsd.services._common import check_plausible, raise_errors

COI_DOCUMENT_TYPE = "application/pdf"
TITLE_LENGTH = CoiSource._meta.get_field("title").max_length or 0
PUBLISHER_LENGTH = CoiSource._meta.get_field("publisher").max_length or 0


@transaction.atomic
def add_coi_source(*, by: User, office: Office, title: str, publisher: str, published_on: datetime.date,
                   country: str = "", url: str = "", document: bytes | None = None) -> CoiSource:
    """Add a report to the office's library: with a link, a PDF document, or both."""
    if office.pk not in access.offices_where(by, Role.CASEWORKER, Role.SUPERVISOR):
        raise PermissionDenied(_("You cannot add sources to this office's library."))
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = _("Give the title.")
    if not publisher.strip():
        errors["publisher"] = _("Give the publisher.")
    texts.check(errors, {"title": (title.strip(), TITLE_LENGTH),
                         "publisher": (publisher.strip(), PUBLISHER_LENGTH)})
    check_plausible(errors, "published_on", published_on)
    if country and country not in countries:
        errors["country"] = _("Choose a country from the list.")
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            errors["url"] = _("Enter a web address starting with http:// or https://.")
    if document is not None:
        try:
            uploads.check_upload(document, accepted=uploads.PDF_DOCUMENT, field="document")
        except ValidationError as exc:
            errors["document"] = exc.message_dict["document"][0]
    if not url and document is None and "url" not in errors:
        errors["url"] = _("Give a link or attach the document.")
    raise_errors(errors)
    source = CoiSource(office=office, title=title.strip(), publisher=publisher.strip(),
                       published_on=published_on, country=country, url=url, added_by=by)
    if document is not None:
        # Named by us: the uploader's file name stays out of the file system.
        source.document.save(f"{uuid.uuid4().hex}.pdf", ContentFile(document), save=False)
    source.save()
    events.emit("rsd.coi.add", actor=by, obj=source, office_id=office.pk)
    return source


@transaction.atomic
def retire_coi_source(*, by: User, source: CoiSource) -> None:
    """Take a source out of the library; assessments that cite it keep the citation."""
    if source.office_id not in access.offices_where(by, Role.SUPERVISOR):
        raise PermissionDenied(_("Only a supervisor of this office can retire a source."))
    CoiSource.objects.filter(pk=source.pk).update(is_active=False)
    events.emit("rsd.coi.retire", actor=by, obj=source, office_id=source.office_id)
