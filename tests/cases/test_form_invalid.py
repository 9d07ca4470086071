"""A form on a page that fails its checks is an audit event (`form.invalid`, cases/forms.py
RecordsInvalid): the form, the fields and their error codes; never what was typed."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from faker import Faker

from audit.models import AuditEvent
from cases import intake, texts
from cases.forms import NoteForm
from cases.models import Person

fake = Faker(["es_MX", "es", "en"])


def _invalid() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="form.invalid").order_by("pk"))


def test_a_half_filled_person_form_records_fields_and_codes_not_values(client, caseworker,
                                                                       person, case):
    client.force_login(caseworker)
    long_name = fake.first_name() + "x" * intake.MAX_LENGTH["given_names"]
    address = fake.address()
    typed = {"office": person.office_id, "given_names": long_name, "family_names": "",
             "date_of_birth": "31/02/19x9", "sex": "martian", "address": address,
             "reason": fake.sentence()}

    response = client.post(reverse("person_edit", args=[person.pk]), typed)

    assert response.status_code == 200  # the form again, with its errors
    [event] = _invalid()
    assert event.actor_id == caseworker.pk and event.outcome == "denied"
    assert event.office_id == person.office_id
    assert event.details["form"] == "cases.forms.PersonForm"
    assert event.details["fields"] == {"given_names": ["max_length"], "family_names": ["required"],
                                       "date_of_birth": ["invalid"], "sex": ["invalid_choice"]}
    recorded = json.dumps(event.details, ensure_ascii=False)
    for value in (long_name[:20], "31/02/19x9", "martian", address.split()[0], typed["reason"]):
        assert value not in recorded
    assert Person.objects.get(pk=person.pk).given_names == person.given_names


def test_an_over_long_note_is_refused_and_recorded_once(client, caseworker, case):
    client.force_login(caseworker)
    text = fake.paragraph()
    while len(text) <= texts.NOTE:
        text += " " + fake.paragraph()

    client.post(reverse("note_add", args=[case.pk]), {"text": text})

    [event] = _invalid()
    assert event.details == {"form": "cases.forms.NoteForm", "fields": {"text": ["max_length"]}}
    assert not case.notes.exists()


def test_a_valid_form_and_a_form_outside_a_request_record_nothing(client, caseworker, case):
    client.force_login(caseworker)

    client.post(reverse("note_add", args=[case.pk]), {"text": fake.sentence()})
    outside = NoteForm({"text": ""})

    assert not outside.is_valid()
    assert _invalid() == []


@pytest.mark.django_db
def test_a_failed_login_form_is_not_a_form_event(client, caseworker):
    client.post(reverse("login"), {"username": caseworker.username, "password": ""})

    assert _invalid() == []
