"""Password policy beyond Django's validators (docs/architecture.md#passwords): breached
passwords from an offline list, words of Amparo's own context, and the passphrases the system
gives as first and temporary passwords.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

# --- Breached passwords: a sorted file of SHA-1 hashes, searched on disk -------------------

HASH_LENGTH = 40
_HEX = frozenset("0123456789ABCDEF")


def _hash_of(line: bytes) -> str | None:
    """The hash a line of the list starts with ("HASH:COUNT"), upper case; None for a line that
    is not one (blank, cut short, not hexadecimal): the search steps over it."""
    head = line[:HASH_LENGTH].decode("ascii", "replace").upper()
    if len(head) < HASH_LENGTH or not _HEX.issuperset(head):
        return None
    rest = line[HASH_LENGTH:HASH_LENGTH + 1]
    if rest not in (b":", b"\n", b"\r", b""):
        return None
    return head


def _first_hash_from(f: IO[bytes], offset: int) -> str | None:
    """The hash of the first well-formed line that starts at `offset` or after; None at the end."""
    if offset > 0:
        f.seek(offset - 1)
        f.readline()  # the rest of the line `offset` falls in (or just its newline)
    else:
        f.seek(0)
    while line := f.readline():
        found = _hash_of(line)
        if found is not None:
            return found
    return None


def search_hash_list(f: IO[bytes], sha1_hex: str) -> bool:
    """Whether the open list `f` (one "HASH:COUNT" line per hash, sorted by hash, as "Have I
    Been Pwned" publishes it) holds `sha1_hex`. A binary search over byte offsets: about
    log2(size) seeks of a line or two each, never the file in memory (the full list is ~40 GB)."""
    wanted = sha1_hex.upper()
    lo, hi = 0, f.seek(0, 2)
    while lo < hi:  # the smallest offset whose next well-formed line's hash is >= the one wanted
        mid = (lo + hi) // 2
        found = _first_hash_from(f, mid)
        if found is None or found >= wanted:
            hi = mid
        else:
            lo = mid + 1
    return _first_hash_from(f, lo) == wanted


def in_hash_list(path: Path, sha1_hex: str) -> bool:
    with path.open("rb") as f:
        return search_hash_list(f, sha1_hex)


def sha1_of(password: str) -> str:
    # SHA-1 because that is how the published list is keyed; nothing is stored with it.
    return hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


class BreachedPasswordValidator:
    """Refuses a password found in the operator's offline list of breached passwords
    (AMPARO_BREACHED_PASSWORDS_FILE). Without a list the check is skipped; `manage.py check
    --deploy` warns of it (amparo.W060)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path

    def _file(self) -> Path | None:
        configured = self.path or getattr(settings, "AMPARO_BREACHED_PASSWORDS_FILE", "")
        return Path(configured) if configured else None

    def validate(self, password: str, user: Any = None) -> None:
        path = self._file()
        if path is None:
            return
        try:
            found = in_hash_list(path, sha1_of(password))
        except OSError:
            # Fail closed: a list that cannot be read lets no password through unchecked.
            raise ValidationError(
                _("Passwords cannot be checked right now; ask the system administrator."),
                code="password_list_unreadable") from None
        if found:
            raise ValidationError(
                _("This password appears in a published list of leaked passwords; choose "
                  "another one."), code="password_breached")

    def get_help_text(self) -> str:
        return _("Your password must not appear in a list of leaked passwords.")


# --- Words of Amparo's context ----------------------------------------------------------------

# Amparo's own words, the months and seasons in both office languages, and the countries where
# the offices work and most people come from (settings.COUNTRIES_FIRST). Offices, roles and the
# account's own names are added when a password is checked. Why this list:
# docs/architecture.md#passwords.
CONTEXT_WORDS = (
    "amparo", "acnur", "unhcr", "comar", "asilo", "refugio", "refugiado", "password",
    "contrasena", "clave",
    "january", "february", "march", "april", "june", "july", "august", "september", "october",
    "november", "december",
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
    "setiembre", "octubre", "noviembre", "diciembre",
    "spring", "summer", "autumn", "winter", "primavera", "verano", "otono", "invierno",
    "mexico", "guatemala", "honduras", "salvador", "nicaragua", "costarica", "panama",
    "belize", "belice", "colombia", "venezuela", "cuba", "haiti",
)
MIN_WORD = 4  # shorter pieces of names and codes match too much of anything
_LEET = str.maketrans({"0": "o", "3": "e", "4": "a", "@": "a", "$": "s", "5": "s", "7": "t"})


def fold(text: str) -> str:
    """Lower case, without accents: "Contraseña" -> "contrasena"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def readings(password: str) -> list[str]:
    """The folded password with the usual letter-for-symbol swaps undone ("1" read both ways),
    as typed and without separators."""
    plain = fold(password).translate(_LEET)
    ways = [plain.replace("1", "i"), plain.replace("1", "l")]
    # And without separators, where "bz-bmp" and "costa rica" are written as the words are kept.
    return [*ways, *(re.sub(r"[^a-z0-9]", "", way) for way in ways)]


def _pieces(values: Iterable[str]) -> set[str]:
    found = set()
    for value in values:
        folded = fold(value or "")
        joined = re.sub(r"[^a-z0-9]", "", folded)
        if len(joined) >= MIN_WORD:
            found.add(joined)  # "Costa Rica" as "costarica", "TAP-01" as "tap01"
        found |= {p for p in re.split(r"[^a-z0-9]+", folded) if len(p) >= MIN_WORD}
    return found


def context_words(user: Any = None) -> set[str]:
    """Every word refused as the main part of this user's password: the fixed list, the
    offices' names and codes, the role names, and the account's own names and email."""
    from cases.models import Office, Role

    words = set(CONTEXT_WORDS)
    for name, code, city in Office.objects.values_list("name", "code", "city"):
        words |= _pieces([name, code, city])
    words |= _pieces([*Role.values, *(str(label) for label in Role.labels)])
    if user is not None:
        email = getattr(user, "email", "") or ""
        words |= _pieces([getattr(user, "username", "") or "", getattr(user, "first_name", ""),
                          getattr(user, "last_name", ""), *email.split("@")])
    return words


def dominant_words(password: str, words: Iterable[str]) -> list[str]:
    """The context words that make up the password's main part: once they are taken out,
    fewer letters are left than they covered (what is left is digits, symbols or less)."""
    candidates = sorted(set(words), key=len, reverse=True)
    for reading in readings(password):
        covered = [False] * len(reading)
        hits = []
        for word in candidates:
            for match in re.finditer(re.escape(word), reading):
                hits.append(word)
                for i in range(match.start(), match.end()):
                    covered[i] = True
        letters = [covered[i] for i, c in enumerate(reading) if c.isalpha()]
        inside = sum(letters)
        if hits and inside >= len(letters) - inside:
            return sorted(set(hits))
    return []


class ContextWordsValidator:
    """Refuses a password made mostly of words anyone who knows the office would try first
    (V6.1.2, V6.2.11), compared without case or accents and with 0, 1, 3, @ and $ read as
    letters."""

    def validate(self, password: str, user: Any = None) -> None:
        if dominant_words(password, context_words(user)):
            raise ValidationError(
                _("This password is mostly made of a word that is easy to guess here (the "
                  "product, an office, a country, a month or season, or your own name); add "
                  "words of your own."), code="password_context_word")

    def get_help_text(self) -> str:
        return _("Your password must not be made mostly of the product's name, an office, a "
                 "country, a month or season, or your own name.")


# --- Passwords the system gives: first and temporary ------------------------------------------

PASSPHRASE_WORDS = 5


def _word_list() -> list[str]:
    # Faker's Spanish word list: words the staff read and dictate easily (about 800; five
    # words and a number are about 55 bits), without accents so that any keyboard types them.
    from faker.providers.lorem.es_ES import Provider

    words = {fold(w) for w in Provider.word_list if w.isalpha() and 4 <= len(w) <= 8}
    return sorted(w for w in words if w.isascii() and w not in CONTEXT_WORDS)


def generate_passphrase(user: Any = None) -> str:
    """A random passphrase that passes every password validator for `user`, such as
    "puerta-blanco-nadie-vuelta-campo-47"."""
    from django.contrib.auth.password_validation import validate_password

    words = _word_list()
    refused = ValidationError("")
    for _attempt in range(20):  # a refusal is rare; twenty in a row is a list that cannot be read
        phrase = "-".join([*(secrets.choice(words) for _ in range(PASSPHRASE_WORDS)),
                           f"{secrets.randbelow(90) + 10}"])
        try:
            validate_password(phrase, user)
        except ValidationError as exc:
            refused = exc
            continue
        return phrase
    raise refused


def temporary_expires(set_at: datetime.datetime | None) -> datetime.datetime | None:
    if set_at is None:
        return None
    return set_at + datetime.timedelta(hours=settings.AMPARO_TEMPORARY_PASSWORD_HOURS)


def temporary_expired(user: Any) -> bool:
    """A password someone else set that was not replaced within AMPARO_TEMPORARY_PASSWORD_HOURS."""
    if not getattr(user, "must_change_password", False):
        return False
    ends = temporary_expires(getattr(user, "temporary_password_set_at", None))
    return ends is not None and timezone.now() >= ends


def expired_message() -> str:
    return _("Your temporary password has expired. Ask your office administrator for a new one.")


def refuse_expired(user: Any) -> None:
    """Record a login refused, or a session ended, for an expired temporary password."""
    from cases import events

    ends = temporary_expires(user.temporary_password_set_at)
    events.emit("login.temporary_expired", actor=user, obj=user, outcome="denied",
                expired=ends.isoformat(timespec="minutes") if ends else "")
