"""Enrolment, the 1:N search after it, erasure and the worker's gallery, on generated prints
(docs/architecture.md#biometrics)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from audit.models import AuditEvent
from biometrics import engine, services, worker
from biometrics.models import FacePhoto, FingerprintCapture, MatchEvidence
from cases import services as case_services
from cases.models import DuplicateSource, PossibleDuplicate
from tests.biometrics.prints import face, impression

pytestmark = pytest.mark.usefixtures("file_root")

# Generated fingers: A and B are two people's right thumbs, C another finger of A's.
A, B, C = 11, 12, 13


@pytest.fixture
def make_person(person_data):
    def make(by, office, name):
        return case_services.register_person(by=by, office=office, data=person_data(
            given_names=name, family_names="Prueba", documents=[]))
    return make


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """What runs once a transaction commits (the search, deleting files), run at the end of
    the block, as in production."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _files(root) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()]


def test_a_capture_is_stored_sealed_in_the_database_and_in_file_storage(
        settings, caseworker, office, make_person):
    person = make_person(caseworker, office, "Ana")
    image = impression(A, 1)

    capture = services.enrol_finger(by=caseworker, person=person, finger=1, data=image,
                                    device="Scanner 1")

    template = engine.engine().extract(image).template
    with connection.cursor() as cursor:
        cursor.execute("SELECT template FROM biometrics_fingerprintcapture")
        (raw,) = cursor.fetchone()
    assert bytes(raw) != template and template[20:60] not in bytes(raw)
    assert b"FMR\x00" not in bytes(raw)
    stored = _files(settings.AMPARO_FILE_ROOT)
    assert len(stored) == 1
    on_disk = stored[0].read_bytes()
    assert image[:8] not in on_disk and image[100:140] not in on_disk
    # Read back through the person's key.
    fresh = FingerprintCapture.objects.get(pk=capture.pk)
    assert fresh.template == template
    assert services.read_print(fresh) == image
    assert (fresh.finger, fresh.device, fresh.operator, fresh.consent) == (
        1, "Scanner 1", caseworker, "given")
    assert fresh.quality > 0
    assert AuditEvent.objects.filter(action="biometrics.enrol", object_id=str(person.pk)).exists()


def test_a_face_photo_is_sealed(settings, caseworker, office, make_person):
    person = make_person(caseworker, office, "Ana")
    photo = face()

    made = services.set_photo(by=caseworker, person=person, data=photo)

    on_disk = _files(settings.AMPARO_FILE_ROOT)[0].read_bytes()
    assert photo[:4] not in on_disk[:16] and photo[200:240] not in on_disk
    assert services.read_photo(made) == photo


@pytest.mark.parametrize(("data", "code"), [
    (b"", "empty"),
    (b"GIF89a not really", "corrupt"),
    (face(fmt="PNG"), "too_small"),
    (b"FMR\x00 broken template", "bad_template"),
])
def test_a_refused_capture_stores_nothing(settings, caseworker, office, make_person, data, code):
    person = make_person(caseworker, office, "Ana")

    with pytest.raises(engine.Refused) as refused:
        services.enrol_finger(by=caseworker, person=person, finger=1, data=data)

    assert refused.value.code == code
    assert not FingerprintCapture.objects.exists()
    assert _files(settings.AMPARO_FILE_ROOT) == []
    assert AuditEvent.objects.filter(action="biometrics.refuse").exists()


def test_bad_finger_and_missing_consent_are_refused(caseworker, office, make_person):
    person = make_person(caseworker, office, "Ana")

    with pytest.raises(ValidationError):
        services.enrol_finger(by=caseworker, person=person, finger=11, data=impression(A, 1))
    with pytest.raises(ValidationError):
        services.enrol_finger(by=caseworker, person=person, finger=1, data=impression(A, 1),
                              consent="")
    assert not FingerprintCapture.objects.exists()


def test_only_staff_who_may_change_the_person_enrol(caseworker, office, make_person, auditor,
                                                    other_caseworker, other_supervisor):
    person = make_person(caseworker, office, "Ana")

    for user in (auditor, other_caseworker, other_supervisor):
        with pytest.raises(PermissionDenied):
            services.enrol_finger(by=user, person=person, finger=1, data=impression(A, 1))
        with pytest.raises(PermissionDenied):
            services.set_photo(by=user, person=person, data=face())
    assert not FingerprintCapture.objects.exists() and not FacePhoto.objects.exists()


def test_a_device_template_is_enrolled_without_an_image(caseworker, office, make_person):
    person = make_person(caseworker, office, "Ana")
    template = engine.engine().extract(impression(A, 1)).template

    capture = services.enrol_finger(by=caseworker, person=person, finger=1, data=template)

    assert capture.source == "template" and capture.image_name == ""


def test_the_same_print_as_another_finger_is_refused(caseworker, office, make_person):
    person = make_person(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=person, finger=1, data=impression(A, 1))

    with pytest.raises(engine.Refused) as refused:
        services.enrol_finger(by=caseworker, person=person, finger=2, data=impression(A, 2))

    assert refused.value.code == "other_finger"
    assert "wrong finger?" in refused.value.reason


def test_enrolling_a_finger_again_replaces_it(settings, caseworker, office, make_person, committed):
    person = make_person(caseworker, office, "Ana")
    first = services.enrol_finger(by=caseworker, person=person, finger=1, data=impression(A, 1))

    with committed():
        second = services.enrol_finger(by=caseworker, person=person, finger=1, data=impression(A, 2))

    first.refresh_from_db()
    assert first.replaced_at is not None and first.image_name == ""
    assert [c.pk for c in services.current_captures(person)] == [second.pk]
    assert len(_files(settings.AMPARO_FILE_ROOT)) == 1


def test_a_duplicate_across_offices_raises_a_pair(caseworker, office, other_office,
                                                  other_caseworker, make_person, committed):
    first = make_person(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=first, finger=1, data=impression(A, 1))
    services.enrol_finger(by=caseworker, person=first, finger=2, data=impression(C, 1))
    stranger = make_person(caseworker, office, "Berta")
    services.enrol_finger(by=caseworker, person=stranger, finger=1, data=impression(B, 1))
    # The same person registered again under another name, in the other office.
    again = make_person(other_caseworker, other_office, "Carmen")

    with committed():
        services.enrol_finger(by=other_caseworker, person=again, finger=1, data=impression(A, 2))

    pair = PossibleDuplicate.objects.get(person=again)
    assert (pair.other, pair.office, pair.source) == (first, other_office, DuplicateSource.BIOMETRIC)
    assert pair.reasons == ["fingerprint"]
    evidence = MatchEvidence.objects.get(pair=pair)
    assert evidence.score >= services.possible_score() and evidence.fingers == [1]
    assert AuditEvent.objects.filter(action="duplicate.flag", object_id=str(pair.pk)).exists()
    # A second finger of the same person does not raise the pair again.
    with committed():
        services.enrol_finger(by=other_caseworker, person=again, finger=2, data=impression(C, 2))
    assert PossibleDuplicate.objects.filter(person=again).count() == 1


def test_the_gallery_is_rebuilt_after_a_restart_and_catches_up(caseworker, office, make_person):
    first = make_person(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=first, finger=1, data=impression(A, 1))
    assert worker.gallery().gallery_people() == 1
    built = worker.built_at()

    worker.forget()  # the worker restarts: nothing of the gallery is left
    assert worker.built_at() is None
    probe = {1: impression(A, 2)}
    result = services.search(by=caseworker, images=probe)

    assert worker.built_at() is not None and worker.built_at() > built
    assert result.gallery_people == 1
    assert result.candidates[0].person_id == first.pk
    assert result.candidates[0].decision == "match"
    # A capture made after the build is found by the next search (it catches up).
    second = make_person(caseworker, office, "Berta")
    services.enrol_finger(by=caseworker, person=second, finger=1, data=impression(B, 1), dedupe=False)
    found = services.search(by=caseworker, images={1: impression(B, 2)})
    assert found.gallery_people == 2
    assert found.candidates[0].person_id == second.pk


def test_erasure_makes_every_capture_unreadable(settings, caseworker, supervisor, office,
                                                make_person, committed):
    person = make_person(caseworker, office, "Ana")
    capture = services.enrol_finger(by=caseworker, person=person, finger=1, data=impression(A, 1))
    photo = services.set_photo(by=caseworker, person=person, data=face())
    assert services.search(by=caseworker, images={1: impression(A, 2)}).gallery_people == 1

    with committed():
        case_services.erase_person(by=supervisor, person=person, code="request")

    assert _files(settings.AMPARO_FILE_ROOT) == []
    assert FingerprintCapture.objects.get(pk=capture.pk).template is None
    assert FacePhoto.objects.get(pk=photo.pk).storage_name == ""
    # Out of this process's gallery at once, and out of a rebuilt one.
    assert services.search(by=caseworker, images={1: impression(A, 2)}).candidates == []
    worker.forget()
    assert services.search(by=caseworker, images={1: impression(A, 2)}).gallery_people == 0


def test_another_process_drops_an_erased_person_when_it_catches_up(caseworker, supervisor,
                                                                   office, make_person):
    person = make_person(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=person, finger=1, data=impression(A, 1))
    e = worker.gallery()
    assert e.gallery_people() == 1
    # The erasure ran in another process: this one's gallery learns it from the database.
    case_services.erase_person(by=supervisor, person=person, code="request")
    # as if drop_person had not run here
    e.enrol([engine.Enrolment(person.pk, 1, engine.engine().extract(impression(A, 1)).template)])
    assert e.gallery_people() == 1

    assert worker.gallery().gallery_people() == 0


def test_search_needs_a_case_role(auditor):
    with pytest.raises(PermissionDenied):
        services.search(by=auditor, images={1: impression(A, 2)})
