"""The encryption layer: envelope, encrypted fields, key files, blind indexes, sealed files."""

from __future__ import annotations

import base64
import datetime
import json
import os
import uuid

import pytest
from django.urls import reverse

from cases import services
from cases.crypto import blind, datakeys, envelope, keyring
from cases.crypto.datakeys import key_scope
from cases.crypto.envelope import DecryptionError
from cases.models import DataKey, Document, IdentityDocument, Note, Person
from tests.cases.rawsql import copy_column, read_column, write_column
from tests.conftest import pdf_bytes

pytestmark = pytest.mark.usefixtures("file_root")


def fresh(model, pk):
    """The row as stored, read again in a new key scope (nothing cached in memory)."""
    return model.objects.get(pk=pk)


# Envelope


def test_envelope_round_trip_carries_version_and_key_id():
    key, key_id = os.urandom(32), uuid.uuid4()
    aad = envelope.aad_for("cases_person", "given_names", uuid.uuid4())

    blob = envelope.seal(key=key, key_id=key_id, plaintext=b"Ana Lucia", aad=aad)

    assert blob[0] == envelope.VERSION
    assert envelope.key_id_of(blob) == key_id
    assert b"Ana Lucia" not in blob
    assert envelope.open_sealed(key=key, blob=blob, aad=aad) == b"Ana Lucia"


def test_envelope_uses_a_fresh_nonce_for_every_seal():
    key, key_id, aad = os.urandom(32), uuid.uuid4(), b"amparo|t|c|1"

    first = envelope.seal(key=key, key_id=key_id, plaintext=b"same", aad=aad)
    second = envelope.seal(key=key, key_id=key_id, plaintext=b"same", aad=aad)

    assert first != second


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: bytes([2]) + b[1:], id="version"),
        pytest.param(lambda b: b[:1] + uuid.uuid4().bytes + b[17:], id="key-id"),
        pytest.param(lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:], id="nonce"),
        pytest.param(lambda b: b[:-1] + bytes([b[-1] ^ 1]), id="tag"),
        pytest.param(lambda b: b[:30], id="truncated"),
    ],
)
def test_envelope_refuses_a_changed_header_or_body(mutate):
    key, key_id, aad = os.urandom(32), uuid.uuid4(), b"amparo|t|c|1"
    blob = envelope.seal(key=key, key_id=key_id, plaintext=b"secret", aad=aad)

    with pytest.raises(DecryptionError):
        envelope.open_sealed(key=key, blob=mutate(blob), aad=aad)


def test_envelope_refuses_other_associated_data_or_key():
    key, key_id = os.urandom(32), uuid.uuid4()
    blob = envelope.seal(key=key, key_id=key_id, plaintext=b"secret", aad=b"amparo|t|c|1")

    with pytest.raises(DecryptionError):
        envelope.open_sealed(key=key, blob=blob, aad=b"amparo|t|c|2")
    with pytest.raises(DecryptionError):
        envelope.open_sealed(key=os.urandom(32), blob=blob, aad=b"amparo|t|c|1")


# Encrypted fields in the database


def test_person_columns_hold_ciphertext_under_the_persons_data_key(person):
    stored = read_column(Person, person.pk, "given_names")
    data_key = DataKey.objects.get(subject_id=person.pk)

    assert "María José".encode() not in stored
    assert envelope.key_id_of(stored) == data_key.id
    with key_scope():
        again = fresh(Person, person.pk)
        assert again.given_names == "María José"
        assert again.date_of_birth == datetime.date(1990, 5, 3)
        assert again.aliases == ["Majo"]
        assert again.documents.get().number == "A123456"


def test_history_rows_are_sealed_and_readable(caseworker, person, person_data):
    services.update_person(by=caseworker, person=person,
                           data=person_data(given_names="María Josefina"), reason="typo")
    first = person.history.order_by("history_date").first()

    stored = read_column(Person.history.model, first.pk, "given_names")
    assert "María José".encode() not in stored
    with key_scope():
        assert fresh(Person.history.model, first.pk).given_names == "María José"


@pytest.mark.parametrize("offset", [-1, -20, 17 + 3])  # tag, body, nonce
def test_a_flipped_byte_in_the_stored_column_fails(person, offset):
    stored = bytearray(read_column(Person, person.pk, "family_names"))
    stored[offset] ^= 0x01
    write_column(Person, person.pk, "family_names", bytes(stored))

    with key_scope(), pytest.raises(DecryptionError):
        _ = fresh(Person, person.pk).family_names


def test_a_value_copied_to_another_persons_row_does_not_decrypt(
    caseworker, office, person, person_data
):
    other = services.register_person(by=caseworker, office=office,
                                     data=person_data(given_names="Rosa"))

    copy_column(Person, src_pk=person.pk, src_column="given_names",
                dst_pk=other.pk, dst_column="given_names")

    with key_scope():
        moved = fresh(Person, other.pk)
        with pytest.raises(DecryptionError):
            _ = moved.given_names
        assert moved.family_names == "Núñez Pérez"  # the rest of the row is intact


def test_a_value_copied_to_another_column_of_the_same_row_does_not_decrypt(person):
    copy_column(Person, src_pk=person.pk, src_column="given_names",
                dst_pk=person.pk, dst_column="family_names")

    with key_scope():
        moved = fresh(Person, person.pk)
        assert moved.given_names == "María José"
        with pytest.raises(DecryptionError):
            _ = moved.family_names


def test_a_value_copied_between_rows_sealed_with_the_same_key_does_not_decrypt(
    caseworker, case
):
    first = services.add_note(by=caseworker, case=case, text="Primera entrevista")
    second = services.add_note(by=caseworker, case=case, text="Segunda entrevista")
    assert first.person_id == second.person_id  # same data key: only the row id differs

    copy_column(Note, src_pk=first.pk, src_column="text", dst_pk=second.pk, dst_column="text")

    with key_scope(), pytest.raises(DecryptionError):
        _ = fresh(Note, second.pk).text


def test_a_document_number_moved_to_another_person_does_not_decrypt(
    caseworker, office, person, person_data
):
    other = services.register_person(by=caseworker, office=office, data=person_data(
        documents=[services.IdentityDocumentData("passport", "ZZ999999", "HN")]))
    mine, theirs = person.documents.get(), other.documents.get()

    write_column(IdentityDocument, theirs.pk, "number",
                 read_column(IdentityDocument, mine.pk, "number"))

    with key_scope(), pytest.raises(DecryptionError):
        _ = fresh(IdentityDocument, theirs.pk).number


# Key files


def _write_keys(path, data) -> None:
    keyring.write_key_file(path, data)
    keyring.reset()


def test_a_key_file_with_other_bytes_under_the_same_kek_id_cannot_unwrap(key_file, person):
    data = json.loads(key_file.read_text())
    data["keks"][data["active_kek"]] = base64.b64encode(os.urandom(32)).decode()
    _write_keys(key_file, data)

    with key_scope():
        with pytest.raises(keyring.KeyringError, match="cannot unwrap"):
            _ = fresh(Person, person.pk).given_names
        with pytest.raises(keyring.KeyringError):
            datakeys.unwrap(DataKey.objects.get(subject_id=person.pk))


def test_a_key_file_without_the_kek_cannot_unwrap(key_file, person):
    _write_keys(key_file, keyring.new_key_file_data())

    with key_scope(), pytest.raises(keyring.KeyringError, match="not in the key file"):
        _ = fresh(Person, person.pk).given_names


def test_the_right_key_file_still_reads_after_a_reload(key_file, person):
    keyring.reset()

    with key_scope():
        assert fresh(Person, person.pk).given_names == "María José"


def test_a_malformed_key_file_is_refused(key_file):
    data = json.loads(key_file.read_text())
    data.pop("index_key", None)  # a key file of the older format, too
    data["active_index"] = "1"
    data["index_keys"] = {"1": base64.b64encode(b"short").decode()}
    _write_keys(key_file, data)

    with pytest.raises(keyring.KeyringError, match="32 bytes"):
        keyring.provider()


# Blind indexes


def test_same_value_gives_the_same_index_and_kinds_are_separate():
    assert blind.bidx("name", "gonzalez") == blind.bidx("name", "gonzalez")
    assert blind.bidx("name", "gonzalez") != blind.bidx("name", "gonzales")
    values = {kind: blind.bidx(kind, "19900503") for kind in blind.KINDS}
    # Same input, different kinds: each kind has its own key.
    assert blind.bidx("name", "19900503") != blind.bidx("doc", "19900503")
    assert len(set(values.values())) == len(values)


@pytest.mark.parametrize("kind", sorted(blind.KINDS))
def test_indexes_are_cut_to_their_planned_bits(kind):
    bits = blind.bits(kind, blind.active_generation())

    outputs = [blind.bidx(kind, f"value-{i}") for i in range(2000)]

    assert all(0 <= v < 2**bits for v in outputs)
    assert max(outputs) >= 2 ** (bits - 1)  # the top bit is used: not cut shorter
    if bits <= 16:
        assert len(set(outputs)) < len(outputs)  # small indexes collide on purpose


def test_indexes_depend_on_the_index_key(key_file):
    before = blind.bidx("doc", "A123456")
    _write_keys(key_file, keyring.new_key_file_data())

    assert blind.bidx("doc", "A123456") != before


@pytest.mark.parametrize(
    ("a", "b"),
    [("González", "Gonzales"), ("Jiménez", "Ximénez"), ("Yolanda", "Llolanda"),
     ("Hernández", "Ernandez"), ("Núñez", "Nunes"), ("Valdivia", "Baldibia")],
)
def test_phonetic_keys_join_spanish_and_english_spellings(a, b):
    assert blind.phonetic(a) == blind.phonetic(b)
    assert blind.bidx("phonetic", blind.phonetic(a)) == blind.bidx("phonetic", blind.phonetic(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [("González", "Martínez"), ("Jiménez", "Ramírez"), ("Yolanda", "Rolando"),
     ("Hernández", "Fernández"), ("Ana", "Ema")],
)
def test_phonetic_keys_keep_different_names_apart(a, b):
    assert blind.phonetic(a) != blind.phonetic(b)


def test_fold_strips_diacritics_case_and_punctuation():
    assert blind.fold("Núñez-Peña") == "nunez pena"
    assert blind.fold("ÁLVAREZ Çağlar") == "alvarez caglar"
    assert blind.name_tokens("María José", "de la O") == {"maria", "jose", "de", "la"}


def test_document_numbers_are_normalised_before_indexing():
    assert blind.normalize_document(" a-123 456 ") == "A123456"
    assert blind.normalize_document("A.123.456") == blind.normalize_document("a123456")


def test_a_person_is_indexed_by_name_phonetic_document_and_birth_date(person):
    entries = set(person.index_entries.values_list("kind", "value"))

    assert ("name", blind.bidx("name", "nunez")) in entries
    assert ("phonetic", blind.bidx("phonetic", blind.phonetic("Núñez"))) in entries
    assert ("doc", blind.bidx("doc", "A123456")) in entries
    assert ("dob", blind.bidx("dob", "1990-05-03")) in entries


# Files


def test_uploaded_files_are_sealed_on_disk(file_root, caseworker, case):
    content = pdf_bytes("Declaracion jurada de Maria Jose Nunez Perez")

    doc = services.add_document(by=caseworker, case=case, title="Declaración",
                                filename="declaracion.pdf", data=content)

    on_disk = [p for p in file_root.rglob("*") if p.is_file()]
    assert len(on_disk) == 1
    raw = on_disk[0].read_bytes()
    assert b"Maria Jose" not in raw
    assert b"%PDF" not in raw
    assert envelope.key_id_of(raw) == DataKey.objects.get(subject_id=case.principal_id).id
    with key_scope():
        assert services.read_document(by=caseworker, document=fresh(Document, doc.pk)) == content
        assert fresh(Document, doc.pk).filename == "declaracion.pdf"


def test_a_file_moved_to_another_document_does_not_decrypt(file_root, caseworker, case):
    first = services.add_document(by=caseworker, case=case, title="A", filename="a.pdf",
                                  data=pdf_bytes("first document"))
    second = services.add_document(by=caseworker, case=case, title="B", filename="b.pdf",
                                   data=pdf_bytes("second document"))

    # Same data key, same case: only the document id binds the file.
    (file_root / second.storage_name).write_bytes((file_root / first.storage_name).read_bytes())

    with key_scope(), pytest.raises(DecryptionError):
        services.read_document(by=caseworker, document=fresh(Document, second.pk))


def test_a_file_sealed_for_another_person_does_not_decrypt(
    file_root, caseworker, case, office, person_data
):
    other_person = services.register_person(by=caseworker, office=office,
                                            data=person_data(given_names="Rosa"))
    other_case = services.open_case(by=caseworker, person=other_person, kind="asylum")
    mine = services.add_document(by=caseworker, case=case, title="A", filename="a.pdf",
                                 data=pdf_bytes("first document"))
    theirs = services.add_document(by=caseworker, case=other_case, title="B", filename="b.pdf",
                                   data=pdf_bytes("second document"))

    (file_root / theirs.storage_name).write_bytes((file_root / mine.storage_name).read_bytes())

    with key_scope(), pytest.raises(DecryptionError):
        services.read_document(by=caseworker, document=fresh(Document, theirs.pk))


def test_a_tampered_record_shows_the_integrity_page_not_its_data(client, caseworker, person, case):
    stored = bytearray(read_column(Person, person.pk, "family_names"))
    stored[-1] ^= 0x01
    write_column(Person, person.pk, "family_names", bytes(stored))
    client.force_login(caseworker)

    response = client.get(reverse("person_detail", args=[person.pk]))

    assert response.status_code == 500
    assert b'id="integrity-error"' in response.content
    assert "María José".encode() not in response.content
