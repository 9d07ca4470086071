"""Refused requests are audit events: a page the role does not allow (`access.denied`), a
refused CSRF token (`csrf.refuse`), a refused upload (`upload.refuse`); with the page's URL
name, the method and a reason code, never a path, a file name or anything personal."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from audit.refusals import csrf_reason
from cases import events, services, uploads
from cases.models import Note
from tests.audit.test_events import assert_nothing_personal
from tests.conftest import pdf_bytes

pytestmark = pytest.mark.django_db


def refusals(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_a_caseworker_opening_statistics_is_refused_and_recorded(client, caseworker, person):
    client.force_login(caseworker)

    response = client.get(reverse("stats:dashboard") + "?office=1&name=Perez",
                          HTTP_X_REQUEST_ID="r-denied")

    assert response.status_code == 403
    [event] = refusals("access.denied")
    assert (event.actor_id, event.office_id, event.outcome, event.request_id) == (
        caseworker.pk, caseworker.memberships.get().office_id, "denied", "r-denied")
    assert event.details == {"view": "stats:dashboard", "method": "GET",
                             "reason": "RoleRequired"}
    assert "Perez" not in json.dumps(event.details) and "/statistics/" not in json.dumps(event.details)
    assert_nothing_personal()


def test_an_analyst_opening_a_case_page_is_recorded_once(client, analyst, case):
    """Out of scope is a 404 the case's own event records (cases.steps.audited_get); the
    403 handler adds nothing to it."""
    client.force_login(analyst)

    response = client.get(reverse("case_detail", args=[case.pk]))

    assert response.status_code == 404
    [event] = AuditEvent.objects.filter(actor=analyst, outcome="denied")
    assert (event.action, event.object_id) == ("case.view", str(case.pk))
    assert_nothing_personal()


def test_an_analyst_opening_an_audit_page_is_recorded(client, analyst, case):
    client.force_login(analyst)

    response = client.get(reverse("audit_case_timeline", args=[case.reference]))

    assert response.status_code == 403
    [event] = AuditEvent.objects.filter(actor=analyst, outcome="denied")
    assert event.action == "access.denied"
    assert event.details["view"] == "audit_case_timeline"
    assert case.reference not in json.dumps(event.details)


def test_a_page_whose_own_event_records_the_refusal_gets_no_second_one(
        client, caseworker, person):
    """A case waiting in the office queue: its caseworkers see it but may not change it. The
    refused change has its own event (rsd/views.py) before the 403; the handler adds none."""
    queued = services.open_case(by=caseworker, person=person, kind="asylum", assign_to_me=False)
    client.force_login(caseworker)

    response = client.post(reverse("rsd:application_edit", args=[queued.pk]), {})

    assert response.status_code == 403
    [event] = AuditEvent.objects.filter(actor=caseworker, outcome="denied")
    assert (event.action, event.object_id) == ("rsd.application.update", str(queued.pk))

    response = client.get(reverse("rsd:application_edit", args=[queued.pk]))

    assert response.status_code == 403  # no event of its own: the handler's
    event = refusals("access.denied")[-1]
    assert event.details == {"view": "rsd:application_edit", "method": "GET",
                             "reason": "PermissionDenied"}


def test_a_post_without_csrf_token_is_refused_and_recorded(caseworker, case):
    client = Client(enforce_csrf_checks=True)
    client.force_login(caseworker)

    response = client.post(reverse("note_add", args=[case.pk]), {"text": "Visita de María"})

    assert response.status_code == 403
    assert b"forbidden" in response.content  # the application's own 403 page
    [event] = refusals("csrf.refuse")
    assert (event.actor_id, event.outcome) == (caseworker.pk, "denied")
    assert event.details == {"view": "note_add", "method": "POST", "reason": "no_cookie"}
    assert not Note.objects.filter(case=case).exists()
    assert "María" not in json.dumps(event.details, ensure_ascii=False)


def test_a_wrong_csrf_token_is_recorded_without_the_token(client, caseworker, case):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(caseworker)
    csrf_client.get(reverse("case_detail", args=[case.pk]))  # sets the CSRF cookie
    token = "A" * 64

    response = csrf_client.post(reverse("note_add", args=[case.pk]),
                                {"text": "x", "csrfmiddlewaretoken": token})

    assert response.status_code == 403
    [event] = refusals("csrf.refuse")
    assert event.details["reason"] == "token_incorrect"
    assert token not in json.dumps(event.details)
    assert csrf_client.cookies["csrftoken"].value not in json.dumps(event.details)


@pytest.mark.parametrize("reason,code", [
    ("CSRF cookie not set.", "no_cookie"),
    ("CSRF token missing.", "token_missing"),
    ("CSRF token from POST incorrect.", "token_incorrect"),
    ("CSRF token from POST has incorrect length.", "token_length"),
    ("CSRF token from the 'X-Csrftoken' HTTP header has invalid characters.", "token_characters"),
    ("Origin checking failed - https://evil.example does not match any trusted origins.",
     "bad_origin"),
    ("Referer checking failed - https://evil.example/x does not match any trusted origins.",
     "bad_referer"),
    ("Referer checking failed - no Referer.", "no_referer"),
    ("something new", "other")])
def test_csrf_reasons_are_codes_never_the_referer(reason, code):
    assert csrf_reason(reason) == code


def test_a_refused_upload_is_recorded_with_its_reason_not_its_name(
        client, caseworker, case, file_root):
    client.force_login(caseworker)
    upload = _file("María Pérez pasaporte.pdf", b"plain text, not a PDF")

    response = client.post(reverse("document_upload", args=[case.pk]),
                           {"title": "Pasaporte", "file": upload})

    assert response.status_code == 400  # the form again, with the error
    [event] = refusals("upload.refuse")
    assert (event.actor_id, event.outcome) == (caseworker.pk, "denied")
    assert event.details == {"reason": "type", "size": 21, "type": ""}
    assert "pasaporte" not in json.dumps(event.details).lower()
    assert not AuditEvent.objects.filter(action="document.add").exists()
    assert_nothing_personal()


def test_a_request_too_large_for_its_file_is_recorded(client, caseworker, case, settings,
                                                       file_root):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100
    client.force_login(caseworker)

    response = client.post(reverse("document_upload", args=[case.pk]),
                           {"title": "Pasaporte", "file": _file("María.pdf", pdf_bytes("x" * 200))})

    assert response.status_code == 400
    [event] = refusals("upload.refuse")
    assert event.details["reason"] == "too_large" and event.details["size"] > 200
    assert not AuditEvent.objects.filter(action="document.add").exists()


def test_a_refused_upload_inside_a_rolled_back_transaction_stays_recorded(
        caseworker):
    """The CoI library checks its document inside its own transaction (rsd/services/coi.py):
    the refusal is written when the request ends, outside it."""
    info = events.RequestInfo("r-upload", "192.0.2.1", user=caseworker)
    token = events.set_request(info)
    try:
        with pytest.raises(ValidationError), transaction.atomic():
            uploads.check_upload(b"", accepted=uploads.PDF_DOCUMENT)
        assert not refusals("upload.refuse")  # kept back, not rolled back
        events.flush_refusals()
    finally:
        events.reset_request(token)
    [event] = refusals("upload.refuse")
    assert (event.actor_id, event.request_id, event.details) == (
        caseworker.pk, "r-upload", {"reason": "empty", "size": 0})


def test_an_anonymous_request_is_not_recorded(client):
    response = client.get(reverse("stats:dashboard"))
    csrf = Client(enforce_csrf_checks=True).post("/logout/")

    assert response.status_code == 302 and csrf.status_code == 403
    assert not AuditEvent.objects.exists()


def test_the_refusal_survives_the_view_transaction_it_rolled_back(
        client, caseworker, settings, test_actions):
    settings.ROOT_URLCONF = "tests.audit.urls_refusals"
    client.force_login(caseworker)

    response = client.get("/test-refuse-in-transaction/")

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="test.touch").exists()  # rolled back
    [event] = refusals("access.denied")
    assert event.details == {"view": "test_refuse_in_transaction", "method": "GET",
                             "reason": "PermissionDenied"}


def test_a_failed_form_does_not_stand_for_the_pages_refusal(client, caseworker, settings):
    settings.ROOT_URLCONF = "tests.audit.urls_refusals"
    client.force_login(caseworker)

    response = client.get("/test-refuse-after-form/")

    assert response.status_code == 403
    assert [e.details["form"] for e in refusals("form.invalid")] == ["cases.forms.NoteForm"]
    [event] = refusals("access.denied")
    assert event.details["view"] == "test_refuse_after_form"


def _file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")
