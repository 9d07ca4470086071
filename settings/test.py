"""Tests: SQLite unless DATABASE_URL names PostgreSQL; keys made on first use."""

from settings.base import *  # noqa: F403
from settings.base import VAR_DIR

SECRET_KEY = "test-only-key"  # noqa: S105
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AMPARO_KEY_FILE = VAR_DIR / "test" / "keys.json"
AMPARO_CREATE_KEY_FILE = True
AMPARO_FILE_ROOT = VAR_DIR / "test" / "files"
CELERY_TASK_ALWAYS_EAGER = True
LANGUAGE_CODE = "en"
