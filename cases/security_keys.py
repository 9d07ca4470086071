"""Security keys and passkeys (WebAuthn) as a second factor beside the authenticator app
(docs/architecture.md#security-keys-and-passkeys).

py_webauthn runs the two ceremonies; this module keeps their challenges in the session (one
use each, for a few minutes), stores the keys as django-otp devices and verifies the session
through `two_factor.mark_verified`, like a code from the app.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time
from dataclasses import dataclass
from typing import Any

import django_otp
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import InvalidJSONStructure, WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from cases import events, sessions, two_factor
from cases.models import User, WebAuthnDevice

METHOD = "security_key"
CHALLENGE_SECONDS = 300  # how long a page's challenge may be answered
TIMEOUT_MS = 120_000  # how long the browser waits for a touch of the key
REGISTER, AUTHENTICATE = "register", "authenticate"
_SESSION = "_amparo_webauthn_"  # + the ceremony: {"challenge": base64url, "at": Unix seconds}


@dataclass(frozen=True)
class Outcome:
    """What came of a ceremony: the key, or why it was refused (a reason the log keeps)."""

    ok: bool
    reason: str = ""
    device: WebAuthnDevice | None = None


# --- Relying party ---------------------------------------------------------------------------

def rp_id(request: HttpRequest) -> str:
    """AMPARO_WEBAUTHN_RP_ID, else the host the browser asked for, without its port."""
    if settings.AMPARO_WEBAUTHN_RP_ID:
        return str(settings.AMPARO_WEBAUTHN_RP_ID)
    host = request.get_host().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if ":" in host else host


def origins(request: HttpRequest) -> list[str]:
    """AMPARO_WEBAUTHN_ORIGINS, else the origin the browser is on."""
    if settings.AMPARO_WEBAUTHN_ORIGINS:
        return list(settings.AMPARO_WEBAUTHN_ORIGINS)
    return [f"{request.scheme}://{request.get_host().lower()}"]


def host_is_ip(request: HttpRequest) -> bool:
    """Browsers refuse security keys on an IP address (the demo's 127.0.0.1): a name is needed."""
    try:
        ipaddress.ip_address(rp_id(request))
    except ValueError:
        return False
    return True


def named_url(request: HttpRequest) -> str:
    """On a loopback address (the demo), the same page by the name browsers accept; else ""."""
    if not host_is_ip(request) or not ipaddress.ip_address(rp_id(request)).is_loopback:
        return ""
    host = request.get_host()
    port = host.rsplit(":", 1)[1] if re.search(r":\d+$", host) else ""
    return f"{request.scheme}://localhost{':' + port if port else ''}{request.get_full_path()}"


def host_hint(request: HttpRequest) -> dict[str, Any]:
    """For the pages: whether to warn that the host is an IP address, and the named URL."""
    return {"host_is_ip": host_is_ip(request), "named_url": named_url(request)}


# --- Keys ------------------------------------------------------------------------------------

def keys(user: User) -> list[WebAuthnDevice]:
    return list(WebAuthnDevice.objects.filter(user=user, confirmed=True).order_by("created_at", "pk"))


def has_key(user: User) -> bool:
    return bool(WebAuthnDevice.objects.filter(user=user, confirmed=True).exists())


def _descriptor(device: WebAuthnDevice) -> PublicKeyCredentialDescriptor:
    transports = []
    for name in device.transports:
        try:
            transports.append(AuthenticatorTransport(name))
        except ValueError:
            continue  # a transport this version of py_webauthn does not know: not a hint then
    return PublicKeyCredentialDescriptor(id=bytes(device.credential_id), transports=transports or None)


# --- Challenges ------------------------------------------------------------------------------

def _remember(request: HttpRequest, ceremony: str, challenge: bytes) -> None:
    request.session[_SESSION + ceremony] = {"challenge": bytes_to_base64url(challenge),
                                            "at": int(time.time())}


def _take(request: HttpRequest, ceremony: str) -> bytes | None:
    """The challenge of the page, used up now (an answer replayed later finds none); None when
    there is none or it is older than CHALLENGE_SECONDS."""
    stored = request.session.pop(_SESSION + ceremony, None)
    if not isinstance(stored, dict) or not isinstance(stored.get("at"), int):
        return None
    if time.time() - stored["at"] > CHALLENGE_SECONDS:
        return None
    return base64url_to_bytes(str(stored["challenge"]))


# --- Enrolment -------------------------------------------------------------------------------

def registration_options(request: HttpRequest) -> str:
    """The options for navigator.credentials.create() (JSON), the keys already enrolled
    excluded; the challenge is kept in the session."""
    user: User = request.user  # type: ignore[assignment]
    options = generate_registration_options(
        rp_id=rp_id(request), rp_name="Amparo", user_name=user.username,
        user_id=f"amparo-user-{user.pk}".encode(),
        user_display_name=user.get_full_name() or user.username,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=[_descriptor(d) for d in keys(user)])
    _remember(request, REGISTER, options.challenge)
    return options_to_json(options)


def _refuse(user: User, stage: str, reason: str, **details: Any) -> Outcome:
    events.emit("two_factor.key_fail", actor=user, obj=user, outcome="denied", stage=stage,
                reason=reason, **details)
    return Outcome(False, reason)


def register(request: HttpRequest, *, name: str, credential: str, password: str) -> Outcome:
    """The key's answer to the enrolment page, with the account's password: checked against
    the page's challenge, the relying party and the allowed origins, then kept as a device of
    the user. Like a new app, it ends the user's other sessions and verifies this one."""
    user: User = request.user  # type: ignore[assignment]
    if not two_factor.password_ok(request, password, stage="key_enrol"):
        return Outcome(False, "wrong_password")
    challenge = _take(request, REGISTER)
    if challenge is None:
        return _refuse(user, "enrol", "no_challenge")
    try:
        parsed = parse_registration_credential_json(credential)
        verified = verify_registration_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=rp_id(request),
            expected_origin=origins(request))
    except (InvalidJSONStructure, WebAuthnException, ValueError) as exc:
        return _refuse(user, "enrol", "invalid", error=type(exc).__name__)
    with transaction.atomic():
        if WebAuthnDevice.objects.filter(credential_id=verified.credential_id).exists():
            return _refuse(user, "enrol", "already_enrolled")
        device = WebAuthnDevice.objects.create(
            user=user, name=name, confirmed=True, credential_id=verified.credential_id,
            public_key=verified.credential_public_key, sign_count=verified.sign_count,
            transports=[str(t.value) for t in (parsed.response.transports or [])],
            aaguid=verified.aaguid)
        events.emit("two_factor.key_enrol", actor=user, obj=user, key=device.pk, name=name,
                    aaguid=verified.aaguid, keys=len(keys(user)))
        sessions.end_other_sessions(request, reason=sessions.TWO_FACTOR)
    two_factor.mark_verified(request, device)
    return Outcome(True, device=device)


# --- Verification ----------------------------------------------------------------------------

def authentication_options(request: HttpRequest) -> str | None:
    """The options for navigator.credentials.get() (JSON) naming the user's keys, the
    challenge kept in the session; None when the user has no key."""
    user: User = request.user  # type: ignore[assignment]
    mine = keys(user)
    if not mine:
        return None
    options = generate_authentication_options(
        rp_id=rp_id(request), timeout=TIMEOUT_MS,
        allow_credentials=[_descriptor(d) for d in mine],
        user_verification=UserVerificationRequirement.PREFERRED)
    _remember(request, AUTHENTICATE, options.challenge)
    return options_to_json(options)


def authenticate(request: HttpRequest, *, credential: str, step_up: bool = False) -> Outcome:
    """The key's answer to the code page. Only a key of this user counts; its counter must
    have gone up since its last use (else it is a copy of the key, and refused). Success
    verifies the session, as a code from the app does."""
    user: User = request.user  # type: ignore[assignment]
    challenge = _take(request, AUTHENTICATE)
    if challenge is None:
        return _refuse(user, "verify", "no_challenge")
    try:
        parsed = parse_authentication_credential_json(credential)
    except (InvalidJSONStructure, WebAuthnException, ValueError) as exc:
        return _refuse(user, "verify", "invalid", error=type(exc).__name__)
    with transaction.atomic():
        # Locked: two answers of one key cannot both move its counter from the same value.
        device = (WebAuthnDevice.objects.select_for_update()
                  .filter(user=user, confirmed=True, credential_id=parsed.raw_id).first())
        if device is None:
            return _refuse(user, "verify", "unknown_key")
        if bytes(device.last_challenge) == hashlib.sha256(challenge).digest():
            return _refuse(user, "verify", "replayed", key=device.pk)
        try:
            verified = verify_authentication_response(
                credential=parsed, expected_challenge=challenge, expected_rp_id=rp_id(request),
                expected_origin=origins(request), credential_public_key=bytes(device.public_key),
                # The counter is compared below, after the signature: a regression there is
                # a genuine answer of a copied key, worth its own event.
                credential_current_sign_count=0)
        except (WebAuthnException, ValueError) as exc:
            return _refuse(user, "verify", "invalid", key=device.pk, error=type(exc).__name__)
        new, known = verified.new_sign_count, device.sign_count
        if (new or known) and new <= known:
            events.emit("two_factor.key_cloned", actor=user, obj=user, outcome="denied",
                        key=device.pk, sign_count=new, known_sign_count=known)
            return Outcome(False, "cloned", device)
        device.sign_count = new
        device.last_challenge = hashlib.sha256(challenge).digest()
        device.last_used_at = timezone.now()
        device.save(update_fields=["sign_count", "last_challenge", "last_used_at"])
        events.emit("two_factor.verify", actor=user, obj=user, method=METHOD, step_up=step_up,
                    key=device.pk)
    two_factor.mark_verified(request, device)
    return Outcome(True, device=device)


def remove_from_session(request: HttpRequest, *, key_id: int) -> None:
    """After `remove`: a session verified with that key stays verified, on another factor of
    the user (the code was entered, at VERIFIED_AT, and the removal itself needed a recent
    one); with no factor left, there is nothing to ask for at the next page."""
    user: User = request.user  # type: ignore[assignment]
    if request.session.get(django_otp.DEVICE_ID_SESSION_KEY) != f"{WebAuthnDevice.model_label()}/{key_id}":
        return
    remaining = two_factor.app_device(user) or next(iter(keys(user)), None)
    if remaining is None:
        request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
        request.session[two_factor.HAS_DEVICE] = False
    else:
        django_otp.login(request, remaining)


def remove(request: HttpRequest, *, pk: int) -> WebAuthnDevice | None:
    """Remove one of the user's keys (None when the user has no such key); the user's other
    sessions end."""
    user: User = request.user  # type: ignore[assignment]
    with transaction.atomic():
        device: WebAuthnDevice | None = (
            WebAuthnDevice.objects.select_for_update().filter(user=user, pk=pk).first())
        if device is None:
            return None
        device.delete()
        events.emit("two_factor.key_remove", actor=user, obj=user, key=pk, name=device.name,
                    keys=len(keys(user)))
        sessions.end_other_sessions(request, reason=sessions.TWO_FACTOR)
    return device
