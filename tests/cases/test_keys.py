"""Key operations: KEK rotation, start-up checks on the key file, crypto-shredding a person."""

from __future__ import annotations

import base64
import datetime
import io
import json
import os

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import checks, keystore, selectors, services
from cases.crypto import datakeys, keyring
from cases.crypto.datakeys import key_scope
from cases.models import (
    Case,
    DataKey,
    Document,
    IdentityDocument,
    Note,
    Person,
    PersonIndex,
    SubjectRequest,
)
from tests.cases.rawsql import read_column
from tests.conftest import pdf_bytes

pytestmark = pytest.mark.usefixtures("file_root")


@pytest.fixture
def people(caseworker, office, person_data):
    names = ["Ana Lucía", "Berta", "Carmen Rosa", "Dolores", "Elena María"]
    return [
        services.register_person(by=caseworker, office=office, data=person_data(given_names=n))
        for n in names
    ]


def _read_all(people) -> list[str]:
    """Read every person's name in a new key scope, as a new request would."""
    with key_scope():
        return [Person.objects.get(pk=p.pk).given_names for p in people]


def _new_kek() -> str:
    out = io.StringIO()
    call_command("init_keys", new_kek=True, stdout=out)
    assert "Now run 'manage.py rotate_kek'" in out.getvalue()
    return keyring.provider().active_kek_id


# Rotation


def test_rotate_kek_rewraps_every_data_key_and_data_still_reads(key_file, people):
    old_kek = keyring.provider().active_kek_id
    before = {dk.pk: bytes(dk.wrapped) for dk in DataKey.objects.all()}

    new_kek = _new_kek()
    out = io.StringIO()
    call_command("rotate_kek", batch_size=2, stdout=out)

    assert new_kek != old_kek
    keys = list(DataKey.objects.all())
    assert len(keys) == len(people)
    assert {dk.kek_id for dk in keys} == {new_kek}
    assert all(bytes(dk.wrapped) != before[dk.pk] for dk in keys)
    assert all(dk.rotated_at is not None for dk in keys)
    assert "Re-wrapped 5 data keys; 0 left." in out.getvalue()
    assert _read_all(people) == ["Ana Lucía", "Berta", "Carmen Rosa", "Dolores", "Elena María"]


@pytest.mark.parametrize("damage", ["flipped", "cut", "kek_gone"])
def test_rotation_skips_a_key_it_cannot_unwrap_and_names_it(key_file, people, damage):
    old_kek = keyring.provider().active_kek_id
    bad = DataKey.objects.get(subject_id=people[2].pk)
    wrapped = bytes(bad.wrapped)
    if damage == "flipped":
        DataKey.objects.filter(pk=bad.pk).update(wrapped=wrapped[:-1] + bytes([wrapped[-1] ^ 1]))
    elif damage == "cut":
        DataKey.objects.filter(pk=bad.pk).update(wrapped=wrapped[:5])
    else:
        DataKey.objects.filter(pk=bad.pk).update(kek_id="kek-lost-long-ago")
    new_kek = _new_kek()
    out = io.StringIO()

    with pytest.raises(CommandError) as refused:  # exit status 1
        call_command("rotate_kek", batch_size=1, stdout=out)

    # Every other key is re-wrapped; the bad one is named by its id, and only by it.
    assert set(DataKey.objects.exclude(pk=bad.pk).values_list("kek_id", flat=True)) == {new_kek}
    assert DataKey.objects.get(pk=bad.pk).kek_id in (old_kek, "kek-lost-long-ago")
    assert "Re-wrapped 4 data keys; 1 left." in out.getvalue()
    assert str(refused.value) == (
        f"1 data keys cannot be unwrapped and were skipped (data key ids, see README, 'Keys'): "
        f"{bad.pk}")
    assert "Carmen" not in str(refused.value) + out.getvalue()
    event = AuditEvent.objects.filter(action="key.rotate").latest("id")
    assert (event.details["skipped"], event.details["skipped_keys"]) == (1, [str(bad.pk)])
    # A second run goes straight past it again, and says so again.
    with pytest.raises(CommandError, match=str(bad.pk)):
        call_command("rotate_kek", batch_size=500, stdout=io.StringIO())


def test_the_rotation_task_skips_a_key_it_cannot_unwrap_and_goes_on(key_file, people):
    from cases.tasks import rotate_kek_task

    bad = DataKey.objects.get(subject_id=people[0].pk)
    DataKey.objects.filter(pk=bad.pk).update(wrapped=b"")
    new_kek = _new_kek()

    rotate_kek_task.delay(1)  # eager: batch after batch, one key each

    assert set(DataKey.objects.exclude(pk=bad.pk).values_list("kek_id", flat=True)) == {new_kek}
    skipped = [e.details["skipped_keys"] for e in AuditEvent.objects.filter(action="key.rotate")]
    assert [str(bad.pk)] in skipped


def test_rotate_kek_resumes_after_an_interruption(key_file, people, monkeypatch):
    old_kek = keyring.provider().active_kek_id
    new_kek = _new_kek()
    real_batch = datakeys.rotate_batch
    calls = []

    def one_batch_then_stop(**kwargs):
        calls.append(kwargs)
        if len(calls) > 1:
            raise KeyboardInterrupt  # the operator pressed Ctrl-C after the first batch
        return real_batch(**kwargs)

    monkeypatch.setattr(datakeys, "rotate_batch", one_batch_then_stop)
    with pytest.raises(KeyboardInterrupt):
        call_command("rotate_kek", batch_size=2, stdout=io.StringIO())

    # Half-way: two keys under the new KEK, three under the old, everything readable.
    by_kek = sorted(DataKey.objects.values_list("kek_id", flat=True))
    assert by_kek.count(new_kek) == 2
    assert by_kek.count(old_kek) == 3
    assert len(_read_all(people)) == 5 and None not in _read_all(people)

    monkeypatch.setattr(datakeys, "rotate_batch", real_batch)
    out = io.StringIO()
    call_command("rotate_kek", batch_size=2, stdout=out)

    assert "3 data keys to re-wrap" in out.getvalue()
    assert not DataKey.objects.exclude(kek_id=new_kek).exists()

    # A second run has nothing left to do.
    out = io.StringIO()
    call_command("rotate_kek", stdout=out)
    assert "0 data keys to re-wrap" in out.getvalue()


def test_the_old_kek_can_be_removed_after_rotation(key_file, people):
    old_kek = keyring.provider().active_kek_id
    _new_kek()
    call_command("rotate_kek", stdout=io.StringIO())

    data = json.loads(key_file.read_text())
    del data["keks"][old_kek]
    keyring.write_key_file(key_file, data)
    keyring.reset()

    assert not keyring.provider().has_kek(old_kek)
    assert _read_all(people)[0] == "Ana Lucía"
    assert checks.check_keys(None) == []


def test_rotation_leaves_destroyed_keys_destroyed(key_file, people, supervisor):
    services.erase_person(by=supervisor, person=people[0], code="request")
    _new_kek()

    call_command("rotate_kek", stdout=io.StringIO())

    shredded = DataKey.objects.get(subject_id=people[0].pk)
    assert bytes(shredded.wrapped) == b""
    assert _read_all(people)[0] is None


# Start-up checks

def test_unwrapping_many_keys_looks_at_the_key_file_once(key_file, people, monkeypatch):
    looked = []
    real = keyring._source_version
    monkeypatch.setattr(keyring, "_source_version", lambda: looked.append(1) or real())
    monkeypatch.setattr(keyring, "CHECK_EVERY_SECONDS", 3600)
    keyring.provider(fresh=True)
    looked.clear()

    assert len(_read_all(people)) == 5
    assert looked == []


def test_a_key_rewrapped_by_another_process_under_a_new_kek_still_opens(key_file, people,
                                                                        monkeypatch):
    monkeypatch.setattr(keyring, "CHECK_EVERY_SECONDS", 3600)
    person = people[0]
    key_id, dek = datakeys.key_for_subject(person.pk)  # this process has the old keys loaded
    # Another process adds a KEK and re-wraps this person's key under it.
    data = json.loads(key_file.read_text())
    new_kek = keyring.add_active_kek(data)
    keyring.write_key_file(key_file, data)
    stat = key_file.stat()
    os.utime(key_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    wrapped = keyring.FileKekProvider(data).wrap(
        kek_id=new_kek, dek=dek, aad=datakeys.wrap_aad(key_id, person.pk))
    DataKey.objects.filter(subject_id=person.pk).update(kek_id=new_kek, wrapped=wrapped)
    assert not keyring.provider().has_kek(new_kek)  # not looked at again yet

    assert _read_all([person]) == ["Ana Lucía"]
    assert keyring.provider().active_kek_id == new_kek



def test_check_reports_a_missing_key_file(settings, key_file, tmp_path):
    settings.AMPARO_KEY_FILE = tmp_path / "nowhere" / "keys.json"
    settings.AMPARO_CREATE_KEY_FILE = False
    keyring.reset()

    errors = checks.check_keys(None)

    assert [e.id for e in errors] == ["amparo.E001"]
    assert str(settings.AMPARO_KEY_FILE) in errors[0].msg
    assert "init_keys" in errors[0].msg
    assert "AMPARO_KEY_FILE" in errors[0].hint
    assert not settings.AMPARO_KEY_FILE.exists()  # a check never creates keys


def test_check_reports_a_key_file_without_the_kek_of_stored_keys(key_file, person):
    keyring.write_key_file(key_file, keyring.new_key_file_data())
    keyring.reset()

    errors = checks.check_keys(None)

    assert [e.id for e in errors] == ["amparo.E002"]
    assert "does not hold" in errors[0].msg
    assert "Restore the key file" in errors[0].hint
    assert "rotate_kek" in errors[0].hint


def test_check_reports_a_key_file_that_cannot_unwrap_stored_keys(key_file, person):
    data = json.loads(key_file.read_text())
    data["keks"][data["active_kek"]] = base64.b64encode(os.urandom(32)).decode()
    keyring.write_key_file(key_file, data)
    keyring.reset()

    errors = checks.check_keys(None)

    assert [e.id for e in errors] == ["amparo.E003"]
    assert "cannot unwrap" in errors[0].msg
    assert "AMPARO_KEY_FILE" in errors[0].hint


def test_manage_check_fails_on_a_wrong_key_file(key_file, person):
    keyring.write_key_file(key_file, keyring.new_key_file_data())
    keyring.reset()

    with pytest.raises(SystemCheckError, match=r"amparo\.E002"):
        call_command("check", stdout=io.StringIO())


def test_check_passes_with_the_right_key_file(key_file, person):
    assert checks.check_keys(None) == []


# Crypto-shredding


@pytest.fixture
def erasable(caseworker, supervisor, person, person_data, case):
    """A person with a case, a note, a document and an edited record (history rows)."""
    services.update_person(by=caseworker, person=person, reason="new address",
                           data=person_data(address="Colonia Nueva 12"))
    services.add_note(by=caseworker, case=case, text="Relato de la persecución")
    services.add_document(by=caseworker, case=case, title="Pasaporte", filename="pas.pdf",
                          data=pdf_bytes("passport scan"))
    return person


def test_erasure_makes_every_copy_of_the_persons_data_unreadable(
    supervisor, erasable, case, file_root, django_capture_on_commit_callbacks
):
    document = Document.objects.get(case=case)
    with django_capture_on_commit_callbacks(execute=True):
        services.erase_person(by=supervisor, person=erasable, code="request")

    with key_scope():
        person = Person.objects.get(pk=erasable.pk)
        assert person.erased_at is not None
        assert str(person) == "(erased person)"
        for field in ("given_names", "family_names", "aliases", "date_of_birth", "phone",
                      "email", "address"):
            assert getattr(person, field) is None, field
        history = list(Person.history.filter(id=erasable.pk))
        assert len(history) >= 3
        for row in history:
            assert (row.given_names, row.family_names, row.date_of_birth, row.address) == (
                None, None, None, None)
        assert [d.number for d in IdentityDocument.objects.filter(person=person)] == [None]
        assert {h.number for h in IdentityDocument.history.filter(person_id=person.pk)} == {None}
        assert [n.text for n in Note.objects.filter(case=case)] == [None]
        assert {h.text for h in Note.history.filter(case_id=case.pk)} == {None}
        assert Document.objects.get(pk=document.pk).title is None
        with pytest.raises(datakeys.KeyDestroyed):
            services.read_document(by=supervisor, document=document)
    assert not (file_root / document.storage_name).exists()
    assert bytes(DataKey.objects.get(subject_id=erasable.pk).wrapped) == b""


def test_erasure_removes_the_persons_blind_index_values(supervisor, erasable):
    assert PersonIndex.objects.filter(person=erasable).exists()

    services.erase_person(by=supervisor, person=erasable, code="request")

    assert not PersonIndex.objects.filter(person=erasable).exists()
    assert Person.objects.get(pk=erasable.pk).fingerprint == ""
    # The fingerprint is a keyed hash of who someone is: history must not keep it either.
    assert set(Person.history.filter(id=erasable.pk).values_list("fingerprint", flat=True)) == {""}


def test_search_no_longer_finds_an_erased_person(supervisor, erasable):
    assert selectors.search_people(supervisor, name="Núñez").people == [erasable]

    services.erase_person(by=supervisor, person=erasable, code="request")

    assert selectors.search_people(supervisor, name="Núñez").people == []
    assert selectors.search_people(supervisor, name="Nunes", sounds_like=True).people == []
    assert selectors.search_people(supervisor, document="A123456").people == []
    assert selectors.search_people(
        supervisor, date_of_birth=datetime.date(1990, 5, 3)).people == []


def test_an_erased_persons_pages_still_open_without_their_data(client, supervisor, erasable, case):
    services.erase_person(by=supervisor, person=erasable, code="request")
    client.force_login(supervisor)

    person_page = client.get(reverse("person_detail", args=[erasable.pk]))
    case_page = client.get(reverse("case_detail", args=[case.pk]))
    document = Document.objects.get(case=case)
    download = client.get(reverse("document_download", args=[case.pk, document.pk]))

    assert person_page.status_code == 200
    assert "Núñez".encode() not in person_page.content
    assert case_page.status_code == 200
    assert "persecución".encode() not in case_page.content
    assert download.status_code == 410
    reopened = client.post(reverse("case_open", args=[erasable.pk]), {"kind": "asylum"})
    assert reopened.status_code == 302  # back to the page with a message, not an error
    assert Case.objects.filter(principal=erasable).count() == 1


def test_nothing_new_can_be_written_for_an_erased_person(caseworker, supervisor, erasable, case,
                                                         person_data):
    services.erase_person(by=supervisor, person=erasable, code="request")

    with pytest.raises(PermissionDenied):
        services.update_person(by=supervisor, person=erasable, data=person_data())
    with pytest.raises(ValidationError, match="erased"):
        services.add_note(by=caseworker, case=case, text="Seguimiento")
    with pytest.raises(ValidationError, match="erased"):
        services.add_document(by=caseworker, case=case, title="x", filename="x.pdf",
                              data=pdf_bytes("x"))
    with pytest.raises(ValidationError, match="erased"):
        services.open_case(by=caseworker, person=erasable, kind="asylum")


@pytest.mark.parametrize("who", ["caseworker", "caseworker2", "auditor", "office_admin",
                                 "system_admin", "other_supervisor"])
def test_only_a_supervisor_of_the_persons_office_can_erase(request, who, person):
    actor = request.getfixturevalue(who)

    with pytest.raises(PermissionDenied):
        services.erase_person(by=actor, person=person, code="request")

    assert Person.objects.get(pk=person.pk).erased_at is None
    assert DataKey.objects.get(subject_id=person.pk).destroyed_at is None
    assert PersonIndex.objects.filter(person=person).exists()


def test_a_superuser_can_erase(make_user, person):
    root = make_user(is_superuser=True, is_staff=True)

    services.erase_person(by=root, person=person, code="court_order", note="Court order 12/2026")

    assert DataKey.objects.get(subject_id=person.pk).destroyed_at is not None


@pytest.mark.parametrize(("code", "note", "field"), [("", "", "code"), ("forgotten", "", "code"),
                                                     ("other", "", "note"), ("other", "   ", "note"),
                                                     ("request", "x" * 501, "note")])
def test_erasure_needs_a_known_reason(supervisor, person, code, note, field):
    with pytest.raises(ValidationError) as refused:
        services.erase_person(by=supervisor, person=person, code=code, note=note)

    assert list(refused.value.message_dict) == [field]
    assert DataKey.objects.get(subject_id=person.pk).destroyed_at is None
    assert Person.objects.get(pk=person.pk).erased_at is None


def test_the_reason_is_a_code_and_a_note_sealed_with_the_offices_key(supervisor, person, office):
    services.erase_person(by=supervisor, person=person, code="court_order",
                          note="Expediente 12/2026 del Juzgado Primero")

    erased = Person.objects.get(pk=person.pk)
    assert erased.erasure_code == "court_order"
    assert erased.erasure_key == keystore.office_subject(office.pk) != person.pk
    assert erased.erasure_note == "Expediente 12/2026 del Juzgado Primero"
    assert b"Expediente" not in read_column(Person, person.pk, "erasure_note")
    last = Person.history.filter(id=person.pk).latest("history_date")
    assert (last.erasure_code, last.erasure_note) == ("court_order",
                                                      "Expediente 12/2026 del Juzgado Primero")
    assert b"Expediente" not in read_column(Person.history.model, last.history_id, "erasure_note")
    assert last.history_user == supervisor
    assert last.history_change_reason is None


def test_the_office_key_outlives_each_erasure_and_is_shared_by_the_office(
        supervisor, person, office, caseworker, person_data):
    other = services.register_person(by=caseworker, office=office,
                                     data=person_data(given_names="Rosa Elena"))
    services.erase_person(by=supervisor, person=person, code="other", note="Nota uno")
    services.erase_person(by=supervisor, person=other, code="mistake", note="Nota dos")

    office_keys = DataKey.objects.filter(subject_id=keystore.office_subject(office.pk))
    assert office_keys.count() == 1 and office_keys.get().destroyed_at is None
    with key_scope():  # a new request: the key is unwrapped from the store
        assert [Person.objects.get(pk=p.pk).erasure_note for p in (person, other)] == [
            "Nota uno", "Nota dos"]


def test_an_erasure_without_a_note_creates_no_office_key(supervisor, person, office):
    services.erase_person(by=supervisor, person=person, code="retention")

    erased = Person.objects.get(pk=person.pk)
    assert (erased.erasure_code, erased.erasure_key, erased.erasure_note) == ("retention", None, None)
    assert not DataKey.objects.filter(subject_id=keystore.office_subject(office.pk)).exists()


def test_erasure_clears_the_clear_values_that_point_at_the_person(supervisor, erasable):
    assert Person.objects.get(pk=erasable.pk).nationalities == ["HN"]

    services.erase_person(by=supervisor, person=erasable, code="request")

    cleared = ("unknown", None, [], [], "")
    fields = ("sex", "birth_year", "nationalities", "languages", "fingerprint")
    assert tuple(Person.objects.filter(pk=erasable.pk).values_list(*fields).get()) == cleared
    rows = Person.history.filter(id=erasable.pk).values_list(*fields)
    assert len(rows) >= 3 and all(tuple(r) == cleared for r in rows)
    assert set(IdentityDocument.objects.filter(person=erasable)
               .values_list("issuing_country", flat=True)) == {""}
    assert set(IdentityDocument.history.filter(person_id=erasable.pk)
               .values_list("issuing_country", flat=True)) == {""}


def test_erasure_through_a_request_needs_a_legal_basis_and_confirmation(client, caseworker,
                                                                         supervisor, person):
    client.force_login(caseworker)
    ask = reverse("subject_request_new", args=[person.pk])
    asked = {"kind": "erasure", "channel": "writing", "received_on": timezone.localdate().isoformat()}

    unexplained = client.post(ask, {**asked, "legal_basis": "other", "details": " "})
    assert unexplained.status_code == 400
    assert "Say what the legal basis is." in unexplained.content.decode()
    too_long = client.post(ask, {**asked, "legal_basis": "request", "details": "x" * 501})
    assert too_long.status_code == 400
    assert "at most 500 characters" in too_long.content.decode()
    assert client.post(ask, {**asked, "legal_basis": "request", "details": "Solicitud 17/2026"}
                       ).status_code == 302
    client.force_login(supervisor)
    url = reverse("subject_request_answer", args=[SubjectRequest.objects.get().pk])

    unconfirmed = client.post(url, {"action": "erase"})
    assert unconfirmed.status_code == 400  # the form again, with the missing confirmation
    assert Person.objects.get(pk=person.pk).erased_at is None
    assert DataKey.objects.get(subject_id=person.pk).destroyed_at is None

    confirmed = client.post(url, {"action": "erase", "confirm": "on"})
    assert confirmed.status_code == 302
    assert Person.objects.get(pk=person.pk).erased_at is not None
    assert DataKey.objects.get(subject_id=person.pk).destroyed_at is not None
    page = client.get(reverse("person_detail", args=[person.pk]))
    assert page.status_code == 200
    assert "Núñez".encode() not in page.content
