"""Free text has a maximum length (cases/texts.py), checked by the services whoever calls them
and shown by the forms beside the field; an oversized text saves nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases import services, texts, updates
from cases.models import Case, Note, Person

EN = {"accept-language": "en"}


def _edit_post(person: Person, **changes) -> dict:
    values = {"office": person.office_id, "given_names": person.given_names,
              "family_names": person.family_names, "sex": person.sex,
              "date_of_birth": person.date_of_birth.isoformat(), "address": "Colonia Nueva 12",
              "document_type": "passport", "document_number": "A123456", "document_country": "HN"}
    values.update(changes)
    return values


def test_an_oversized_note_is_refused_beside_its_field_and_nothing_is_saved(client, caseworker, case):
    client.force_login(caseworker)

    response = client.post(reverse("note_add", args=[case.pk]), {"text": "x" * (texts.NOTE + 1)},
                           headers=EN)

    assert response.status_code == 400
    assert f"at most {texts.NOTE} characters" in response.content.decode()
    assert not Note.objects.filter(case=case).exists()


def test_an_oversized_change_reason_leaves_the_person_as_they_were(client, caseworker, person, case):
    client.force_login(caseworker)
    versions = Person.history.filter(id=person.pk).count()

    response = client.post(reverse("person_edit", args=[person.pk]),
                           _edit_post(person, reason="x" * (texts.SHORT + 1)), headers=EN)

    assert response.status_code == 200  # the form again
    assert 'id="id_reason_error"' in response.content.decode()
    assert Person.objects.get(pk=person.pk).address == "Calle 5, Barrio Sur"
    assert Person.history.filter(id=person.pk).count() == versions

    saved = client.post(reverse("person_edit", args=[person.pk]),
                        _edit_post(person, reason="Mudanza"), headers=EN)
    assert saved.status_code == 302
    assert Person.history.filter(id=person.pk).latest("history_id").history_change_reason == "Mudanza"


def test_an_oversized_address_is_refused_by_the_form(client, caseworker, person, case):
    client.force_login(caseworker)

    response = client.post(reverse("person_edit", args=[person.pk]),
                           _edit_post(person, address="x" * 1001), headers=EN)

    assert 'id="id_address_error"' in response.content.decode()
    assert Person.objects.get(pk=person.pk).address == "Calle 5, Barrio Sur"


@pytest.mark.parametrize(("call", "field"), [
    (lambda s: services.add_note(by=s["caseworker"], case=s["case"], text="x" * (texts.NOTE + 1)),
     "text"),
    (lambda s: services.update_person(by=s["caseworker"], person=s["person"], data=s["data"],
                                      reason="x" * (texts.SHORT + 1)), "reason"),
    (lambda s: services.assign_case(by=s["supervisor"], case=s["case"], assignee=None,
                                    reason="x" * (texts.SHORT + 1)), "reason"),
    (lambda s: services.grant_case_access(by=s["supervisor"], case=s["case"], user=s["auditor"],
                                          reason="x" * (texts.SHORT + 1)), "reason"),
    (lambda s: services.open_case(by=s["caseworker"], person=s["person"], kind="trafficking",
                                  reason="x" * (texts.SHORT + 1)), "reason"),
])
def test_the_services_refuse_oversized_text(caseworker, supervisor, auditor, person, case, person_data,
                                            call, field):
    given = {"caseworker": caseworker, "supervisor": supervisor, "auditor": auditor, "person": person,
             "case": case, "data": person_data(address="Colonia Nueva 12")}

    with pytest.raises(ValidationError) as refused:
        call(given)

    assert refused.value.message_dict[field][0].startswith("Longer than ")
    assert Note.objects.filter(case=case).count() == 0
    assert Case.objects.filter(principal=person).count() == 1
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.assigned_to_id == caseworker.pk
    assert Person.objects.get(pk=person.pk).address == "Calle 5, Barrio Sur"


def test_every_change_reason_has_a_ceiling(person):
    with pytest.raises(ValidationError):
        updates.stamp(person, by=None, reason="x" * (texts.NOTE + 1))
