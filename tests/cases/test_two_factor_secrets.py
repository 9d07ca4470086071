"""Second-factor secrets at rest: the app's seed is sealed (bound to its row, under a data key
the key file's KEK wraps), backup codes are salted scrypt hashes, a dump of the database gives
neither; the accepted window of app codes; the settings' checks."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import time
from base64 import b32decode, b32encode
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_otp.oath import hotp

from audit.models import AuditEvent
from cases import two_factor, two_factor_secrets
from cases.checks import check_backup_code_cost, check_two_factor_secrets
from cases.crypto import datakeys, keyring
from cases.crypto.envelope import DecryptionError
from cases.models import AuthenticatorApp, BackupCode, DataKey, User
from tests.cases.rawsql import read_column, write_column
from tests.cases.test_two_factor import (
    BACKUP,
    code,
    code_from_secret,
    enrol,
    has_backup_code,
    login,
    verify,
)

STEP = 30
NOW = 1_780_000_000.0  # a fixed moment: the window is tested without the clock turning


def _code_at(seed: bytes, step: int) -> str:
    return f"{hotp(seed, step):06d}"


# The accepted window


@pytest.mark.parametrize(("tolerance", "offset", "accepted"), [
    (1, 0, True), (1, -1, True), (1, -2, False), (1, 1, False),
    (0, 0, True), (0, -1, False), (0, 1, False),
])
def test_the_window_is_the_current_step_and_at_most_one_before(settings, tolerance, offset,
                                                               accepted):
    settings.AMPARO_TOTP_TOLERANCE = tolerance
    seed = two_factor_secrets.new_seed()
    current = int(NOW // STEP)

    found = two_factor_secrets.matching_step(seed, _code_at(seed, current + offset), step=STEP,
                                             t0=0, digits=6, after=-1, now=NOW)

    assert found == (current + offset if accepted else None)


def test_a_step_already_used_or_an_earlier_one_is_refused():
    seed = two_factor_secrets.new_seed()
    current = int(NOW // STEP)
    value = _code_at(seed, current)

    assert two_factor_secrets.matching_step(seed, value, step=STEP, t0=0, digits=6,
                                            after=current - 1, now=NOW) == current
    assert two_factor_secrets.matching_step(seed, value, step=STEP, t0=0, digits=6,
                                            after=current, now=NOW) is None
    before = _code_at(seed, current - 1)
    assert two_factor_secrets.matching_step(seed, before, step=STEP, t0=0, digits=6,
                                            after=current - 1, now=NOW) is None


@pytest.mark.parametrize("value", ["", "12345", "1234567", "12a456", "١٢٣٤٥٦", " 123456"])
def test_what_is_not_six_digits_is_refused(value):
    seed = two_factor_secrets.new_seed()
    assert two_factor_secrets.matching_step(seed, value, step=STEP, t0=0, digits=6, after=-1,
                                            now=NOW) is None


def test_a_seed_whose_key_is_gone_verifies_nothing():
    assert two_factor_secrets.matching_step(None, "123456", step=STEP, t0=0, digits=6, after=-1,
                                            now=NOW) is None


def test_the_settings_are_checked(settings):
    assert check_two_factor_secrets(None) == []
    settings.AMPARO_TOTP_TOLERANCE = 2
    settings.AMPARO_BACKUP_CODE_SCRYPT_N = 10000
    assert [m.id for m in check_two_factor_secrets(None)] == ["amparo.E061", "amparo.E062"]


def test_a_deployment_is_warned_of_cheap_backup_code_hashes(settings):
    settings.AMPARO_BACKUP_CODE_SCRYPT_N = 2**13
    assert [m.id for m in check_backup_code_cost(None)] == ["amparo.W062"]
    settings.AMPARO_BACKUP_CODE_SCRYPT_N = 2**14
    assert check_backup_code_cost(None) == []


# The seed, sealed


def test_the_seed_is_stored_sealed_under_the_deployments_two_factor_key(supervisor):
    device = enrol(supervisor)
    seed = AuthenticatorApp.objects.get(pk=device.pk).seed

    stored = read_column(AuthenticatorApp, device.pk, "seed")

    assert len(seed) == two_factor_secrets.SEED_BYTES
    assert seed not in stored and seed.hex().encode() not in stored
    assert b32encode(seed) not in stored
    key = DataKey.objects.get(subject_id=two_factor_secrets.SUBJECT)
    assert stored[1:17] == key.id.bytes  # the envelope names the data key it was sealed with
    assert key.kek_id == keyring.provider().active_kek_id


def test_the_qr_code_gives_the_app_the_seed(supervisor):
    device = two_factor.pending_device(supervisor)

    uri = urlsplit(two_factor.provisioning_uri(device))

    params = parse_qs(uri.query)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == f"/Amparo:{supervisor.username}"
    assert b32decode(params["secret"][0]) == device.seed
    assert (params["digits"], params["period"], params["issuer"]) == (["6"], ["30"], ["Amparo"])
    assert two_factor.secret_groups(device).replace(" ", "") == params["secret"][0]


def test_a_sealed_seed_copied_to_another_users_app_opens_nowhere(client, supervisor, auditor):
    """A database writer who copies a known seed's ciphertext to another account gains
    nothing: the ciphertext is bound to its row."""
    mine, theirs = enrol(supervisor), enrol(auditor)
    write_column(AuthenticatorApp, theirs.pk, "seed", read_column(AuthenticatorApp, mine.pk, "seed"))

    with pytest.raises(DecryptionError):
        _ = AuthenticatorApp.objects.get(pk=theirs.pk).seed
    login(client, auditor)
    refused = verify(client, f"{hotp(mine.seed, int(time.time() // STEP)):06d}")
    assert refused.status_code == 500  # the integrity error page, recorded in the log
    assert b"integrity" in refused.content.lower()
    assert client.get(reverse("dashboard")).status_code == 302


def test_without_its_key_the_seed_opens_to_nothing_and_no_code_is_accepted(client, supervisor):
    device = enrol(supervisor)
    value = code(device)
    datakeys.destroy(subject_id=two_factor_secrets.SUBJECT)
    login(client, supervisor)

    assert verify(client, value).status_code == 400
    assert AuditEvent.objects.get(action="two_factor.fail").details["reason"] == "wrong_code"


def test_a_kek_rotation_rewraps_the_seeds_key_and_the_app_still_works(key_file, client,
                                                                       supervisor):
    device = enrol(supervisor)
    old_kek = keyring.provider().active_kek_id
    call_command("init_keys", new_kek=True, stdout=io.StringIO())
    call_command("rotate_kek", stdout=io.StringIO())
    data = json.loads(key_file.read_text())
    del data["keks"][old_kek]  # the old KEK retired: only the new one can open the seed
    keyring.write_key_file(key_file, data)
    keyring.reset()

    key = DataKey.objects.get(subject_id=two_factor_secrets.SUBJECT)
    assert key.kek_id == keyring.provider().active_kek_id != old_kek
    login(client, supervisor)
    assert verify(client, code(device)).status_code == 302


# Backup codes, hashed


def test_backup_codes_are_stored_as_salted_scrypt_hashes(supervisor):
    enrol(supervisor)

    stored = list(BackupCode.objects.filter(code_set__user=supervisor).values_list("hashed", flat=True))

    assert len(stored) == len(BACKUP)
    for hashed, value in zip(stored, BACKUP, strict=True):
        algorithm, n, salt, r, p, _digest = hashed.split("$")
        assert (algorithm, int(n), int(r), int(p)) == ("scrypt", 2**10, 8, 1)  # tests' cost
        assert value not in hashed and len(salt) >= 22
    assert len({h.split("$")[2] for h in stored}) == len(stored)  # a salt per code
    again = two_factor_secrets.hash_code(BACKUP[0])
    assert again != stored[0] and two_factor_secrets.code_matches(BACKUP[0], again)
    assert not two_factor_secrets.code_matches(BACKUP[0], stored[1])


def test_a_stored_hash_is_no_backup_code(client, supervisor):
    """What a dump shows is not a code that works."""
    enrol(supervisor)
    stored = BackupCode.objects.filter(code_set__user=supervisor).values_list("hashed", flat=True)[0]
    login(client, supervisor)

    assert verify(client, stored).status_code == 400
    assert verify(client, stored.split("$")[-1][:8]).status_code == 400
    assert BackupCode.objects.filter(code_set__user=supervisor).count() == len(BACKUP)


def test_a_hash_of_another_kind_matches_nothing(supervisor):
    enrol(supervisor)
    BackupCode.objects.filter(code_set__user=supervisor).update(hashed="aaaabbbb")  # a clear code

    assert not has_backup_code(supervisor, "aaaabbbb")


def test_an_older_cost_still_verifies_after_the_setting_changes(settings, client, supervisor):
    enrol(supervisor)  # hashed at 2**10
    settings.AMPARO_BACKUP_CODE_SCRYPT_N = 2**11
    login(client, supervisor)

    assert verify(client, BACKUP[1]).status_code == 302


# A dump of the database


def _enrol_through_the_pages(client: Client, user: User) -> tuple[bytes, list[str]]:
    """Set an app up as a user does; the seed as the page showed it, and the backup codes."""
    login(client, user)
    page = client.get(reverse("two_factor_enrol")).content.decode()
    secret = re.search(r'id="secret">([A-Z2-7 ]+)<', page).group(1)
    seed = b32decode(secret.replace(" ", ""))
    shown = client.post(reverse("two_factor_enrol"),
                        {"code": code_from_secret(secret), "password": "pw-for-tests-only"})
    codes = [a + b for a, b in re.findall(r"<li>([a-z2-7]{4}) ([a-z2-7]{4})</li>", shown.content.decode())]
    assert len(codes) == two_factor.BACKUP_CODES
    return seed, codes


def _needles(seed: bytes, codes: list[str]) -> dict[str, bytes]:
    secret = b32encode(seed)
    needles = {"seed (hex)": seed.hex().encode(), "seed (base32)": secret,
               "seed (base32, lower case)": secret.lower(), "seed (bytes)": seed,
               "seed (hex of the base32)": secret.hex().encode()}
    for value in codes:
        needles[f"backup code {value}"] = value.encode()
        needles[f"backup code {value} (upper case)"] = value.upper().encode()
        needles[f"backup code {value} (hex)"] = value.encode().hex().encode()
    return needles


def _assert_clean(dump: bytes, seed: bytes, codes: list[str], where: str) -> None:
    haystack = dump.lower()
    for name, needle in _needles(seed, codes).items():
        found = (needle in dump) if name == "seed (bytes)" else (needle.lower() in haystack)
        assert not found, f"{name} is in {where}"


def _positive_controls(dump: bytes, user: User, *, as_hex: bool) -> None:
    """The dump is real: it holds the sealed seed and the hashes (so the search could fail)."""
    app = AuthenticatorApp.objects.get(user=user)
    blob = read_column(AuthenticatorApp, app.pk, "seed")
    assert (blob.hex().encode() in dump.lower()) if as_hex else (blob in dump)
    for hashed in BackupCode.objects.filter(code_set__user=user).values_list("hashed", flat=True):
        assert hashed.encode() in dump


@pytest.mark.django_db(transaction=True)
def test_a_sqlite_database_file_gives_no_seed_and_no_backup_code(tmp_path, client, supervisor):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite file dump; the PostgreSQL dump has its own test")
    seed, codes = _enrol_through_the_pages(client, supervisor)
    copy = tmp_path / "copy.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(copy)
    connection.connection.backup(target)
    sql_dump = "\n".join(target.iterdump()).encode()
    target.close()
    file_bytes = copy.read_bytes()

    _positive_controls(file_bytes, supervisor, as_hex=False)
    _positive_controls(sql_dump, supervisor, as_hex=True)
    _assert_clean(file_bytes, seed, codes, "the SQLite database file")
    _assert_clean(sql_dump, seed, codes, "the SQL dump")


@pytest.mark.postgres
def test_a_pg_dump_gives_no_seed_and_no_backup_code(postgres, client, supervisor):
    seed, codes = _enrol_through_the_pages(client, supervisor)
    params = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": params.get("PASSWORD") or ""}
    command = ["pg_dump", "--no-owner", "--dbname", params["NAME"],
               "--host", params.get("HOST") or "127.0.0.1",
               "--port", str(params.get("PORT") or 5432),
               "--username", params.get("USER") or "postgres"]

    result = subprocess.run(command, capture_output=True, env=env, timeout=120, check=False)

    assert result.returncode == 0, result.stderr.decode()
    _positive_controls(result.stdout, supervisor, as_hex=True)
    _assert_clean(result.stdout, seed, codes, "pg_dump")
    # The page's seed and codes work (the search looked for the right values).
    client.post(reverse("logout"))
    login(client, supervisor)
    assert verify(client, codes[0]).status_code == 302
