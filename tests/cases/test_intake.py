"""The person rules (cases.intake), and every way in to them: services, forms, the importer."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from cases import intake, services
from cases.forms import PersonForm
from cases.models import Office, Person

TOMORROW = timezone.localdate() + datetime.timedelta(days=1)


def errors_of(data: intake.PersonData, country: str = "BZ") -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        intake.clean_person(data, country=country)
    return refused.value.message_dict


def test_good_data_comes_back_normalized(person_data):
    data = person_data(given_names="  María José ", phone="610 1234", aliases=[" Majo ", " "],
                       documents=[intake.IdentityDocumentData("passport", " A123456 ", "HN")])

    clean = intake.clean_person(data, country="BZ")

    assert (clean.given_names, clean.phone, clean.aliases) == ("María José", "+5016101234", ["Majo"])
    assert clean.documents[0].number == "A123456"
    assert data.phone == "610 1234"  # the caller's object is left as it was


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"given_names": "  "}, "given_names", "This field is required."),
    ({"family_names": "x" * 201}, "family_names", "Longer than 200 characters."),
    ({"aliases": ["y" * 300, "z" * 300]}, "aliases", "Longer than 500 characters."),
    ({"date_of_birth": TOMORROW}, "date_of_birth", "The date of birth is in the future."),
    ({"date_of_birth": datetime.date(1899, 12, 31)}, "date_of_birth", "Check the year of birth."),
    ({"sex": "mujer"}, "sex", "Use one of: female, male, intersex, unknown."),
    ({"nationalities": ["HN", "QQ"]}, "nationalities", "ISO 3166"),
    ({"nationalities": ["hn"]}, "nationalities", "ISO 3166"),
    ({"languages": ["español"]}, "languages", "language codes"),
    ({"phone": "12"}, "phone", "This phone number is not valid for its country."),
    ({"phone": "call me"}, "phone", "Enter a phone number, e.g. +501 610 1234."),
    ({"phone": "+501" + "1" * 40}, "phone", "Longer than 40 characters."),
    ({"email": "majo.at.example.org"}, "email", "Enter a valid email address."),
    ({"specific_needs": ["tired"]}, "specific_needs", "Use one of:"),
    ({"documents": [intake.IdentityDocumentData("", "A1")]}, "document_type",
     "Say what kind of document this is."),
    ({"documents": [intake.IdentityDocumentData("cedula", "A1")]}, "document_type", "Use one of:"),
    ({"documents": [intake.IdentityDocumentData("passport", " ")]}, "document_number",
     "Enter the number of this document."),
    ({"documents": [intake.IdentityDocumentData("passport", "A" * 61)]}, "document_number",
     "Longer than 60 characters."),
    ({"documents": [intake.IdentityDocumentData("passport", "A1", "XX")]}, "document_country",
     "Choose a country from the list."),
])
def test_each_rule_names_its_field(person_data, changes, field, message):
    errors = errors_of(person_data(**changes))

    assert list(errors) == [field]
    assert len(errors[field]) == 1 and message in errors[field][0]


def test_every_broken_rule_is_reported_at_once_one_message_per_field(person_data):
    errors = errors_of(person_data(given_names="", sex="?", email="nope", phone="abc",
                                   documents=[intake.IdentityDocumentData("", "")]))

    assert sorted(errors) == ["document_number", "document_type", "email", "given_names",
                              "phone", "sex"]
    assert all(len(m) == 1 for m in errors.values())


def test_a_local_number_is_read_in_the_offices_country(person_data):
    assert intake.clean_person(person_data(phone="8888 1234"), country="CR").phone == "+50688881234"
    assert "phone" in errors_of(person_data(phone="8888 1234"), country="")


def test_messages_are_translated(person_data):
    with translation.override("es"):
        errors = errors_of(person_data(date_of_birth=TOMORROW, given_names=""))
    assert errors["date_of_birth"] == ["La fecha de nacimiento está en el futuro."]
    assert errors["given_names"] == ["Este campo es obligatorio."]


# The services apply the rules on every path


def test_registering_bad_data_writes_nothing(caseworker, office, person_data):
    with pytest.raises(ValidationError) as refused:
        services.register_person(by=caseworker, office=office, data=person_data(
            date_of_birth=datetime.date(1850, 1, 1), phone="12"))

    assert set(refused.value.message_dict) == {"date_of_birth", "phone"}
    assert not Person.objects.exists()


def test_registering_stores_the_phone_in_e164(caseworker, office, person_data):
    person = services.register_person(by=caseworker, office=office,
                                      data=person_data(phone="610-1234"))
    assert Person.objects.get(pk=person.pk).phone == "+5016101234"


def test_an_update_that_breaks_a_rule_changes_nothing(caseworker, person, person_data):
    rows = person.history.count()

    with pytest.raises(ValidationError) as refused:
        services.update_person(by=caseworker, person=person,
                               data=person_data(family_names="", email="nope"))

    assert set(refused.value.message_dict) == {"family_names", "email"}
    stored = Person.objects.get(pk=person.pk)
    assert (stored.family_names, stored.email) == ("Núñez Pérez", "majo@example.org")
    assert person.history.count() == rows


def test_an_update_with_nothing_new_writes_no_history(caseworker, person, person_data):
    rows = person.history.count()
    services.update_person(by=caseworker, person=person, data=person_data())
    assert person.history.count() == rows


def test_an_identity_document_added_alone_meets_the_same_rules(caseworker, person, case):
    with pytest.raises(ValidationError) as refused:
        services.add_identity_document(by=caseworker, person=person,
                                       item=intake.IdentityDocumentData("cedula", "C1", "ZZ"))

    assert set(refused.value.message_dict) == {"document_type", "document_country"}
    assert person.documents.count() == 1


# Forms show the same errors, next to their fields


def form_data(office: Office, **changes) -> dict:
    return {"office": office.pk, "given_names": "Ana", "family_names": "Ríos", "sex": "female",
            **changes}


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"date_of_birth": "1850-01-01"}, "date_of_birth", "Check the year of birth."),
    ({"phone": "12"}, "phone", "This phone number is not valid for its country."),
    ({"document_number": "A1"}, "document_type", "Say what kind of document this is."),
    ({"document_type": "passport"}, "document_number", "Enter the number of this document."),
])
def test_the_person_form_shows_the_rules_errors(office, changes, field, message):
    form = PersonForm(form_data(office, **changes), offices=Office.objects.all())

    assert not form.is_valid()
    assert form.errors[field] == [message]


def test_the_person_form_hands_on_normalized_data(office):
    form = PersonForm(form_data(office, phone="610 1234", document_type="passport",
                                document_number=" P1 "), offices=Office.objects.all())

    assert form.is_valid(), form.errors
    data = form.person_data()
    assert (data.phone, data.documents[0].number) == ("+5016101234", "P1")


def test_a_field_with_an_error_of_its_own_gets_no_second_one(office):
    form = PersonForm(form_data(office, given_names=""), offices=Office.objects.all())

    assert not form.is_valid()
    assert form.errors["given_names"] == ["This field is required."]


def test_editing_a_person_with_a_bad_phone_shows_the_error(client, caseworker, person, case):
    client.force_login(caseworker)

    response = client.post(reverse("person_edit", args=[person.pk]), form_data(
        person.office, given_names="María José", family_names="Núñez Pérez", phone="12"))

    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == [
        "This phone number is not valid for its country."]
    assert Person.objects.get(pk=person.pk).phone == "+5016101234"
