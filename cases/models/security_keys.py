from django.db import models
from django_otp.models import Device, TimestampMixin


class WebAuthnDevice(TimestampMixin, Device):
    """A security key or passkey (WebAuthn) as a second factor beside the authenticator app
    (cases/security_keys.py; docs/architecture.md#security-keys-and-passkeys).

    Only what the ceremonies need: the credential's id and public key as the key gave them at
    enrolment, and the counter it reports with each use (a counter that goes back is a
    cloned key). `name` is what the user called it."""

    credential_id = models.BinaryField(max_length=1023, unique=True)
    public_key = models.BinaryField()
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    aaguid = models.CharField(max_length=36, blank=True)
    # SHA-256 of the challenge this key last answered: two requests carrying one answer (the
    # session's copy of the challenge is not a lock) are told apart from a copied key.
    last_challenge = models.BinaryField(max_length=32, default=b"", blank=True)

    class Meta:
        verbose_name = "security key"

    def verify_token(self, token: object) -> bool:
        return False  # a key answers a challenge (cases/security_keys.py), never a typed code
