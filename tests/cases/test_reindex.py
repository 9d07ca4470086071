"""Index key generations and the resumable re-index (docs/architecture.md#index-key-generations)."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from cases import checks, selectors, services
from cases.crypto import blind, keyring
from cases.crypto.datakeys import key_scope
from cases.models import IndexRebuild, Person, PersonIndex

PEOPLE = [("Aurora", "Zapata Ruiz", "P100001"), ("Benito", "Quispe Mamani", "P100002"),
          ("Celia", "Ortega Lara", "P100003"), ("Darío", "Vidal Peña", "P100004"),
          ("Elena", "Montes Gil", "P100005")]


@pytest.fixture
def planned_key_file(key_file):
    key_file.write_text(json.dumps(keyring.new_key_file_data()))
    keyring.reset()
    return key_file


@pytest.fixture
def registered(planned_key_file, caseworker, office, person_data):
    return [services.register_person(by=caseworker, office=office, data=person_data(
        given_names=given, family_names=family, date_of_birth=datetime.date(1980 + i, 3, 9),
        documents=[services.IdentityDocumentData("passport", doc, "SV")]))
        for i, (given, family, doc) in enumerate(PEOPLE)]


def everyone_is_found(user) -> None:
    def found(**kw):
        return [p.given_names for p in selectors.search_people(user, **kw).people]

    for i, (given, family, doc) in enumerate(PEOPLE):
        assert found(name=f"{given} {family}") == [given]
        assert found(document=doc) == [given]
        assert found(date_of_birth=datetime.date(1980 + i, 3, 9)) == [given]
        assert found(name=given, sounds_like=True) == [given]


def generations() -> dict[int, int]:
    """Index entries per generation."""
    out: dict[int, int] = {}
    for g in PersonIndex.objects.values_list("generation", flat=True):
        out[g] = out.get(g, 0) + 1
    return out


def run(*args: str) -> list[dict]:
    out = io.StringIO()
    call_command("reindex_people", "--json", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_an_interrupted_reindex_resumes_and_search_works_throughout(registered, caseworker, office,
                                                                    planned_key_file):
    fingerprints = dict(Person.objects.values_list("pk", "fingerprint"))
    call_command("init_keys", "--new-index-key", stdout=io.StringIO())
    assert keyring.provider(fresh=True).index_generations() == [2, 1]
    assert generations() == {1: sum(generations().values())}
    everyone_is_found(caseworker)  # old entries, found with the old key

    lines = run("--batch-size", "2", "--max-batches", "1")

    assert lines[-1] == {"stage": "stopped", "generation": 2, "done": 2, "people": 5}
    assert set(generations()) == {1, 2}
    assert PersonIndex.objects.filter(generation=2).values("person").distinct().count() == 2
    assert [w.id for w in checks.check_reindex(None)] == ["amparo.W041"]
    everyone_is_found(caseworker)  # half old, half new
    # Someone registered meanwhile is indexed with the new key at once.
    late = services.register_person(by=caseworker, office=office, data=services.PersonData(
        given_names="Fausto", family_names="Rivas Cano", sex="male"))
    assert set(PersonIndex.objects.filter(person=late).values_list("generation", flat=True)) == {2}

    lines = run("--batch-size", "2")

    assert lines[0]["done"] == 2 and lines[0]["resumed_after"]
    finished = lines[-1]
    # Fausto is walked only if his (random) id sorts after the batch already done.
    assert finished.pop("done") in {5, 6}
    assert finished == {"stage": "finished", "generation": 2, "people": 6, "retire": [1]}
    assert set(generations()) == {2}
    assert IndexRebuild.objects.get(generation=2).finished_at is not None
    assert checks.check_reindex(None) == []
    everyone_is_found(caseworker)
    # The keyed fingerprints follow the new key, so an import still knows its own rows.
    with key_scope():
        for person in Person.objects.exclude(pk=late.pk).prefetch_related("documents"):
            assert person.fingerprint != fingerprints[person.pk]
            assert person.fingerprint == blind.fingerprint(
                given_names=person.given_names, family_names=person.family_names,
                date_of_birth=person.date_of_birth, document=person.documents.get().number)
    assert AuditEvent.objects.filter(action="index.reindex").count() == 3
    # Each batch replaced its people's entries: the final sweep found none left over.
    assert AuditEvent.objects.get(action="index.reindex_finish").details["old_entries_removed"] == 0

    call_command("init_keys", "--retire-index-keys", stdout=io.StringIO())

    assert keyring.provider(fresh=True).index_generations() == [2]
    assert list(json.loads(planned_key_file.read_text())["index_keys"]) == ["2"]
    everyone_is_found(caseworker)
    assert run()[-1]["stage"] == "finished"  # a re-run does no harm


def test_old_keys_cannot_be_retired_before_the_reindex_ends(registered, planned_key_file):
    call_command("init_keys", "--new-index-key", stdout=io.StringIO())
    run("--batch-size", "2", "--max-batches", "1")

    with pytest.raises(CommandError, match="has not finished"):
        call_command("init_keys", "--retire-index-keys", stdout=io.StringIO())
    assert list(json.loads(planned_key_file.read_text())["index_keys"]) == ["1", "2"]


def test_a_missing_generation_is_a_clear_error(registered, planned_key_file):
    data = json.loads(planned_key_file.read_text())
    keyring.add_index_generation(data, blind.planned_bits())
    keyring.retire_index_generations(data)  # generation 1 dropped while its entries remain
    planned_key_file.write_text(json.dumps(data))
    keyring.reset()

    assert [e.id for e in checks.check_reindex(None)] == ["amparo.E041"]
    with pytest.raises(keyring.KeyringError, match="Index key generation 1 is not in the key file"):
        blind.bidx("name", "aurora", 1)

    data["active_index"] = "7"
    planned_key_file.write_text(json.dumps(data))
    keyring.reset()
    with pytest.raises(keyring.KeyringError, match="active index key generation 7"):
        keyring.provider()


def test_an_older_key_file_keeps_its_index_until_rotated(key_file, caseworker, office, person_data):
    data = json.loads(key_file.read_text())
    data.pop("active_index", None)
    data["index_key"] = data.pop("index_keys", {"1": data.get("index_key")})["1"]
    key_file.write_text(json.dumps(data))
    keyring.reset()
    assert blind.bits("name", 1) == 32  # as it was written
    services.register_person(by=caseworker, office=office, data=person_data(
        given_names="Aurora", family_names="Zapata Ruiz", documents=[]))

    call_command("init_keys", "--new-index-key", stdout=io.StringIO())
    frozen = json.loads(key_file.read_text())["index_bits"]
    assert frozen["1"] == keyring.LEGACY_INDEX_BITS and "2" not in frozen
    assert [p.given_names for p in selectors.search_people(caseworker, name="Aurora").people] == ["Aurora"]
    run()
    assert set(generations()) == {2}
    assert blind.bits("name", 2) == blind.planned_bits()["name"]
    assert [p.given_names for p in selectors.search_people(caseworker, name="Aurora").people] == ["Aurora"]


def test_a_person_whose_key_cannot_be_unwrapped_is_passed_over_named_and_retried(
        registered, caseworker, planned_key_file):
    """As key rotation: one unreadable data key does not stall the re-index at its batch."""
    from cases.models import DataKey

    bad = registered[1]
    key = DataKey.objects.get(subject_id=bad.pk)
    DataKey.objects.filter(pk=key.pk).update(kek_id="kek-lost-long-ago")
    call_command("init_keys", "--new-index-key", stdout=io.StringIO())
    out = io.StringIO()

    with pytest.raises(CommandError) as refused:  # exit status 1
        call_command("reindex_people", "--batch-size", "2", stdout=out)

    assert str(bad.pk) in str(refused.value) and "Benito" not in str(refused.value)
    # Everyone else is on the new generation; the bad one keeps the old entries.
    indexed = set(PersonIndex.objects.filter(generation=2).values_list("person_id", flat=True))
    assert indexed == {p.pk for p in registered} - {bad.pk}
    assert set(PersonIndex.objects.filter(person=bad).values_list("generation", flat=True)) == {1}
    assert IndexRebuild.objects.get(generation=2).finished_at is None
    assert [w.id for w in checks.check_reindex(None)] == ["amparo.W041"]
    event = AuditEvent.objects.get(action="index.reindex_skipped")
    assert event.details["people"] == [str(bad.pk)]
    # Run again: named again, still unfinished.
    with pytest.raises(CommandError, match=str(bad.pk)):
        call_command("reindex_people", stdout=io.StringIO())
    # The key file put right: the next run takes them and finishes.
    DataKey.objects.filter(pk=key.pk).update(kek_id=key.kek_id)
    keyring.reset()

    assert run()[-1]["stage"] == "finished"
    assert set(generations()) == {2}
    everyone_is_found(caseworker)
