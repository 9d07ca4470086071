"""Fingerprint captures, face photos, 1:1 verifications and the evidence of a fingerprint
match (docs/architecture.md#biometrics).

Templates are sealed in the database and images in file storage, each with the data key of
the person they belong to: an erasure destroys the key, and with it every capture.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.crypto.fields import EncryptedBytesField, EncryptedJSONField


class Finger(models.IntegerChoices):
    """Finger positions of ISO/IEC 19794-2."""

    RIGHT_THUMB = 1, _("Right thumb")
    RIGHT_INDEX = 2, _("Right index finger")
    RIGHT_MIDDLE = 3, _("Right middle finger")
    RIGHT_RING = 4, _("Right ring finger")
    RIGHT_LITTLE = 5, _("Right little finger")
    LEFT_THUMB = 6, _("Left thumb")
    LEFT_INDEX = 7, _("Left index finger")
    LEFT_MIDDLE = 8, _("Left middle finger")
    LEFT_RING = 9, _("Left ring finger")
    LEFT_LITTLE = 10, _("Left little finger")


class Consent(models.TextChoices):
    """How the person agreed to the capture."""

    GIVEN = "given", _("Asked and given at the capture")
    ON_FILE = "on_file", _("Signed on the paper file (ten-print card)")


class CaptureSource(models.TextChoices):
    IMAGE = "image", _("Image")
    TEMPLATE = "template", _("Minutiae template from the device")


class FingerprintCapture(models.Model):
    """One finger of one person. A new capture of the finger replaces the current one
    (`replaced_at`); the gallery of the 1:N search holds the current ones."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey("cases.Person", on_delete=models.CASCADE, related_name="+")
    finger = models.PositiveSmallIntegerField(_("finger"), choices=Finger.choices)
    # ISO/IEC 19794-2:2005 minutiae.
    template = EncryptedBytesField(subject="person_id")
    # The template's index features (cylinders, hash keys: index.pack), computed at the
    # enrolment and sealed with the same key, so a restarted worker reads them instead of
    # computing them again (docs/architecture.md#biometrics). Derived from the print, so
    # never in clear; empty until computed (`compute_fingerprint_features`), and cleared
    # when the capture is replaced or its person erased.
    features = EncryptedBytesField(subject="person_id", null=True, blank=True)
    source = models.CharField(max_length=10, choices=CaptureSource.choices)
    # The image, sealed in file storage (empty for a device's template).
    image_name = models.CharField(max_length=200, blank=True)
    quality = models.PositiveSmallIntegerField(_("quality"), default=0)  # NFIQ 2, 0-100
    device = models.CharField(_("device"), max_length=100, blank=True)
    consent = models.CharField(_("consent"), max_length=10, choices=Consent.choices)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("operator"))
    captured_at = models.DateTimeField(_("captured"), auto_now_add=True)
    replaced_at = models.DateTimeField(null=True, blank=True)
    # Moves on every change (a capture, its replacement, its person's erasure): a worker's
    # gallery catches up from here (biometrics/worker.py).
    changed_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("fingerprint capture")
        verbose_name_plural = _("fingerprint captures")
        constraints = [
            models.UniqueConstraint(fields=["person", "finger"], condition=Q(replaced_at__isnull=True),
                                    name="one_current_capture_per_finger"),
            models.CheckConstraint(condition=Q(finger__gte=1) & Q(finger__lte=10),
                                   name="finger_position_1_to_10"),
        ]

    def __str__(self) -> str:
        return f"finger {self.finger} of {self.person_id}"


class FacePhoto(models.Model):
    """A photo of the person's face, sealed in file storage; a new one replaces it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey("cases.Person", on_delete=models.CASCADE, related_name="+")
    storage_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=20)
    device = models.CharField(_("device"), max_length=100, blank=True)
    consent = models.CharField(_("consent"), max_length=10, choices=Consent.choices)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("operator"))
    captured_at = models.DateTimeField(_("captured"), auto_now_add=True)
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("face photo")
        verbose_name_plural = _("face photos")
        constraints = [
            models.UniqueConstraint(fields=["person"], condition=Q(replaced_at__isnull=True),
                                    name="one_current_face_photo"),
        ]

    def __str__(self) -> str:
        return f"photo of {self.person_id}"


class VerificationKind(models.TextChoices):
    INTERVIEW = "interview", _("Interview")
    DECISION = "decision", _("Decision")


class VerificationResult(models.TextChoices):
    MATCH = "match", _("Same person")
    NO_MATCH = "no_match", _("Not the same person")


class Verification(models.Model):
    """A 1:1 check at an interview or a decision: a fresh capture against the enrolled
    finger of the case's principal."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey("cases.Person", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("at"), max_length=10, choices=VerificationKind.choices)
    finger = models.PositiveSmallIntegerField(_("finger"), choices=Finger.choices)
    score = models.PositiveIntegerField(_("score"))
    result = models.CharField(_("result"), max_length=10, choices=VerificationResult.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                           verbose_name=_("by"))
    at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("verification")
        verbose_name_plural = _("verifications")
        indexes = [models.Index(fields=["case", "-at"])]

    def __str__(self) -> str:
        return f"{self.kind} verification of {self.case_id}"


class MatchEvidence(models.Model):
    """Why a fingerprint pair was raised: the best exact score and the fingers compared."""

    pair = models.OneToOneField("cases.PossibleDuplicate", on_delete=models.CASCADE,
                                primary_key=True, related_name="+")
    score = models.PositiveIntegerField()
    fingers = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"evidence of {self.pair_id}"


class SearchStatus(models.TextChoices):
    QUEUED = "queued", _("Searching")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class FingerprintSearch(models.Model):
    """A 1:N search asked from the search page, run by the worker that holds the gallery
    (docs/architecture.md#biometrics). The probe's templates are sealed under the search's
    own data key, which is destroyed once the search has run; what stays is who searched,
    when, with which fingers, and what was found (person ids and scores)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                           verbose_name=_("by"))
    status = models.CharField(_("status"), max_length=10, choices=SearchStatus.choices,
                              default=SearchStatus.QUEUED)
    fingers = models.JSONField(default=list)
    # {finger: template as base64} while queued; None once run.
    probe = EncryptedJSONField()
    # [{"person": id, "score": int}], best first
    candidates = models.JSONField(default=list)
    gallery_people = models.PositiveIntegerField(null=True)
    rescored = models.PositiveIntegerField(null=True)
    seconds = models.FloatField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("fingerprint search")
        verbose_name_plural = _("fingerprint searches")
        indexes = [models.Index(fields=["by", "-created_at"])]

    def __str__(self) -> str:
        return f"fingerprint search {self.id} ({self.status})"
