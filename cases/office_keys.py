"""An office's keys for case packages, made the first time they are needed and kept in the
key file beside the KEKs (docs/architecture.md#case-packages)."""

from __future__ import annotations

import fcntl
import os

from cases import events
from cases.crypto import keyring
from cases.crypto.packages import OfficeKeys, PublicBundle
from cases.models import Office


class NoOfficeKeys(keyring.KeyringError):
    pass


def keys(office: Office, *, create: bool = False) -> OfficeKeys:
    """The office's private keys; with `create`, made and written to the key file if the
    file has none (under a lock, so that two processes make one pair)."""
    raw = keyring.provider(fresh=True).office_keys(office.code)
    if raw is None and create:
        raw, made = _create(office.code)
        if made:
            events.emit("key.office_keys", obj=office, office_id=office.pk,
                        fingerprint=OfficeKeys.from_raw(office.code, *raw).bundle().fingerprint)
    if raw is None:
        raise NoOfficeKeys(f"The key file holds no case-package keys for {office.code}: "
                           f"run 'manage.py office_key {office.code}' where the key file is kept.")
    return OfficeKeys.from_raw(office.code, *raw)


def bundle(office: Office, *, create: bool = False) -> PublicBundle:
    return keys(office, create=create).bundle(name=office.name, country=str(office.country))


def _create(code: str) -> tuple[tuple[bytes, bytes], bool]:
    if os.environ.get("AMPARO_KEYS"):
        raise NoOfficeKeys("The keys come from AMPARO_KEYS, which Amparo cannot write: make the "
                           f"office's keys with 'manage.py office_key {code}' against a key file "
                           "and copy its office_keys into AMPARO_KEYS.")
    path = keyring.key_file_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = keyring.read_key_data()
        made = code not in data.get("office_keys", {})
        if made:
            keyring.add_office_keys(data, code, *OfficeKeys.generate(code).raw())
            keyring.write_key_file(path, data)
    keyring.reset()
    raw = keyring.provider(fresh=True).office_keys(code)
    if raw is None:  # a KMS provider that does not read the file
        raise NoOfficeKeys(f"The key provider does not hold case-package keys for {code}.")
    return raw, made
