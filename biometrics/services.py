"""Every write of the biometrics app, and the searches (docs/architecture.md#biometrics).

Enrolment extracts and checks a capture before anything is stored (a refusal stores
nothing), seals it, and queues the 1:N search (`tasks.dedupe_task`) once the capture is
committed; the search raises possible-duplicate pairs into the core's queue. Verification
compares a fresh capture with the enrolled finger of a case's principal, 1:1.
"""

from __future__ import annotations

import base64
import datetime
import io
import logging
import uuid
from collections.abc import Iterator
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
    FingerprintSearch,
    MatchEvidence,
    SearchStatus,
    Verification,
    VerificationKind,
    VerificationResult,
)
from cases import access, events, metadata, restriction, selectors
from cases.crypto import datakeys, files
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
logger = logging.getLogger(__name__)
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


def stored_image(data: bytes) -> bytes:
    """A fingerprint image as it is sealed: its metadata removed, not turned (its template
    was read from these pixels), its stated resolution kept."""
    with Image.open(io.BytesIO(data)) as img:
        content_type = Image.MIME.get(img.format or "", "")
    return metadata.strip(data, content_type, field="capture", transpose=False)


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
    # The image kept is the one read, pixel for pixel and at its resolution, without its EXIF
    # or text (where, which device); the engine has checked its size and that it opens.
    image = stored_image(data) if source == CaptureSource.IMAGE else b""
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
        seal_features(capture)
        if source == CaptureSource.IMAGE:
            capture.image_name = files.store(subject_id=person.pk, table=CAPTURE_TABLE,
                                             row_id=capture.id, data=image)
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


def seal_features(capture: FingerprintCapture) -> None:
    """The capture's index features (`Engine.features`), to be sealed with its template:
    what a restarted worker reads instead of computing them (docs/architecture.md#biometrics)."""
    capture.features = engine.engine().features(capture.template) if capture.template else None


def seal_missing_features(*, batch: int = 200) -> Iterator[int]:
    """Seal the index features of the current captures enrolled without them (before they
    were kept), a batch per transaction, in id order; yields how many each batch sealed. Safe
    to stop and run again: it goes on with the captures still without features. A capture
    replaced or erased meanwhile is left alone (its row is locked, then checked)."""
    last = None
    while True:
        ids = FingerprintCapture.objects.filter(features__isnull=True, replaced_at__isnull=True,
                                                person__erased_at__isnull=True)
        if last is not None:
            ids = ids.filter(pk__gt=last)
        page = list(ids.order_by("pk").values_list("pk", flat=True)[:batch])
        if not page:
            return
        last = page[-1]
        sealed = 0
        with transaction.atomic(), datakeys.key_scope():
            # Only the captures are locked (`of`), not their people: an enrolment locks the
            # person, then the capture it replaces; locking both here could deadlock with it.
            captures = list(FingerprintCapture.objects.select_for_update(of=("self",))
                            .filter(pk__in=page, features__isnull=True, replaced_at__isnull=True,
                                    person__erased_at__isnull=True).order_by("pk"))
            datakeys.preload([c.person_id for c in captures])
            for capture in captures:
                if not capture.template:
                    continue
                seal_features(capture)
                capture.save(update_fields=["features"])
                sealed += 1
        yield sealed


def _replace(old: FingerprintCapture, now: Any) -> None:
    """The capture a new one replaces: out of the gallery, its index features dropped; its
    image deleted once committed."""
    name = old.image_name
    old.replaced_at = now
    old.image_name = ""
    old.features = None
    old.save(update_fields=["replaced_at", "image_name", "features", "changed_at"])
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
    data = metadata.strip(data, content_type, field="photo")  # EXIF: where, which camera
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


def _probe_of(person_id: uuid.UUID, first: FingerprintCapture) -> dict[int, bytes]:
    """The new capture and the person's best other finger(s), as a search probe."""
    others = sorted((c for c in current_captures(person_id) if c.pk != first.pk and c.template),
                    key=lambda c: -c.quality)
    return {c.finger: c.template for c in [first, *others][:PROBE_FINGERS]}


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
    with worker.searching() as e:
        result = e.search(probe, exclude=person.pk)
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


def _probe_from_images(by: User, images: dict[int, bytes]) -> dict[int, bytes]:
    """The fingers' templates; raises engine.Refused for a probe that cannot be
    used (`Refused.finger` says which)."""
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
        probe[finger] = x.template
    return probe


def _rows_for(by: User, candidates: list[tuple[uuid.UUID, int]], *,
              only_visible: bool) -> list[SearchRow]:
    """The candidates as `by` is shown them: of each, the cases `by` may see; with
    `only_visible`, only the people `by` may see (`selectors.visible_people`)."""
    people = [p for p, _s in candidates]
    seen = set(selectors.visible_people(by).filter(pk__in=people)
               .values_list("pk", flat=True)) if only_visible else set()
    refs: dict[uuid.UUID, list[str]] = {}
    for person, reference in (selectors.visible_cases(by).filter(participants__person_id__in=people)
                              .order_by("opened_at")
                              .values_list("participants__person_id", "reference")):
        if reference not in refs.setdefault(person, []):
            refs[person].append(reference)
    return [SearchRow(person, refs.get(person, []), score, decision(score))
            for person, score in candidates if not only_visible or person in seen]


def _audit_search(by: User, fingers: list[int], candidates: list[tuple[uuid.UUID, int]],
                  gallery_people: int, rescored: int, shown: list[SearchRow] | None,
                  **extra: Any) -> None:
    details: dict[str, Any] = dict(extra)
    if shown is not None:  # what the user was shown, beside what the search found
        details["shown"] = [str(r.person_id) for r in shown]
    events.emit("biometrics.search", actor=by, fingers=sorted(fingers),
                gallery_people=gallery_people, rescored=rescored,
                candidates=[str(p) for p, score in candidates if decision(score) != "no match"],
                **details)


def search(*, by: User, images: dict[int, bytes], only_visible: bool = False) -> Search:
    """A 1:N search as `by` runs it, here and now (the operator's command): every enrolled
    person of every office is searched; of each candidate's cases, only those `by` may see
    are named. `only_visible` keeps only the candidates `by` may see. The probe images are
    only read, never stored. Raises engine.Refused for a probe that cannot be used."""
    probe = _probe_from_images(by, images)
    with worker.searching() as e:
        result = e.search(probe)
    candidates = [(c.person, c.score) for c in result.candidates]
    rows = _rows_for(by, candidates, only_visible=only_visible)
    _audit_search(by, list(probe), candidates, result.gallery_people, result.rescored,
                  rows if only_visible else None)
    return Search(rows, result.gallery_people, result.rescored, result.seconds)


def queue_search(*, by: User, images: dict[int, bytes]) -> FingerprintSearch:
    """The search page's 1:N search: the probe is extracted here (a refusal stores nothing),
    sealed under the search's own data key and searched by the worker that holds the gallery
    (`tasks.search_task`; at once, in this process, without a broker). The images are only
    read, never stored."""
    probe = _probe_from_images(by, images)
    search_id = uuid.uuid4()
    with transaction.atomic():
        datakeys.create_data_key(subject_id=search_id)
        queued = FingerprintSearch.objects.create(
            id=search_id, by=by, fingers=sorted(probe),
            probe={str(f): base64.b64encode(t).decode() for f, t in probe.items()})
        from biometrics import tasks

        transaction.on_commit(lambda: tasks.search_task.delay(str(search_id)))
    queued.refresh_from_db()
    return queued


def _finish(queued: FingerprintSearch, status: str) -> None:
    """The probe's key destroyed and its sealed copy dropped: what stays is the result."""
    datakeys.destroy(subject_id=queued.pk)
    queued.probe = None
    queued.status = status
    queued.finished_at = timezone.now()


def run_search(search_id: uuid.UUID | str) -> FingerprintSearch | None:
    """Run a queued search (the worker's task): the candidates are stored as person ids and
    scores, best first, and the probe's key destroyed. A search already run is left alone."""
    queued = (FingerprintSearch.objects.select_related("by")
              .filter(pk=search_id, status=SearchStatus.QUEUED).first())
    if queued is None:
        return None
    try:
        probe = {int(f): base64.b64decode(t) for f, t in (queued.probe or {}).items()}
        if not probe:
            raise ValueError("the search has no probe")
        with worker.searching() as e:
            result = e.search(probe)
    except Exception:
        logger.exception("fingerprint search %s failed", queued.pk)
        result = None
    # Written under the row's lock, and only if no other run wrote it meanwhile (a message
    # delivered twice runs twice; one result is kept).
    with transaction.atomic():
        locked = (FingerprintSearch.objects.select_for_update()
                  .filter(pk=queued.pk, status=SearchStatus.QUEUED).first())
        if locked is None:
            return None
        if result is None:
            _finish(locked, SearchStatus.FAILED)
            locked.save()
            return locked
        candidates = [(c.person, c.score) for c in result.candidates]
        locked.candidates = [{"person": str(p), "score": s} for p, s in candidates]
        locked.gallery_people, locked.rescored = result.gallery_people, result.rescored
        locked.seconds = round(result.seconds, 3)
        _finish(locked, SearchStatus.DONE)
        locked.save()
        _audit_search(queued.by, locked.fingers, candidates, result.gallery_people,
                      result.rescored, _rows_for(queued.by, candidates, only_visible=True),
                      search=str(locked.pk))
    return locked


def search_result(by: User, queued: FingerprintSearch) -> Search:
    """A search's candidates as `by` may see them now: only people whose records `by` may
    see, and of each only the cases `by` may see. Each showing is audited with who was
    shown."""
    candidates = [(uuid.UUID(c["person"]), int(c["score"])) for c in queued.candidates]
    rows = _rows_for(by, candidates, only_visible=True)
    events.emit("biometrics.search_view", actor=by, obj=queued,
                shown=[str(r.person_id) for r in rows])
    return Search(rows, queued.gallery_people or 0, queued.rescored or 0, queued.seconds or 0.0)


def stale_searches_after() -> datetime.timedelta:
    """How long a queued search waits for the worker before it is given up (setting, s)."""
    return datetime.timedelta(seconds=int(getattr(settings, "BIOMETRICS_SEARCH_TIMEOUT", 3600)))


def shred_stale_searches() -> int:
    """Give up searches the worker never ran (a lost message, a worker down): their probe's
    key is destroyed. Returns how many."""
    given_up = 0
    old = timezone.now() - stale_searches_after()
    for pk in FingerprintSearch.objects.filter(status=SearchStatus.QUEUED,
                                               created_at__lt=old).values_list("pk", flat=True):
        with transaction.atomic():
            queued = (FingerprintSearch.objects.select_for_update()
                      .filter(pk=pk, status=SearchStatus.QUEUED).first())
            if queued is not None:
                _finish(queued, SearchStatus.FAILED)
                queued.save()
                given_up += 1
    return given_up


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
