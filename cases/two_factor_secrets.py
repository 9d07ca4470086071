"""Second-factor secrets at rest (docs/architecture.md#second-factor-secrets): the key that
seals authenticator apps' seeds, the accepted window of TOTP steps, backup codes as salted
scrypt hashes. No models here: cases/models/two_factor.py uses it, and so does the data
migration that sealed what django-otp had kept in clear."""

from __future__ import annotations

import hmac
import secrets
import time
import uuid
from base64 import b32encode

from django.conf import settings
from django.contrib.auth.hashers import ScryptPasswordHasher
from django_otp.oath import hotp

# The subject of the data key that seals every app's seed: a deployment key, wrapped by the
# KEK like the people's keys (so a database dump alone cannot open it, and 'rotate_kek'
# re-wraps it). A version-5 UUID, which no person's random id can be.
SUBJECT = uuid.uuid5(uuid.UUID("0b5d2b8e-7a3c-4f0e-9d61-2f4c1e8a7b30"), "two-factor-seeds")
SEED_BYTES = 20  # 160 bits, as RFC 4226 recommends for HMAC-SHA1
DEFAULT_TOLERANCE = 1  # steps back accepted (AMPARO_TOTP_TOLERANCE)
CODE_BYTES = 5  # a backup code: 40 random bits, eight base32 characters
DEFAULT_SCRYPT_N = 2**14  # AMPARO_BACKUP_CODE_SCRYPT_N
_SCRYPT_R, _SCRYPT_P = 8, 1


def new_seed() -> bytes:
    return secrets.token_bytes(SEED_BYTES)


def tolerance() -> int:
    """How many 30-second steps before the current one are accepted: 0 or 1."""
    return int(getattr(settings, "AMPARO_TOTP_TOLERANCE", DEFAULT_TOLERANCE))


def matching_step(seed: bytes | None, token: str, *, step: int, t0: int, digits: int,
                  after: int, now: float | None = None) -> int | None:
    """The time step whose code `token` is, if it is the current one or within the tolerance
    before it, and later than `after` (the last step used: a code is accepted once). Every
    candidate is compared in constant time; never a step ahead of the server's clock."""
    if seed is None or not (token.isdigit() and len(token) == digits):
        return None  # None: the seed's key was destroyed
    current = int(((time.time() if now is None else now) - t0) // step)
    found = None
    for t in range(current - tolerance(), current + 1):
        expected = f"{hotp(seed, t, digits):0{digits}d}"
        if hmac.compare_digest(expected.encode(), token.encode()) and t > after:
            found = t
    return found


def new_code() -> str:
    return b32encode(secrets.token_bytes(CODE_BYTES)).decode().lower()


def _hasher() -> ScryptPasswordHasher:
    hasher = ScryptPasswordHasher()
    hasher.block_size, hasher.parallelism = _SCRYPT_R, _SCRYPT_P
    hasher.work_factor = int(getattr(settings, "AMPARO_BACKUP_CODE_SCRYPT_N", DEFAULT_SCRYPT_N))
    return hasher


def hash_code(code: str) -> str:
    """A backup code as stored: scrypt with its own random salt, in Django's hash format (the
    cost is in it, so a later AMPARO_BACKUP_CODE_SCRYPT_N does not break older codes)."""
    hasher = _hasher()
    return hasher.encode(code, hasher.salt())


def code_matches(code: str, hashed: str) -> bool:
    """Is `code` the one hashed? Django compares the digests in constant time."""
    if not hashed.startswith(f"{ScryptPasswordHasher.algorithm}$"):
        return False
    return bool(_hasher().verify(code, hashed))
