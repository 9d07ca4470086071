"""Data protection requests (cases/subject_requests.py) through the real pages: a copy of the
data downloaded as a PDF, a restriction put in force and lifted, an erasure approved by a
second supervisor, and the pages on a phone. The forms are first sent as people get them
wrong, and nothing may be recorded, restricted or erased until they are right."""

from __future__ import annotations

import datetime
import io
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from audit.models import AuditEvent
from cases import services, subject_requests
from cases.models import Person, RequestStatus, SubjectRequest
from tests.browser.conftest import OVERFLOW, csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "María José Núñez Pérez"
REQUEST_PAGE = re.compile(r"/requests/[0-9a-f-]{36}/$")


@pytest.fixture
def lang() -> str:
    return "en"


@pytest.fixture
def person(staff, office, person_data, upload_root):
    return services.register_person(by=staff["caseworker"], office=office, data=person_data())


@pytest.fixture
def case(staff, person):
    return services.open_case(by=staff["caseworker"], person=person, kind="asylum")


def field_error(page, name: str):
    return page.locator(f"#id_{name}_error")


def answer(page, button: str) -> None:
    """Press one of the answer buttons of the request page and wait for the page it leads to."""
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def test_a_caseworker_records_an_access_request_downloads_the_copy_and_closes_it(
        page, staff, login, t, person, case):
    today = timezone.localdate()
    violations = csp_violations(page)
    login(page, staff["caseworker"])
    page.goto(f"/people/{person.pk}/")
    page.get_by_role("link", name="Record a request about their data").click()
    expect(page.get_by_role("heading", name="Record a request about their data")).to_be_visible()

    # Half-filled: how it came, but not what the person asks for.
    form = page.locator("#subject-request-form")
    form.locator("#id_channel").select_option("writing")
    form.get_by_role("button", name="Record the request").click()

    expect(field_error(page, "kind")).to_have_text(t["required"])
    expect(page.locator("#id_kind")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_channel")).to_have_value("writing")  # nothing lost
    for valid in ("channel", "received_on", "legal_basis", "details"):
        expect(field_error(page, valid)).to_have_count(0)
    assert not SubjectRequest.objects.exists()

    form.locator("#id_kind").select_option("access")
    form.locator("#id_received_on").fill(today.isoformat())
    form.get_by_role("button", name="Record the request").click()

    expect(page).to_have_url(REQUEST_PAGE)
    made = SubjectRequest.objects.get()
    assert page.url.endswith(f"/requests/{made.pk}/")
    assert (made.kind, made.channel, made.received_on) == ("access", "writing", today)
    due = today + datetime.timedelta(days=30)
    expect(page.locator(".alert-success")).to_contain_text(
        f"The request was recorded. Answer it by {due.isoformat()}")
    expect(page.locator("#request-kind")).to_have_text("Access: a copy of everything held")
    expect(page.locator("#request-status")).to_have_text("Open")
    expect(page.locator("#person-name")).to_have_text(NAME)

    # Done before the copy was produced: refused in place, still open.
    answer(page, "Mark as done")
    expect(page.locator("#answer-form .alert-danger")).to_have_text(
        "Produce the copy of the data first.")
    expect(page.locator("#form-problem")).to_be_visible()
    assert SubjectRequest.objects.get().status == RequestStatus.OPEN

    export = page.locator("#export-form")
    expect(export.locator("#id_internal")).to_have_count(0)  # a supervisor's choice only
    export.locator("#id_format").select_option("pdf")
    export.locator("#id_language").select_option("es")
    with page.expect_download() as download_info:
        export.get_by_role("button", name="Download the copy").click()
    download = download_info.value
    assert download.suggested_filename == f"personal-data-{today.isoformat()}-es.pdf"
    body = Path(download.path()).read_bytes()
    assert body.startswith(b"%PDF-")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    assert "Sus datos personales" in text
    # The name in its two fields, labelled in Spanish.
    assert "Nombres: María José" in text and "Apellidos: Núñez Pérez" in text
    assert case.reference in text
    event = AuditEvent.objects.get(action="subject_request.export")
    assert event.actor_id == staff["caseworker"].pk
    assert (event.details["format"], event.details["language"]) == ("pdf", "es")
    assert event.details["internal"] is False

    # Still on the page of the refused answer: its form is there to send again.
    page.locator("#id_answer").fill("Copia entregada en mano el mismo día.")
    answer(page, "Mark as done")

    expect(page.locator(".alert-success")).to_have_text("The request is answered.")
    expect(page.locator("#request-status")).to_have_text("Done")
    expect(page.locator("#request-answer")).to_have_text("Copia entregada en mano el mismo día.")
    expect(page.locator("#answer-form")).to_have_count(0)
    made.refresh_from_db()
    assert made.status == RequestStatus.DONE and made.decided_by == staff["caseworker"]
    assert made.exported_at is not None
    assert violations == []


def test_a_supervisor_restricts_processing_then_lifts_it_with_reasons(page, staff, login, t,
                                                                      person, case):
    violations = csp_violations(page)
    login(page, staff["supervisor"])
    page.goto(f"/people/{person.pk}/")
    expect(page.get_by_role("link", name="Edit", exact=True)).to_be_visible()
    page.get_by_role("link", name="Record a request about their data").click()
    form = page.locator("#subject-request-form")
    form.locator("#id_kind").select_option("restriction")
    form.locator("#id_channel").select_option("in_person")
    form.locator("#id_details").fill("Impugna la exactitud de su fecha de nacimiento.")
    form.get_by_role("button", name="Record the request").click()
    expect(page).to_have_url(REQUEST_PAGE)
    expect(page.locator("#request-kind")).to_have_text("Restriction of processing")

    answer(page, "Restrict processing")

    expect(page.locator(".alert-success")).to_have_text(
        "Processing of the person's data is now restricted.")
    expect(page.locator("#request-status")).to_have_text("Done")
    expect(page.locator("#lift-form")).to_be_visible()
    assert Person.objects.get(pk=person.pk).restricted_at is not None

    page.locator("#person-name").click()
    expect(page.locator("#restricted")).to_contain_text(
        f"restricted at their request since {timezone.localdate().isoformat()}")
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Add an identity document")).to_have_count(0)
    expect(page.locator("#open-case-form")).to_have_count(0)

    page.get_by_role("link", name=case.reference).click()
    expect(page.locator("#case-reference")).to_contain_text(case.reference)
    expect(page.locator("#restricted")).to_contain_text(
        "Processing of the applicant's data is restricted at their request")

    page.go_back()
    page.locator("#data-requests").get_by_role("link", name="Restriction of processing").click()
    expect(page).to_have_url(REQUEST_PAGE)

    # Lifted without saying why: refused beside the field, still in force.
    answer(page, "Lift the restriction")
    expect(field_error(page, "reason")).to_have_text(t["required"])
    expect(page.locator("#form-problem")).to_be_visible()
    assert Person.objects.get(pk=person.pk).restricted_at is not None

    page.locator("#id_reason").fill("Fecha de nacimiento verificada con el pasaporte.")
    answer(page, "Lift the restriction")

    expect(page.locator(".alert-success")).to_have_text("The restriction was lifted.")
    expect(page.locator("#lift-form")).to_have_count(0)
    expect(page.locator("#request-facts")).to_contain_text("Restriction lifted")
    assert Person.objects.get(pk=person.pk).restricted_at is None
    page.locator("#person-name").click()
    expect(page.locator("#restricted")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit", exact=True)).to_be_visible()
    assert violations == []


def test_an_erasure_asked_by_a_caseworker_is_approved_by_a_supervisor(new_page, staff, login, t,
                                                                      person, case):
    page = new_page()
    violations = csp_violations(page)
    login(page, staff["caseworker"])
    page.goto(f"/people/{person.pk}/")
    page.get_by_role("link", name="Ask for erasure").click()
    form = page.locator("#subject-request-form")
    expect(form.locator("#id_kind")).to_have_value("erasure")

    # No legal basis: refused beside the field.
    form.get_by_role("button", name="Record the request").click()
    expect(field_error(page, "legal_basis")).to_have_text("Choose the legal basis for the erasure.")
    expect(page.locator("#id_kind")).to_have_value("erasure")
    assert not SubjectRequest.objects.exists()

    form.locator("#id_legal_basis").select_option("request")
    form.locator("#id_details").fill("Solicitud escrita 17/2026")
    form.get_by_role("button", name="Record the request").click()
    expect(page).to_have_url(REQUEST_PAGE)
    expect(page.locator("#legal-basis")).to_have_text("Request of the person concerned")
    expect(page.locator("#answer-form")).to_contain_text(
        "A supervisor of the office answers this request.")
    expect(page.get_by_role("button", name="Approve and erase")).to_have_count(0)
    expect(page.locator("#id_confirm")).to_have_count(0)

    boss = new_page()
    violations += csp_violations(boss)
    login(boss, staff["supervisor"])
    boss.locator("nav").get_by_role("link", name="Data requests").click()
    boss.locator("#requests").get_by_role("link", name="Erasure").click()
    expect(boss.locator("#request-details")).to_have_text("Solicitud escrita 17/2026")
    expect(boss.locator("#four-eyes")).to_have_count(0)

    # Approved without the confirmation: refused in place, nothing erased.
    answer(boss, "Approve and erase")
    expect(field_error(boss, "confirm")).to_have_text("Confirm that the erasure cannot be undone.")
    expect(boss.locator("#form-problem")).to_be_visible()
    expect(boss.locator("#person-name")).to_have_text(NAME)
    assert Person.objects.get(pk=person.pk).erased_at is None
    assert SubjectRequest.objects.get().status == RequestStatus.OPEN

    boss.get_by_label("I understand that this person's data will be unreadable for ever.").check()
    answer(boss, "Approve and erase")

    expect(boss.locator(".alert-success")).to_have_text("The person's data was erased.")
    expect(boss.locator("main")).to_contain_text("(erased person)")
    expect(boss.locator("#request-status")).to_have_text("Done")
    erased = Person.objects.get(pk=person.pk)
    assert erased.erased_at is not None and erased.erasure_code == "request"

    page.goto(f"/people/{person.pk}/")
    expect(page.get_by_role("heading", name="(erased person)")).to_be_visible()
    expect(page.locator("#erasure-reason")).to_contain_text("Request of the person concerned")
    expect(page.locator("main")).not_to_contain_text("Núñez")
    expect(page.locator("#record-request")).to_have_count(0)
    assert violations == []


def test_the_supervisor_who_recorded_an_erasure_cannot_approve_it(page, staff, login, t, person):
    login(page, staff["supervisor"])
    page.goto(f"/people/{person.pk}/")
    page.get_by_role("link", name="Ask for erasure").click()
    form = page.locator("#subject-request-form")
    form.locator("#id_legal_basis").select_option("mistake")
    form.get_by_role("button", name="Record the request").click()
    expect(page).to_have_url(REQUEST_PAGE)

    expect(page.locator("#four-eyes")).to_have_text(
        "You recorded this request: another supervisor of the office approves it.")
    expect(page.get_by_role("button", name="Approve and erase")).to_have_count(0)
    expect(page.get_by_role("button", name="Refuse")).to_be_visible()
    assert Person.objects.get(pk=person.pk).erased_at is None


def test_on_a_phone_the_requests_fit_the_screen_and_keep_to_the_policy(page, staff, login, t,
                                                                       office, person, case,
                                                                       person_data):
    caseworker, supervisor = staff["caseworker"], staff["supervisor"]
    today = timezone.localdate()
    long_named = services.register_person(by=caseworker, office=office, data=person_data(
        given_names="María de los Ángeles Guadalupe", family_names="Hernández Villatoro de León",
        documents=[]))
    made = {
        "access": subject_requests.record_request(
            by=caseworker, person=person, kind="access", channel="representative",
            received_on=today - datetime.timedelta(days=45), details="Pide copia de su expediente"),
        "correction": subject_requests.record_request(
            by=caseworker, person=person, kind="correction", channel="writing", received_on=today,
            details="Su segundo apellido se escribe Pérez, con acento, en todos sus documentos."),
        "restriction": subject_requests.record_request(
            by=caseworker, person=long_named, kind="restriction", channel="phone",
            received_on=today),
        "erasure": subject_requests.record_request(
            by=caseworker, person=long_named, kind="erasure", channel="in_person",
            received_on=today, legal_basis="court_order", details="Orden judicial 2026-0412"),
    }
    subject_requests.restrict_processing(by=supervisor, request=made["restriction"])
    page.set_viewport_size({"width": 390, "height": 844})
    violations = csp_violations(page)
    login(page, supervisor)

    pages = {f"{kind} request": f"/requests/{r.pk}/" for kind, r in made.items()}
    pages |= {"open requests": "/requests/", "all requests": "/requests/?show=all",
              "new request": f"/people/{person.pk}/requests/new/"}
    for name, url in pages.items():
        response = page.goto(url)
        assert response is not None and response.status == 200, name
        expect(page.locator("main")).to_be_visible()
        assert page.evaluate(OVERFLOW) <= 1, f"the {name} page runs off the side at 390 px"

    # The list: every open request, the overdue one marked.
    page.goto("/requests/")
    rows = page.locator("#requests tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="overdue")).to_have_count(1)

    # A form sent wrong still fits: the refusal without reasons, its error beside the field.
    page.goto(f"/requests/{made['correction'].pk}/")
    answer(page, "Refuse")
    expect(field_error(page, "answer")).to_have_text("Give the reasons.")
    assert page.evaluate(OVERFLOW) <= 1, "the refused form runs off the side at 390 px"
    page.wait_for_load_state("networkidle")
    assert violations == []
