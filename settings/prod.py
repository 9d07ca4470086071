"""Production: every secret and location from the environment."""

import os

from django.core.exceptions import ImproperlyConfigured

from settings.base import *  # noqa: F403

if len(SECRET_KEY) < 50:  # noqa: F405
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY to 50 or more random characters.")
if not ALLOWED_HOSTS:  # noqa: F405
    raise ImproperlyConfigured("Set ALLOWED_HOSTS to the host names this server answers to.")
if "DATABASE_URL" not in os.environ:
    raise ImproperlyConfigured("Set DATABASE_URL, e.g. postgres://amparo@db/amparo.")

STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}
SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
# Load balancers probe backends over plain HTTP: the health endpoints answer there too.
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Never the demo commands: their accounts' password is in the source (docs/architecture.md#demo-commands).
AMPARO_DEMO_COMMANDS = False
# Two-factor authentication is not optional in production (docs/architecture.md).
AMPARO_REQUIRE_2FA = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# `__Host-`: the browser keeps such a cookie only if it is Secure, for the whole site and for
# this host alone (no Domain), so a neighbouring host or plain HTTP cannot plant or read it.
SESSION_COOKIE_NAME = "__Host-amparo_session"
CSRF_COOKIE_NAME = "__Host-amparo_csrf"
LANGUAGE_COOKIE_NAME = "__Host-amparo_language"
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
LANGUAGE_COOKIE_SECURE = True
