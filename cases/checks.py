"""Start-up checks: the key file exists and can unwrap the data keys already stored."""

import ipaddress
import os
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError

from cases.crypto import datakeys, keyring


@register(Tags.security, deploy=False)
def check_keys(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    try:
        prov = keyring.provider()
    except keyring.KeyringError as exc:
        return [Error(str(exc), hint=_hint(), id="amparo.E001")]
    from cases.models import DataKey

    try:
        # One sample key per KEK in use: a KEK missing from the key file is caught whichever
        # rows it wraps. (kek_id is indexed; there are only a handful of KEKs.)
        kek_ids = list(
            DataKey.objects.filter(destroyed_at__isnull=True)
            .values_list("kek_id", flat=True).order_by("kek_id").distinct()
        )
        sample = [
            DataKey.objects.filter(destroyed_at__isnull=True, kek_id=k).first() for k in kek_ids
        ]
    except DatabaseError:
        return []  # not migrated yet
    errors: list[CheckMessage] = []
    for dk in sample:
        if dk is None:
            continue
        if not prov.has_kek(dk.kek_id):
            errors.append(Error(
                f"Data keys are wrapped by KEK {dk.kek_id!r}, which the key file does not hold.",
                hint="Restore the key file that holds this KEK (from your key backup); "
                "never delete a KEK before 'manage.py rotate_kek' has finished.",
                id="amparo.E002",
            ))
            break
        try:
            datakeys.unwrap(dk)
        except keyring.KeyringError as exc:
            errors.append(Error(str(exc), hint=_hint(), id="amparo.E003"))
            break
    return errors


def _hint() -> str:
    return (
        "Development: 'python manage.py init_keys' creates var/keys/amparo-keys.json. "
        "Production: set AMPARO_KEY_FILE (or AMPARO_KEYS) to the key file from your key backup."
    )


@register(Tags.security, deploy=True)
def check_broker(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    from django.conf import settings

    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return [Warning(
            "CELERY_BROKER_URL is not set: imports and key rotation would run inside web "
            "requests and be cut off by the server's time limit.",
            hint="Set CELERY_BROKER_URL (e.g. redis://localhost:6379/0) and run "
            "'celery -A settings worker'.",
            id="amparo.W001",
        )]
    return []


def _on_this_host(host: str | None) -> bool:
    """A Unix socket or a loopback address: the connection never leaves the machine."""
    if not host or host.startswith("/") or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def unencrypted_connections() -> list[str]:
    """The connections that would leave this host without TLS and a checked certificate."""
    from django.conf import settings

    found = []
    for alias, db in settings.DATABASES.items():
        if ("postgresql" in db["ENGINE"] and not _on_this_host(db.get("HOST"))
                and db.get("OPTIONS", {}).get("sslmode") != "verify-full"):
            found.append(f"the database {alias!r} at {db['HOST']} without sslmode=verify-full")
    broker = urlsplit(settings.CELERY_BROKER_URL or "")
    if broker.scheme in ("redis", "amqp", "pyamqp") and not _on_this_host(broker.hostname):
        found.append(f"the broker at {broker.hostname} over {broker.scheme}:// (amqps:// or rediss://)")
    for alias, cache in settings.CACHES.items():
        where = urlsplit(str(cache.get("LOCATION", "")))
        if where.scheme == "redis" and not _on_this_host(where.hostname):
            found.append(f"the cache {alias!r} at {where.hostname} over redis:// (rediss://)")
    if (settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"
            and not _on_this_host(settings.EMAIL_HOST)
            and not (settings.EMAIL_USE_TLS or getattr(settings, "EMAIL_USE_SSL", False))):
        found.append(f"the mail server {settings.EMAIL_HOST} without AMPARO_EMAIL_TLS=1")
    return found


@register(Tags.security, deploy=True)
def check_connections(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """Clear columns, sessions and password hashes cross these connections (ASVS V12.3.1)."""
    return [Warning(f"Unencrypted or unverified connection: {what}.",
                    hint='See the README, "Production deployment".', id="amparo.W050")
            for what in unencrypted_connections()]


LOCKOUT_SETTINGS = ("AMPARO_LOGIN_LOCKOUT_MINUTES", "AMPARO_LOGIN_MAX_FAILURES",
                    "AMPARO_LOGIN_ADDRESS_MAX_FAILURES", "AMPARO_LOGIN_USER_MAX_FAILURES")


@register(Tags.security)
def check_lockout(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """The login lockout's limits (docs/architecture.md#login-lockout)."""
    from django.conf import settings

    values = {name: getattr(settings, name, 0) for name in LOCKOUT_SETTINGS}
    bad = [name for name, value in values.items() if not isinstance(value, int) or value < 1]
    if bad:
        return [Error(f"{', '.join(bad)} must be whole numbers of 1 or more.",
                      hint="See README, 'Login lockout'.", id="amparo.E030")]
    per_address, per_user = (values["AMPARO_LOGIN_MAX_FAILURES"],
                             values["AMPARO_LOGIN_USER_MAX_FAILURES"])
    if per_user <= 2 * per_address:
        return [Warning(
            f"AMPARO_LOGIN_USER_MAX_FAILURES ({per_user}) is not above twice "
            f"AMPARO_LOGIN_MAX_FAILURES ({per_address}): failed logins from one address alone "
            "could lock an account for everybody.",
            hint="Keep the limit from every address above twice the limit from one address.",
            id="amparo.W031")]
    return []


@register(Tags.security)
def check_two_factor_secrets(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """The TOTP window and the backup codes' hash cost (docs/architecture.md#second-factor-secrets)."""
    from django.conf import settings

    errors: list[CheckMessage] = []
    if getattr(settings, "AMPARO_TOTP_TOLERANCE", 1) not in (0, 1):
        errors.append(Error(
            "AMPARO_TOTP_TOLERANCE must be 0 (the current 30 seconds only) or 1 (also the "
            "30 seconds before).", hint="See README, 'Two-factor authentication'.",
            id="amparo.E061"))
    n = getattr(settings, "AMPARO_BACKUP_CODE_SCRYPT_N", 2**14)
    if not isinstance(n, int) or n < 2 or n & (n - 1):
        errors.append(Error(
            "AMPARO_BACKUP_CODE_SCRYPT_N must be a power of two (2**14 = 16384 by default).",
            hint="See README, 'Two-factor authentication'.", id="amparo.E062"))
    return errors


@register(Tags.security, deploy=True)
def check_backup_code_cost(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """Backup codes are 40 bits: below scrypt's N = 2**14 a dump could be searched for them."""
    from django.conf import settings

    n = getattr(settings, "AMPARO_BACKUP_CODE_SCRYPT_N", 2**14)
    if isinstance(n, int) and n < 2**14:
        return [Warning(
            f"AMPARO_BACKUP_CODE_SCRYPT_N is {n}: backup-code hashes below 16384 (2**14) are "
            "cheap to search in a stolen database.",
            hint="Leave AMPARO_BACKUP_CODE_SCRYPT_N unset (16384) or raise it.", id="amparo.W062")]
    return []


PROCEDURES = "procedures"  # the tag of the checks below; servers refuse to start on them


@register(PROCEDURES)
def check_procedures(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """The registered procedures are whole: periods valid, one per (kind, country), a page
    for every step people take."""
    from cases import steps, workflow

    hint = ("Each entry is {procedure: {clock: (days, 'calendar' or 'working')}}, with the "
            "names the procedures define; see README, 'The asylum procedure'.")
    errors: list[CheckMessage] = [Error(problem, hint=hint, id="amparo.E020")
                                  for problem in workflow.deadline_problems()]
    seen: dict[tuple[str, str], str] = {}
    for wf in workflow.registered():
        key = (wf.kind, wf.country)
        if key in seen:
            errors.append(Error(
                f"Procedures {seen[key]!r} and {wf.name!r} are both registered for "
                f"{wf.kind!r} cases in {wf.country or 'every other country'}.",
                hint="Give one of them another country, or register only one.", id="amparo.E021"))
        seen.setdefault(key, wf.name)
        pages = steps.pages_for(wf.options.step_url)
        missing = sorted(t.name for t in wf.transitions.values()
                         if set(t.roles) - {workflow.SYSTEM} and t.name not in pages)
        if missing:
            errors.append(Error(
                f"Procedure {wf.name!r} has steps without a page: {', '.join(missing)}.",
                hint="Register a StepPage for each (cases.steps.register_pages) under the "
                f"procedure's step_url ({wf.options.step_url or 'not set'}).", id="amparo.E022"))
    return errors


def refuse_to_start() -> None:
    """For servers and workers, which do not run the system checks: stop on a broken
    procedure instead of counting deadlines wrong."""
    from django.core import checks
    from django.core.exceptions import ImproperlyConfigured

    errors = [e for e in checks.run_checks(tags=[PROCEDURES]) if e.is_serious()]
    if errors:
        raise ImproperlyConfigured("\n".join(f"{e.id}: {e.msg} {e.hint or ''}" for e in errors))


# Fewer distinct values per bucket than this and a dump starts to tell values apart.
MIN_VALUES_PER_BUCKET = 4


@register(Tags.security)
def check_index_buckets(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """Each blind index keeps several distinct values per bucket at the planned population
    (docs/architecture.md#blind-index-buckets)."""
    from django.conf import settings

    from cases.crypto import blind

    people = settings.AMPARO_PLANNED_PEOPLE
    warnings: list[CheckMessage] = []
    for kind in blind.KINDS:
        per_bucket = blind.values_per_bucket(kind, people, blind.bits(kind))
        if per_bucket < MIN_VALUES_PER_BUCKET:
            warnings.append(Warning(
                f"The {kind!r} blind index has {blind.bits(kind)} bits: about "
                f"{per_bucket:.1f} distinct values per bucket for {people} planned people.",
                hint="Set AMPARO_INDEX_BUCKET_VALUES to at least "
                f"{MIN_VALUES_PER_BUCKET} (AMPARO_PLANNED_PEOPLE to the population you "
                "expect), then run 'manage.py reindex_people'.",
                id="amparo.W040",
            ))
    return warnings


@register(Tags.security, deploy=True)
def check_index_buckets_held(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """The same at the population the database holds (`check --deploy`): planned for far
    more people than are registered, each bucket holds fewer values than planned, and a dump
    tells them apart until the register grows (docs/architecture.md#blind-index-buckets)."""
    from django.conf import settings

    from cases.crypto import blind
    from cases.models import Person

    try:
        people = Person.objects.count()
        generation = blind.active_generation()
    except (DatabaseError, keyring.KeyringError):
        return []  # no database or no key file: other checks say so
    if not people:
        return []
    thin = {kind: blind.values_per_bucket(kind, people, blind.bits(kind, generation))
            for kind in blind.KINDS}
    thin = {kind: v for kind, v in thin.items() if v < MIN_VALUES_PER_BUCKET}
    if not thin:
        return []
    shown = ", ".join(f"{kind!r} about {v:.1f}" for kind, v in thin.items())
    return [Warning(
        f"The blind indexes are planned for {settings.AMPARO_PLANNED_PEOPLE} people and "
        f"{people} are registered: distinct values per bucket today: {shown}, fewer than "
        f"{MIN_VALUES_PER_BUCKET}; a database dump tells those values apart.",
        hint="Set AMPARO_PLANNED_PEOPLE to the people you expect within a year or two, add "
        "an index key generation ('manage.py init_keys --new-index-key') and run "
        "'manage.py reindex_people'; plan again as the register grows.",
        id="amparo.W042",
    )]


@register(Tags.security)
def check_reindex(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """A re-index left unfinished, or index entries of a generation the key file lacks."""
    from cases.models import PersonIndex

    try:
        prov = keyring.provider()
        held = prov.index_generations()
        lost = PersonIndex.objects.exclude(generation__in=held).exists()
        unfinished = PersonIndex.objects.exclude(generation=prov.active_index).exists()
    except keyring.KeyringError:
        return []  # check_keys reports it
    except DatabaseError:
        return []  # not migrated yet
    if lost:
        return [Error(
            "Search index entries use an index key generation the key file does not hold: "
            "those people cannot be found.",
            hint="Restore the key file from your key backup, or run 'manage.py reindex_people'.",
            id="amparo.E041")]
    if unfinished:
        return [Warning(
            f"A re-index to index key generation {prov.active_index} is unfinished: searches "
            "walk every generation until it is done.",
            hint="Run 'manage.py reindex_people' (it goes on where it stopped).", id="amparo.W041")]
    return []


@register(Tags.security)
def check_webauthn(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """Security keys' relying party and origins (docs/architecture.md#security-keys-and-passkeys)."""
    import ipaddress
    from urllib.parse import urlsplit

    from django.conf import settings

    rp_id = settings.AMPARO_WEBAUTHN_RP_ID
    errors: list[CheckMessage] = []
    try:
        ipaddress.ip_address(rp_id)
        errors.append(Error(f"AMPARO_WEBAUTHN_RP_ID is an IP address ({rp_id}): browsers refuse "
                            "security keys there.", hint="Set it to the site's domain name.",
                            id="amparo.E050"))
    except ValueError:
        pass
    for origin in settings.AMPARO_WEBAUTHN_ORIGINS:
        parts = urlsplit(origin)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("https", "http") or not host or parts.path or parts.query:
            problem = "is not an origin (scheme://host[:port], nothing after)"
        elif rp_id and host != rp_id and not host.endswith("." + rp_id):
            problem = f"is not on AMPARO_WEBAUTHN_RP_ID ({rp_id}) or one of its subdomains"
        elif parts.scheme == "http" and host != "localhost":
            problem = "uses http: browsers allow security keys without TLS only on localhost"
        else:
            continue
        errors.append(Error(f"AMPARO_WEBAUTHN_ORIGINS: {origin!r} {problem}.",
                            hint="For example https://amparo.example.org", id="amparo.E051"))
    return errors


@register(Tags.security)
def check_rate_limits(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """The per-user budgets parse (docs/architecture.md#rate-limits)."""
    from django.core.exceptions import ImproperlyConfigured

    from cases import ratelimits

    errors: list[CheckMessage] = []
    for kind in ratelimits.KINDS:
        try:
            ratelimits.budget(kind)
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), hint="See README, 'Settings and environment'.",
                                id="amparo.E060"))
    return errors


@register(Tags.security, deploy=True)
def check_rate_limit_cache(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """Counters in each worker's memory let each worker allow the whole budget."""
    from django.conf import settings

    if str(settings.CACHES["ratelimits"]["BACKEND"]).endswith("LocMemCache"):
        return [Warning(
            "The per-user rate limits count in each worker's memory: with several workers, "
            "each one allows the whole budget.",
            hint="Set AMPARO_RATELIMIT_CACHE_URL to a Redis shared by the workers, e.g. "
            "redis://localhost:6379/2.", id="amparo.W060")]
    return []


@register(Tags.security)
def check_breached_passwords(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """A configured list of breached passwords must be readable: the validator refuses every
    password it cannot check (docs/architecture.md#passwords)."""
    from pathlib import Path

    from django.conf import settings

    configured = settings.AMPARO_BREACHED_PASSWORDS_FILE
    if configured and not (Path(configured).is_file() and os.access(configured, os.R_OK)):
        return [Error(f"AMPARO_BREACHED_PASSWORDS_FILE ({configured}) is not a readable file: "
                      "no password can be set or changed.",
                      hint="See README, 'Passwords'.", id="amparo.E063")]
    return []


@register(Tags.security, deploy=True)
def check_breached_passwords_configured(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    from django.conf import settings

    if not settings.AMPARO_BREACHED_PASSWORDS_FILE:
        return [Warning(
            "AMPARO_BREACHED_PASSWORDS_FILE is not set: new passwords are not checked against "
            "breached passwords.",
            hint="Download the Pwned Passwords list (SHA-1, sorted by hash) and set "
            "AMPARO_BREACHED_PASSWORDS_FILE to it; see README, 'Passwords'.", id="amparo.W063")]
    return []
