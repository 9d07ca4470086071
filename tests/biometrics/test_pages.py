"""The biometrics pages: the person page's section, enrolment by upload, the images, the 1:1
verification, and fingerprint pairs on the possible-duplicates page (who sees what)."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from biometrics import services
from biometrics.models import FingerprintCapture, Verification
from cases import services as case_services
from cases import shares
from cases.models import DuplicateStatus, PossibleDuplicate
from tests.biometrics.prints import face, impression

pytestmark = pytest.mark.usefixtures("file_root")

A, B = 11, 12


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def open_case(person_data):
    def make(by, office, name):
        person = case_services.register_person(by=by, office=office, data=person_data(
            given_names=name, family_names="Prueba", documents=[]))
        return case_services.open_case(by=by, person=person, kind="asylum", assign_to_me=True)
    return make


def _upload(data: bytes, name: str = "dedo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def test_enrolment_by_upload_and_the_person_page(client, caseworker, office, open_case,
                                                 committed):
    case = open_case(caseworker, office, "Ana")
    person = case.principal
    client.force_login(caseworker)
    url = reverse("biometrics:enrol", kwargs={"person_id": person.pk})

    with committed():
        response = client.post(url, {"finger": 2, "device": "Scanner 1", "consent": "on",
                                     "capture": _upload(impression(A, 1))})

    assert response.status_code == 302
    capture = FingerprintCapture.objects.get(person=person)
    page = client.get(reverse("person_detail", kwargs={"person_id": person.pk})).content.decode()
    assert 'id="finger-2"' in page and "Scanner 1" in page
    assert reverse("biometrics:print_image", kwargs={"capture_id": capture.pk}) in page
    image = client.get(reverse("biometrics:print_image", kwargs={"capture_id": capture.pk}))
    assert image.status_code == 200 and image.content == impression(A, 1)
    assert image["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(action="biometrics.view_print", object_id=str(capture.pk)).exists()


def test_a_refused_upload_says_why_and_stores_nothing(client, caseworker, office, open_case):
    case = open_case(caseworker, office, "Ana")
    client.force_login(caseworker)
    url = reverse("biometrics:enrol", kwargs={"person_id": case.principal.pk})

    blank = client.post(url, {"finger": 1, "consent": "on",
                              "capture": _upload(face(fmt="PNG", size=(400, 350)))})
    no_consent = client.post(url, {"finger": 1, "capture": _upload(impression(A, 1))})

    assert blank.status_code == 400
    assert "wrong finger?" in blank.content.decode() or "faint" in blank.content.decode()
    assert no_consent.status_code == 400
    assert not FingerprintCapture.objects.exists()


def test_a_face_photo_by_upload(client, caseworker, office, open_case):
    case = open_case(caseworker, office, "Ana")
    person = case.principal
    client.force_login(caseworker)

    bad = client.post(reverse("biometrics:photo", kwargs={"person_id": person.pk}),
                      {"consent": "on", "photo": _upload(b"GIF89a....", "cara.gif")})
    good = client.post(reverse("biometrics:photo", kwargs={"person_id": person.pk}),
                       {"consent": "on", "photo": _upload(face(), "cara.jpg")})

    assert bad.status_code == 400 and good.status_code == 302
    shown = client.get(reverse("biometrics:photo_image", kwargs={"person_id": person.pk}))
    assert shown.content == face() and shown["Content-Type"] == "image/jpeg"


def test_verification_at_interview_and_decision(client, caseworker, caseworker2, office,
                                                open_case):
    case = open_case(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=case.principal, finger=1, data=impression(A, 1),
                          dedupe=False)
    client.force_login(caseworker)
    url = reverse("biometrics:verify", kwargs={"case_id": case.pk})
    assert 'id="verify-identity"' in client.get(reverse("case_detail", args=[case.pk])).content.decode()

    same = client.post(url, {"kind": "interview", "finger": 1, "capture": _upload(impression(A, 2))})
    other = client.post(url, {"kind": "decision", "finger": 1, "capture": _upload(impression(B, 1))})
    not_enrolled = client.post(url, {"kind": "decision", "finger": 2,
                                     "capture": _upload(impression(A, 2))})

    assert same.status_code == other.status_code == 302
    assert not_enrolled.status_code == 400
    first, second = Verification.objects.filter(case=case).order_by("at")
    assert (first.kind, first.result, first.by) == ("interview", "match", caseworker)
    assert first.score >= services.match_score()
    assert (second.kind, second.result) == ("decision", "no_match")
    assert second.score < services.match_score()
    events = AuditEvent.objects.filter(action="biometrics.verify", object_id=str(case.pk))
    assert sorted(e.details["result"] for e in events) == ["match", "no_match"]
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert 'id="verifications"' in page and "Not the same person" in page
    # A caseworker who does not hold the case does not see it.
    client.force_login(caseworker2)
    assert client.get(url).status_code == 404
    assert Verification.objects.count() == 2


def test_checks_are_shown_with_the_procedure_and_refused_while_processing_is_restricted(
        client, caseworker, supervisor, office, other_caseworker, open_case):
    import datetime

    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from cases import shares
    case = open_case(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=case.principal, finger=1, data=impression(A, 1),
                          dedupe=False)
    services.verify(by=caseworker, case=case, kind="interview", finger=1, data=impression(A, 2))
    until = timezone.localdate() + datetime.timedelta(days=5)
    shares.share(by=supervisor, case=case, user=other_caseworker, parts=["notes"], until=until,
                 reason="Remisión", override="Orden judicial")
    client.force_login(other_caseworker)
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert 'id="verifications"' not in page  # a share of the notes only
    shares.share(by=supervisor, case=case, user=other_caseworker, parts=["procedure"],
                 until=until, reason="Remisión", override="Orden judicial")
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert 'id="verifications"' in page

    person = case.principal
    person.restricted_at = timezone.now()
    person.save()
    case.refresh_from_db()
    assert not services.may_verify(caseworker, case)
    with pytest.raises(ValidationError):
        services.verify(by=caseworker, case=case, kind="decision", finger=1,
                        data=impression(A, 2))
    assert Verification.objects.count() == 1


def _cross_office_pair(caseworker, office, other_caseworker, other_office, open_case, committed):
    first = open_case(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=first.principal, finger=1, data=impression(A, 1))
    services.set_photo(by=caseworker, person=first.principal, data=face(1))
    again = open_case(other_caseworker, other_office, "Carmen")
    services.set_photo(by=other_caseworker, person=again.principal, data=face(2))
    with committed():
        services.enrol_finger(by=other_caseworker, person=again.principal, finger=1,
                              data=impression(A, 2))
    return first, again, PossibleDuplicate.objects.get(person=again.principal)


def test_a_fingerprint_pair_shows_each_supervisor_only_their_side(
        client, caseworker, supervisor, office, other_caseworker, other_supervisor, other_office,
        open_case, committed):
    first, again, pair = _cross_office_pair(caseworker, office, other_caseworker, other_office,
                                            open_case, committed)
    first_print = FingerprintCapture.objects.get(person=first.principal)
    again_print = FingerprintCapture.objects.get(person=again.principal)

    for user, mine, theirs in ((other_supervisor, again, first), (supervisor, first, again)):
        client.force_login(user)
        page = client.get(reverse("duplicate_queue")).content.decode()
        assert f'id="pair-{pair.pk}"' in page
        mine_print = first_print if mine is first else again_print
        theirs_print = again_print if mine is first else first_print
        assert reverse("biometrics:print_image", kwargs={"capture_id": mine_print.pk}) in page
        assert reverse("biometrics:photo_image", kwargs={"person_id": mine.principal.pk}) in page
        assert reverse("biometrics:print_image", kwargs={"capture_id": theirs_print.pk}) not in page
        assert reverse("biometrics:photo_image", kwargs={"person_id": theirs.principal.pk}) not in page
        assert theirs.reference not in page and "duplicate-hidden" in page
        assert client.get(reverse("biometrics:print_image",
                                  kwargs={"capture_id": theirs_print.pk})).status_code == 404


def test_a_grant_shows_the_other_side(client, caseworker, supervisor, office, other_caseworker,
                                      other_supervisor, other_office, open_case, committed):
    first, _again, _pair = _cross_office_pair(caseworker, office, other_caseworker, other_office,
                                            open_case, committed)
    shares.share(by=supervisor, case=first, user=other_supervisor, parts=["procedure"],
                 until=timezone.localdate() + datetime.timedelta(days=3), reason="Adjudicación",
                 override="Sin consentimiento: revisión de duplicado")
    client.force_login(other_supervisor)

    page = client.get(reverse("duplicate_queue")).content.decode()

    first_print = FingerprintCapture.objects.get(person=first.principal)
    assert reverse("biometrics:print_image", kwargs={"capture_id": first_print.pk}) in page
    assert first.reference in page


def test_only_supervisors_adjudicate(client, caseworker, supervisor, office, other_caseworker,
                                     other_supervisor, other_office, open_case, committed,
                                     make_user):
    _first, _again, pair = _cross_office_pair(caseworker, office, other_caseworker, other_office,
                                            open_case, committed)
    url = reverse("duplicate_review", kwargs={"pair_id": pair.pk})
    third = make_user("supervisor", _office("GT-GUA"))

    for user, status in ((caseworker, 403), (other_caseworker, 403), (third, 404)):
        client.force_login(user)
        assert client.post(url, {"decision": "link"}).status_code == status
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.OPEN
    # The older record's office links them (the same person registered twice).
    client.force_login(supervisor)
    assert client.post(url, {"decision": "link"}).status_code == 302
    pair.refresh_from_db()
    assert (pair.status, pair.decided_by) == (DuplicateStatus.LINKED, supervisor)
    client.force_login(other_supervisor)
    client.post(url, {"decision": "dismiss"})
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.LINKED  # decided once


def _office(code):
    from cases.models import Office

    return Office.objects.create(code=code, name="Oficina", country="GT", city="Guatemala")


def test_the_persons_copy_of_their_data_lists_fingers_photo_and_checks(client, caseworker,
                                                                       office, open_case):
    import json

    from cases import subject_requests

    case = open_case(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=case.principal, finger=1, data=impression(A, 1),
                          dedupe=False)
    services.set_photo(by=caseworker, person=case.principal, data=face())
    services.verify(by=caseworker, case=case, kind="interview", finger=1, data=impression(A, 2))
    asked = subject_requests.record_request(by=caseworker, person=case.principal, kind="access",
                                            channel="writing", received_on=timezone.localdate())
    client.force_login(caseworker)

    response = client.post(reverse("subject_request_export", args=[asked.pk]),
                          {"format": "json", "language": "en"})

    data = json.loads(response.content)
    sections = {s["key"]: s for s in data["sections"]}
    held = sections["biometrics.captures"]["records"]
    assert [r["finger"] for r in held] == ["Right thumb", "Face photo"]
    (check,) = sections["biometrics.verifications"]["records"]
    assert (check["case"], check["result"]) == (case.reference, "Same person")
    assert "FMR" not in response.content.decode()
