"""The regional duplicate check's pages (cases/views_regional.py): a caseworker or supervisor
of the person's office writes an inquiry, the addressed office answers it by upload, the
asking office reads the answer; refusals come back on the form and are recorded."""

from __future__ import annotations

import base64
import datetime
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from audit.models import AuditEvent
from cases import regional
from cases.crypto.packages import OfficeKeys, canonical
from cases.models import PartnerKey, RegionalInquiry
from tests.cases.test_regional import _inquiry_from, _their_tokens, guatemala, region

__all__ = ["guatemala", "region"]  # fixtures

EN = {"Accept-Language": "en"}


def _upload(prefix: str, data: bytes) -> dict:
    return {f"{prefix}-file": SimpleUploadedFile("file.json", data, "application/json")}


@pytest.fixture
def keyed(guatemala, office):
    call_command("office_key", office.code, stdout=io.StringIO(), stderr=io.StringIO())
    return guatemala


def test_a_caseworker_writes_an_inquiry_that_holds_no_name_date_or_number(
        client, keyed, person, caseworker):
    client.force_login(caseworker)
    page = client.get(reverse("person_detail", kwargs={"person_id": person.pk}), headers=EN)
    assert b'id="regional-ask"' in page.content
    url = reverse("regional_inquire", kwargs={"person_id": person.pk})
    assert client.post(url, {}, headers=EN).status_code == 400  # no office chosen
    to = PartnerKey.objects.get(fingerprint=keyed.bundle().fingerprint)
    answer = client.post(url, {"to": to.pk}, headers=EN)
    assert answer.status_code == 200
    assert answer["Content-Disposition"].startswith('attachment; filename="inquiry-BZ-BMP-to-GT-GUA')
    data = answer.content
    for value in (b"Mar\xc3\xada", b"N\xc3\xba\xc3\xb1ez", b"1990", b"A123456", b"Majo"):
        assert value not in data
    inquiry = json.loads(data)
    assert inquiry["format"] == regional.INQUIRY and inquiry["to_office"] == "GT-GUA"
    sent = RegionalInquiry.objects.get(direction="sent")
    assert sent.person == person and str(sent.inquiry) == inquiry["inquiry"]
    assert AuditEvent.objects.filter(action="regional.inquire").count() == 1
    listed = client.get(reverse("regional_inquiries"), headers=EN)
    assert inquiry["inquiry"].encode() in listed.content and b"No answer read yet" in listed.content


def test_the_addressed_office_answers_by_upload_and_the_rate_holds(
        client, keyed, person, caseworker, settings):
    spelt = _their_tokens(names=["Maria Jose", "Nunes Peres"], documents=[],
                          date_of_birth=datetime.date(1990, 5, 3))
    client.force_login(caseworker)
    url = reverse("regional_answer")
    done = client.post(url, _upload("answer", _inquiry_from(keyed, "BZ-BMP", **spelt)))
    assert done.status_code == 200 and done["Content-Disposition"].startswith("attachment")
    answer = json.loads(done.content)
    assert (answer["result"], answer["ask_office"]) == ("possible_match", "BZ-BMP")
    assert b"Mar" not in done.content and b"1990" not in done.content
    again = client.post(url, _upload("answer", _inquiry_from(keyed, "BZ-BMP", **spelt)),
                        headers=EN)
    assert again.status_code == 400 and b"answered before" in again.content
    listed = client.get(reverse("regional_inquiries"), {"list": "received"}, headers=EN)
    assert b"Possible match: ask BZ-BMP" in listed.content
    settings.AMPARO_REGIONAL_INQUIRIES_PER_DAY = 1
    other = json.loads(_inquiry_from(keyed, "BZ-BMP", doc=["x"]))
    other["inquiry"] = "6d0c1a7e-1d7e-4f57-9a52-0d2b8c1f3e11"
    body = {k: v for k, v in other.items() if k != "signature"}
    other["signature"] = base64.b64encode(keyed.signing.sign(canonical(body))).decode()
    refused = client.post(url, _upload("answer", json.dumps(other).encode()), headers=EN)
    assert refused.status_code == 400 and b"more than 1 inquiries in a day" in refused.content
    assert RegionalInquiry.objects.filter(direction="received").count() == 1
    assert [e.details["reason"] for e in AuditEvent.objects.filter(
        action="regional.answer", outcome="refused").order_by("pk")] == ["answered", "rate"]


def test_refused_inquiries_come_back_on_the_form_and_are_recorded(
        client, keyed, person, caseworker, other_caseworker):
    client.force_login(caseworker)
    url = reverse("regional_answer")
    stranger = _inquiry_from(OfficeKeys.generate("SV-SAL"), "BZ-BMP", doc=["x"])
    page = client.post(url, _upload("answer", stranger), headers=EN)
    assert page.status_code == 400 and b"not registered here" in page.content
    page = client.post(url, _upload("answer", b"junk"), headers=EN)
    assert page.status_code == 400 and b"not a regional inquiry" in page.content
    client.force_login(other_caseworker)  # not of the office it is addressed to
    page = client.post(url, _upload("answer", _inquiry_from(keyed, "BZ-BMP", doc=["x"])),
                       headers=EN)
    assert page.status_code == 400 and b"Only the caseworkers and supervisors" in page.content
    outcomes = sorted((e.outcome, e.details.get("reason")) for e in
                      AuditEvent.objects.filter(action="regional.answer"))
    assert outcomes == [("denied", "role"), ("refused", "unknown_sender"),
                        ("refused", "unreadable")]
    assert not RegionalInquiry.objects.exists()


def test_reading_an_answer_records_it_and_a_foreign_answer_is_refused(
        client, keyed, person, caseworker, other_caseworker):
    to = PartnerKey.objects.get(office_code="GT-GUA")
    inquiry = json.loads(regional.inquire(by=caseworker, person=person, to=to))
    # Guatemala answers (as its installation would), signed with its key.
    body = {"format": regional.ANSWER, "version": 1, "inquiry": inquiry["inquiry"],
            "from_office": "GT-GUA", "from_key": keyed.bundle().fingerprint,
            "to_office": "BZ-BMP", "created_at": "2026-01-01T00:00:00+00:00",
            "result": "possible_match", "ask_office": "GT-GUA"}
    signed = json.dumps({**body, "signature": base64.b64encode(
        keyed.signing.sign(canonical(body))).decode()}).encode()
    client.force_login(other_caseworker)
    refused = client.post(reverse("regional_read"), _upload("read", signed), headers=EN)
    assert refused.status_code == 400
    client.force_login(caseworker)
    done = client.post(reverse("regional_read"), _upload("read", signed), headers=EN,
                       follow=True)
    assert b"Possible match: ask GT-GUA about inquiry" in done.content
    sent = RegionalInquiry.objects.get(direction="sent")
    assert (sent.result, sent.ask_office) == ("possible_match", "GT-GUA")
    changed = signed.replace(b"possible_match", b"no_match")
    page = client.post(reverse("regional_read"), _upload("read", changed), headers=EN)
    assert page.status_code == 400 and b"changed after it was signed" in page.content
    assert AuditEvent.objects.filter(action="regional.answer_read", outcome="refused").count() == 1


def test_who_may_ask(client, keyed, person, caseworker, other_caseworker, auditor, supervisor):
    url = reverse("regional_inquire", kwargs={"person_id": person.pk})
    client.force_login(other_caseworker)
    assert client.get(url).status_code == 404
    client.force_login(auditor)
    assert client.get(url).status_code == 403
    assert client.get(reverse("regional_inquiries")).status_code == 403
    client.force_login(supervisor)
    assert client.get(url).status_code == 200
    assert client.get(reverse("regional_inquiries"), {"list": "nonsense"}).status_code == 404


def test_without_a_regional_key_the_pages_say_so(client, key_file, person, caseworker):
    client.force_login(caseworker)
    page = client.get(reverse("person_detail", kwargs={"person_id": person.pk}), headers=EN)
    assert b'id="regional-ask"' not in page.content
    page = client.get(reverse("regional_inquiries"), headers=EN)
    assert b'id="regional-no-key"' in page.content

