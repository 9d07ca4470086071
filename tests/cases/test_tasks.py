"""The rotation task re-wraps every data key through Celery (eager here), batch after batch."""

import json
import os

import pytest

from cases import services
from cases.crypto import keyring
from cases.crypto.datakeys import key_scope
from cases.models import DataKey, Person
from cases.tasks import rotate_kek_task


@pytest.fixture
def key_file(tmp_path, settings):
    path = tmp_path / "keys.json"
    keyring.write_key_file(path, json.loads(settings.AMPARO_KEY_FILE.read_text()))
    settings.AMPARO_KEY_FILE = path
    keyring.reset()
    yield path
    keyring.reset()


def test_rotation_task_rewraps_all_keys_in_batches(key_file, caseworker, office, person_data):
    # given five people under the first KEK
    people = [
        services.register_person(by=caseworker, office=office, data=person_data(given_names=f"Ana {n}"))
        for n in range(5)
    ]
    old_kek = keyring.provider().active_kek_id
    # when a new KEK becomes active and the task runs in batches of two
    data = json.loads(key_file.read_text())
    keyring.add_active_kek(data)
    keyring.write_key_file(key_file, data)
    keyring.reset()
    rotate_kek_task.delay(2)
    # then no key is left under the old KEK and the people still read after dropping it
    assert not DataKey.objects.filter(kek_id=old_kek).exists()
    del data["keks"][old_kek]
    keyring.write_key_file(key_file, data)
    keyring.reset()
    with key_scope():  # a fresh cache: nothing unwrapped under the old KEK
        names = sorted(Person.objects.get(pk=p.pk).given_names for p in people)
    assert names == [f"Ana {n}" for n in range(5)]


def test_a_running_process_picks_up_a_new_active_kek(key_file, caseworker, office, person_data):
    # given a process that already wrapped keys with the first KEK
    old_kek = keyring.provider().active_kek_id
    # when the operator adds a KEK to the key file (no restart, no reset)
    data = json.loads(key_file.read_text())
    new_kek = keyring.add_active_kek(data)
    keyring.write_key_file(key_file, data)
    stat = key_file.stat()
    os.utime(key_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    person = services.register_person(by=caseworker, office=office, data=person_data())
    # then the new person's key is wrapped with the new KEK
    assert DataKey.objects.get(subject_id=person.pk).kek_id == new_kek != old_kek


def test_a_malformed_keys_variable_gets_a_clear_error(monkeypatch):
    monkeypatch.setenv("AMPARO_KEYS", "{not json")
    keyring.reset()
    try:
        with pytest.raises(keyring.KeyringError, match="AMPARO_KEYS is not the JSON"):
            keyring.provider()
    finally:
        monkeypatch.delenv("AMPARO_KEYS")
        keyring.reset()
