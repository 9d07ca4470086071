"""enrol_fingerprints and search_fingerprints (docs/architecture.md#biometrics)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from biometrics import engine, services
from biometrics.models import FingerprintCapture
from cases import services as case_services
from cases.models import PossibleDuplicate, User
from tests.biometrics.prints import face, impression

pytestmark = pytest.mark.usefixtures("file_root")

A, B = 11, 12


@pytest.fixture
def open_case(person_data):
    def make(by, office, name):
        person = case_services.register_person(by=by, office=office, data=person_data(
            given_names=name, family_names="Prueba", documents=[]))
        return case_services.open_case(by=by, person=person, kind="asylum", assign_to_me=True)
    return make


def _run(*args) -> str:
    # The commands speak their user's language: these operators read English.
    User.objects.update(preferred_language="en")
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_manifest_enrols_good_rows_refuses_bad_ones_and_finds_duplicates(
        tmp_path, caseworker, office, other_office, other_caseworker, open_case):
    first = open_case(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=first.principal, finger=1, data=impression(A, 1))
    again = open_case(other_caseworker, other_office, "Carmen")
    other = open_case(other_caseworker, other_office, "Berta")
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "a2.png").write_bytes(impression(A, 2))
    (tmp_path / "b1.tif").write_bytes(impression(B, 1, "TIFF"))
    (tmp_path / "photo.png").write_bytes(face(fmt="PNG", size=(400, 350)))
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "case_reference,finger,image\n"
        f"{again.reference},1,cards/a2.png\n"
        f"{other.reference},2,{tmp_path / 'b1.tif'}\n"
        f"{other.reference},11,b1.tif\n"
        f"{first.reference},1,cards/a2.png\n"  # a case of the other office: not theirs
        f"NO-SUCH-0001,1,cards/a2.png\n"
        f"{other.reference},3,missing.png\n"
        f"{other.reference},3,photo.png\n", encoding="utf-8")

    out = _run("enrol_fingerprints", str(manifest), "--user", other_caseworker.username, "--json")

    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["status"] for r in rows] == ["enrolled", "enrolled"] + ["refused"] * 5
    assert set(rows[0]) == {"row", "case_reference", "finger", "status", "reason", "quality",
                            "possible_duplicates"}
    assert rows[0]["row"] == 2 and rows[0]["case_reference"] == again.reference
    assert rows[0]["quality"] > 0 and rows[0]["reason"] == ""
    (dup,) = rows[0]["possible_duplicates"]
    # The match is in the other office: its case is not theirs to see.
    assert dup["person"] == str(first.principal.pk) and dup["cases"] == []
    assert dup["score"] >= services.possible_score()
    assert rows[1]["possible_duplicates"] == []
    assert "1 to 10" in rows[2]["reason"]
    assert rows[3]["reason"] == rows[4]["reason"] == "No case with this reference that you may see."
    assert "cannot be read" in rows[5]["reason"]
    with translation.override("en"):
        assert rows[6]["reason"] in {str(engine.REASONS["not_fingerprint"]),
                                     str(engine.REASONS["low_contrast"])}
    assert all(r["quality"] is None for r in rows[2:])
    # Refused rows stored nothing.
    assert FingerprintCapture.objects.count() == 3
    assert PossibleDuplicate.objects.get(person=again.principal).other == first.principal
    capture = FingerprintCapture.objects.get(person=again.principal)
    assert (capture.consent, capture.device) == ("on_file", "ten-print card")


def test_a_manifest_without_its_columns_is_refused(tmp_path, caseworker):
    manifest = tmp_path / "m.csv"
    manifest.write_text("reference,finger\nX,1\n", encoding="utf-8")

    with pytest.raises(CommandError, match="case_reference"):
        _run("enrol_fingerprints", str(manifest), "--user", caseworker.username)


def test_search_answers_as_the_user_would_see_it(tmp_path, caseworker, supervisor, office, open_case,
                                                 other_supervisor):
    first = open_case(caseworker, office, "Ana")
    services.enrol_finger(by=caseworker, person=first.principal, finger=1, data=impression(A, 1),
                          dedupe=False)
    second = open_case(caseworker, office, "Berta")
    services.enrol_finger(by=caseworker, person=second.principal, finger=1, data=impression(B, 1),
                          dedupe=False)
    probe = tmp_path / "probe.png"
    probe.write_bytes(impression(A, 2))

    out = json.loads(_run("search_fingerprints", "--finger", "1", str(probe), "--user",
                          supervisor.username, "--json"))

    assert set(out) == {"candidates", "gallery_people", "rescored", "seconds"}
    assert out["gallery_people"] == 2 and 1 <= out["rescored"] <= 2
    best = out["candidates"][0]
    assert best == {"person": str(first.principal.pk), "cases": [first.reference],
                    "score": best["score"], "decision": "match"}
    assert [c["score"] for c in out["candidates"]] == sorted(
        (c["score"] for c in out["candidates"]), reverse=True)
    # The other office's supervisor gets the same people, none of their cases.
    theirs = json.loads(_run("search_fingerprints", "--finger", "1", str(probe), "--user",
                             other_supervisor.username, "--json"))
    assert theirs["candidates"][0]["person"] == best["person"]
    assert theirs["candidates"][0]["cases"] == []


@pytest.mark.parametrize(("args", "message"), [
    (["--finger", "12", "x.png"], "1 to 10"),
    (["--finger", "1", "missing.png"], "cannot be read"),
])
def test_search_refuses_bad_arguments(caseworker, args, message):
    with pytest.raises(CommandError, match=message):
        _run("search_fingerprints", *args, "--user", caseworker.username)


def test_search_refuses_what_is_not_a_fingerprint(tmp_path, caseworker):
    photo = tmp_path / "photo.png"
    photo.write_bytes(face(fmt="PNG", size=(400, 350)))

    with pytest.raises(CommandError, match="Finger 2"):
        _run("search_fingerprints", "--finger", "2", str(photo), "--user", caseworker.username)


def test_search_needs_a_case_role(tmp_path, auditor):
    probe = tmp_path / "probe.png"
    probe.write_bytes(impression(A, 2))

    with pytest.raises(CommandError, match="caseworkers and supervisors"):
        _run("search_fingerprints", "--finger", "1", str(probe), "--user", auditor.username)


def test_an_operator_reads_the_refusal_in_their_language(caseworker):
    caseworker.preferred_language = "es"
    caseworker.save()
    out = io.StringIO()
    with pytest.raises(CommandError, match="del 1 al 10"):
        call_command("search_fingerprints", "--finger", "11", "x.png", "--user",
                     caseworker.username, stdout=out)
