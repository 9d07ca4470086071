"""Password policy: the offline list of breached passwords (searched on disk), the words of
Amparo's context, the passphrases the system makes, and their expiry."""

from __future__ import annotations

import datetime
import hashlib
import io
import secrets
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from faker import Faker

from audit.models import AuditEvent
from cases import passwords, services
from cases.models import User

LINES = 100_000


def sha1(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()


class CountingFile(io.FileIO):
    """A file that counts the bytes read from disk."""

    read_bytes = 0

    def readinto(self, buffer):  # type: ignore[override]
        n = super().readinto(buffer)
        CountingFile.read_bytes += n or 0
        return n


@pytest.fixture(scope="module")
def breach_list(tmp_path_factory) -> tuple[Path, list[str]]:
    """A list in the published format (CRLF lines "HASH:COUNT", sorted) of 100,000 lines: the
    SHA-1 of generated passphrases, with the passwords whose hashes are in it."""
    fake = Faker(["es_MX", "es", "en"])
    leaked = [f"{fake.word()}-{fake.word()}-{secrets.token_hex(4)}" for _ in range(2_000)]
    hashes = {sha1(p) for p in leaked}
    while len(hashes) < LINES:
        hashes.add(secrets.token_hex(20).upper())
    path = tmp_path_factory.mktemp("breach") / "pwned-passwords-sha1-ordered-by-hash.txt"
    with path.open("w", newline="") as f:
        for h in sorted(hashes):
            f.write(f"{h}:{secrets.randbelow(5000) + 1}\r\n")
    return path, leaked


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_every_leaked_password_is_found_and_others_are_not(breach_list):
    path, leaked = breach_list

    assert all(passwords.in_hash_list(path, sha1(p)) for p in leaked[:300])
    assert not any(passwords.in_hash_list(path, sha1(f"not-leaked-{secrets.token_hex(8)}"))
                   for _ in range(300))


def test_the_first_and_last_lines_and_beyond_them(breach_list):
    path, _ = breach_list
    rows = lines_of(path)
    first, last = rows[0].split(":")[0], rows[-1].split(":")[0]

    assert passwords.in_hash_list(path, first) and passwords.in_hash_list(path, last)
    assert passwords.in_hash_list(path, first.lower())
    before, after = f"{int(first, 16) - 1:040X}", f"{int(last, 16) + 1:040X}"
    assert not passwords.in_hash_list(path, before) and not passwords.in_hash_list(path, after)
    # One step either side of a line in the middle (random hashes are never neighbours).
    middle = rows[LINES // 2].split(":")[0]
    assert passwords.in_hash_list(path, middle)
    assert not passwords.in_hash_list(path, f"{int(middle, 16) + 1:040X}")
    assert not passwords.in_hash_list(path, f"{int(middle, 16) - 1:040X}")


def test_the_search_reads_a_few_blocks_not_the_file(breach_list):
    path, leaked = breach_list
    CountingFile.read_bytes = 0

    with io.BufferedReader(CountingFile(path, "r")) as f:
        assert passwords.search_hash_list(f, sha1(leaked[7]))

    assert CountingFile.read_bytes < path.stat().st_size / 20  # ~4.5 MB file, a few dozen 8 KB reads


def test_malformed_lines_are_stepped_over(tmp_path, breach_list):
    path, leaked = breach_list
    rows = lines_of(path)
    junk = ["", "not a hash at all", rows[10][:20], "Z" * 40 + ":3", rows[20].split(":")[0] + "X:1",
            "   "]
    mixed = [*junk[:2]]
    for i, row in enumerate(rows):
        mixed.append(row.lower() if i % 7 == 0 else row)
        if i % 997 == 0:
            mixed.append(junk[i % len(junk)])
    mixed += junk[2:]
    damaged = tmp_path / "damaged.txt"
    damaged.write_text("\n".join(mixed) + "\n")

    assert all(passwords.in_hash_list(damaged, sha1(p)) for p in leaked[:200])
    assert passwords.in_hash_list(damaged, rows[0].split(":")[0])
    assert passwords.in_hash_list(damaged, rows[-1].split(":")[0])
    assert not passwords.in_hash_list(damaged, "Z" * 40)
    assert not passwords.in_hash_list(damaged, sha1("surely-not-in-the-list-2026"))


def test_an_empty_or_junk_only_list_holds_nothing(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n\nworld\n")

    assert not passwords.in_hash_list(empty, sha1("x"))
    assert not passwords.in_hash_list(junk, sha1("x"))


def test_the_validator_refuses_a_leaked_password_where_staff_choose_one(client, settings,
                                                                          breach_list, caseworker):
    path, leaked = breach_list
    settings.AMPARO_BREACHED_PASSWORDS_FILE = str(path)
    client.force_login(caseworker)

    response = client.post(reverse("password_change"), {
        "old_password": "pw-for-tests-only", "new_password1": leaked[3],
        "new_password2": leaked[3]})

    assert response.status_code == 200
    assert "leaked passwords" in response.content.decode()
    caseworker.refresh_from_db()
    assert caseworker.check_password("pw-for-tests-only")
    validate_password("un-gato-pardo-en-la-azotea", caseworker)  # one not in the list passes


def test_a_list_that_cannot_be_read_lets_no_password_through(settings, tmp_path, caseworker):
    settings.AMPARO_BREACHED_PASSWORDS_FILE = str(tmp_path / "moved-away.txt")

    with pytest.raises(ValidationError) as refused:
        validate_password("un-gato-pardo-en-la-azotea", caseworker)

    assert refused.value.error_list[0].code == "password_list_unreadable"
    out = io.StringIO()
    with pytest.raises(SystemCheckError, match=r"amparo\.E063"):
        call_command("check", stdout=out, stderr=out)


def test_without_a_list_the_check_is_skipped_and_deploy_checks_warn(db, settings):
    from cases.checks import check_breached_passwords_configured

    settings.AMPARO_BREACHED_PASSWORDS_FILE = ""
    validate_password("un-gato-pardo-en-la-azotea")

    assert [w.id for w in check_breached_passwords_configured(None)] == ["amparo.W063"]
    settings.AMPARO_BREACHED_PASSWORDS_FILE = "/srv/pwned.txt"
    assert check_breached_passwords_configured(None) == []


# --- Words of the context ---------------------------------------------------------------------


@pytest.mark.parametrize("password", [
    "Amparo2026!!!!", "GUATEMALA-2026", "gu@t3m@l@12345", "Diciembre.2025.", "OTOÑO-otoño-22",
    "1nv1erno-2024!", "ju1io-julio-2024", "$alvador$alvador", "ElSalvador#2025", "Belmopan2026!!",
    "bz-bmp-bz-bmp-2026", "Refugees Department 1", "primavera-verano", "Acnur-ACNUR-99",
    "Contraseña.2026",
])
def test_a_password_made_mostly_of_a_context_word_is_refused(office, password):
    with pytest.raises(ValidationError) as refused:
        passwords.ContextWordsValidator().validate(password)

    assert refused.value.code == "password_context_word"


def test_the_account_s_own_names_and_email_count(office):
    user = User(username="lucia.caal", first_name="Lucía", last_name="Caal Tzul",
                email="lcaal@refugio-ejemplo.org")
    validator = passwords.ContextWordsValidator()

    for password in ("Lucia.Caal.1984", "TZUL-tzul-2024", "lcaal-lcaal-77", "Lucía!Lucía!2024"):
        with pytest.raises(ValidationError):
            validator.validate(password, user)
    validator.validate("Lucia.Caal.1984")  # someone else may (the other validators still judge)


@pytest.mark.parametrize("password", [
    "mi-gato-come-tortillas-en-mayo", "correct horse battery staple", "la-lluvia-de-honduras-cae",
    "una-clave-larga-de-prueba", "pw-for-tests-only",
])
def test_a_context_word_among_words_of_one_s_own_is_allowed(office, password):
    passwords.ContextWordsValidator().validate(password)


def test_a_new_office_s_name_counts_at_once(make_user):
    from cases.models import Office

    Office.objects.create(code="MX-TAP", name="Oficina Tapachula", country="MX", city="Tapachula")

    with pytest.raises(ValidationError):
        passwords.ContextWordsValidator().validate("T4p4chul4-2026!")


# --- Passwords the system makes ---------------------------------------------------------------


def test_passphrases_are_random_and_pass_every_validator(caseworker):
    made = {passwords.generate_passphrase(caseworker) for _ in range(30)}

    assert len(made) == 30
    for phrase in made:
        validate_password(phrase, caseworker)
        assert len(phrase.split("-")) == passwords.PASSPHRASE_WORDS + 1 and phrase.isascii()


def test_a_passphrase_also_avoids_the_breach_list(settings, tmp_path, caseworker):
    listed = tmp_path / "list.txt"
    listed.write_text(f"{'0' * 40}:1\n")
    settings.AMPARO_BREACHED_PASSWORDS_FILE = str(listed)

    validate_password(passwords.generate_passphrase(caseworker), caseworker)
    settings.AMPARO_BREACHED_PASSWORDS_FILE = str(tmp_path / "gone.txt")
    with pytest.raises(ValidationError):
        passwords.generate_passphrase(caseworker)  # fails closed too, rather than loop


# --- Expiry -----------------------------------------------------------------------------------


def set_back(user: User, hours: float) -> None:
    User.objects.filter(pk=user.pk).update(
        temporary_password_set_at=timezone.now() - datetime.timedelta(hours=hours))


def log_in(client: Client, user: User, password: str):
    return client.post(reverse("login"), {"username": user.username, "password": password})


def test_a_temporary_password_works_until_it_expires(client, office_admin, caseworker2):
    temporary = services.reset_staff_password(by=office_admin, user=caseworker2)
    set_back(caseworker2, 71)

    assert log_in(client, caseworker2, temporary).status_code == 302
    client.logout()
    set_back(caseworker2, 72.1)

    refused = log_in(client, caseworker2, temporary)

    assert refused.status_code == 200
    assert "Your temporary password has expired" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="login.temporary_expired")
    assert (event.outcome, event.object_id) == ("denied", str(caseworker2.pk))
    # A wrong password is told as wrong, not as expired.
    wrong = log_in(client, caseworker2, "not-the-temporary-one")
    assert "expired" not in wrong.content.decode()
    assert AuditEvent.objects.filter(action="login.temporary_expired").count() == 1


def test_a_session_opened_with_it_ends_when_it_expires(client, office_admin, caseworker2):
    temporary = services.reset_staff_password(by=office_admin, user=caseworker2)
    assert log_in(client, caseworker2, temporary).status_code == 302
    assert client.get(reverse("password_change")).status_code == 200

    set_back(caseworker2, 80)
    response = client.get(reverse("password_change"))

    assert response.url == reverse("login")
    assert client.get(reverse("dashboard")).url.startswith(reverse("login"))
    assert AuditEvent.objects.filter(action="login.temporary_expired").count() == 1


def test_the_hours_are_configurable_and_a_new_password_starts_again(client, settings, office_admin,
                                                                    caseworker2):
    settings.AMPARO_TEMPORARY_PASSWORD_HOURS = 2
    temporary = services.reset_staff_password(by=office_admin, user=caseworker2)
    set_back(caseworker2, 3)
    assert log_in(client, caseworker2, temporary).status_code == 200

    again = services.reset_staff_password(by=office_admin, user=caseworker2)

    assert log_in(client, caseworker2, again).status_code == 302


def test_a_password_of_one_s_own_never_expires(client, office_admin, caseworker2):
    temporary = services.reset_staff_password(by=office_admin, user=caseworker2)
    log_in(client, caseworker2, temporary)
    client.post(reverse("password_change"), {"old_password": temporary,
                                             "new_password1": "mi-frase-propia-y-larga",
                                             "new_password2": "mi-frase-propia-y-larga"})
    client.logout()
    User.objects.filter(pk=caseworker2.pk).update(
        last_login=timezone.now() - datetime.timedelta(days=400))

    assert log_in(client, caseworker2, "mi-frase-propia-y-larga").status_code == 302
    assert User.objects.get(pk=caseworker2.pk).temporary_password_set_at is None


def test_the_account_page_says_until_when(client, office_admin, caseworker2):
    services.reset_staff_password(by=office_admin, user=caseworker2)
    client.force_login(office_admin)
    url = reverse("staff_account", args=[caseworker2.pk])

    assert 'id="temporary-expires"' in client.get(url).content.decode()
    set_back(caseworker2, 100)
    assert "expired" in client.get(url).content.decode()
