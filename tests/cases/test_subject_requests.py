"""Requests of the people in the records about their own data: access, correction,
restriction, erasure with a supervisor's approval (cases/subject_requests.py)."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AuditEvent
from cases import consent, services, subject_requests, transfers, workflow
from cases.models import DataKey, Person, RequestStatus, Role, SubjectRequest

pytestmark = pytest.mark.usefixtures("file_root")
EN = {"accept-language": "en"}
ES = {"accept-language": "es"}


def record(by, person, kind, **extra):
    values = dict(channel="in_person", received_on=timezone.localdate(), details="")
    values.update(extra)
    return subject_requests.record_request(by=by, person=person, kind=kind, **values)


@pytest.fixture
def supervisor2(make_user, office):
    return make_user(Role.SUPERVISOR, office)


# --- Recording -------------------------------------------------------------------------------

def test_a_caseworker_records_an_access_request_due_in_thirty_days(client, caseworker, person, case):
    client.force_login(caseworker)
    received = timezone.localdate() - datetime.timedelta(days=2)

    response = client.post(reverse("subject_request_new", args=[person.pk]), {
        "kind": "access", "channel": "writing", "received_on": received.isoformat(),
        "details": "Quiere copia de su expediente"}, headers=EN)

    made = SubjectRequest.objects.get(person=person)
    assert response.status_code == 302
    assert response.url == reverse("subject_request_detail", args=[made.pk])
    assert made.due_on == received + datetime.timedelta(days=30)
    assert made.status == RequestStatus.OPEN and made.office_id == person.office_id
    assert made.recorded_by == caseworker
    assert AuditEvent.objects.filter(action="subject_request.record", object_id=str(made.pk)).exists()


def test_what_the_person_said_is_sealed(caseworker, person, case):
    made = record(caseworker, person, "correction", details="Su apellido es Núñez, no Nuñes")

    raw = SubjectRequest.objects.filter(pk=made.pk).values_list("details", flat=True).get()
    assert "Nuñes".encode() not in bytes(raw)
    assert SubjectRequest.objects.get(pk=made.pk).details == "Su apellido es Núñez, no Nuñes"


@pytest.mark.parametrize("post, field", [
    ({"kind": "", "channel": "in_person"}, "kind"),
    ({"kind": "correction", "channel": "in_person"}, "details"),
    ({"kind": "erasure", "channel": "in_person"}, "legal_basis"),
    ({"kind": "erasure", "channel": "in_person", "legal_basis": "other"}, "details"),
    ({"kind": "access", "channel": "in_person", "legal_basis": "request"}, "legal_basis"),
    ({"kind": "erasure", "channel": "in_person", "legal_basis": "request", "details": "x" * 501},
     "details"),
])
def test_a_half_filled_request_is_refused_and_nothing_recorded(client, caseworker, person, case,
                                                              post, field):
    client.force_login(caseworker)
    post = {"received_on": timezone.localdate().isoformat(), **post}

    response = client.post(reverse("subject_request_new", args=[person.pk]), post, headers=EN)

    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not SubjectRequest.objects.exists()


def test_a_request_received_tomorrow_is_refused(caseworker, person, case):
    with pytest.raises(ValidationError) as caught:
        record(caseworker, person, "access", received_on=timezone.localdate() + datetime.timedelta(days=1))
    assert "received_on" in caught.value.message_dict


def test_a_second_open_request_of_the_same_kind_is_refused(caseworker, person, case):
    record(caseworker, person, "access")
    with pytest.raises(ValidationError, match="already has an open request"):
        record(caseworker, person, "access")
    record(caseworker, person, "correction", details="Fecha de nacimiento")  # another kind: fine


def test_who_may_not_record(client, auditor, other_caseworker, office_admin, person, case):
    url = reverse("subject_request_new", args=[person.pk])
    client.force_login(other_caseworker)
    assert client.get(url).status_code == 404  # the other office does not learn the person exists
    client.force_login(auditor)
    assert client.get(url).status_code == 404  # an auditor does not find people
    client.force_login(office_admin)
    assert client.get(url).status_code == 403  # not staff of the requests
    with pytest.raises(PermissionDenied):
        record(auditor, person, "access")


# --- Access: the copy ------------------------------------------------------------------------

def _export(client, made, **params):
    query = {"format": "json", "language": "en", **params}
    return client.post(reverse("subject_request_export", args=[made.pk]), query)


def test_the_copy_holds_the_record_and_says_what_was_left_out(client, caseworker, person, case):
    services.add_note(by=caseworker, case=case, text="Parece nerviosa; verificar domicilio")
    made = record(caseworker, person, "access")
    client.force_login(caseworker)

    response = _export(client, made)

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    data = json.loads(response.content)
    assert data["format"] == "amparo-subject-access/1" and data["language"] == "en"
    sections = {s["key"]: s for s in data["sections"]}
    me = sections["person"]["records"][0]
    assert me["given_names"] == "María José" and me["date_of_birth"] == "1990-05-03"
    assert me["address"] == "Calle 5, Barrio Sur" and me["specific_needs"] == ["Woman at risk"]
    assert sections["identity_documents"]["records"][0]["number"] == "A123456"
    assert sections["cases"]["records"][0]["reference"] == case.reference
    assert "notes" not in sections
    assert "verificar domicilio" not in response.content.decode()
    assert data["withheld"] == ["Staff notes on your cases (1)."]
    made.refresh_from_db()
    assert made.exported_at is not None
    event = AuditEvent.objects.get(action="subject_request.export")
    assert event.details["format"] == "json" and event.details["internal"] is False


def test_the_copy_says_what_they_consented_to_and_who_was_given_their_data(
        client, caseworker, supervisor, person, case, office, other_office):
    consent.record(by=caseworker, person=person, purpose="sharing", given=True, language="es")
    sent = transfers.record_transfer(by=supervisor, office=office, to_office=other_office,
                                     transferred_on=datetime.date(2026, 3, 2), channel="paper",
                                     categories="expediente", purpose="Traslado de domicilio",
                                     case=case)
    transfers.record_transfer(by=supervisor, office=office, to_office=other_office,
                              transferred_on=datetime.date(2026, 3, 2), channel="paper",
                              categories="expediente completo", purpose="Traslado de domicilio",
                              case=case, corrects=sent)
    made = record(caseworker, person, "access")
    client.force_login(caseworker)

    data = json.loads(_export(client, made).content)

    sections = {s["key"]: s for s in data["sections"]}
    assert sections["consents"]["records"] == [{
        "purpose": "Sharing with another office or country", "given": "yes",
        "recorded_at": sections["consents"]["records"][0]["recorded_at"]}]
    # The entry as corrected, once; the copy itself is not a transfer to list.
    assert sections["transfers"]["records"] == [{
        "transferred_on": "2026-03-02", "recipient": other_office.name, "case": case.reference,
        "categories": "expediente completo", "purpose": "Traslado de domicilio"}]
    assert sections["transfers"]["labels"]["recipient"] == "Given to"
    again = json.loads(_export(client, made).content)
    assert {s["key"]: s for s in again["sections"]}["transfers"] == sections["transfers"]


def test_a_supervisor_may_include_the_internal_papers_a_caseworker_may_not(client, caseworker,
                                                                          supervisor, person, case):
    services.add_note(by=caseworker, case=case, text="Parece nerviosa")
    made = record(caseworker, person, "access")
    client.force_login(caseworker)
    assert _export(client, made, internal="1").status_code == 403
    client.force_login(supervisor)

    data = json.loads(_export(client, made, internal="1").content)

    notes = {s["key"]: s for s in data["sections"]}["notes"]
    assert notes["records"][0]["text"] == "Parece nerviosa" and data["withheld"] == []


def test_the_copy_is_in_the_language_asked_for_as_pdf(client, caseworker, person, case):
    made = record(caseworker, person, "access")
    client.force_login(caseworker)

    response = _export(client, made, format="pdf", language="es")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Sus datos personales" in text
    assert "María José" in text and "Núñez Pérez" in text and case.reference in text
    assert "Mujer en riesgo" in text  # the vocabulary in Spanish too


def test_a_wrong_format_or_language_exports_nothing(client, caseworker, person, case):
    made = record(caseworker, person, "access")
    client.force_login(caseworker)

    assert _export(client, made, format="xml").status_code == 302
    assert _export(client, made, language="fr").status_code == 302
    assert not AuditEvent.objects.filter(action="subject_request.export").exists()


def test_only_an_access_request_has_a_copy(client, caseworker, person, case):
    made = record(caseworker, person, "correction", details="Dirección")
    client.force_login(caseworker)
    assert _export(client, made).status_code == 302
    assert not AuditEvent.objects.filter(action="subject_request.export").exists()


def test_an_access_request_is_done_once_the_copy_was_produced(client, caseworker, person, case):
    made = record(caseworker, person, "access")
    with pytest.raises(ValidationError, match="Produce the copy"):
        subject_requests.complete_request(by=caseworker, request=made)
    client.force_login(caseworker)
    _export(client, made)

    response = client.post(reverse("subject_request_answer", args=[made.pk]),
                           {"action": "complete", "answer": "Entregada en mano"})

    made.refresh_from_db()
    assert response.status_code == 302 and made.status == RequestStatus.DONE
    assert made.decided_by == caseworker and made.answer == "Entregada en mano"


def test_another_offices_staff_do_not_see_the_request(client, other_supervisor, caseworker, person, case):
    made = record(caseworker, person, "access")
    client.force_login(other_supervisor)
    assert client.get(reverse("subject_request_detail", args=[made.pk])).status_code == 404
    assert _export(client, made).status_code == 404
    page = client.get(reverse("subject_request_list"), {"show": "all"}).content.decode()
    assert str(made.pk) not in page


def test_the_auditor_sees_the_queue_without_names_or_details(client, auditor, caseworker, person, case):
    made = record(caseworker, person, "correction", details="Apellido mal escrito")
    client.force_login(auditor)

    listing = client.get(reverse("subject_request_list"), headers=EN).content.decode()
    page = client.get(reverse("subject_request_detail", args=[made.pk]), headers=EN).content.decode()

    assert str(made.pk) in listing and "María José" not in listing
    assert "Apellido mal escrito" not in page and "María José" not in page
    assert "Correction of inaccurate data" in page
    assert _export(client, made).status_code == 404 or _export(client, made).status_code == 302


# --- Correction and refusal ----------------------------------------------------------------------

def test_a_refusal_is_a_supervisors_with_reasons(client, caseworker, supervisor, person, case):
    made = record(caseworker, person, "correction", details="Cambiar nacionalidad")
    with pytest.raises(PermissionDenied):
        subject_requests.refuse_request(by=caseworker, request=made, answer="No")
    client.force_login(supervisor)
    unexplained = client.post(reverse("subject_request_answer", args=[made.pk]),
                              {"action": "refuse", "answer": " "}, headers=EN)
    assert unexplained.status_code == 400 and "Give the reasons." in unexplained.content.decode()

    client.post(reverse("subject_request_answer", args=[made.pk]),
                {"action": "refuse", "answer": "El pasaporte muestra la nacionalidad registrada"})

    made.refresh_from_db()
    assert made.status == RequestStatus.REFUSED and made.decided_by == supervisor
    with pytest.raises(ValidationError, match="already answered"):
        subject_requests.complete_request(by=caseworker, request=made)


# --- Restriction -----------------------------------------------------------------------------------

def test_a_restricted_record_is_read_not_changed_and_its_case_does_not_move(client, caseworker,
                                                                           supervisor, person,
                                                                           case, person_data):
    made = record(caseworker, person, "restriction", details="Impugna la exactitud de sus datos")
    with pytest.raises(PermissionDenied):
        subject_requests.restrict_processing(by=caseworker, request=made)
    subject_requests.restrict_processing(by=supervisor, request=made)
    person.refresh_from_db()
    assert person.restricted_at is not None

    with pytest.raises(ValidationError, match="restricted"):
        services.update_person(by=supervisor, person=person, data=person_data(phone="+5016109999"))
    with pytest.raises(ValidationError, match="restricted"):
        services.add_note(by=caseworker, case=case, text="Llamó por teléfono")
    with pytest.raises(ValidationError, match="restricted"):
        services.open_case(by=caseworker, person=person, kind="asylum")
    case.refresh_from_db()
    assert workflow.available(case, caseworker) == []
    client.force_login(caseworker)
    page = client.get(reverse("person_detail", args=[person.pk]), headers=EN).content.decode()
    assert 'id="restricted"' in page and reverse("person_edit", args=[person.pk]) not in page
    assert client.get(reverse("case_detail", args=[case.pk]), headers=EN).status_code == 200

    subject_requests.lift_restriction(by=supervisor, request=made, reason="Datos verificados")

    person.refresh_from_db()
    assert person.restricted_at is None
    services.add_note(by=caseworker, case=case, text="Llamó por teléfono")
    assert AuditEvent.objects.filter(action="person.lift_restriction").count() == 1


def test_lifting_needs_reasons_and_a_restriction_in_force(client, caseworker, supervisor, person, case):
    made = record(caseworker, person, "restriction")
    with pytest.raises(ValidationError, match="No restriction"):
        subject_requests.lift_restriction(by=supervisor, request=made, reason="x")
    subject_requests.restrict_processing(by=supervisor, request=made)
    client.force_login(supervisor)

    response = client.post(reverse("subject_request_answer", args=[made.pk]),
                           {"action": "lift", "reason": ""}, headers=EN)

    assert response.status_code == 400
    assert Person.objects.get(pk=person.pk).restricted_at is not None


# --- Erasure ----------------------------------------------------------------------------------------

def test_an_erasure_needs_another_supervisors_approval(client, caseworker, supervisor, supervisor2,
                                                       person, case):
    made = record(supervisor, person, "erasure", legal_basis="request", details="Solicitud 17/2026")
    with pytest.raises(PermissionDenied, match="four-eyes"):
        subject_requests.approve_erasure(by=supervisor, request=made)
    with pytest.raises(PermissionDenied):
        subject_requests.approve_erasure(by=caseworker, request=made)
    client.force_login(supervisor2)
    url = reverse("subject_request_answer", args=[made.pk])

    unconfirmed = client.post(url, {"action": "erase"}, headers=EN)
    assert unconfirmed.status_code == 400 and 'id="id_confirm_error"' in unconfirmed.content.decode()
    assert Person.objects.get(pk=person.pk).erased_at is None

    confirmed = client.post(url, {"action": "erase", "confirm": "on"})
    second = client.post(url, {"action": "erase", "confirm": "on"})

    person.refresh_from_db()
    made.refresh_from_db()
    assert confirmed.status_code == 302 and second.status_code == 400  # a double click erases once
    assert person.erased_at is not None and person.erasure_code == "request"
    assert person.erasure_note == "Solicitud 17/2026"  # kept with the office's key
    assert DataKey.objects.get(subject_id=person.pk).destroyed_at is not None
    assert made.status == RequestStatus.DONE and made.decided_by == supervisor2
    assert AuditEvent.objects.filter(action="person.erase", outcome="ok").count() == 1
    assert AuditEvent.objects.filter(action="subject_request.approve_erasure").count() == 1
    # The request stays in the office's register, its person erased.
    page = client.get(reverse("subject_request_detail", args=[made.pk]), headers=EN)
    assert page.status_code == 200 and "(erased person)" in page.content.decode()


def test_the_erasure_approval_needs_a_recent_code_when_two_factor_is_on(client, caseworker,
                                                                       supervisor, person, case,
                                                                       settings):
    settings.AMPARO_REQUIRE_2FA = True
    made = record(caseworker, person, "erasure", legal_basis="mistake")
    client.force_login(supervisor)

    response = client.post(reverse("subject_request_answer", args=[made.pk]),
                           {"action": "erase", "confirm": "on"})

    assert response.status_code == 302 and response.url.startswith(reverse("two_factor"))
    assert Person.objects.get(pk=person.pk).erased_at is None


def test_the_person_page_offers_the_requests_not_a_direct_erasure(client, caseworker, supervisor,
                                                                   person, case):
    client.force_login(supervisor)
    page = client.get(reverse("person_detail", args=[person.pk]), headers=EN).content.decode()
    assert 'id="request-erasure"' in page and 'name="confirm"' not in page
    client.force_login(caseworker)
    page = client.get(reverse("person_detail", args=[person.pk]), headers=EN).content.decode()
    assert reverse("subject_request_new", args=[person.pk]) in page


def test_the_supervisor_dashboard_counts_open_and_overdue_requests(client, caseworker, supervisor,
                                                                  person, case):
    record(caseworker, person, "access", received_on=timezone.localdate() - datetime.timedelta(days=40))
    record(caseworker, person, "correction", details="Teléfono")
    client.force_login(supervisor)

    page = client.get(reverse("dashboard"), headers=EN).content.decode()

    assert 'id="card-requests"' in page and "1 overdue" in page
    assert subject_requests.open_counts(supervisor) == (2, 1)
