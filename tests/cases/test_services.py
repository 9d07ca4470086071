"""Every write: registering people, numbering and assigning cases, notes and documents."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone

from cases import selectors, services
from cases.models import Case, Document, IdentityDocument, Membership, Note, Person, Role
from tests.conftest import PNG_BYTES, pdf_bytes

pytestmark = pytest.mark.usefixtures("file_root")

YEAR = timezone.localdate().year


def files_in(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


# People


def test_registering_records_who_and_indexes_the_person(caseworker, office, person_data):
    person = services.register_person(by=caseworker, office=office, data=person_data())

    assert person.birth_year == 1990
    assert person.registered_by == caseworker
    assert person.history.get().history_user == caseworker
    assert person.documents.get().history.get().history_user == caseworker
    assert {k for k, _ in person.index_entries.values_list("kind", "value")} == {
        "name", "phonetic", "doc", "dob"}
    assert len(person.fingerprint) == 64


@pytest.mark.parametrize("who", ["auditor", "office_admin", "system_admin", "other_caseworker"])
def test_only_case_staff_of_the_office_register_people(request, who, office, person_data):
    with pytest.raises(PermissionDenied):
        services.register_person(by=request.getfixturevalue(who), office=office,
                                 data=person_data())

    assert not Person.objects.exists()


def test_updating_a_person_reindexes_and_keeps_history(caseworker, person, person_data):
    services.update_person(by=caseworker, person=person, reason="Married name",
                           data=person_data(family_names="Núñez de Castillo"))

    assert selectors.search_people(caseworker, name="Castillo").people == [person]
    assert selectors.search_people(caseworker, name="Pérez").people == []
    latest = person.history.latest("history_date")
    assert latest.history_change_reason == "Married name"
    assert latest.history_user == caseworker
    assert person.history.count() == 2


def test_a_caseworker_cannot_update_a_person_of_a_colleagues_case(caseworker2, person, case,
                                                                  person_data):
    with pytest.raises(PermissionDenied):
        services.update_person(by=caseworker2, person=person,
                               data=person_data(given_names="Otra"))

    assert Person.objects.get(pk=person.pk).given_names == "María José"


# Case references


def test_references_count_up_per_office_and_year(caseworker, other_caseworker, office,
                                                 other_office, person, person_data):
    other_person = services.register_person(by=other_caseworker, office=other_office,
                                            data=person_data())

    first = services.open_case(by=caseworker, person=person, kind="asylum")
    second = services.open_case(by=caseworker, person=person, kind="trafficking")
    elsewhere = services.open_case(by=other_caseworker, person=other_person, kind="asylum")

    assert first.reference == f"BZ-BMP-{YEAR}-000001"
    assert second.reference == f"BZ-BMP-{YEAR}-000002"
    assert elsewhere.reference == f"CR-SJO-{YEAR}-000001"


def test_a_new_year_starts_at_one(office, caseworker, person):
    services.open_case(by=caseworker, person=person, kind="asylum")

    assert services._next_reference(office, YEAR + 1) == f"BZ-BMP-{YEAR + 1}-000001"
    assert services._next_reference(office, YEAR) == f"BZ-BMP-{YEAR}-000002"


def test_opening_a_case_checks_office_and_kind(other_caseworker, auditor, caseworker, person):
    with pytest.raises(PermissionDenied):
        services.open_case(by=other_caseworker, person=person, kind="asylum")
    with pytest.raises(PermissionDenied):
        services.open_case(by=auditor, person=person, kind="asylum")
    with pytest.raises(ValidationError, match="Unknown case kind"):
        services.open_case(by=caseworker, person=person, kind="visa")

    assert not Case.objects.exists()


def test_a_case_can_go_straight_to_the_queue(caseworker, person):
    case = services.open_case(by=caseworker, person=person, kind="asylum", assign_to_me=False)

    assert case.assigned_to is None
    assert case.participants.get().person == person


# Assignment


@pytest.fixture
def queued(caseworker, person):
    return services.open_case(by=caseworker, person=person, kind="asylum", assign_to_me=False)


def test_a_supervisor_assigns_reassigns_and_returns_to_the_queue(supervisor, caseworker,
                                                                 caseworker2, queued):
    services.assign_case(by=supervisor, case=queued, assignee=caseworker, reason="Speaks K'iche'")
    assert Case.objects.get(pk=queued.pk).assigned_to == caseworker

    services.assign_case(by=supervisor, case=queued, assignee=caseworker2, reason="Leave")
    assert Case.objects.get(pk=queued.pk).assigned_to == caseworker2

    services.assign_case(by=supervisor, case=queued, assignee=None)
    assert Case.objects.get(pk=queued.pk).assigned_to is None
    # Reasons are sealed: read them through the model, not values_list().
    reasons = [h.history_change_reason for h in queued.history.order_by("history_date")]
    assert reasons[1:3] == ["Speaks K'iche'", "Leave"]


def test_a_supervisor_can_assign_to_another_supervisor_of_the_office(supervisor, make_user,
                                                                    office, queued):
    colleague = make_user(Role.SUPERVISOR, office)

    services.assign_case(by=supervisor, case=queued, assignee=colleague)

    assert Case.objects.get(pk=queued.pk).assigned_to == colleague


@pytest.mark.parametrize("who", ["caseworker", "caseworker2", "auditor", "office_admin",
                                 "system_admin", "other_supervisor"])
def test_only_a_supervisor_of_the_office_assigns(request, who, caseworker2, queued):
    with pytest.raises(PermissionDenied):
        services.assign_case(by=request.getfixturevalue(who), case=queued, assignee=caseworker2)

    assert Case.objects.get(pk=queued.pk).assigned_to is None


@pytest.mark.parametrize("who", ["other_caseworker", "auditor", "office_admin"])
def test_cases_are_assigned_only_to_case_staff_of_the_office(request, who, supervisor, queued):
    assignee = request.getfixturevalue(who)

    with pytest.raises(ValidationError, match="does not work on cases in this office"):
        services.assign_case(by=supervisor, case=queued, assignee=assignee)

    assert Case.objects.get(pk=queued.pk).assigned_to is None


def test_an_inactive_caseworker_cannot_be_assigned(supervisor, caseworker2, queued):
    caseworker2.is_active = False
    caseworker2.save()

    with pytest.raises(ValidationError):
        services.assign_case(by=supervisor, case=queued, assignee=caseworker2)


def test_a_caseworker_takes_a_case_from_the_queue(caseworker2, queued):
    services.take_case(by=caseworker2, case=queued)

    assert Case.objects.get(pk=queued.pk).assigned_to == caseworker2
    assert queued.history.latest("history_date").history_user == caseworker2


def test_a_taken_case_cannot_be_taken_again(caseworker, caseworker2, queued):
    services.take_case(by=caseworker, case=queued)

    with pytest.raises(ValidationError, match=r"Someone else took this case a moment ago\."):
        services.take_case(by=caseworker2, case=queued)

    assert Case.objects.get(pk=queued.pk).assigned_to == caseworker


@pytest.mark.parametrize("who", ["other_caseworker", "supervisor", "auditor", "office_admin"])
def test_only_caseworkers_of_the_office_take_cases(request, who, queued):
    with pytest.raises(PermissionDenied):
        services.take_case(by=request.getfixturevalue(who), case=queued)

    assert Case.objects.get(pk=queued.pk).assigned_to is None


def test_another_office_learns_nothing_from_taking_an_assigned_case(caseworker, other_caseworker,
                                                                   queued):
    services.take_case(by=caseworker, case=queued)

    with pytest.raises(PermissionDenied):
        services.take_case(by=other_caseworker, case=queued)


def test_sharing_a_case_is_for_supervisors_of_its_office(caseworker, other_supervisor,
                                                         other_caseworker, case):
    for actor in (caseworker, other_supervisor):
        with pytest.raises(PermissionDenied):
            services.grant_case_access(by=actor, case=case, user=other_caseworker, reason="x")

    assert not selectors.visible_cases(other_caseworker).filter(pk=case.pk).exists()


# Notes


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_note_is_refused(caseworker, case, text):
    with pytest.raises(ValidationError) as exc:
        services.add_note(by=caseworker, case=case, text=text)

    assert "text" in exc.value.error_dict
    assert not Note.objects.exists()


def test_notes_are_written_by_the_assignee_or_a_supervisor(caseworker, caseworker2, supervisor,
                                                           other_supervisor, case):
    services.add_note(by=caseworker, case=case, text="  Entrevista programada  ")
    services.add_note(by=supervisor, case=case, text="Revisado")
    for actor in (caseworker2, other_supervisor):
        with pytest.raises(PermissionDenied):
            services.add_note(by=actor, case=case, text="No")

    assert sorted(n.text for n in Note.objects.all()) == ["Entrevista programada", "Revisado"]


# Documents


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("empty.pdf", b"", "The file is empty."),
        ("setup.exe", b"MZ\x90\x00\x03" + b"\x00" * 200, "Upload a PDF or a photo"),
        ("notes.pdf", b"Plain text pretending to be a PDF document.", "Upload a PDF or a photo"),
        ("page.html", b"<html><body>hi</body></html>", "Upload a PDF or a photo"),
    ],
)
def test_a_bad_upload_is_refused_and_nothing_is_written(file_root, caseworker, case, filename,
                                                        data, message):
    with pytest.raises(ValidationError, match=message) as exc:
        services.add_document(by=caseworker, case=case, title="x", filename=filename, data=data)

    assert "file" in exc.value.error_dict
    assert not Document.objects.exists()
    assert files_in(file_root) == []


def test_a_too_large_upload_is_refused(settings, file_root, caseworker, case):
    settings.AMPARO_UPLOAD_MAX_BYTES = 1024 * 1024

    with pytest.raises(ValidationError, match="larger than 1 MB"):
        services.add_document(by=caseworker, case=case, title="x", filename="big.pdf",
                              data=pdf_bytes("x" * (1024 * 1024)))

    assert not Document.objects.exists()
    assert files_in(file_root) == []


@pytest.mark.parametrize("data", [PNG_BYTES, pdf_bytes("scan")], ids=["png", "pdf"])
def test_an_allowed_upload_is_stored_with_its_detected_type(file_root, caseworker, case, data):
    doc = services.add_document(by=caseworker, case=case, title="", filename="scan.bin",
                                data=data)

    assert doc.content_type in {"image/png", "application/pdf"}
    assert doc.title == "scan.bin"  # no title given: the file name
    assert doc.size == len(data)
    assert len(files_in(file_root)) == 1
    assert services.read_document(by=caseworker, document=doc) == data


def test_a_refused_uploader_leaves_nothing_behind(file_root, caseworker2, case):
    with pytest.raises(PermissionDenied):
        services.add_document(by=caseworker2, case=case, title="x", filename="x.pdf",
                              data=pdf_bytes("x"))

    assert not Document.objects.exists()
    assert files_in(file_root) == []


def test_a_failure_after_the_file_was_sealed_removes_the_file(file_root, caseworker, case,
                                                              monkeypatch):
    def refuse(self, *args, **kwargs):
        raise DatabaseError("disk full")  # the row cannot be written

    monkeypatch.setattr(Document, "save", refuse)

    with pytest.raises(DatabaseError):
        services.add_document(by=caseworker, case=case, title="x", filename="x.pdf",
                              data=pdf_bytes("x"))

    monkeypatch.undo()
    assert not Document.objects.exists()
    assert files_in(file_root) == []


def test_a_bad_upload_through_the_web_form_shows_the_error(client, file_root, caseworker, case):
    client.force_login(caseworker)
    upload = SimpleUploadedFile("virus.pdf", b"MZ\x90\x00" + b"\x00" * 100)

    response = client.post(reverse("document_upload", args=[case.pk]),
                           {"title": "Pasaporte", "file": upload})

    assert response.status_code == 400
    assert b"Upload a PDF or a photo" in response.content
    assert not Document.objects.exists()
    assert files_in(file_root) == []


def test_an_empty_note_through_the_web_form_shows_the_error(client, caseworker, case):
    client.force_login(caseworker)

    response = client.post(reverse("note_add", args=[case.pk]), {"text": "   "})

    assert response.status_code == 400
    assert b"is-invalid" in response.content
    assert not Note.objects.exists()


# Staff


def test_an_office_admin_manages_staff_of_their_office_only(office_admin, make_user, office,
                                                            other_office):
    newcomer = make_user()

    membership = services.grant_membership(by=office_admin, user=newcomer, office=office,
                                           role=Role.CASEWORKER)
    with pytest.raises(PermissionDenied):
        services.grant_membership(by=office_admin, user=newcomer, office=other_office,
                                  role=Role.CASEWORKER)

    assert newcomer.groups.filter(name=Role.CASEWORKER).exists()
    services.revoke_membership(by=office_admin, membership=membership)
    assert not Membership.objects.filter(user=newcomer).exists()
    assert not newcomer.groups.filter(name=Role.CASEWORKER).exists()


@pytest.mark.parametrize("who", ["caseworker", "supervisor", "system_admin"])
def test_other_roles_cannot_change_staff(request, who, make_user, office):
    with pytest.raises(PermissionDenied):
        services.grant_membership(by=request.getfixturevalue(who), user=make_user(),
                                  office=office, role=Role.SUPERVISOR)


def test_change_reason_is_sealed_and_reads_back(caseworker, person, person_data):
    from tests.cases.rawsql import read_column

    services.update_person(by=caseworker, person=person, data=person_data(address="Otra calle 9"),
                           reason="Se mudó Núñez")
    latest = person.history.latest()
    assert latest.history_change_reason == "Se mudó Núñez"
    raw = read_column(type(latest), latest.pk, "history_change_reason")
    assert raw is not None and "Núñez".encode() not in raw


def test_editing_a_person_keeps_every_identity_document(client, caseworker, person, case):
    # given a person with a passport and a national id card
    services.add_identity_document(by=caseworker, person=person, item=services.IdentityDocumentData(
        "national_id", "0801-1990-11111", "HN"))
    client.force_login(caseworker)
    # when the edit form (which shows one of them) is saved with a new number for it
    shown = client.get(reverse("person_edit", args=[person.pk])).context["form"].initial
    kept_type = {"passport", "national_id"} - {shown["document_type"]}
    kept = person.documents.get(document_type=kept_type.pop())
    edited = person.documents.get(document_type=shown["document_type"])
    response = client.post(reverse("person_edit", args=[person.pk]), {
        "office": person.office_id, "given_names": "María José", "family_names": "Núñez Pérez",
        "sex": "female", "document_type": shown["document_type"], "document_number": "B7654321",
        "document_country": "HN", "reason": "renewed document",
    })
    # then that document changed in place and the other one is untouched
    assert response.status_code == 302
    assert IdentityDocument.objects.get(pk=edited.pk).number == "B7654321"
    assert IdentityDocument.objects.get(pk=kept.pk).number == kept.number
    assert person.documents.count() == 2
    assert selectors.search_people(caseworker, document="B7654321").people == [person]


def test_a_document_of_someone_else_cannot_be_changed(caseworker, office, person, person_data):
    other = services.register_person(by=caseworker, office=office, data=person_data(given_names="Rosa"))
    theirs = other.documents.get()
    data = person_data(documents=[services.IdentityDocumentData("passport", "HACK1", "HN", id=theirs.pk)])

    with pytest.raises(ValidationError):
        services.update_person(by=caseworker, person=person, data=data)

    assert IdentityDocument.objects.get(pk=theirs.pk).number == "A123456"


def test_an_identity_document_needs_a_number_and_an_editor(caseworker2, caseworker, person, case):
    with pytest.raises(ValidationError):
        services.add_identity_document(by=caseworker, person=person,
                                       item=services.IdentityDocumentData("passport", "  "))
    with pytest.raises(PermissionDenied):
        services.add_identity_document(by=caseworker2, person=person,
                                       item=services.IdentityDocumentData("passport", "C1"))
    assert person.documents.count() == 1


def test_an_oversize_upload_is_refused_with_a_clear_message(client, settings, caseworker, case):
    settings.AMPARO_UPLOAD_MAX_BYTES = 1024 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024 + 1024
    client.force_login(caseworker)
    big = SimpleUploadedFile("scan.pdf", pdf_bytes("x") + b"0" * (2 * 1024 * 1024), "application/pdf")

    response = client.post(reverse("document_upload", args=[case.pk]), {"title": "Scan", "file": big})

    assert response.status_code == 400
    assert "The file is larger than 1 MB." in response.content.decode()
    assert not Document.objects.filter(case=case).exists()


def test_registering_someone_twice_asks_first(client, caseworker, person, case):
    client.force_login(caseworker)
    form = {"office": person.office_id, "given_names": "Maria Jose", "family_names": "Nunez Perez",
            "sex": "female", "date_of_birth": "1990-05-03"}

    warned = client.post(reverse("person_create"), form)
    assert warned.status_code == 409
    assert warned.context["duplicates"] == [person]
    assert Person.objects.count() == 1

    confirmed = client.post(reverse("person_create"), {**form, "register_anyway": "1"})
    assert confirmed.status_code == 302
    assert Person.objects.count() == 2


def test_the_duplicate_warning_stays_inside_the_users_scope(client, caseworker2, person, case):
    # the person's case is assigned to another caseworker: caseworker2 must learn nothing
    client.force_login(caseworker2)
    response = client.post(reverse("person_create"), {
        "office": person.office_id, "given_names": "María José", "family_names": "Núñez Pérez",
        "sex": "female", "date_of_birth": "1990-05-03", "document_type": "passport",
        "document_number": "A123456"})

    assert response.status_code == 302
    assert Person.objects.count() == 2
