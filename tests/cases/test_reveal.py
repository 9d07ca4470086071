"""Document numbers and contact details are masked on the pages until someone who may see the
person asks for one; each showing is audited, without the value (ASVS V14.2.6,
docs/architecture.md#masked-values)."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse
from faker import Faker

from audit.models import AuditEvent
from cases import services
from cases.models import PossibleDuplicate

EN = {"accept-language": "en"}
HTMX = {"HX-Request": "true"}
fake = Faker("es_MX")


@pytest.fixture
def values() -> dict[str, str]:
    fake.seed_instance(4821)
    return {"phone": f"+5255{fake.numerify('########')}", "email": fake.email(),
            "address": fake.address(), "document": fake.bothify("??#######").upper()}


@pytest.fixture
def someone(caseworker, office, person_data, values):
    person = services.register_person(by=caseworker, office=office, data=person_data(
        phone=values["phone"], email=values["email"], address=values["address"],
        documents=[services.IdentityDocumentData("passport", values["document"], "MX")]))
    services.open_case(by=caseworker, person=person, kind="asylum", assign_to_me=True)
    return person


def clear_forms(values: dict[str, str]) -> list[str]:
    """Every form a clear value could take in HTML: as stored, escaped, and each line of the
    address but the last (the town, which the mask keeps)."""
    forms = [values["phone"], values["phone"].removeprefix("+52"), values["email"],
             values["email"].partition("@")[0], values["document"], values["address"],
             *values["address"].splitlines()[:-1]]
    return [f for f in {*forms, *(html.escape(f) for f in forms)} if len(f) >= 4]


def reveal(client, person, field, **headers):
    return client.post(reverse("person_reveal", args=[person.pk]), {"field": field},
                       headers={**EN, **headers})


def test_the_person_page_holds_no_clear_value_anywhere(client, caseworker, someone, values):
    client.force_login(caseworker)

    body = client.get(reverse("person_detail", args=[someone.pk]), headers=EN).content.decode()

    for clear in clear_forms(values):
        assert clear not in body, clear
    assert values["document"][-4:] in body and "m•••" not in body  # masked, not missing
    assert body.count('name="field"') == 4  # a "Show" for each value


def test_showing_a_value_with_htmx_returns_it_alone_and_audits_the_field_only(
        client, caseworker, someone, values):
    client.force_login(caseworker)

    response = reveal(client, someone, "email", **HTMX)

    assert response.status_code == 200
    fragment = response.content.decode()
    assert values["email"] in fragment and "<html" not in fragment
    assert values["phone"] not in fragment
    event = AuditEvent.objects.filter(action="person.reveal").get()
    assert (event.outcome, event.object_id, event.details) == ("ok", str(someone.pk), {"field": "email"})
    assert event.actor_id == caseworker.pk


def test_without_javascript_the_page_comes_back_with_that_one_value_shown(
        client, caseworker, someone, values):
    client.force_login(caseworker)
    document = someone.documents.get()

    response = reveal(client, someone, f"document-{document.pk}")

    body = response.content.decode()
    assert response.status_code == 200 and 'id="person-name"' in body
    assert values["document"] in body
    for clear in clear_forms({**values, "document": "----"}):
        assert clear not in body, clear  # the others stay masked
    event = AuditEvent.objects.filter(action="person.reveal").get()
    assert event.details == {"field": "document", "document": str(document.pk)}


def test_no_reveal_event_holds_a_value(client, caseworker, someone, values):
    client.force_login(caseworker)
    for field in ("phone", "email", "address", f"document-{someone.documents.get().pk}"):
        assert reveal(client, someone, field, **HTMX).status_code == 200

    events = AuditEvent.objects.filter(action="person.reveal")
    assert events.count() == 4
    recorded = repr(list(events.values_list("details", flat=True)))
    for clear in clear_forms(values):
        assert clear not in recorded


def test_a_caseworker_of_another_office_cannot_show_a_value(client, other_caseworker, someone,
                                                            values):
    client.force_login(other_caseworker)

    response = reveal(client, someone, "phone", **HTMX)

    assert response.status_code == 404
    assert values["phone"] not in response.content.decode()
    event = AuditEvent.objects.filter(action="person.reveal").get()
    assert (event.outcome, event.actor_id) == ("denied", other_caseworker.pk)


def test_a_colleague_not_on_the_case_cannot_show_a_value(client, caseworker2, someone):
    client.force_login(caseworker2)  # same office, the case is assigned to someone else

    assert reveal(client, someone, "address").status_code == 404


def test_another_person_s_document_or_an_unknown_field_is_not_shown(client, caseworker, someone,
                                                                   person, values):
    client.force_login(caseworker)
    theirs = person.documents.get()

    assert reveal(client, someone, f"document-{theirs.pk}", **HTMX).status_code == 404
    assert reveal(client, someone, "given_names", **HTMX).status_code == 404
    assert reveal(client, someone, "document-not-a-uuid", **HTMX).status_code == 404
    assert reveal(client, someone, "", **HTMX).status_code == 404

    kinds = sorted(AuditEvent.objects.filter(action="person.reveal", outcome="denied")
                   .values_list("details__field", flat=True))
    assert kinds == ["document", "document", "unknown", "unknown"]


def test_showing_takes_a_post(client, caseworker, someone):
    client.force_login(caseworker)

    response = client.get(reverse("person_reveal", args=[someone.pk]), {"field": "phone"})

    assert response.status_code == 405
    assert not AuditEvent.objects.filter(action="person.reveal").exists()


def test_anonymous_is_sent_to_log_in(client, someone):
    response = reveal(client, someone, "phone")

    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert not AuditEvent.objects.filter(action="person.reveal").exists()


def test_an_erased_person_has_nothing_to_show(client, supervisor, someone):
    services.erase_person(by=supervisor, person=someone, code="mistake")
    client.force_login(supervisor)

    assert reveal(client, someone, "phone", **HTMX).status_code == 404


def test_the_duplicate_review_masks_document_numbers(client, supervisor, caseworker, office,
                                                   someone, person_data, values):
    services.register_person(by=caseworker, office=office, check_duplicates=True, data=person_data(
        documents=[services.IdentityDocumentData("passport", values["document"], "MX")]))
    assert PossibleDuplicate.objects.count() == 1
    client.force_login(supervisor)

    body = client.get(reverse("duplicate_queue"), headers=EN).content.decode()

    assert values["document"] not in body and values["document"][-4:] in body
    assert reverse("person_reveal", args=[someone.pk]) in body
