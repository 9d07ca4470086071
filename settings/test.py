"""Tests: SQLite unless DATABASE_URL names PostgreSQL; keys made on first use."""

import os
from pathlib import Path

from settings.base import *  # noqa: F403
from settings.base import VAR_DIR

SECRET_KEY = "test-only-key"  # noqa: S105
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Cheaper backup-code hashes (still scrypt, salted per code); the cost is in each hash.
AMPARO_BACKUP_CODE_SCRYPT_N = 2**10
AMPARO_KEY_FILE = VAR_DIR / "test" / "keys.json"
AMPARO_CREATE_KEY_FILE = True
AMPARO_DEMO_COMMANDS = True
AMPARO_FILE_ROOT = VAR_DIR / "test" / "files"
AMPARO_AUDIT_KEY_FILE = VAR_DIR / "test" / "audit-signing.pem"
AMPARO_AUDIT_SINK = VAR_DIR / "test" / "audit-checkpoints"
# Tests empty tables with TRUNCATE between tests; UPDATE and DELETE stay refused.
AMPARO_AUDIT_ALLOW_TRUNCATE = True
# Eager unless a broker is configured (the real-broker test starts a worker with one).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL  # noqa: F405
LANGUAGE_CODE = "en"

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A test database in a file, not in memory: Django shares one in-memory connection
    # between the test and every request thread of the live server, and two threads using
    # it at once leave it half in a transaction. A file gives each thread its own
    # connection, as in a real deployment. tmpfs where there is one; durability does not
    # matter here.
    _shm = Path("/dev/shm")  # noqa: S108  (a file per test run, named by its process)
    _dir = _shm if _shm.is_dir() and os.access(_shm, os.W_OK) else VAR_DIR / "test"
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(_dir / f"amparo-test-{os.getpid()}.sqlite3")}
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA synchronous=OFF"  # noqa: F405
else:
    # The same on PostgreSQL: a commit does not wait for its WAL flush (a crash of the test
    # server may lose the last commits; nothing else changes, locks and triggers included).
    _pg = DATABASES["default"]["OPTIONS"]  # noqa: F405
    _pg["options"] = f"{_pg.get('options', '')} -c synchronous_commit=off".strip()

# Budgets far above what any test sends (the fuzz test walks every page); the tests of the
# limits set their own (tests/cases/test_ratelimits.py).
AMPARO_RATELIMIT_SEARCHES = AMPARO_RATELIMIT_VIEWS = AMPARO_RATELIMIT_EXPORTS = "1000000/600"
