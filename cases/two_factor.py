"""Two-factor authentication: who needs it, enrolment, codes, step-up
(docs/architecture.md#two-factor-authentication).

The devices are django-otp devices of Amparo's own (cases/models/two_factor.py): the
authenticator app, its seed sealed, and the backup codes, kept as hashes
(docs/architecture.md#second-factor-secrets). A session is verified once django-otp records a
device in it; `VERIFIED_AT` is when a code was last entered in it, which step-up reads.
"""

from __future__ import annotations

import time
from base64 import b32encode
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import django_otp
import segno
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp.models import Device

from cases import access, events, keystore, lockout, sessions
from cases import two_factor_secrets as secrets_
from cases.http import client_address
from cases.models import (
    AuthenticatorApp,
    BackupCode,
    BackupCodeSet,
    Office,
    Role,
    User,
    WebAuthnDevice,
)

VERIFIED_AT = "_amparo_2fa_at"  # when a code was last entered in this session (Unix seconds)
HAS_DEVICE = "_amparo_2fa_device"  # read at login: whoever set up an app is asked for a code
BACKUP_CODES = 10
# The roles that always need a second factor where it is required.
ROLES: tuple[str, ...] = (Role.SUPERVISOR, Role.AUDITOR, Role.ANALYST, Role.OFFICE_ADMIN,
                          Role.SYSTEM_ADMIN)
APP, BACKUP = "app", "backup_code"


def required(user: User) -> bool:
    """Does the policy (AMPARO_REQUIRE_2FA) require a second factor of this user?"""
    if not settings.AMPARO_REQUIRE_2FA or not user.is_authenticated:
        return False
    if user.is_superuser or access.has_role(user, *ROLES):
        return True
    offices = access.offices_where(user, Role.CASEWORKER)
    return bool(offices) and Office.objects.filter(
        pk__in=offices, require_two_factor_for_caseworkers=True).exists()


def is_verified(user: Any) -> bool:
    """Has a code been entered in this session (django-otp's OTPMiddleware says)?"""
    check = getattr(user, "is_verified", None)
    return bool(check()) if callable(check) else False


def app_device(user: User) -> AuthenticatorApp | None:
    """The user's confirmed authenticator app, if any."""
    app: AuthenticatorApp | None = (
        AuthenticatorApp.objects.filter(user=user, confirmed=True).order_by("-pk").first())
    return app


def has_factor(user: User) -> bool:
    """An authenticator app or a security key (cases/security_keys.py) is set up."""
    return app_device(user) is not None or bool(
        WebAuthnDevice.objects.filter(user=user, confirmed=True).exists())


def backup_device(user: User) -> BackupCodeSet | None:
    codes: BackupCodeSet | None = (
        BackupCodeSet.objects.filter(user=user, confirmed=True).order_by("-pk").first())
    return codes


def backup_codes_left(user: User) -> int:
    left: int = BackupCode.objects.filter(code_set__user=user, code_set__confirmed=True).count()
    return left


def _pending(user: User) -> AuthenticatorApp | None:
    app: AuthenticatorApp | None = (
        AuthenticatorApp.objects.filter(user=user, confirmed=False).order_by("-pk").first())
    return app


def has_pending_device(user: User) -> bool:
    return bool(AuthenticatorApp.objects.filter(user=user, confirmed=False).exists())


def pending_device(user: User) -> AuthenticatorApp:
    """The app being set up: the same secret until it is confirmed; a new seed is sealed
    at once, never stored in clear."""
    device = _pending(user)
    if device is None:
        keystore.ensure_key(secrets_.SUBJECT)
        with transaction.atomic():
            device = AuthenticatorApp.objects.create(user=user, name="app", confirmed=False)
            device.seed = secrets_.new_seed()  # sealed bound to the row id it now has
            device.save(update_fields=["seed"])
    return device


def secret_groups(device: AuthenticatorApp) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    secret = b32encode(device.seed).decode()
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(device: AuthenticatorApp) -> str:
    """The otpauth:// URI an app reads from the QR code (Key Uri Format: issuer, account,
    secret, SHA1, digits, period)."""
    issuer = str(settings.OTP_TOTP_ISSUER).replace(":", "")
    label = quote(f"{issuer}:{device.user.get_username()}")
    params = urlencode({"secret": b32encode(device.seed).decode(), "algorithm": "SHA1",
                        "digits": device.digits, "period": device.step}, quote_via=quote)
    return f"otpauth://totp/{label}?{params}&issuer={quote(issuer)}"


def qr_svg(device: AuthenticatorApp, title: str) -> str:
    """The provisioning URI as an inline SVG: classes and presentation attributes, no style
    (the Content-Security-Policy forbids inline styles)."""
    return str(segno.make(provisioning_uri(device), error="m").svg_inline(
        scale=4, light="#fff", svgclass="qr-code", lineclass="qr-code-line", title=title))


# --- Sessions --------------------------------------------------------------------------------

def device_known_at_login(sender: object, request: HttpRequest, user: User, **kwargs: object) -> None:
    """user_logged_in: a login asks for a new code (even when the same user logs in again in
    the same session); whether the user set up an app or a key is read here, once."""
    request.session.pop(VERIFIED_AT, None)
    if getattr(user, "otp_device", None) is None:
        request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
    request.session[HAS_DEVICE] = has_factor(user)


def pending(request: HttpRequest) -> bool:
    """Must this logged-in session enter a code before anything else?"""
    user: User = request.user  # type: ignore[assignment]
    if is_verified(user):
        return False
    return bool(request.session.get(HAS_DEVICE)) or required(user)


def mark_verified(request: HttpRequest, device: Device) -> None:
    """The session is verified now: new session key and CSRF token (as at login), the device
    and the time recorded."""
    request.session.cycle_key()
    rotate_token(request)
    django_otp.login(request, device)
    request.session[VERIFIED_AT] = int(time.time())
    request.session[HAS_DEVICE] = True


def recently_verified(request: HttpRequest, seconds: int | None = None) -> bool:
    """A code was entered in this session within `seconds` (AMPARO_STEP_UP_MINUTES)."""
    at = request.session.get(VERIFIED_AT)
    window = settings.AMPARO_STEP_UP_MINUTES * 60 if seconds is None else seconds
    return is_verified(request.user) and isinstance(at, int) and time.time() - at <= window


def needs_step_up(request: HttpRequest) -> bool:
    """Erasure, the audit export and staff account changes need a code entered within
    AMPARO_STEP_UP_MINUTES; without an app or a key and while two-factor authentication is
    not required (the demo), they do not."""
    if recently_verified(request):
        return False
    return settings.AMPARO_REQUIRE_2FA or has_factor(request.user)  # type: ignore[arg-type]


def to_verify(request: HttpRequest, next_url: str = "") -> HttpResponse:
    """Off to /two-factor/ (then back to `next_url`); htmx is told to go there itself."""
    url = reverse("two_factor")
    if next_url:
        url += "?" + urlencode({"next": next_url})
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def step_up(request: HttpRequest) -> HttpResponse | None:
    """None when the action may go on; else the way to the code page and back: the same URL
    for a GET, the page of the form for a POST."""
    if not needs_step_up(request):
        return None
    return to_verify(request, request.get_full_path() if request.method == "GET" else request.path)


def safe_next(request: HttpRequest) -> str:
    """Where to go after the code: `next` when it stays on this site, else the dashboard."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return reverse("dashboard")


# --- Codes -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Checked:
    """What came of a code: accepted (by which kind of device), or refused, and for how long
    no code is tried when refused for too many wrong ones."""

    ok: bool
    method: str = ""
    wait_seconds: int = 0
    device: Device | None = None
    wrong_password: bool = False


def password_ok(request: HttpRequest, password: str, *, stage: str) -> bool:
    """The account's current password, asked again before a factor changes (ASVS V7.5.1).
    Counted by the login lockout like a login (cases/lockout.py), so a session left open is
    no way around it; a refusal is recorded."""
    user: User = request.user  # type: ignore[assignment]
    address = client_address(request)
    if lockout.reserve(user.get_username(), address) is None and user.check_password(password):
        lockout.reset(user.get_username(), address)
        return True
    events.emit("two_factor.fail", actor=user, obj=user, outcome="denied", stage=stage,
                reason="wrong_password")
    return False


def _normal(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _is_app_code(code: str) -> bool:
    return code.isdigit() and len(code) == 6  # backup codes are eight letters and digits


def _check(user: User, device: Device | None, code: str, *, method: str, stage: str) -> Checked:
    """Try `code` on `device` (locked: two requests cannot use one code twice), within the
    caller's transaction; throttled by django-otp, every refusal recorded."""
    if device is None:
        events.emit("two_factor.fail", actor=user, obj=user, outcome="denied", stage=stage,
                    method=method, reason="no_device")
        return Checked(False, method)
    device = type(device).objects.select_for_update().get(pk=device.pk)
    allowed, info = device.verify_is_allowed()
    if not allowed:
        until = (info or {}).get("locked_until")
        wait = max(1, int((until - timezone.now()).total_seconds()) + 1) if until else 1
        events.emit("two_factor.fail", actor=user, obj=user, outcome="denied", stage=stage,
                    method=method, reason="throttled")
        return Checked(False, method, wait_seconds=wait)
    if not device.verify_token(code):
        events.emit("two_factor.fail", actor=user, obj=user, outcome="denied", stage=stage,
                    method=method, reason="wrong_code", failures=device.throttling_failure_count)
        return Checked(False, method)
    return Checked(True, method, device=device)


def verify(request: HttpRequest, code: str, *, step_up: bool = False) -> Checked:
    """A code from the app, or a backup code (used up). Success verifies the session."""
    user: User = request.user  # type: ignore[assignment]
    code = _normal(code)
    with transaction.atomic():
        if _is_app_code(code):
            checked = _check(user, app_device(user), code, method=APP, stage="verify")
        else:
            checked = _check(user, backup_device(user), code, method=BACKUP, stage="verify")
        if checked.ok:
            details: dict[str, Any] = {"method": checked.method, "step_up": step_up}
            if checked.method == BACKUP:
                details["backup_codes_left"] = backup_codes_left(user)
            events.emit("two_factor.verify", actor=user, obj=user, **details)
    if checked.ok and checked.device is not None:
        mark_verified(request, checked.device)
    return checked


def _new_backup_codes(user: User) -> list[str]:
    """Ten new backup codes in place of any left (the old ones stop working); only their
    hashes are stored."""
    device = backup_device(user)
    if device is None:
        device = BackupCodeSet.objects.create(user=user, name="backup", confirmed=True)
    device.codes.all().delete()
    codes = [secrets_.new_code() for _ in range(BACKUP_CODES)]
    BackupCode.objects.bulk_create(BackupCode(code_set=device, hashed=secrets_.hash_code(c))
                                   for c in codes)
    return codes


def confirm_enrolment(request: HttpRequest, code: str, password: str) -> tuple[Checked, list[str]]:
    """The app set up on the enrolment page gives its first code, with the account's password:
    it replaces any app the user had, new backup codes are made, the user's other sessions
    end, and this one is verified."""
    user: User = request.user  # type: ignore[assignment]
    if not password_ok(request, password, stage="enrol"):
        return Checked(False, APP, wrong_password=True), []
    with transaction.atomic():
        checked = _check(user, _pending(user), _normal(code), method=APP, stage="enrol")
        device = checked.device  # as verified and saved (its last code recorded)
        if not checked.ok or device is None:
            return checked, []
        replaced = AuthenticatorApp.objects.filter(user=user).exclude(pk=device.pk).delete()[0]
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_backup_codes(user)
        events.emit("two_factor.enrol", actor=user, obj=user, replaced=bool(replaced))
        sessions.end_other_sessions(request, reason=sessions.TWO_FACTOR)
    mark_verified(request, device)
    return checked, codes


def regenerate_backup_codes(request: HttpRequest, code: str, password: str) -> tuple[Checked, list[str]]:
    """New backup codes against the password and a current code from the app; the user's
    other sessions end."""
    user: User = request.user  # type: ignore[assignment]
    if not password_ok(request, password, stage="backup_codes"):
        return Checked(False, APP, wrong_password=True), []
    with transaction.atomic():
        checked = _check(user, app_device(user), _normal(code), method=APP, stage="backup_codes")
        if not checked.ok:
            return checked, []
        codes = _new_backup_codes(user)
        events.emit("two_factor.backup_codes", actor=user, obj=user, codes=len(codes))
        sessions.end_other_sessions(request, reason=sessions.TWO_FACTOR)
    if checked.device is not None:
        mark_verified(request, checked.device)
    return checked, codes


def remove_devices(user: User) -> int:
    """Every device of the user (app, backup codes, security keys): they set up an app again
    at their next login. The caller records who did it and why."""
    removed = 0
    for model in (AuthenticatorApp, BackupCodeSet, WebAuthnDevice):
        devices = model.objects.filter(user=user)
        removed += devices.count()
        devices.delete()
    return removed


def connect() -> None:
    user_logged_in.connect(device_known_at_login, dispatch_uid="amparo-two-factor-login")
