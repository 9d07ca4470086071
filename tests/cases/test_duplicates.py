"""The office-wide duplicate check at registration and the supervisors' review queue."""

from __future__ import annotations

import psycopg
import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from cases import services
from cases.models import DuplicateStatus, PossibleDuplicate
from tests.races import race


def _form(person, **extra):
    return {"office": person.office_id, "given_names": "María José", "family_names": "Núñez Pérez",
            "sex": "female", "date_of_birth": "1990-05-03", **extra}


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_caseworker_who_may_not_see_the_other_record_is_told_only_that_it_exists(
        client, caseworker2, person, case):
    # `person` is in a case assigned to another caseworker: caseworker2 may not see them.
    client.force_login(caseworker2)
    response = client.post(reverse("person_create"), _form(
        person, document_type="passport", document_number="a-123 456"))

    assert response.status_code == 302
    pair = PossibleDuplicate.objects.get()
    assert pair.other == person and pair.person_id != person.pk
    assert pair.reasons == ["document", "name_and_birth"]
    assert not pair.confirmed_distinct and pair.status == DuplicateStatus.OPEN
    assert "A supervisor will review the two records." in " ".join(_messages(response))
    page = client.get(response.url).content.decode()
    assert str(person.pk) not in page and "Majo" not in page
    flagged = AuditEvent.objects.get(action="duplicate.flag")
    assert flagged.object_id == str(pair.person_id) and flagged.details["others"] == [str(person.pk)]


def test_who_saw_the_record_and_registered_anyway_is_recorded_as_such(client, caseworker, person, case):
    client.force_login(caseworker)
    assert client.post(reverse("person_create"), _form(person)).status_code == 409
    assert not PossibleDuplicate.objects.exists()

    response = client.post(reverse("person_create"), _form(person, register_anyway="1"))

    assert response.status_code == 302
    pair = PossibleDuplicate.objects.get()
    assert pair.confirmed_distinct and pair.reasons == ["name_and_birth"]
    assert not any("supervisor will review" in m for m in _messages(response))


@pytest.mark.parametrize("changes", [
    {"given_names": "María Luisa"},  # another given name
    {"date_of_birth": "1990-05-04"},  # another birthday
    {"date_of_birth": ""},  # names alone are too common
])
def test_only_the_same_names_and_birth_date_or_document_make_a_pair(client, caseworker2, person, case,
                                                                    changes):
    client.force_login(caseworker2)
    response = client.post(reverse("person_create"), _form(person, **changes))

    assert response.status_code == 302
    assert not PossibleDuplicate.objects.exists()


def test_the_check_stays_in_the_office_and_skips_erased_records(
        client, other_caseworker, supervisor, caseworker2, person, person_data, other_office):
    services.register_person(by=other_caseworker, office=other_office, data=person_data(),
                             check_duplicates=True)
    assert not PossibleDuplicate.objects.exists()

    services.erase_person(by=supervisor, person=person, code="request")
    services.register_person(by=caseworker2, office=person.office, data=person_data(),
                             check_duplicates=True)
    assert not PossibleDuplicate.objects.exists()


def test_registrations_without_the_check_queue_nothing(caseworker, person, person_data):
    services.register_person(by=caseworker, office=person.office, data=person_data())
    assert not PossibleDuplicate.objects.exists()


@pytest.fixture
def pair(caseworker2, person, case, person_data):
    twin = services.register_person(by=caseworker2, office=person.office, data=person_data(),
                                    check_duplicates=True)
    return PossibleDuplicate.objects.get(person=twin)


def test_the_supervisor_sees_both_records_side_by_side(client, supervisor, pair, case):
    client.force_login(supervisor)
    response = client.get(reverse("duplicate_queue"))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("María José Núñez Pérez") == 2
    # Both passports masked alike (A123456), each with its "Show" (docs/architecture.md#masked-values).
    assert "A123456" not in page and page.count("•••• 56") == 2
    assert f'id="pair-{pair.pk}"' in page and case.reference in page
    listed = AuditEvent.objects.get(action="duplicate.list")
    assert set(listed.details["people"]) == {str(pair.person_id), str(pair.other_id)}
    assert "1" in client.get(reverse("dashboard")).content.decode().split('id="card-duplicates"')[1][:200]


def test_other_roles_and_offices_do_not_review(client, caseworker, other_supervisor, auditor, pair):
    for user in (caseworker, auditor):
        client.force_login(user)
        assert client.get(reverse("duplicate_queue")).status_code == 403
        assert client.post(reverse("duplicate_review", args=[pair.pk]),
                           {"decision": "link"}).status_code == 403
    client.force_login(other_supervisor)
    assert f"pair-{pair.pk}" not in client.get(reverse("duplicate_queue")).content.decode()
    assert client.post(reverse("duplicate_review", args=[pair.pk]),
                       {"decision": "link"}).status_code == 404
    with pytest.raises(PermissionDenied):
        services.review_duplicate(by=other_supervisor, pair=pair, same_person=True)
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.OPEN


def test_linking_shows_each_record_on_the_other_to_who_may_see_it(client, supervisor, caseworker2, pair):
    client.force_login(supervisor)
    response = client.post(reverse("duplicate_review", args=[pair.pk]), {"decision": "link"})

    assert response.status_code == 302
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.LINKED and pair.decided_by == supervisor
    assert AuditEvent.objects.filter(action="duplicate.link", object_id=str(pair.pk)).exists()
    other_page = client.get(reverse("person_detail", args=[pair.other_id])).content.decode()
    assert reverse("person_detail", args=[pair.person_id]) in other_page
    # caseworker2 may see the new record, not the older one: the link names nothing.
    client.force_login(caseworker2)
    page = client.get(reverse("person_detail", args=[pair.person_id])).content.decode()
    assert 'id="linked-records"' not in page and str(pair.other_id) not in page


def test_a_second_click_changes_nothing(client, supervisor, pair):
    client.force_login(supervisor)
    client.post(reverse("duplicate_review", args=[pair.pk]), {"decision": "dismiss"})
    again = client.post(reverse("duplicate_review", args=[pair.pk]), {"decision": "link"}, follow=True)

    assert "This pair has already been reviewed." in again.content.decode()
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.DISMISSED
    assert 'id="no-duplicates"' in again.content.decode()


def test_a_decision_must_be_chosen(client, supervisor, pair):
    client.force_login(supervisor)
    response = client.post(reverse("duplicate_review", args=[pair.pk]), {"decision": "merge"}, follow=True)

    assert "Choose whether the two records are the same person." in response.content.decode()
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.OPEN


def test_the_queue_page_is_in_spanish(client, supervisor, pair):
    supervisor.preferred_language = "es"
    supervisor.save()
    client.force_login(supervisor)
    page = client.get(reverse("duplicate_queue"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Posibles duplicados" in page and "Mismos nombres y fecha de nacimiento" in page


@pytest.mark.postgres
def test_two_supervisors_deciding_at_once_one_decides(postgres, make_user, supervisor, pair):
    second = make_user("supervisor", pair.office)

    def pair_locked(holder: psycopg.Connection) -> None:
        holder.execute("SELECT id FROM cases_possibleduplicate WHERE id = %s FOR UPDATE", [pair.pk])

    results = race([lambda: services.review_duplicate(by=supervisor, pair=pair, same_person=True),
                    lambda: services.review_duplicate(by=second, pair=pair, same_person=False)],
                   pair_locked)

    decided = [r for r in results if isinstance(r, PossibleDuplicate)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(decided) == 1 and len(refused) == 1, results
    pair.refresh_from_db()
    assert pair.status == decided[0].status
    assert AuditEvent.objects.filter(action__in=["duplicate.link", "duplicate.dismiss"]).count() == 1
