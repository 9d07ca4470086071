"""Blind indexes: keyed, truncated HMACs that find candidates without plaintext.

Every index has its own key, derived with HKDF from the index root key. Outputs are cut to
a number of bits chosen from the planned population (AMPARO_PLANNED_PEOPLE) so that every
bucket is expected to hold several distinct values (AMPARO_INDEX_BUCKET_VALUES): a dump does
not tell one name, document or date from its bucket's others. A match is only a candidate,
confirmed after decryption. The arithmetic: docs/architecture.md#blind-index-buckets.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import math
import re
import unicodedata
from functools import cache

import jellyfish
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from cases.crypto import keyring

KINDS = ("name", "phonetic", "doc", "dob")
# Days in a hundred years: the dates of birth a population can have.
BIRTH_DATES = 36_500


def distinct_values(kind: str, people: int) -> int:
    """Expected distinct values of an index among `people` people.

    Name tokens grow with the square root of the population (Heaps' law, 50 * sqrt(n):
    about 50,000 at a million people; generated Spanish and English names give 2,550 at
    2,000 people); sound keys join about half of them; each person has about one document
    number of their own; dates of birth are drawn from a hundred years of days."""
    people = max(people, 1)
    if kind == "name":
        return math.ceil(50 * math.sqrt(people))
    if kind == "phonetic":
        return math.ceil(25 * math.sqrt(people))
    if kind == "doc":
        return people
    if kind == "dob":
        return math.ceil(BIRTH_DATES * -math.expm1(-people / BIRTH_DATES))
    raise ValueError(f"unknown index kind {kind!r}")


def plan_bits(kind: str, people: int, per_bucket: int) -> int:
    """The most bits that still leave `per_bucket` distinct values per bucket (at least 1)."""
    return max(1, math.floor(math.log2(distinct_values(kind, people) / per_bucket)))


def planned_bits() -> dict[str, int]:
    people, per_bucket = settings.AMPARO_PLANNED_PEOPLE, settings.AMPARO_INDEX_BUCKET_VALUES
    return {kind: plan_bits(kind, people, per_bucket) for kind in KINDS}


def bits(kind: str, generation: int | None = None) -> int:
    """The bits of an index in a key generation: frozen in the key file, else planned."""
    if generation is not None and (frozen := keyring.provider().index_bits(generation)):
        return frozen[kind]
    return plan_bits(kind, settings.AMPARO_PLANNED_PEOPLE, settings.AMPARO_INDEX_BUCKET_VALUES)


def active_generation() -> int:
    return keyring.provider().active_index


def values_per_bucket(kind: str, people: int, kind_bits: int) -> float:
    return distinct_values(kind, people) / (1 << kind_bits)

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


@cache
def index_key(kind: str, generation: int) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"amparo-bidx-v1:{kind}".encode()
    ).derive(keyring.provider().index_root_key(generation))


def bidx(kind: str, value: str, generation: int | None = None) -> int:
    """The index value in a key generation (default: the active one)."""
    generation = active_generation() if generation is None else generation
    digest = hmac.new(index_key(kind, generation), value.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - bits(kind, generation))


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
    *, names: list[str], documents: list[str], date_of_birth: datetime.date | None,
    generation: int | None = None,
) -> set[tuple[str, int]]:
    """Every (kind, value) a person is findable by."""
    g = active_generation() if generation is None else generation
    out: set[tuple[str, int]] = set()
    for token in name_tokens(*names):
        out.add(("name", bidx("name", token, g)))
        out.add(("phonetic", bidx("phonetic", phonetic(token), g)))
    for number in documents:
        if normalize_document(number):
            out.add(("doc", bidx("doc", normalize_document(number), g)))
    if date_of_birth:
        out.add(("dob", bidx("dob", date_of_birth.isoformat(), g)))
    return out


def fingerprint(
    *, given_names: str, family_names: str, date_of_birth: datetime.date | None, document: str
) -> str:
    """Full-length keyed hash of who someone is: lets an import recognise its own rows."""
    parts = [fold(given_names), fold(family_names), date_of_birth.isoformat() if date_of_birth else ""]
    parts.append(normalize_document(document))
    key = index_key("fingerprint", active_generation())
    return hmac.new(key, "|".join(parts).encode(), hashlib.sha256).hexdigest()
