"""The 1:N search page: fresh prints checked by the page and searched by the worker that
holds the gallery (services.queue_search, run at commit here, with no broker); only the
candidates the user may see are listed, on the search's own page, to who searched; bad input
said beside its row; nothing of the probe kept once searched; the search audited."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from biometrics import services
from biometrics.forms import SEARCH_ROWS
from biometrics.models import FingerprintCapture, FingerprintSearch, SearchStatus
from cases import services as case_services
from cases.crypto import datakeys
from tests.biometrics.prints import face, impression
from tests.conftest import pdf_bytes

pytestmark = pytest.mark.usefixtures("file_root")

A, B = 11, 12
URL = "/biometrics/search/"


@pytest.fixture
def open_case(person_data):
    def make(by, office, given, family="Prueba", assign=True):
        person = case_services.register_person(by=by, office=office, data=person_data(
            given_names=given, family_names=family, documents=[]))
        return case_services.open_case(by=by, person=person, kind="asylum", assign_to_me=assign)
    return make


@pytest.fixture
def search(client, django_capture_on_commit_callbacks):
    """POST the form as the page does; once the search has run (at commit, as without a
    broker), the page the POST sends the user to."""
    def post(data: dict):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(URL, data)
        if response.status_code != 302:
            return response
        assert response["Location"].startswith(URL)
        return client.get(response["Location"])
    return post


def _form(*rows: tuple[object, bytes | None]) -> dict:
    """The search form's POST: (finger, image bytes or None) per filled row, the rest empty."""
    data: dict = {"fingers-TOTAL_FORMS": SEARCH_ROWS, "fingers-INITIAL_FORMS": 0,
                  "fingers-MIN_NUM_FORMS": 0, "fingers-MAX_NUM_FORMS": SEARCH_ROWS}
    for n, (finger, image) in enumerate(rows):
        data[f"fingers-{n}-finger"] = finger
        if image is not None:
            data[f"fingers-{n}-image"] = SimpleUploadedFile(f"dedo{n}.png", image)
    return data


def _searches():
    return AuditEvent.objects.filter(action="biometrics.search")


def _stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


def test_an_enrolled_person_is_found_as_a_match(client, caseworker, office, open_case,
                                                file_root, search):
    case = open_case(caseworker, office, "Ana", "Quispe")
    person = case.principal
    services.enrol_finger(by=caseworker, person=person, finger=2, data=impression(A, 1),
                          dedupe=False)
    services.set_photo(by=caseworker, person=person, data=face())
    other = open_case(caseworker, office, "Berta")
    services.enrol_finger(by=caseworker, person=other.principal, finger=2,
                          data=impression(B, 1), dedupe=False)
    files_before = _stored_files(file_root)
    client.force_login(caseworker)

    assert 'id="nav-fingerprint-search"' in client.get(URL).content.decode()
    response = search(_form((2, impression(A, 2))))

    assert response.status_code == 200
    page = response.content.decode()
    found = response.context["found"]
    assert found.gallery_people == 2 and found.rescored >= 1
    best = found.candidates[0]
    assert (best.person_id, best.decision, best.cases) == (person.pk, "match", [case.reference])
    assert best.score >= services.match_score()
    first = response.context["rows"][0]
    assert first["person"] == person and first["photo"] and str(first["decision"]) == "Match"
    assert reverse("person_detail", args=[person.pk]) in page
    assert reverse("biometrics:photo_image", args=[person.pk]) in page
    assert case.reference in page and 'data-decision="match"' in page
    assert "2 people enrolled" in page
    # The probe is not kept: no capture, no file.
    assert FingerprintCapture.objects.count() == 2
    assert _stored_files(file_root) == files_before
    done = FingerprintSearch.objects.get()
    assert (done.status, done.by, done.fingers) == (SearchStatus.DONE, caseworker, [2])
    assert done.probe is None and done.candidates[0] == {"person": str(person.pk),
                                                         "score": best.score}
    with pytest.raises(datakeys.KeyDestroyed):
        datakeys.key_for_subject(done.pk)
    (event,) = _searches()
    assert event.actor_id == caseworker.pk and event.outcome == "ok"
    assert event.details["search"] == str(done.pk)
    assert event.details["fingers"] == [2] and event.details["gallery_people"] == 2
    assert event.details["candidates"] == [str(person.pk)]
    assert event.details["shown"][0] == str(person.pk)


def test_two_fingers_search_together(client, supervisor, caseworker, office, open_case, search):
    case = open_case(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=case.principal, finger=1, data=impression(A, 1),
                          dedupe=False)
    services.enrol_finger(by=caseworker, person=case.principal, finger=7, data=impression(B, 1),
                          dedupe=False)
    client.force_login(supervisor)

    response = search(_form((1, impression(A, 2)), (7, impression(B, 2))))

    assert response.status_code == 200
    assert response.context["found"].candidates[0].person_id == case.principal.pk
    assert response.context["found"].candidates[0].decision == "match"
    assert _searches().get().details["fingers"] == [1, 7]


def test_who_may_not_see_the_person_is_not_shown_them(client, caseworker, caseworker2,
                                                      other_supervisor, office, open_case,
                                                      search):
    case = open_case(caseworker, office, "Ana", "Quispe")
    services.enrol_finger(by=caseworker, person=case.principal, finger=1, data=impression(A, 1),
                          dedupe=False)
    services.set_photo(by=caseworker, person=case.principal, data=face())

    for user in (other_supervisor, caseworker2):  # another office; a case assigned to another
        client.force_login(user)
        response = search(_form((1, impression(A, 2))))
        page = response.content.decode()
        assert response.status_code == 200
        assert response.context["found"].candidates == []
        assert 'id="no-candidates"' in page
        assert str(case.principal.pk) not in page and case.reference not in page
        assert "Quispe" not in page

    # What the search found is in the audit log, and that it was not shown.
    events = list(_searches().order_by("pk"))
    assert [e.actor_id for e in events] == [other_supervisor.pk, caseworker2.pk]
    assert all(e.details["candidates"] == [str(case.principal.pk)] for e in events)
    assert all(e.details["shown"] == [] for e in events)


def test_other_roles_are_refused(client, auditor, make_user, office):
    analyst = make_user("analyst", office)
    for user in (auditor, analyst):
        client.force_login(user)
        assert client.get(URL).status_code == 403
        assert client.post(URL, _form((1, impression(A, 2)))).status_code == 403
    client.logout()
    assert client.get(URL).status_code == 302
    assert not _searches().exists()


@pytest.mark.parametrize(("rows", "field", "words"), [
    ([(1, pdf_bytes("not a print"))], "image", "cannot be read"),
    ([(1, b"just some text")], "image", "cannot be read"),
    ([(1, face(fmt="PNG", size=(400, 350)))], "image", ("wrong finger?", "faint")),
    ([(1, None)], "image", "Add the image of this finger"),
    ([("", impression(A, 2))], "finger", "Choose which finger this image is"),
    ([("11", impression(A, 2))], "finger", "Select a valid choice"),
    ([], None, "Give at least one finger to search with"),
    ([(3, impression(A, 2)), (3, impression(A, 3))], None, "Right middle finger is given twice"),
])
def test_bad_input_is_said_beside_its_row_and_nothing_is_searched(client, caseworker, rows,
                                                                  field, words):
    client.force_login(caseworker)

    response = client.post(URL, _form(*rows))

    assert response.status_code == 400
    formset = response.context["formset"]
    if field is None:
        said = " ".join(formset.non_form_errors())
    else:
        said = " ".join(formset.forms[0].errors[field])
        assert f'id="id_fingers-0-{field}_error"' in response.content.decode()
    words = (words,) if isinstance(words, str) else words
    assert any(w in said for w in words), said
    assert response.context["found"] is None
    assert not _searches().exists() and not FingerprintSearch.objects.exists()


def test_a_refusal_names_the_row_it_is_about(client, caseworker):
    client.force_login(caseworker)

    response = client.post(URL, _form((1, impression(A, 2)), (6, b"GIF89a not a print")))

    assert response.status_code == 400
    forms = response.context["formset"].forms
    assert not forms[0].errors and "cannot be read" in " ".join(forms[1].errors["image"])


def test_a_tampered_form_is_refused_not_an_error(client, caseworker):
    client.force_login(caseworker)

    response = client.post(URL, {"fingers-0-finger": 1})

    assert response.status_code == 400
    assert response.context["formset"].non_form_errors()


def test_the_person_page_links_the_search(client, caseworker, auditor, office, open_case):
    case = open_case(caseworker, office, "Ana")
    client.force_login(caseworker)

    page = client.get(reverse("person_detail", args=[case.principal.pk])).content.decode()

    assert 'id="search-fingerprints"' in page and URL in page


def test_a_search_is_shown_only_to_who_searched(client, caseworker, caseworker2, supervisor,
                                                other_supervisor, office, open_case, search):
    case = open_case(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=case.principal, finger=1, data=impression(A, 1),
                          dedupe=False)
    client.force_login(caseworker)
    assert search(_form((1, impression(A, 2)))).status_code == 200
    url = reverse("biometrics:search_result", args=[FingerprintSearch.objects.get().pk])

    for user in (caseworker2, supervisor, other_supervisor):  # even one who sees the person
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.force_login(caseworker)
    assert client.get(url).context["found"].candidates[0].person_id == case.principal.pk
    # Each showing of the results is audited with who was shown, the refused ones are not.
    views = AuditEvent.objects.filter(action="biometrics.search_view")
    assert [(e.actor_id, e.details["shown"]) for e in views] == [
        (caseworker.pk, [str(case.principal.pk)])] * 2
    missing = reverse("biometrics:search_result", args=["0" * 8 + "-0000-4000-8000-" + "0" * 12])
    assert client.get(missing).status_code == 404


def test_a_search_waits_for_the_worker_with_its_probe_sealed(
        client, caseworker, office, open_case, django_capture_on_commit_callbacks):
    case = open_case(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=case.principal, finger=1, data=impression(A, 1),
                          dedupe=False)
    client.force_login(caseworker)
    with django_capture_on_commit_callbacks(execute=False) as queued_tasks:  # a broker's queue
        response = client.post(URL, _form((1, impression(A, 2))))
    assert response.status_code == 302 and len(queued_tasks) == 1
    queued = FingerprintSearch.objects.get()
    template = base64.b64decode(queued.probe["1"])
    raw = bytes(FingerprintSearch.objects.filter(pk=queued.pk).values_list("probe", flat=True)[0])
    assert template.startswith(b"FMR\x00") and template not in raw and queued.probe["1"].encode() not in raw

    page = client.get(response["Location"]).content.decode()
    assert 'id="search-waiting"' in page and 'http-equiv="refresh"' in page
    assert 'id="candidates"' not in page and not _searches().exists()
    # With script, only the result column asks again: the form beside it is left as it is.
    polled = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'id="search-waiting"' in polled and 'hx-trigger="every 2s"' in polled
    assert 'id="search-form"' not in polled and "<html" not in polled

    assert services.run_search(queued.pk).status == SearchStatus.DONE
    assert services.run_search(queued.pk) is None  # the message delivered twice
    polled = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'data-decision="match"' in polled and "hx-trigger" not in polled  # asks no more
    assert 'id="search-form"' not in polled and _searches().count() == 1
    page = client.get(response["Location"]).content.decode()
    assert 'id="search-waiting"' not in page and 'http-equiv="refresh"' not in page
    assert 'data-decision="match"' in page and _searches().count() == 1
    queued.refresh_from_db()
    assert queued.probe is None and queued.finished_at is not None


def test_a_search_the_worker_never_runs_is_given_up_and_its_probe_shredded(
        client, caseworker, settings, django_capture_on_commit_callbacks):
    client.force_login(caseworker)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(URL, _form((1, impression(A, 2))))
    queued = FingerprintSearch.objects.get()
    assert services.shred_stale_searches() == 0
    settings.BIOMETRICS_SEARCH_TIMEOUT = 0

    assert services.shred_stale_searches() == 1

    queued.refresh_from_db()
    assert (queued.status, queued.probe, queued.candidates) == (SearchStatus.FAILED, None, [])
    with pytest.raises(datakeys.KeyDestroyed):
        datakeys.key_for_subject(queued.pk)
    assert services.run_search(queued.pk) is None
    page = client.get(response["Location"]).content.decode()
    assert 'id="search-failed"' in page and 'http-equiv="refresh"' not in page


def test_a_probe_the_worker_cannot_read_fails_the_search_and_keeps_nothing(caseworker):
    queued = services.queue_search(by=caseworker, images={1: impression(A, 2)})  # not run yet
    queued.probe = {"1": base64.b64encode(b"FMR\x00 broken").decode()}
    queued.save()

    done = services.run_search(queued.pk)

    assert done.status == SearchStatus.FAILED and done.probe is None
    assert not _searches().exists()


def test_the_search_page_searches_again_from_a_result(client, caseworker, office, open_case,
                                                      search):
    case = open_case(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=case.principal, finger=1, data=impression(A, 1),
                          dedupe=False)
    client.force_login(caseworker)
    first = search(_form((1, impression(A, 2))))

    # The form on a result's page posts to the search, not to the result.
    assert f'action="{URL}"' in first.content.decode()
    again = search(_form((1, impression(A, 3))))

    assert again.context["found"].candidates[0].person_id == case.principal.pk
    assert FingerprintSearch.objects.filter(status=SearchStatus.DONE).count() == 2
