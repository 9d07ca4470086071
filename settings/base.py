"""Settings shared by every environment; values come from the environment."""

import os
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("AMPARO_VAR_DIR", BASE_DIR / "var"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_countries",
    "django_htmx",
    "bootstrap",
    "guardian",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "cases",
    "rsd",
    "tip",
    "audit",
    "stats",
    "biometrics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "cases.middleware.MethodMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "cases.middleware.KeyScopeMiddleware",
    "cases.middleware.SessionLifetimeMiddleware",
    "cases.middleware.PasswordChangeRequiredMiddleware",
    "cases.middleware.TwoFactorRequiredMiddleware",
    "cases.ratelimits.RateLimitMiddleware",
]

ROOT_URLCONF = "settings.urls"
WSGI_APPLICATION = "settings.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cases.context_processors.roles",
                "cases.context_processors.notifications",
            ],
        },
    },
]
# Widgets written out in Python, the same markup as Django's templates (docs/architecture.md#speed).
FORM_RENDERER = "cases.widget_renderer.WidgetRenderer"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'amparo.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Writers queue at BEGIN instead of failing halfway through a transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20})
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # No JIT: it compiled the search's and the dashboard's plans on every call, adding 15-35 ms
    # to statements that run in 7 (docs/architecture.md#speed).
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    # Planning was most of the database's time on a page: a statement a connection runs a
    # second time is prepared and planned once (docs/architecture.md#speed).
    if os.environ.get("AMPARO_DB_PREPARE", "1") == "1":
        options.setdefault("server_side_binding", True)
        options.setdefault("prepare_threshold", 2)
# The owner of the tables, for migrations (`manage.py migrate --database owner`); the
# application then runs as DATABASE_URL's role, which may only INSERT and SELECT the audit
# tables (README "Database roles").
if os.environ.get("AMPARO_MIGRATE_DATABASE_URL"):
    DATABASES["owner"] = dj_database_url.parse(os.environ["AMPARO_MIGRATE_DATABASE_URL"])
    DATABASES["owner"]["TEST"] = {"MIRROR": "default"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "cases.User"
AUTHENTICATION_BACKENDS = [
    "cases.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
GUARDIAN_USER_OBJ_PERMS_MODEL = "cases.CaseUserObjectPermission"
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
ANONYMOUS_USER_NAME = None
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    # Words of Amparo's own context and the offline list of breached passwords
    # (docs/architecture.md#passwords).
    {"NAME": "cases.passwords.ContextWordsValidator"},
    {"NAME": "cases.passwords.BreachedPasswordValidator"},
]
# The "Have I Been Pwned" Pwned Passwords list (SHA-1, "HASH:COUNT" lines sorted by hash), kept
# up to date by the operator (README, "Passwords"). Unset: no breach check (amparo.W060).
AMPARO_BREACHED_PASSWORDS_FILE = os.environ.get("AMPARO_BREACHED_PASSWORDS_FILE", "")
# A password an administrator had Amparo make (first or temporary) stops working this long after.
AMPARO_TEMPORARY_PASSWORD_HOURS = int(os.environ.get("AMPARO_TEMPORARY_PASSWORD_HOURS", 72))
# A login from a browser and network not seen for the account this many days is told to its owner.
AMPARO_LOGIN_PLACE_DAYS = int(os.environ.get("AMPARO_LOGIN_PLACE_DAYS", 90))

# The region's countries first in every country list (MIRPS states, then frequent origins).
COUNTRIES_FIRST = ["BZ", "CR", "GT", "HN", "MX", "NI", "PA", "SV", "CO", "CU", "HT", "VE"]

LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Mexico_City"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
# Database sessions stored under the hash of their key, with who, since when, last seen, from
# where (cases/session_store.py, docs/architecture.md#sessions).
SESSION_ENGINE = "cases.session_store"
# Sessions one account may have open at once; a login beyond it ends the oldest. 0: no cap.
AMPARO_MAX_SESSIONS = int(os.environ.get("AMPARO_MAX_SESSIONS", 3))
CSRF_COOKIE_HTTPONLY = True  # no script reads it: the forms carry the token
# Messages after a redirect ride in the session: no cookie of their own to protect.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# A refused CSRF token is an audit event (`csrf.refuse`) and shows the usual 403 page.
CSRF_FAILURE_VIEW = "audit.refusals.csrf_failure"
# A session ends after this much inactivity, and this long after the login whatever the
# activity (cases.middleware.SessionLifetimeMiddleware); the cookie never outlives it.
AMPARO_SESSION_IDLE_MINUTES = int(os.environ.get("AMPARO_SESSION_IDLE_MINUTES", 30))
AMPARO_SESSION_MAX_HOURS = int(os.environ.get("AMPARO_SESSION_MAX_HOURS", 10))
SESSION_COOKIE_AGE = AMPARO_SESSION_MAX_HOURS * 3600
# Rendered fragments (the case page's procedure card) kept under the fingerprint of their rows
# and sealed with the person's data key (cases/fragments.py, docs/architecture.md#speed): in
# each worker's memory, or in a shared cache (AMPARO_FRAGMENT_CACHE_URL, redis://...).
AMPARO_FRAGMENT_SECONDS = int(os.environ.get("AMPARO_FRAGMENT_SECONDS", 600))
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "fragments": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache",
         "LOCATION": os.environ["AMPARO_FRAGMENT_CACHE_URL"], "KEY_PREFIX": "amparo-fragment"}
        if os.environ.get("AMPARO_FRAGMENT_CACHE_URL") else
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments",
         "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("AMPARO_FRAGMENT_ENTRIES", 2000))}}),
    # Per-user budgets (cases/ratelimits.py). Each worker's memory counts only its own requests:
    # with several workers, give them one Redis (AMPARO_RATELIMIT_CACHE_URL), or each worker
    # allows the whole budget (system check amparo.W060).
    "ratelimits": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache",
         "LOCATION": os.environ["AMPARO_RATELIMIT_CACHE_URL"], "KEY_PREFIX": "amparo-ratelimit"}
        if os.environ.get("AMPARO_RATELIMIT_CACHE_URL") else
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "ratelimits",
         "OPTIONS": {"MAX_ENTRIES": 100_000}}),
}
# Per-user budgets, "LIMIT/SECONDS": searches and lists of people or cases; pages and files of
# one person or case; exports of many records. Over budget: 429 until the window ends, one
# `ratelimit.exceeded` event and the supervisors told (docs/architecture.md#rate-limits).
AMPARO_RATELIMIT_SEARCHES = os.environ.get("AMPARO_RATELIMIT_SEARCHES", "60/600")
AMPARO_RATELIMIT_VIEWS = os.environ.get("AMPARO_RATELIMIT_VIEWS", "200/600")
AMPARO_RATELIMIT_EXPORTS = os.environ.get("AMPARO_RATELIMIT_EXPORTS", "30/3600")
# Argon2id for new and changed passwords; older hashes are upgraded at the next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
LANGUAGE_COOKIE_HTTPONLY = True  # read by the server only
LANGUAGE_COOKIE_SAMESITE = "Lax"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
# No inline script or style anywhere, and nothing from another origin: an injected tag or
# attribute runs nothing (docs/architecture.md#content-security-policy). A page that one day
# needs an inline block gives it the request's nonce ({{ request.csp_nonce }}).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],  # Bootstrap draws its select arrows and checks as data: SVG
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Keys and files
AMPARO_KEY_FILE = Path(os.environ.get("AMPARO_KEY_FILE", VAR_DIR / "keys" / "amparo-keys.json"))
AMPARO_KEK_PROVIDER = os.environ.get(
    "AMPARO_KEK_PROVIDER", "cases.crypto.keyring.FileKekProvider"
)
AMPARO_CREATE_KEY_FILE = False
# The demo commands (seed_demo and the other seed_*_demo) write accounts whose password is in
# their source: off unless a settings module for demonstrations or tests turns them on
# (docs/architecture.md#demo-commands).
AMPARO_DEMO_COMMANDS = False
# Blind-index buckets: bits are chosen so that each bucket holds at least this many distinct
# values at the planned population (docs/architecture.md#blind-index-buckets). Changing
# either changes the index values: run 'manage.py reindex_people' afterwards.
AMPARO_PLANNED_PEOPLE = int(os.environ.get("AMPARO_PLANNED_PEOPLE", 1_000_000))
AMPARO_INDEX_BUCKET_VALUES = int(os.environ.get("AMPARO_INDEX_BUCKET_VALUES", 8))
AMPARO_FILE_ROOT = Path(os.environ.get("AMPARO_FILE_ROOT", VAR_DIR / "files"))
AMPARO_UPLOAD_MAX_BYTES = int(os.environ.get("AMPARO_UPLOAD_MAX_BYTES", 20 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = AMPARO_UPLOAD_MAX_BYTES + 1024 * 1024
# Uploads stay in memory until they are sealed: a temporary file would hold them in clear.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = AMPARO_UPLOAD_MAX_BYTES + 1024 * 1024
# A case package sent or received (docs/architecture.md#case-packages), documents included.
AMPARO_PACKAGE_MAX_BYTES = int(os.environ.get("AMPARO_PACKAGE_MAX_BYTES", 50 * 1024 * 1024))

# Audit: the checkpoint signing key (Ed25519, not a data key) and the sink outside the
# database where signed checkpoints are appended.
AMPARO_AUDIT_KEY_FILE = Path(
    os.environ.get("AMPARO_AUDIT_KEY_FILE", VAR_DIR / "keys" / "audit-signing.pem"))
AMPARO_AUDIT_SINK = Path(os.environ.get("AMPARO_AUDIT_SINK", VAR_DIR / "audit-checkpoints"))
AMPARO_AUDIT_RETENTION_YEARS = int(os.environ.get("AMPARO_AUDIT_RETENTION_YEARS", 6))
# Login lockout (docs/architecture.md#login-lockout): attempts per window of
# AMPARO_LOGIN_LOCKOUT_MINUTES for a user name from one address, for an address whatever the
# user name, and for a user name from every address together.
AMPARO_LOGIN_LOCKOUT_MINUTES = int(os.environ.get("AMPARO_LOGIN_LOCKOUT_MINUTES", 15))
AMPARO_LOGIN_MAX_FAILURES = int(os.environ.get("AMPARO_LOGIN_MAX_FAILURES", 5))
AMPARO_LOGIN_ADDRESS_MAX_FAILURES = int(os.environ.get("AMPARO_LOGIN_ADDRESS_MAX_FAILURES", 20))
AMPARO_LOGIN_USER_MAX_FAILURES = int(os.environ.get("AMPARO_LOGIN_USER_MAX_FAILURES", 15))
# Reverse proxies in front that append the address they saw to X-Forwarded-For (0: none; the
# client is REMOTE_ADDR). Used by the lockout and the audit log's IP address.
AMPARO_TRUSTED_PROXIES = int(os.environ.get("AMPARO_TRUSTED_PROXIES", 0))
# Two-factor authentication (docs/architecture.md#two-factor-authentication): required of
# supervisors, auditors, administrators and superusers (and of caseworkers where their office
# says so) when on; settings.prod turns it on, the quick start only with AMPARO_REQUIRE_2FA=1.
AMPARO_REQUIRE_2FA = os.environ.get("AMPARO_REQUIRE_2FA", "") == "1"
# Erasure, the audit export and staff account changes need a code entered this recently.
AMPARO_STEP_UP_MINUTES = int(os.environ.get("AMPARO_STEP_UP_MINUTES", 10))
OTP_TOTP_ISSUER = "Amparo"
# Second-factor secrets (docs/architecture.md#second-factor-secrets): how many 30-second steps
# before the current one a code from the app may be from (0 or 1; never a step ahead), and the
# scrypt cost (N, a power of two) of each backup code's hash.
AMPARO_TOTP_TOLERANCE = int(os.environ.get("AMPARO_TOTP_TOLERANCE", 1))
AMPARO_BACKUP_CODE_SCRYPT_N = int(os.environ.get("AMPARO_BACKUP_CODE_SCRYPT_N", 2**14))
# Security keys and passkeys (docs/architecture.md#security-keys-and-passkeys): the domain the
# keys are bound to (empty: the host the browser asked for) and the origins their answers may
# come from (empty: the one the browser is on).
AMPARO_WEBAUTHN_RP_ID = os.environ.get("AMPARO_WEBAUTHN_RP_ID", "")
AMPARO_WEBAUTHN_ORIGINS = [o for o in os.environ.get("AMPARO_WEBAUTHN_ORIGINS", "").split(",") if o]

# Email: only "a message waits for you" with a link (docs/architecture.md#secure-messages).
EMAIL_BACKEND = os.environ.get("AMPARO_EMAIL_BACKEND",
                               "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("AMPARO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("AMPARO_EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("AMPARO_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("AMPARO_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("AMPARO_EMAIL_TLS", "") == "1"
DEFAULT_FROM_EMAIL = os.environ.get("AMPARO_EMAIL_FROM", "amparo@localhost")
# Where the links in emails point: the address staff open Amparo at.
AMPARO_BASE_URL = os.environ.get("AMPARO_BASE_URL", "http://127.0.0.1:8000")

# Imports (README, "Importing paper files"; docs/architecture.md#imports).
AMPARO_IMPORT_MAX_ROWS = int(os.environ.get("AMPARO_IMPORT_MAX_ROWS", 100_000))
AMPARO_IMPORT_CHUNK_ROWS = int(os.environ.get("AMPARO_IMPORT_CHUNK_ROWS", 200))
AMPARO_IMPORT_REPORT_MAX = int(os.environ.get("AMPARO_IMPORT_REPORT_MAX", 1000))
AMPARO_IMPORT_MAX_UNPACKED_BYTES = int(
    os.environ.get("AMPARO_IMPORT_MAX_UNPACKED_BYTES", 200 * 1024 * 1024))
AMPARO_IMPORT_LEASE_SECONDS = int(os.environ.get("AMPARO_IMPORT_LEASE_SECONDS", 300))

# Celery: eager unless a broker is configured.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# A broker over TLS (amqps://, rediss://) is reached only with its certificate and host name
# checked; AMPARO_BROKER_CA_FILE names a private CA (README "Production deployment").
_broker = urlsplit(CELERY_BROKER_URL)
_broker_ca = os.environ.get("AMPARO_BROKER_CA_FILE", "")
_broker_tls: dict[str, object] = {}
if _broker.scheme == "amqps":  # py-amqp checks neither unless told
    _broker_tls = {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": _broker.hostname,
                   "ca_certs": _broker_ca or "/etc/ssl/certs/ca-certificates.crt"}
elif _broker.scheme == "rediss":
    _broker_tls = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_check_hostname": True,
                   **({"ssl_ca_certs": _broker_ca} if _broker_ca else {})}
if _broker_tls:
    CELERY_BROKER_USE_SSL = _broker_tls
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# The 1:N fingerprint searches go to one worker process that holds the gallery in memory
# and takes both queues (`celery -A settings worker -Q biometrics_search,biometrics
# --concurrency 1`; docs/architecture.md#biometrics): the search page's searches on a queue
# of their own, so they do not wait behind the enrolments' de-duplication backlog.
CELERY_TASK_ROUTES = {
    "biometrics.search": {"queue": "biometrics_search"},
    "biometrics.*": {"queue": "biometrics"},
}
# Audit events are linked into the chain right after commit without a broker ("inline"), by
# the background linker with one ("background"): requests then never take the chain's lock.
AMPARO_AUDIT_LINKER = os.environ.get("AMPARO_AUDIT_LINKER") or (
    "inline" if CELERY_TASK_ALWAYS_EAGER else "background")
AMPARO_AUDIT_LINK_SECONDS = float(os.environ.get("AMPARO_AUDIT_LINK_SECONDS", 2))
AMPARO_CHECKPOINT_SECONDS = int(os.environ.get("AMPARO_CHECKPOINT_SECONDS", 300))
# verify_audit fails when the newest signed checkpoint is older than this (0: never), and
# when a head linked longer ago than the grace is missing from the witness (heads.log).
AMPARO_AUDIT_CHECKPOINT_MAX_AGE = int(os.environ.get(
    "AMPARO_AUDIT_CHECKPOINT_MAX_AGE", AMPARO_CHECKPOINT_SECONDS + 300))
AMPARO_AUDIT_WITNESS_GRACE = int(os.environ.get("AMPARO_AUDIT_WITNESS_GRACE", 60))
# After rotate_audit_key, how long events and links made with the retired key still verify
# (servers that have not picked up the new key file yet); later ones fail verify_audit.
AMPARO_AUDIT_ROTATION_GRACE = int(os.environ.get("AMPARO_AUDIT_ROTATION_GRACE", 900))
# When the retention rules are applied each day, "HH:MM" server time (docs/architecture.md#retention).
AMPARO_RETENTION_AT = os.environ.get("AMPARO_RETENTION_AT", "02:30")
CELERY_BEAT_SCHEDULE = {
    "audit-link": {"task": "audit.link", "schedule": AMPARO_AUDIT_LINK_SECONDS},
    "audit-checkpoint": {"task": "audit.sign_checkpoint", "schedule": AMPARO_CHECKPOINT_SECONDS},
    "stale-imports": {"task": "cases.shred_stale_imports", "schedule": 600},
    "rsd-sweep": {"task": "rsd.sweep", "schedule": 6 * 3600},
    "deadline-notifications": {"task": "cases.notify_deadlines", "schedule": 3600},
    "expire-shares": {"task": "cases.expire_shares", "schedule": 900},
    "clear-sessions": {"task": "cases.clear_sessions", "schedule": 900},
    "stale-fingerprint-searches": {"task": "biometrics.shred_stale_searches", "schedule": 600},
    "retention": {"task": "cases.apply_retention",
                  "schedule": crontab(hour=AMPARO_RETENTION_AT.split(":")[0],
                                      minute=AMPARO_RETENTION_AT.split(":")[1])},
}

# Periods a country's law sets differently from the shipped procedures, e.g.
# {"rsd.mx": {"appeal": (15, "working")}}; clocks: interview, contact, appeal, decision.
AMPARO_DEADLINES: dict[str, dict[str, tuple[int, str]]] = {}

# JSON lines on standard error: one object per record, control characters escaped, so a
# crafted URL cannot forge a line (cases/logs.py, docs/architecture.md#application-log).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "cases.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# The blind-index search index covers person_id on PostgreSQL (INCLUDE); SQLite, which has no
# covering indexes, uses the same key columns and reads the row.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
# One date format per language for letters and long dates (screens show ISO dates).
FORMAT_MODULE_PATH = ["settings.formats"]

# Fingerprints (docs/architecture.md#biometrics): Bozorth3 scores from which two prints are
# the same finger, and from which a pair is raised for the supervisors to review.
BIOMETRICS_MATCH_SCORE = int(os.environ.get("BIOMETRICS_MATCH_SCORE", 40))
BIOMETRICS_POSSIBLE_SCORE = int(os.environ.get("BIOMETRICS_POSSIBLE_SCORE", 30))
# A search from the search page the worker has not run after this many seconds is given up.
BIOMETRICS_SEARCH_TIMEOUT = int(os.environ.get("BIOMETRICS_SEARCH_TIMEOUT", 3600))

# Statistics (docs/architecture.md#statistics): counts above zero and below this are
# suppressed in every screen and export; an export may ask for a higher threshold.
AMPARO_STATS_THRESHOLD = int(os.environ.get("AMPARO_STATS_THRESHOLD", 5))
