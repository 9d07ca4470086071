"""The case packages pages: register a key, receive a package, send a case."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import office_keys, services
from cases.crypto import packages
from cases.crypto.packages import OfficeKeys
from cases.models import Case, Document, PartnerKey, Person, Transfer
from tests.cases.test_case_packages import _from_guatemala, png_noise
from tests.conftest import pdf_bytes


@pytest.fixture
def guatemala():
    return OfficeKeys.generate("GT-GUA")


def _bundle_file(keys: OfficeKeys, name: str = "gt.json") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, keys.bundle(name="Comisión", country="GT").to_json().encode(),
                              "application/json")


def test_an_administrator_registers_a_key_once_and_sees_its_fingerprint(client, key_file,
                                                                        office_admin, guatemala):
    client.force_login(office_admin)

    first = client.post(reverse("package_key_register"), {"bundle": _bundle_file(guatemala)},
                        follow=True)
    again = client.post(reverse("package_key_register"), {"bundle": _bundle_file(guatemala)},
                        follow=True)

    fingerprint = guatemala.bundle().fingerprint
    assert fingerprint in first.content.decode() and "Registered GT-GUA" in first.content.decode()
    assert "already registered" in again.content.decode()
    assert PartnerKey.objects.count() == 1


@pytest.mark.parametrize("content", [b"{}", b"\x00\x01junk", b'{"format": "amparo-office-key"}'])
def test_a_file_that_is_no_bundle_is_refused_on_the_form(client, key_file, office_admin, content):
    client.force_login(office_admin)

    response = client.post(reverse("package_key_register"),
                           {"bundle": SimpleUploadedFile("x.json", content)})

    assert response.status_code == 400
    assert "not an office key bundle" in response.content.decode()
    assert not PartnerKey.objects.exists()


def test_a_caseworker_receives_a_package_and_lands_on_the_new_case(client, key_file, office_admin,
                                                                   caseworker, office, guatemala):
    client.force_login(office_admin)
    client.post(reverse("package_key_register"), {"bundle": _bundle_file(guatemala)})
    data = _from_guatemala(guatemala, office)
    client.force_login(caseworker)

    response = client.post(reverse("package_receive"),
                           {"package": SimpleUploadedFile("case.amparo", data)})
    again = client.post(reverse("package_receive"),
                        {"package": SimpleUploadedFile("case.amparo", data)}, follow=True)

    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("case_detail",
                                                                           args=[case.pk])
    assert "nothing new was created" in again.content.decode()
    assert Person.objects.count() == 1
    listed = client.get(reverse("packages")).content.decode()
    assert case.reference in listed and "GT-GUA-2026-000042" in listed


def test_a_changed_package_is_refused_on_the_form_and_creates_nothing(client, key_file,
                                                                      office_admin, caseworker,
                                                                      office, guatemala):
    client.force_login(office_admin)
    client.post(reverse("package_key_register"), {"bundle": _bundle_file(guatemala)})
    changed = json.loads(_from_guatemala(guatemala, office))
    changed["header"]["created_at"] = "2021-01-01T00:00:00+00:00"
    client.force_login(caseworker)

    response = client.post(reverse("package_receive"), {
        "package": SimpleUploadedFile("case.amparo", json.dumps(changed).encode())})

    assert response.status_code == 400
    assert "changed after it was signed" in response.content.decode()
    assert not Case.objects.exists()


def test_a_supervisor_sends_a_case_as_a_file_only_the_recipient_opens(client, key_file,
                                                                      office_admin, supervisor,
                                                                      case, guatemala):
    client.force_login(office_admin)
    client.post(reverse("package_key_register"), {"bundle": _bundle_file(guatemala)})
    key = PartnerKey.objects.get()
    office_keys.keys(case.office, create=True)
    client.force_login(supervisor)
    before = Transfer.objects.count()

    page = client.get(reverse("package_send", args=[case.pk]))
    half = client.post(reverse("package_send", args=[case.pk]), {"to": key.pk})
    no_consent = client.post(reverse("package_send", args=[case.pk]),
                             {"to": key.pk, "contact": "on", "reason": "Reunificación"})
    response = client.post(reverse("package_send", args=[case.pk]),
                           {"to": key.pk, "contact": "on", "reason": "Reunificación",
                            "override": "Orden judicial 44/2026"})

    assert page.status_code == 200 and "GT-GUA" in page.content.decode()
    assert half.status_code == 400
    assert no_consent.status_code == 400 and "not consented" in no_consent.content.decode()
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{case.reference}-to-GT-GUA.amparo"')
    assert response["Cache-Control"] == "no-store"
    opened = packages.open_package(
        response.content, own_keys=lambda code: guatemala if code == "GT-GUA" else None,
        sender_bundle=lambda fp: office_keys.bundle(case.office))
    person = json.loads(opened.content)["person"]
    assert person["given_names"] == case.principal.given_names and "phone" in person
    assert Transfer.objects.count() == before + 1
    assert Transfer.objects.filter(case=case, to_organisation=key.organisation).count() == 1


def test_sending_without_the_office_s_keys_says_who_makes_them(client, key_file, office_admin,
                                                               supervisor, case, guatemala):
    client.force_login(office_admin)
    client.post(reverse("package_key_register"), {"bundle": _bundle_file(guatemala)})
    client.force_login(supervisor)
    before = Transfer.objects.count()

    response = client.post(reverse("package_send", args=[case.pk]),
                           {"to": PartnerKey.objects.get().pk, "reason": "x", "override": "y"})

    assert response.status_code == 400
    assert f"office_key {case.office.code}" in response.content.decode()
    assert Transfer.objects.count() == before


def test_a_revoked_key_is_no_longer_offered(client, key_file, office_admin, supervisor, case,
                                            guatemala):
    client.force_login(office_admin)
    client.post(reverse("package_key_register"), {"bundle": _bundle_file(guatemala)})
    key = PartnerKey.objects.get()

    client.post(reverse("package_key_revoke", args=[key.pk]))

    key.refresh_from_db()
    assert key.revoked_at is not None
    client.force_login(supervisor)
    page = client.get(reverse("package_send", args=[case.pk])).content.decode()
    assert f'value="{key.pk}"' not in page and 'id="no-partners"' in page


def test_documents_go_when_ticked_and_the_receiver_is_told_how_many(client, key_file, file_root,
                                                                    office_admin, supervisor,
                                                                    caseworker, case, guatemala):
    client.force_login(office_admin)
    client.post(reverse("package_key_register"), {"bundle": _bundle_file(guatemala)})
    key = PartnerKey.objects.get()
    office_keys.keys(case.office, create=True)
    services.add_document(by=caseworker, case=case, title="Pasaporte", filename="p.png",
                          data=png_noise(5))
    client.force_login(supervisor)

    page = client.get(reverse("package_send", args=[case.pk])).content.decode()
    plain = client.post(reverse("package_send", args=[case.pk]),
                        {"to": key.pk, "reason": "Traslado", "override": "Urgente"})
    ticked = client.post(reverse("package_send", args=[case.pk]),
                         {"to": key.pk, "documents": "on", "reason": "Traslado",
                          "override": "Urgente"})

    assert 'name="documents"' in page and "at most 50 MB" in page
    opened = [json.loads(packages.open_package(
        r.content, own_keys=lambda code: guatemala,
        sender_bundle=lambda fp: office_keys.bundle(case.office)).content.split(b"\n")[0])
        for r in (plain, ticked)]
    assert "documents" not in opened[0]
    assert [d["title"] for d in opened[1]["documents"]] == ["Pasaporte"]

    client.force_login(caseworker)
    data = _from_guatemala(guatemala, case.office, documents=[
        ("Foto", "f.png", png_noise(6)), ("Acta", "a.pdf", pdf_bytes("acta"))])
    response = client.post(reverse("package_receive"),
                           {"package": SimpleUploadedFile("case.amparo", data)}, follow=True)
    assert "with 2 documents" in response.content.decode()


@pytest.mark.parametrize("extra", [0, 2 * 1024 * 1024])  # read by the form; dropped unread
def test_a_package_over_the_limit_is_refused_on_the_form(client, settings, key_file, file_root,
                                                         office_admin, caseworker, office,
                                                         guatemala, extra):
    client.force_login(office_admin)
    client.post(reverse("package_key_register"), {"bundle": _bundle_file(guatemala)})
    data = _from_guatemala(guatemala, office, documents=[
        ("Acta", "a.pdf", pdf_bytes("9" * (800_000 + extra)))])
    settings.AMPARO_PACKAGE_MAX_BYTES = 1024 * 1024
    client.force_login(caseworker)

    response = client.post(reverse("package_receive"),
                           {"package": SimpleUploadedFile("case.amparo", data)})

    assert response.status_code == 400
    assert "at most 1 MB" in response.content.decode()
    assert not Case.objects.exists() and not Document.objects.exists()
