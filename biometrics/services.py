"""Every write of the biometrics app, and the searches (docs/architecture.md#biometrics).

Enrolment extracts and checks a capture before anything is stored (a refusal stores
nothing), seals it, and queues the 1:N search (`tasks.dedupe_task`) once the capture is
committed; the search raises possible-duplicate pairs into the core's queue. Verification
compares a fresh capture with the enrolled finger of a case's principal, 1:1.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image

from biometrics import engine, worker
from biometrics.models import (
    CaptureSource,
    Consent,
    FacePhoto,
    Finger,
    FingerprintCapture,
    MatchEvidence,
    Verification,
    VerificationKind,
    VerificationResult,
)
from cases import access, events, restriction, selectors
from cases.crypto import files
from cases.models import (
    Case,
    DuplicateReason,
    DuplicateSource,
    Person,
    PossibleDuplicate,
    User,
)

CAPTURE_TABLE = FingerprintCapture._meta.db_table
PHOTO_TABLE = FacePhoto._meta.db_table
# An ISO/IEC 19794-2 record starts with these bytes ("FMR" and a zero).
TEMPLATE_MAGIC = b"FMR\x00"
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
PHOTO_MAX_BYTES = 8 * 1024 * 1024
PHOTO_MIN_SIDE, PHOTO_MAX_SIDE = 100, 4000
# How many of a person's fingers a duplicate search uses (the best quality first).
PROBE_FINGERS = 2


def match_score() -> int:
    """Bozorth3 score from which two prints are the same finger (setting)."""
    return int(getattr(settings, "BIOMETRICS_MATCH_SCORE", 40))


def possible_score() -> int:
    """Score from which a pair is raised for a supervisor to look at (setting)."""
    return int(getattr(settings, "BIOMETRICS_POSSIBLE_SCORE", 30))


def decision(score: int) -> str:
    if score >= match_score():
        return "match"
    if score >= possible_score():
        return "possible"
    return "no match"


# --- Who may ------------------------------------------------------------------------------

def may_capture(user: User, person: Person) -> bool:
    """The caseworkers and supervisors who may change the person's record."""
    return (not person.erased_at and not person.restricted_at
            and selectors.can_edit_person(user, person))


def may_verify(user: User, case: Case) -> bool:
    principal = case.principal
    return (access.can_edit_case(user, case) and not principal.erased_at
            and not principal.restricted_at)


def may_search(user: User) -> bool:
    """The caseworkers and supervisors (of any office) run a 1:N search."""
    return access.has_role(user, *access.CASE_ROLES)


def _check_capture(by: User, person: Person) -> None:
    if person.erased_at or not selectors.can_edit_person(by, person):
        raise PermissionDenied(_("You cannot take fingerprints or photos for this person."))
    restriction.ensure_processing_allowed(person)


def _check_finger(finger: Any) -> int:
    try:
        number = int(finger)
    except (TypeError, ValueError):
        number = 0
    if number not in Finger.values:
        raise ValidationError({"finger": _("Choose the finger: a position from 1 to 10.")})
    return number


def _check_consent(consent: str) -> None:
    if consent not in Consent.values:
        raise ValidationError({"consent": _("Record how the person consented to the capture.")})


def _check_device(device: str) -> str:
    device = (device or "").strip()
    if len(device) > 100:
        raise ValidationError({"device": _("Name the device in at most 100 characters.")})
    return device


# --- Enrolment ----------------------------------------------------------------------------

def read_capture(data: bytes) -> tuple[engine.Extraction, str]:
    """An image or a device's ISO/IEC 19794-2 template, extracted and checked (Refused)."""
    e = engine.engine()
    if data[:4] == TEMPLATE_MAGIC:
        return e.load_template(data), CaptureSource.TEMPLATE
    return e.extract(data), CaptureSource.IMAGE


def current_captures(person: Person | uuid.UUID) -> list[FingerprintCapture]:
    pk = person.pk if isinstance(person, Person) else person
    return list(FingerprintCapture.objects.filter(person_id=pk, replaced_at__isnull=True)
                .select_related("operator").order_by("finger"))


def _refuse(by: User | None, person: Person, finger: int, refused: engine.Refused) -> None:
    events.emit("biometrics.refuse", actor=by, obj=person, finger=finger, code=refused.code)


def enrol_finger(*, by: User, person: Person, finger: Any, data: bytes, device: str = "",
                 consent: str = Consent.GIVEN, dedupe: bool = True) -> FingerprintCapture:
    """Enrol one finger of `person` from an image or a template; raises engine.Refused (with
    the operator's reason: nothing is stored) or ValidationError. `dedupe` queues the 1:N
    search once committed; the bulk command runs it itself instead (`dedupe`)."""
    finger = _check_finger(finger)
    _check_consent(consent)
    device = _check_device(device)
    _check_capture(by, person)
    try:
        extraction, source = read_capture(data)
        _check_other_fingers(person, finger, extraction.template)
    except engine.Refused as refused:
        _refuse(by, person, finger, refused)
        raise
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        _check_capture(by, person)
        now = timezone.now()
        old = FingerprintCapture.objects.filter(person=person, finger=finger,
                                                replaced_at__isnull=True).first()
        if old is not None:
            _replace(old, now)
        capture = FingerprintCapture(person=person, finger=finger, template=extraction.template,
                                     source=source, quality=extraction.quality, device=device,
                                     consent=consent, operator=by)
        if source == CaptureSource.IMAGE:
            capture.image_name = files.store(subject_id=person.pk, table=CAPTURE_TABLE,
                                             row_id=capture.id, data=data)
        stored = capture.image_name
        try:
            capture.save()
            events.emit("biometrics.enrol", actor=by, obj=person, finger=finger,
                        quality=extraction.quality, source=source, device=device,
                        consent=consent, replaced=old is not None)
        except Exception:
            if stored:  # no row will name the file: remove it with the transaction
                files.delete(stored)
            raise
        if dedupe:
            from biometrics import tasks

            capture_id = str(capture.pk)
            transaction.on_commit(lambda: tasks.dedupe_task.delay(capture_id))
    return capture


def _replace(old: FingerprintCapture, now: Any) -> None:
    """The capture a new one replaces: out of the gallery; its image deleted once committed."""
    name = old.image_name
    old.replaced_at = now
    old.image_name = ""
    old.save(update_fields=["replaced_at", "image_name", "changed_at"])
    if name:
        transaction.on_commit(lambda: files.delete(name))


def _check_other_fingers(person: Person, finger: int, template: bytes) -> None:
    """A print that matches another finger enrolled for the person: the wrong finger."""
    e = engine.engine()
    others = [c for c in current_captures(person) if c.finger != finger and c.template]
    if not others:
        return
    score = e.comparator(template)
    if any(score(c.template) >= match_score() for c in others):
        raise engine.Refused("other_finger")


# --- Face photos --------------------------------------------------------------------------

def check_photo(data: bytes) -> str:
    """The photo's content type, or ValidationError: JPEG or PNG, within size limits."""
    if not data:
        raise ValidationError({"photo": _("The file is empty.")})
    if len(data) > PHOTO_MAX_BYTES:
        raise ValidationError({"photo": _("The photo is too large: at most 8 MB.")})
    try:
        with Image.open(io.BytesIO(data)) as img:
            kind = img.format
            width, height = img.size
            if kind not in PHOTO_FORMATS:
                raise ValidationError({"photo": _("Upload the photo as a JPEG or PNG image.")})
            if max(width, height) > PHOTO_MAX_SIDE or min(width, height) < PHOTO_MIN_SIDE:
                raise ValidationError({"photo": _("The photo must be between 100 and 4000 pixels a side.")})
            img.verify()
    except ValidationError:
        raise
    except Exception:  # Pillow raises many kinds of error on broken files
        raise ValidationError({"photo": _("The photo cannot be read: take it again.")}) from None
    return PHOTO_FORMATS[kind]


def set_photo(*, by: User, person: Person, data: bytes, device: str = "",
              consent: str = Consent.GIVEN) -> FacePhoto:
    """The person's face photo, sealed; replaces the current one."""
    _check_consent(consent)
    device = _check_device(device)
    _check_capture(by, person)
    content_type = check_photo(data)
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        _check_capture(by, person)
        old = FacePhoto.objects.filter(person=person, replaced_at__isnull=True).first()
        if old is not None:
            name = old.storage_name
            old.replaced_at, old.storage_name = timezone.now(), ""
            old.save(update_fields=["replaced_at", "storage_name"])
            transaction.on_commit(lambda: files.delete(name))
        photo = FacePhoto(person=person, content_type=content_type, device=device,
                          consent=consent, operator=by)
        photo.storage_name = files.store(subject_id=person.pk, table=PHOTO_TABLE,
                                         row_id=photo.id, data=data)
        try:
            photo.save()
            events.emit("biometrics.photo", actor=by, obj=person, device=device,
                        consent=consent, replaced=old is not None)
        except Exception:
            files.delete(photo.storage_name)
            raise
    return photo


def current_photo(person: Person | uuid.UUID) -> FacePhoto | None:
    pk = person.pk if isinstance(person, Person) else person
    return FacePhoto.objects.filter(person_id=pk, replaced_at__isnull=True).first()


def read_photo(photo: FacePhoto) -> bytes:
    return files.load(subject_id=photo.person_id, table=PHOTO_TABLE, row_id=photo.id,
                      name=photo.storage_name)


def read_print(capture: FingerprintCapture) -> bytes:
    return files.load(subject_id=capture.person_id, table=CAPTURE_TABLE, row_id=capture.id,
                      name=capture.image_name)


# --- 1:N ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Found:
    """A candidate of an enrolment's search, and the pair raised for it (None: a pair of
    these two existed already)."""

    person_id: uuid.UUID
    score: int
    pair: PossibleDuplicate | None


def _probe_of(person_id: uuid.UUID, first: FingerprintCapture) -> dict[int, tuple[Any, bytes]]:
    """The new capture and the person's best other finger(s), as a search probe."""
    e = engine.engine()
    others = sorted((c for c in current_captures(person_id) if c.pk != first.pk and c.template),
                    key=lambda c: -c.quality)
    captures = [first, *others]
    probe: dict[int, tuple[Any, bytes]] = {}
    for c in captures[:PROBE_FINGERS]:
        probe[c.finger] = (e.load_template(c.template).minutiae, c.template)
    return probe


def dedupe(capture_id: uuid.UUID | str) -> list[Found]:
    """The 1:N search after an enrolment, over every enrolled person of every office: each
    candidate scoring `possible_score()` or more becomes a possible-duplicate pair (unless
    the two records were paired already), in the enrolled person's office."""
    capture = (FingerprintCapture.objects.select_related("person", "person__office", "operator")
               .filter(pk=capture_id).first())
    if capture is None or capture.replaced_at or capture.person.erased_at or not capture.template:
        return []
    person = capture.person
    probe = _probe_of(person.pk, capture)
    with worker.searching() as gallery:
        result = gallery.search(probe, engine.engine().comparator, exclude=person.pk)
    found = []
    for candidate in result.candidates:
        if candidate.score < possible_score():
            break
        found.append(Found(candidate.person, candidate.score,
                           _raise_pair(person, candidate.person, candidate.score, capture)))
    events.emit("biometrics.dedupe", obj=person, finger=capture.finger,
                gallery_people=result.gallery_people, rescored=result.rescored,
                seconds=round(result.seconds, 3),
                candidates=[str(f.person_id) for f in found],
                pairs=[str(f.pair.pk) for f in found if f.pair is not None])
    return found


def _raise_pair(person: Person, other_id: uuid.UUID, score: int,
                capture: FingerprintCapture) -> PossibleDuplicate | None:
    if PossibleDuplicate.objects.filter(Q(person=person, other_id=other_id)
                                        | Q(person_id=other_id, other=person)).exists():
        return None
    fingers = sorted({capture.finger} | {c.finger for c in current_captures(other_id)}
                     & {c.finger for c in current_captures(person)})
    try:
        with transaction.atomic():
            # Both people locked in one order: two searches at once (the worker's, a
            # command's) finding each other raise one pair, not one each way.
            list(Person.objects.select_for_update().filter(pk__in=[person.pk, other_id])
                 .order_by("pk").values_list("pk", flat=True))
            if PossibleDuplicate.objects.filter(Q(person=person, other_id=other_id)
                                                | Q(person_id=other_id, other=person)).exists():
                return None
            pair = PossibleDuplicate.objects.create(
                office_id=person.office_id, person=person, other_id=other_id,
                source=DuplicateSource.BIOMETRIC, reasons=[DuplicateReason.FINGERPRINT],
                flagged_by=capture.operator)
            MatchEvidence.objects.create(pair=pair, score=score, fingers=fingers)
    except IntegrityError:  # raised meanwhile by another search
        return None
    events.emit("duplicate.flag", actor=capture.operator, obj=pair,
                people=[str(person.pk), str(other_id)], source=DuplicateSource.BIOMETRIC)
    return pair


@dataclass(frozen=True)
class SearchRow:
    person_id: uuid.UUID
    cases: list[str]
    score: int
    decision: str


@dataclass(frozen=True)
class Search:
    candidates: list[SearchRow]
    gallery_people: int
    rescored: int
    seconds: float


def search(*, by: User, images: dict[int, bytes], only_visible: bool = False) -> Search:
    """A 1:N search as `by` runs it (the operator's command, the search page): every enrolled
    person of every office is searched; of each candidate's cases, only those `by` may see
    are named. `only_visible` (the page) keeps only the candidates `by` may see
    (`selectors.visible_people`): the others are not listed at all. The probe images are
    only read, never stored. Raises engine.Refused for a probe that cannot be used
    (`Refused.finger` says which)."""
    if not may_search(by):
        raise PermissionDenied(_("Only caseworkers and supervisors search fingerprints."))
    if not images:
        raise ValidationError(_("Give at least one finger to search with."))
    e = engine.engine()
    probe = {}
    for finger, data in images.items():
        finger = _check_finger(finger)
        try:
            x = e.extract(data)
        except engine.Refused as refused:
            refused.finger = finger  # type: ignore[attr-defined]
            raise
        probe[finger] = (x.minutiae, x.template)
    with worker.searching() as gallery:
        result = gallery.search(probe, e.comparator)
    visible = selectors.visible_cases(by)
    seen = set(selectors.visible_people(by).filter(pk__in=[c.person for c in result.candidates])
               .values_list("pk", flat=True)) if only_visible else set()
    rows, found = [], []
    for c in result.candidates:
        if decision(c.score) != "no match":
            found.append(str(c.person))
        if only_visible and c.person not in seen:
            continue
        refs = list(visible.filter(participants__person_id=c.person)
                    .order_by("opened_at").values_list("reference", flat=True))
        rows.append(SearchRow(c.person, refs, c.score, decision(c.score)))
    details: dict[str, Any] = {}
    if only_visible:  # what the user was shown, beside what the search found
        details["shown"] = [str(r.person_id) for r in rows]
    events.emit("biometrics.search", actor=by, fingers=sorted(probe),
                gallery_people=result.gallery_people, rescored=result.rescored,
                candidates=found, **details)
    return Search(rows, result.gallery_people, result.rescored, result.seconds)


# --- 1:1 ----------------------------------------------------------------------------------

def verify(*, by: User, case: Case, kind: str, finger: Any, data: bytes) -> Verification:
    """A fresh capture compared with the enrolled finger of the case's principal; the result
    and the score are recorded on the case. Raises engine.Refused for an unusable capture."""
    if kind not in VerificationKind.values:
        raise ValidationError({"kind": _("Say whether this is the interview or the decision.")})
    finger = _check_finger(finger)
    person = case.principal
    restriction.ensure_processing_allowed(person)
    if not may_verify(by, case):
        raise PermissionDenied(_("Only who works on the case verifies the person's identity."))
    enrolled = FingerprintCapture.objects.filter(person=person, finger=finger,
                                                 replaced_at__isnull=True).first()
    if enrolled is None or not enrolled.template:
        raise ValidationError({"finger": _("This finger is not enrolled for this person: "
                                           "choose an enrolled finger, or enrol it first.")})
    try:
        fresh = engine.engine().extract(data)
    except engine.Refused as refused:
        _refuse(by, person, finger, refused)
        raise
    score = engine.engine().compare(fresh.template, enrolled.template)
    result = VerificationResult.MATCH if score >= match_score() else VerificationResult.NO_MATCH
    with transaction.atomic():
        made = Verification.objects.create(case=case, person=person, kind=kind, finger=finger,
                                           score=score, result=result, by=by)
        events.emit("biometrics.verify", actor=by, obj=case, kind=kind, finger=finger,
                    score=score, result=result)
    return made
