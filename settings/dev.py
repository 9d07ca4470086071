"""Quick start: SQLite, eager Celery, the development key file under var/."""

import os
import sys

from settings.base import *  # noqa: F403
from settings.base import VAR_DIR
from settings.runserver_guard import DEV_SECRET_KEY, public_runserver

# The demo shows the styled error pages a user would see; AMPARO_DEBUG=1 gives developers
# Django's debug pages instead.
DEBUG = os.environ.get("AMPARO_DEBUG", "") == "1"
# Without DEBUG, runserver serves no static files: WhiteNoise serves them from the source
# folders, as they change, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
SECRET_KEY = SECRET_KEY or DEV_SECRET_KEY  # noqa: F405
# The public key above serves this computer only (settings/runserver_guard.py).
if refusal := public_runserver(sys.argv, SECRET_KEY):
    sys.exit(refusal)
# Emails are printed on the console unless AMPARO_EMAIL_BACKEND says otherwise.
EMAIL_BACKEND = os.environ.get("AMPARO_EMAIL_BACKEND",
                               "django.core.mail.backends.console.EmailBackend")
# The quick start's demo data (make demo); settings.prod leaves them off.
AMPARO_DEMO_COMMANDS = True
ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost"]  # noqa: F405
(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)  # WhiteNoise wants it to exist
# Without a broker nothing signs checkpoints between two `audit_checkpoint` runs (no beat), so
# their age is not held against the quick start unless AMPARO_AUDIT_CHECKPOINT_MAX_AGE says so.
if not CELERY_BROKER_URL and "AMPARO_AUDIT_CHECKPOINT_MAX_AGE" not in os.environ:  # noqa: F405
    AMPARO_AUDIT_CHECKPOINT_MAX_AGE = 0
