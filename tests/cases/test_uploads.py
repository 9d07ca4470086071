"""One check of uploaded files (cases.uploads), for case documents and the COI library alike."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases import services, uploads
from cases.models import Document
from rsd import services as rsd_services
from rsd.models import CoiSource
from tests.conftest import PNG_BYTES, pdf_bytes

# The checks record what they refuse (upload.refuse): every test needs the database.
pytestmark = [pytest.mark.usefixtures("file_root"), pytest.mark.django_db]

EXECUTABLE = b"MZ\x90\x00\x03" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200


@pytest.mark.parametrize("accepted", [uploads.CASE_DOCUMENT, uploads.PDF_DOCUMENT],
                         ids=["case", "coi"])
@pytest.mark.parametrize("data", [EXECUTABLE, ELF, HTML, b"just text"],
                         ids=["exe", "elf", "html", "text"])
def test_the_type_is_read_from_the_content(accepted, data):
    with pytest.raises(ValidationError) as refused:
        uploads.check_upload(data, accepted=accepted, field="scan")

    assert refused.value.message_dict == {"scan": [str(accepted.refusal)]}


def test_a_pdf_passes_both_and_a_photo_only_the_case_documents():
    assert uploads.check_upload(pdf_bytes("x"), accepted=uploads.CASE_DOCUMENT) == "application/pdf"
    assert uploads.check_upload(pdf_bytes("x"), accepted=uploads.PDF_DOCUMENT) == "application/pdf"
    assert uploads.check_upload(PNG_BYTES, accepted=uploads.CASE_DOCUMENT) == "image/png"
    with pytest.raises(ValidationError):
        uploads.check_upload(PNG_BYTES, accepted=uploads.PDF_DOCUMENT)


def test_the_limit_is_the_setting_unless_the_caller_sets_one(settings):
    settings.AMPARO_UPLOAD_MAX_BYTES = 2 * 1024 * 1024
    data = pdf_bytes("x" * (1024 * 1024))  # a little over 1 MB

    assert uploads.check_upload(data, accepted=uploads.PDF_DOCUMENT) == "application/pdf"
    with pytest.raises(ValidationError) as refused:
        uploads.check_upload(data, accepted=uploads.PDF_DOCUMENT, limit=1024 * 1024)
    assert refused.value.message_dict == {"file": ["The file is larger than 1 MB."]}


def test_a_size_check_for_a_forms_own_field_is_not_keyed(settings):
    settings.AMPARO_UPLOAD_MAX_BYTES = 1024 * 1024
    uploads.check_size(1024 * 1024)
    with pytest.raises(ValidationError) as refused:
        uploads.check_size(1024 * 1024 + 1, field=None)
    assert not hasattr(refused.value, "error_dict")
    assert refused.value.messages == ["The file is larger than 1 MB."]


def test_the_errors_are_translated():
    from django.utils import translation

    with translation.override("es"), pytest.raises(ValidationError) as refused:
        uploads.check_upload(b"", accepted=uploads.CASE_DOCUMENT)
    assert refused.value.message_dict["file"] == ["El archivo está vacío."]


def test_request_too_large_reads_the_content_length(settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert uploads.request_too_large({"CONTENT_LENGTH": "1001"})
    assert not uploads.request_too_large({"CONTENT_LENGTH": "1000"})
    assert not uploads.request_too_large({"CONTENT_LENGTH": "lots"})
    assert not uploads.request_too_large({})


# Through the services that store files


def _add_coi(by, office, document: bytes) -> CoiSource:
    return rsd_services.add_coi_source(by=by, office=office, title="Informe", publisher="ACNUR",
                                       published_on=timezone.localdate(), document=document)


@pytest.mark.parametrize("data", [EXECUTABLE, HTML], ids=["exe", "html"])
def test_a_renamed_executable_or_page_is_refused_as_a_case_document(caseworker, case, data):
    with pytest.raises(ValidationError) as refused:
        services.add_document(by=caseworker, case=case, title="Pasaporte", filename="pasaporte.pdf",
                              data=data)

    assert refused.value.message_dict == {"file": [str(uploads.CASE_DOCUMENT.refusal)]}
    assert not Document.objects.exists()


@pytest.mark.parametrize("data", [EXECUTABLE, HTML], ids=["exe", "html"])
def test_a_renamed_executable_or_page_is_refused_in_the_library(caseworker, office, data):
    with pytest.raises(ValidationError) as refused:
        _add_coi(caseworker, office, data)

    assert refused.value.message_dict == {"document": ["Attach the document as a PDF file."]}
    assert not CoiSource.objects.exists()


def test_an_oversized_file_is_refused_by_both(settings, caseworker, case, office):
    settings.AMPARO_UPLOAD_MAX_BYTES = 1024 * 1024
    big = pdf_bytes("x" * (1024 * 1024))

    with pytest.raises(ValidationError) as as_document:
        services.add_document(by=caseworker, case=case, title="", filename="big.pdf", data=big)
    with pytest.raises(ValidationError) as in_library:
        _add_coi(caseworker, office, big)

    assert as_document.value.message_dict == {"file": ["The file is larger than 1 MB."]}
    assert in_library.value.message_dict == {"document": ["The file is larger than 1 MB."]}
    assert not Document.objects.exists() and not CoiSource.objects.exists()


def test_a_good_pdf_is_accepted_by_both(caseworker, case, office):
    data = pdf_bytes("Informe de país")

    document = services.add_document(by=caseworker, case=case, title="", filename="i.pdf", data=data)
    source = _add_coi(caseworker, office, data)

    assert document.content_type == "application/pdf"
    assert services.read_document(by=caseworker, document=document) == data
    with source.document.open("rb") as stored:
        assert stored.read() == data


@pytest.mark.django_db
def test_a_refused_upload_is_announced_at_the_top_of_the_case_page(client, caseworker, case):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    client.force_login(caseworker)
    bad = SimpleUploadedFile("nota.exe", b"MZ\x90\x00 not a document", content_type="application/pdf")

    response = client.post(reverse("document_upload", args=[case.pk]), {"title": "Pasaporte", "file": bad},
                           HTTP_ACCEPT_LANGUAGE="en")

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="form-problem"' in page and 'href="#documents"' in page
    assert page.index('id="form-problem"') < page.index('id="documents"')
    assert not case.documents.exists()
    ok = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert 'id="form-problem"' not in ok
