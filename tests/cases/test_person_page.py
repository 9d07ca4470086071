"""The person page renders what it shows; its occasional forms (an identity document, the
erasure) are pages of their own, or fragments htmx shows in place; their country list is
rendered once per language (docs/architecture.md#speed)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from audit.models import AuditEvent
from cases import subject_requests
from cases.forms import IdentityDocumentForm, PersonForm

EN = {"accept-language": "en"}
ES = {"accept-language": "es"}
HTMX = {"HX-Request": "true"}


@pytest.fixture
def page(client, caseworker, person, case):
    client.force_login(caseworker)
    return client.get(reverse("person_detail", args=[person.pk]), headers=EN).content.decode()


def test_the_person_page_links_the_forms_instead_of_rendering_them(page, person):
    assert f'href="{reverse("identity_document_add", args=[person.pk])}"' in page
    assert 'name="document_number"' not in page
    assert 'id="id_document_country"' not in page and 'value="HN"' not in page  # no country list
    assert 'name="confirm"' not in page  # no erasure on the page: it is asked for, then approved


def test_a_supervisor_is_offered_the_erasure_as_a_link(client, supervisor, person, case):
    client.force_login(supervisor)

    html = client.get(reverse("person_detail", args=[person.pk]), headers=EN).content.decode()

    assert f'href="{reverse("subject_request_new", args=[person.pk])}?kind=erasure"' in html
    assert 'name="confirm"' not in html


@pytest.mark.django_db
def test_the_person_page_takes_a_fixed_number_of_queries(client, caseworker, person, case,
                                                         django_assert_max_num_queries):
    client.force_login(caseworker)
    url = reverse("person_detail", args=[person.pk])
    client.get(url)
    # 16, the bell's unread secure messages, and the fingerprints section (captures, photo,
    # whether the user may take them)
    with django_assert_max_num_queries(20):
        assert client.get(url).status_code == 200


def test_the_document_form_page_names_the_person_and_records_the_view(client, caseworker, person,
                                                                      case):
    client.force_login(caseworker)
    before = AuditEvent.objects.filter(action="person.view").count()

    response = client.get(reverse("identity_document_add", args=[person.pk]), headers=EN)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and "María José Núñez Pérez" in html
    assert '<option value="HN">Honduras</option>' in html
    assert AuditEvent.objects.filter(action="person.view").count() == before + 1


def test_htmx_gets_the_form_alone_and_nothing_of_the_person(client, caseworker, person, case):
    client.force_login(caseworker)
    before = AuditEvent.objects.filter(action="person.view").count()

    response = client.get(reverse("identity_document_add", args=[person.pk]), headers={**EN, **HTMX})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "Núñez" not in html
    assert 'id="identity-document-form"' in html and 'name="csrfmiddlewaretoken"' in html
    assert AuditEvent.objects.filter(action="person.view").count() == before


def test_a_document_added_from_its_page_returns_to_the_person(client, caseworker, person, case):
    client.force_login(caseworker)

    response = client.post(reverse("identity_document_add", args=[person.pk]), {
        "document_type": "national_id", "document_number": "0801199012345",
        "document_country": "HN"}, headers=EN)

    assert response.status_code == 302
    assert response["Location"] == reverse("person_detail", args=[person.pk])
    assert person.documents.filter(document_type="national_id").get().number == "0801199012345"


def test_a_wrong_document_comes_back_with_its_errors_beside_the_fields(client, caseworker, person,
                                                                       case):
    client.force_login(caseworker)

    response = client.post(reverse("identity_document_add", args=[person.pk]), {
        "document_type": "passport", "document_number": "", "document_country": "XX"}, headers=EN)

    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_document_number_error"' in html and 'id="id_document_country_error"' in html
    assert '<option value="passport" selected>' in html
    assert person.documents.count() == 1


def test_the_erasure_asks_for_its_confirmation_on_the_request(client, caseworker, supervisor,
                                                             person, case):
    asked = subject_requests.record_request(
        by=caseworker, person=person, kind="erasure", channel="writing",
        received_on=timezone.localdate(), legal_basis="request", details="Solicitud 2026-14")
    client.force_login(supervisor)
    url = reverse("subject_request_answer", args=[asked.pk])

    shown = client.get(reverse("subject_request_detail", args=[asked.pk]), headers=ES)
    unconfirmed = client.post(url, {"action": "erase"}, headers=ES)

    assert shown.status_code == 200 and "Aprobar y suprimir" in shown.content.decode()
    assert unconfirmed.status_code == 400
    assert 'id="id_confirm_error"' in unconfirmed.content.decode()
    person.refresh_from_db()
    assert person.erased_at is None

    confirmed = client.post(url, {"action": "erase", "confirm": "on"})
    assert confirmed.status_code == 302
    person.refresh_from_db()
    assert person.erased_at is not None


# --- Option lists rendered once per language ------------------------------------------------

def test_the_country_list_is_in_the_language_of_the_page_and_marks_only_the_chosen():
    with translation.override("es"):
        chosen = IdentityDocumentForm(initial={"document_country": "DE"}).as_div()
        spanish = IdentityDocumentForm().as_div()
    with translation.override("en"):
        english = IdentityDocumentForm().as_div()

    assert '<option value="DE" selected>Alemania</option>' in chosen
    assert chosen.count(" selected>") == 1
    # Nothing chosen: the empty choice is, as Django marks it.
    assert '<option value="DE">Alemania</option>' in spanish
    assert spanish.count(" selected>") == 1 and '<option value="" selected>—</option>' in spanish
    assert '<option value="DE">Germany</option>' in english


def test_a_multiple_choice_marks_every_chosen_country_and_still_rejects_others(office):
    from cases.models import Office

    offices = Office.objects.filter(pk=office.pk)
    with translation.override("en"):
        form = PersonForm(initial={"nationalities": ["HN", "SV"]}, offices=offices)
        html = str(form["nationalities"])
        bad = PersonForm({"office": office.pk, "given_names": "Ana", "family_names": "Paz",
                          "sex": "female", "nationalities": ["XX"]}, offices=offices)

    assert '<option value="HN" selected>Honduras</option>' in html
    assert '<option value="SV" selected>El Salvador</option>' in html
    assert html.count(" selected>") == 2
    assert not bad.is_valid() and "nationalities" in bad.errors
