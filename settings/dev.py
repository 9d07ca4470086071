"""Quick start: SQLite, eager Celery, the development key file under var/."""

from settings.base import *  # noqa: F403
from settings.base import VAR_DIR

DEBUG = True
SECRET_KEY = SECRET_KEY or "dev-only-insecure-key-do-not-use-in-production"  # noqa: F405
ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost"]  # noqa: F405
(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)  # WhiteNoise wants it to exist
