"""Blind indexes: keyed, truncated HMACs that find candidates without plaintext.

Every index has its own key, derived with HKDF from the index root key. Outputs are cut to
a planned number of bits so that equal values collide with some unrelated ones: a match is
only a candidate, confirmed after decryption. At one million people a 32-bit index gives
about one false candidate per 4,000 look-ups; dates of birth (a few tens of thousands of
distinct values) get 16 bits so that each bucket holds several real dates.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import unicodedata
from functools import cache

import jellyfish
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cases.crypto import keyring

BITS = {"name": 32, "phonetic": 24, "doc": 32, "dob": 16}

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


@cache
def index_key(kind: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"amparo-bidx-v1:{kind}".encode()
    ).derive(keyring.provider().index_root_key())


def bidx(kind: str, value: str) -> int:
    digest = hmac.new(index_key(kind), value.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - BITS[kind])


def fold(text: str) -> str:
    """Lower-case, strip diacritics and punctuation: 'Núñez-Peña' -> 'nunez pena'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", plain).strip()


def name_tokens(*names: str) -> set[str]:
    return {t for name in names if name for t in fold(name).split() if len(t) > 1}


_SPANISH = [
    (re.compile(r"ll"), "y"),
    (re.compile(r"^h"), ""),
    (re.compile(r"(?<=[^cspt])h"), ""),
    (re.compile(r"v"), "b"),
    (re.compile(r"z"), "s"),
    (re.compile(r"c(?=[ei])"), "s"),
    (re.compile(r"qu(?=[ei])"), "k"),
    (re.compile(r"g(?=[ei])"), "j"),
    (re.compile(r"gu(?=[ei])"), "g"),
    (re.compile(r"^x(?=[aeiou])"), "j"),
    (re.compile(r"y$"), "i"),
]


def phonetic(token: str) -> str:
    """A sound key that joins Spanish and English spellings (Gonzalez/Gonsales, Yanet/Llanet)."""
    t = fold(token).replace(" ", "")
    for pattern, repl in _SPANISH:
        t = pattern.sub(repl, t)
    return jellyfish.metaphone(t) or t


def normalize_document(number: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", unicodedata.normalize("NFKD", number).upper())


def entries(
    *, names: list[str], documents: list[str], date_of_birth: datetime.date | None
) -> set[tuple[str, int]]:
    """Every (kind, value) a person is findable by."""
    out: set[tuple[str, int]] = set()
    for token in name_tokens(*names):
        out.add(("name", bidx("name", token)))
        out.add(("phonetic", bidx("phonetic", phonetic(token))))
    for number in documents:
        if normalize_document(number):
            out.add(("doc", bidx("doc", normalize_document(number))))
    if date_of_birth:
        out.add(("dob", bidx("dob", date_of_birth.isoformat())))
    return out


def fingerprint(
    *, given_names: str, family_names: str, date_of_birth: datetime.date | None, document: str
) -> str:
    """Full-length keyed hash of who someone is: lets an import recognise its own rows."""
    parts = [fold(given_names), fold(family_names), date_of_birth.isoformat() if date_of_birth else ""]
    parts.append(normalize_document(document))
    return hmac.new(index_key("fingerprint"), "|".join(parts).encode(), hashlib.sha256).hexdigest()
