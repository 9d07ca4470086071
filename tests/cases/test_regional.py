"""The regional duplicate check: tokens, inquiries and answers, and a check between two
installations in which no name, date or number crosses."""

from __future__ import annotations

import base64
import datetime
import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from cases import case_packages, regional, services
from cases.crypto import keyring
from cases.crypto.packages import OfficeKeys, canonical
from cases.models import RegionalInquiry, RegionalToken
from tests.cases.test_case_packages import _peer

REGION_KEY = b"\x07" * 32


@pytest.fixture
def region(key_file):
    data = json.loads(key_file.read_text())
    data["regional_key"] = base64.b64encode(REGION_KEY).decode()
    key_file.write_text(json.dumps(data))
    keyring.reset()
    return key_file


@pytest.fixture
def guatemala(region, office_admin):
    keys = OfficeKeys.generate("GT-GUA")
    case_packages.register_partner_key(by=office_admin, bundle=keys.bundle(country="GT"))
    return keys


def _inquiry_from(keys: OfficeKeys, to: str, **tokens) -> bytes:
    """What another installation's office would send (signed with its key)."""
    body = {"format": regional.INQUIRY, "version": 1, "inquiry": "5d0c1a7e-1d7e-4f57-9a52-0d2b8c1f3e11",
            "from_office": keys.office, "from_key": keys.bundle().fingerprint, "to_office": to,
            "created_at": timezone.now().isoformat(), "tokens": tokens}
    return json.dumps({**body, "signature": base64.b64encode(
        keys.signing.sign(canonical(body))).decode()}).encode()


def _their_tokens(**identity) -> dict[str, list[str]]:
    found = regional.tokens(REGION_KEY, **identity)
    return {k: [t for kind, t in found if kind == k] for k in regional.KINDS}


def test_a_registered_person_gets_tokens_that_hold_nothing_readable(region, person):
    rows = list(RegionalToken.objects.filter(person=person).values_list("kind", "token"))

    assert {k for k, _ in rows} == {"doc", "name_dob", "sound_dob"}
    text = json.dumps(rows)
    assert "A123456" not in text and "1990" not in text and "nunez" not in text.lower()


def test_without_a_regional_key_nobody_gets_tokens_and_nobody_asks(key_file, person, caseworker,
                                                                   office_admin):
    keys = OfficeKeys.generate("GT-GUA")
    partner, _ = case_packages.register_partner_key(by=office_admin,
                                                    bundle=keys.bundle(country="GT"))
    assert not RegionalToken.objects.exists()
    with pytest.raises(Exception, match="no regional key"):
        regional.inquire(by=caseworker, person=person, to=partner)


def test_an_answer_finds_the_same_person_spelt_otherwise_or_by_document(
        guatemala, person, caseworker, office):
    call_command("office_key", office.code, stdout=io.StringIO(), stderr=io.StringIO())
    spelt = _their_tokens(names=["Maria Jose", "Nunes Peres"], documents=[],
                          date_of_birth=datetime.date(1990, 5, 3))

    data = regional.answer(by=caseworker, data=_inquiry_from(guatemala, office.code, **spelt))

    answer = json.loads(data)
    assert (answer["result"], answer["ask_office"]) == ("possible_match", office.code)
    assert set(answer) == {"format", "version", "inquiry", "from_office", "from_key", "to_office",
                           "created_at", "result", "ask_office", "signature"}
    event = AuditEvent.objects.get(action="regional.answer")
    assert event.details["result"] == "possible_match"


def test_no_match_when_nothing_is_shared_and_an_inquiry_is_answered_once(
        guatemala, person, caseworker, office):
    call_command("office_key", office.code, stdout=io.StringIO(), stderr=io.StringIO())
    other = _their_tokens(names=["Pedro", "Alvarado"], documents=["Z999"],
                          date_of_birth=datetime.date(1980, 1, 1))
    inquiry = _inquiry_from(guatemala, office.code, **other)

    assert json.loads(regional.answer(by=caseworker, data=inquiry))["result"] == "no_match"
    with pytest.raises(regional.InquiryRefused, match="answered before"):
        regional.answer(by=caseworker, data=inquiry)


def test_refusals(guatemala, person, caseworker, other_caseworker, office, settings):
    call_command("office_key", office.code, stdout=io.StringIO(), stderr=io.StringIO())
    good = _inquiry_from(guatemala, office.code, doc=["x"])
    changed = json.loads(good)
    changed["tokens"]["doc"] = ["y"]
    stranger = _inquiry_from(OfficeKeys.generate("SV-SAL"), office.code, doc=["x"])

    with pytest.raises(regional.InquiryRefused, match="changed after it was signed"):
        regional.answer(by=caseworker, data=json.dumps(changed).encode())
    with pytest.raises(regional.InquiryRefused, match="not registered here"):
        regional.answer(by=caseworker, data=stranger)
    with pytest.raises(regional.InquiryRefused, match="not a regional inquiry"):
        regional.answer(by=caseworker, data=b"{}")
    with pytest.raises(PermissionDenied):
        regional.answer(by=other_caseworker, data=good)
    settings.AMPARO_REGIONAL_INQUIRIES_PER_DAY = 1
    regional.answer(by=caseworker, data=good)
    second = json.loads(_inquiry_from(guatemala, office.code, doc=["z"]))
    second["inquiry"] = "0b0c1a7e-1d7e-4f57-9a52-0d2b8c1f3e12"
    body = {k: v for k, v in second.items() if k != "signature"}
    second["signature"] = base64.b64encode(guatemala.signing.sign(canonical(body))).decode()
    with pytest.raises(regional.InquiryRefused, match="more than 1 inquiries"):
        regional.answer(by=caseworker, data=json.dumps(second).encode())
    assert RegionalInquiry.objects.count() == 1


def test_erasure_takes_the_tokens_away(region, person, supervisor):
    services.erase_person(by=supervisor, person=person, code="request", note="Solicitud")

    assert not RegionalToken.objects.filter(person=person).exists()


PEER_PERSON = """
import datetime
from cases.models import Office, User
from cases import services
mx = Office.objects.get(code="MX-CDMX")
services.register_person(by=User.objects.get(username="mx_sup"), office=mx, data=services.PersonData(
    given_names="Maria José", family_names="Nuñez Perez", sex="female",
    date_of_birth=datetime.date(1990, 5, 3),
    documents=[services.IdentityDocumentData("passport", "A123456", "HN")]))
"""


@pytest.mark.django_db(transaction=True)
def test_two_installations_check_a_person_and_nothing_personal_crosses(
        tmp_path, key_file, person, caseworker, office_admin, person_data):
    from tests.cases.test_case_packages import PEER_SETUP

    out = io.StringIO()
    call_command("regional_key", "--create", stdout=out)
    ours = out.getvalue().strip()
    call_command("regional_key", "--export", str(tmp_path / "region.key"), stdout=io.StringIO())
    call_command("regional_index", stdout=io.StringIO())
    stranger = services.register_person(by=caseworker, office=person.office, data=person_data(
        given_names="Pedro", family_names="Alvarado", date_of_birth=datetime.date(1980, 1, 1),
        documents=[services.IdentityDocumentData("passport", "Z999", "GT")]))

    _peer(tmp_path, "migrate", "--noinput")
    _peer(tmp_path, "shell", "-c", PEER_SETUP)
    assert _peer(tmp_path, "regional_key", "--import", str(tmp_path / "region.key")).stdout.strip() == ours
    _peer(tmp_path, "shell", "-c", PEER_PERSON)
    (tmp_path / "mx.json").write_text(_peer(tmp_path, "office_key", "MX-CDMX").stdout)
    bundle = io.StringIO()
    call_command("office_key", person.office.code, stdout=bundle, stderr=io.StringIO())
    (tmp_path / "bz.json").write_text(bundle.getvalue())
    call_command("register_office_key", str(tmp_path / "mx.json"), "--user", office_admin.username,
                 stdout=io.StringIO())
    _peer(tmp_path, "register_office_key", str(tmp_path / "bz.json"), "--user", "mx_admin")

    results = {}
    for who in (person, stranger):
        inquiry, reply = tmp_path / f"{who.pk}.inq", tmp_path / f"{who.pk}.ans"
        call_command("regional_inquiry", str(who.pk), "--to", "MX-CDMX", "--user",
                     caseworker.username, "--out", str(inquiry), stdout=io.StringIO())
        _peer(tmp_path, "answer_regional_inquiry", str(inquiry), "--user", "mx_sup", "--out",
              str(reply))
        said = io.StringIO()
        call_command("read_regional_answer", str(reply), "--user", caseworker.username, stdout=said)
        results[who.family_names] = said.getvalue()
        crossed = (inquiry.read_bytes() + reply.read_bytes()).decode()
        for secret in (who.given_names, who.family_names, "A123456", "Z999", "1990", "1980",
                       "Maria", "Pedro"):
            assert secret not in crossed

    assert results["Núñez Pérez"].startswith("Possible match: ask MX-CDMX")
    assert results["Alvarado"].startswith("No match")
    assert RegionalInquiry.objects.filter(direction="sent", result="possible_match").count() == 1
    replayed = _peer(tmp_path, "answer_regional_inquiry", str(tmp_path / f"{person.pk}.inq"),
                     "--user", "mx_sup", "--out", str(tmp_path / "again.ans"), check=False)
    assert replayed.returncode == 1 and "answered before" in replayed.stderr
    assert Path(tmp_path / "region.key").stat().st_mode & 0o077 == 0
