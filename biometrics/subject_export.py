"""The biometrics' part of a person's copy of their data (cases/subject_export.py): which
fingers and photos are held, when and how they were taken, and the identity checks made
with them. The images and templates themselves stay sealed: the copy says they are held."""

from __future__ import annotations

from django.utils.translation import gettext as _

from biometrics.models import FacePhoto, FingerprintCapture, Verification
from cases import subject_export
from cases.models import Person
from cases.subject_export import Section, Value, display, section


def sections(person: Person, internal: bool) -> tuple[list[Section], list[str]]:
    out: list[Section] = []
    captures = list(FingerprintCapture.objects.filter(person=person, replaced_at__isnull=True)
                    .order_by("finger"))
    photos = list(FacePhoto.objects.filter(person=person, replaced_at__isnull=True))
    if captures or photos:
        rows: list[dict[str, Value]] = [
            {"finger": display(c, "finger"), "quality": c.quality, "device": c.device,
             "consent": display(c, "consent"), "captured_at": c.captured_at} for c in captures]
        rows += [{"finger": _("Face photo"), "quality": None, "device": p.device,
                  "consent": display(p, "consent"), "captured_at": p.captured_at} for p in photos]
        out.append(section("biometrics.captures", _("Your fingerprints and photo"),
                           FingerprintCapture, ["finger", "quality", "device", "consent",
                                                "captured_at"], rows))
    checks = list(Verification.objects.filter(person=person).select_related("case").order_by("at"))
    if checks:
        out.append(section("biometrics.verifications", _("Identity checks by fingerprint"),
                           Verification, ["case", "kind", "finger", "result", "score", "at"], [
            {"case": v.case.reference, "kind": display(v, "kind"), "finger": display(v, "finger"),
             "result": display(v, "result"), "score": v.score, "at": v.at} for v in checks],
            extra={"case": _("case")}))
    return out, []


def register() -> None:
    subject_export.register("biometrics", sections)
