"""A finger enrolled by upload raises a fingerprint alert; the supervisor compares the prints
side by side and links the two records."""

import re

import pytest
from playwright.sync_api import expect

from biometrics import services as bio_services
from biometrics import worker
from cases import services
from cases.models import DuplicateSource, DuplicateStatus, PossibleDuplicate
from tests.biometrics.prints import face, impression

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

A = 11


@pytest.mark.parametrize("lang", ["en"])  # the new texts reach the Spanish catalogue at merge
def test_enrolment_raises_an_alert_that_a_supervisor_adjudicates(new_page, staff, login, lang,
                                                                  person_data, office, upload_root,
                                                                  tmp_path):
    worker.forget()
    first = services.register_person(by=staff["caseworker"], office=office, data=person_data(
        given_names="Lucía", family_names="Ramírez", documents=[]))
    services.open_case(by=staff["caseworker"], person=first, kind="asylum", assign_to_me=True)
    bio_services.enrol_finger(by=staff["caseworker"], person=first, finger=2, data=impression(A, 1))
    bio_services.set_photo(by=staff["caseworker"], person=first, data=face(1))
    again = services.register_person(by=staff["caseworker"], office=office, data=person_data(
        given_names="Rosa", family_names="Caal", documents=[]))
    services.open_case(by=staff["caseworker"], person=again, kind="asylum", assign_to_me=True)
    scan = tmp_path / "dedo.png"
    scan.write_bytes(impression(A, 2))

    page = new_page()
    login(page, staff["caseworker"])
    page.goto(f"/people/{again.pk}/")
    expect(page.locator("#no-fingerprints")).to_be_visible()
    page.locator("#enrol-finger").click()
    page.select_option("#id_finger", "2")
    page.set_input_files("#id_capture", str(scan))
    page.fill("#id_device", "Scanner 1")
    page.check("#id_consent")
    page.locator("#enrol-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/people/{again.pk}/$"))
    expect(page.locator("#finger-2")).to_contain_text("Scanner 1")
    expect(page.locator("body")).not_to_contain_text("Lucía")  # nothing of the other record

    pair = PossibleDuplicate.objects.get(person=again)
    assert (pair.other_id, pair.source) == (first.pk, DuplicateSource.BIOMETRIC)

    boss = new_page()
    login(boss, staff["supervisor"])
    boss.goto("/people/duplicates/")
    card = boss.locator(f"#pair-{pair.pk}")
    expect(card.locator(".biometric-evidence")).to_be_visible()
    expect(card.locator("img.fingerprint")).to_have_count(2)
    expect(card.locator("img.face-photo")).to_have_count(1)
    widths = card.locator("img.fingerprint").evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert all(w > 0 for w in widths), "the prints did not load"
    boss.get_by_role("button", name="Same person: link the records").click()
    expect(boss.locator("#no-duplicates")).to_be_visible()
    pair.refresh_from_db()
    assert (pair.status, pair.decided_by) == (DuplicateStatus.LINKED, staff["supervisor"])
    worker.forget()


def _enrolled(caseworker, office, person_data):
    """Lucía's asylum case, assigned to `caseworker`, and her finger 2 enrolled."""
    person = services.register_person(by=caseworker, office=office, data=person_data(
        given_names="Lucía", family_names="Ramírez", documents=[]))
    case = services.open_case(by=caseworker, person=person, kind="asylum", assign_to_me=True)
    bio_services.enrol_finger(by=caseworker, person=person, finger=2, data=impression(A, 1),
                              dedupe=False)
    return person, case


@pytest.mark.parametrize("lang", ["en"])  # the new texts reach the Spanish catalogue at merge
def test_a_caseworker_searches_by_fingerprint(new_page, staff, login, lang, person_data, office,
                                              upload_root, tmp_path):
    worker.forget()
    person, case = _enrolled(staff["caseworker"], office, person_data)
    bio_services.set_photo(by=staff["caseworker"], person=person, data=face(1))
    scan = tmp_path / "dedo.png"
    scan.write_bytes(impression(A, 2))

    page = new_page()
    login(page, staff["caseworker"])
    page.locator("#nav-fingerprint-search").click()
    page.locator("#search-form button[type=submit]").click()
    expect(page.locator("#search-errors")).to_contain_text("Give at least one finger")
    page.select_option("#id_fingers-0-finger", "2")
    page.set_input_files("#id_fingers-0-image", str(scan))
    page.locator("#search-form button[type=submit]").click()
    # The search's own page, once the worker (here, the request's commit) has run it.
    expect(page).to_have_url(re.compile(r"/biometrics/search/[0-9a-f-]{36}/$"))
    best = page.locator("#candidates tr.candidate").first
    expect(best).to_have_attribute("data-decision", "match")
    expect(best).to_contain_text(case.reference)
    expect(best.locator("img.face-photo")).to_be_visible()
    width = best.locator("img.face-photo").evaluate("i => i.decode().then(() => i.naturalWidth)")
    assert width > 0, "the photo did not load"
    expect(page.locator("#search-summary")).to_contain_text("1 people enrolled")
    best.locator("a.candidate-person").click()
    expect(page).to_have_url(re.compile(rf"/people/{person.pk}/$"))
    worker.forget()


@pytest.mark.parametrize("lang", ["es"])
def test_a_waiting_search_shows_its_candidates_without_clearing_the_form(
        new_page, staff, login, lang, person_data, office, upload_root, tmp_path, monkeypatch):
    from biometrics import tasks

    worker.forget()
    _person, case = _enrolled(staff["caseworker"], office, person_data)
    sent = []  # a broker's queue that nobody reads yet
    monkeypatch.setattr(tasks.search_task, "delay", sent.append)
    queued = bio_services.queue_search(by=staff["caseworker"], images={2: impression(A, 2)})
    assert sent == [str(queued.pk)]

    page = new_page()
    login(page, staff["caseworker"])
    page.goto(f"/biometrics/search/{queued.pk}/")
    expect(page.locator("#search-waiting")).to_be_visible()
    # Meanwhile the caseworker starts the next search.
    page.select_option("#id_fingers-0-finger", "7")
    bio_services.run_search(queued.pk)  # the worker's turn
    best = page.locator("#candidates tr.candidate").first
    expect(best).to_have_attribute("data-decision", "match", timeout=10_000)
    expect(best).to_contain_text(case.reference)
    expect(page.locator("#search-waiting")).to_have_count(0)
    expect(page.locator("#id_fingers-0-finger")).to_have_value("7")  # the form as it was left
    assert page.url.endswith(f"/biometrics/search/{queued.pk}/")
    worker.forget()
