"""Tests: SQLite unless DATABASE_URL names PostgreSQL; keys made on first use."""

from settings.base import *  # noqa: F403
from settings.base import VAR_DIR

SECRET_KEY = "test-only-key"  # noqa: S105
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AMPARO_KEY_FILE = VAR_DIR / "test" / "keys.json"
AMPARO_CREATE_KEY_FILE = True
AMPARO_FILE_ROOT = VAR_DIR / "test" / "files"
AMPARO_AUDIT_KEY_FILE = VAR_DIR / "test" / "audit-signing.pem"
AMPARO_AUDIT_SINK = VAR_DIR / "test" / "audit-checkpoints"
# Tests empty tables with TRUNCATE between tests; UPDATE and DELETE stay refused.
AMPARO_AUDIT_ALLOW_TRUNCATE = True
# Eager unless a broker is configured (the real-broker test starts a worker with one).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL  # noqa: F405
LANGUAGE_CODE = "en"
