"""The second factors Amparo keeps itself: the authenticator app, whose seed is sealed, and
backup codes, kept only as hashes (cases/two_factor_secrets.py;
docs/architecture.md#second-factor-secrets)."""

from __future__ import annotations

import uuid

from django.db import models
from django_otp.models import Device, ThrottlingMixin, TimestampMixin

from cases import two_factor_secrets as secrets_
from cases.crypto.fields import EncryptedBytesField


class AuthenticatorApp(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator app. The seed is sealed with the two-factor data key, bound to
    its row (so it is set once the row has its id: django-otp's device ids are integers),
    and opened only to show it while the app is set up and to check a code."""

    seed = EncryptedBytesField(subject="seed_subject")
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6)
    # The time step of the last code accepted: only a later one is accepted next.
    last_t = models.BigIntegerField(default=-1)

    class Meta:
        verbose_name = "authenticator app"

    @property
    def seed_subject(self) -> uuid.UUID:
        return secrets_.SUBJECT

    def verify_token(self, token: object) -> bool:
        """A code from the app: in the accepted window, after the last one, compared in
        constant time; wrong codes are throttled."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        step = secrets_.matching_step(self.seed, str(token), step=self.step, t0=self.t0,
                                      digits=self.digits, after=self.last_t)
        if step is None:
            self.throttle_increment(commit=True)
            return False
        self.last_t = step
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save(update_fields=["last_t", "throttling_failure_count",
                                 "throttling_failure_timestamp", "last_used_at"])
        return True

    def get_throttle_factor(self) -> int:
        return 1


class BackupCodeSet(TimestampMixin, ThrottlingMixin, Device):
    """The user's backup codes as one device (throttled together, what a session is verified
    with); the codes themselves are `BackupCode` rows."""

    class Meta:
        verbose_name = "backup codes"

    def verify_token(self, token: object) -> bool:
        """A backup code, used up: its row is deleted in the caller's transaction, which has
        this row locked (cases/two_factor.py `_check`), so one code verifies once."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        match = None
        for code in self.codes.all():
            # Every hash is checked, so the time taken does not say which one matched.
            if secrets_.code_matches(str(token), code.hashed) and match is None:
                match = code
        if match is None or not BackupCode.objects.filter(pk=match.pk).delete()[0]:
            self.throttle_increment(commit=True)
            return False
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save(update_fields=["throttling_failure_count", "throttling_failure_timestamp",
                                 "last_used_at"])
        return True

    def get_throttle_factor(self) -> int:
        return 1


class BackupCode(models.Model):
    """One backup code as a salted scrypt hash (Django's scrypt format); never the code."""

    code_set = models.ForeignKey(BackupCodeSet, on_delete=models.CASCADE, related_name="codes")
    hashed = models.CharField(max_length=200)

    class Meta:
        verbose_name = "backup code"

    def __str__(self) -> str:
        return f"backup code {self.pk}"  # never the hash
