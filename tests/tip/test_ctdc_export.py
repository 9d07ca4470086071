"""Consent per purpose, and the CTDC export built on it: only consenting victims of the
supervisor's offices, checked against totals computed here from the records."""

from __future__ import annotations

import csv
import io
import random

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from cases import consent, services
from cases.models import Consent
from tip import ctdc, exports
from tip.models import TraffickingEvent, VictimProfile

KINDS = ["ForcedLabour", "SexualExploitation", "ChildLabour", "ForcedMarriage", "Servitude"]


@pytest.fixture
def victims(caseworker, office, person_data):
    """Thirty trafficking cases with profiles and an exploitation event each; every other
    person allows statistics."""
    pick = random.Random(5)
    made = []
    for n in range(30):
        person = services.register_person(by=caseworker, office=office, data=person_data(
            given_names=f"Víctima {n}", sex=pick.choice(["female", "male"]),
            nationalities=[pick.choice(["HN", "GT"])], documents=[]))
        case = services.open_case(by=caseworker, person=person, kind="trafficking")
        profile = VictimProfile.objects.create(
            case=case, person=person, recorded_by=caseworker,
            exploitation_types=pick.sample(KINDS, pick.choice([1, 2])),
            means_of_control=pick.sample(["DebtBondage", "PhysicalThreats", "WithholdsDocuments"], 2),
            relation_to_recruiter=pick.choice(["Familial", "Acquainted", ""]),
            age_when_trafficked=pick.choice([15, 22, 30]))
        TraffickingEvent.objects.create(case=case, person=person, kind="Exploitation",
                                        country="BZ", recorded_by=caseworker)
        consent.record(by=caseworker, person=person, purpose="statistics", given=n % 2 == 0,
                       language="es")
        made.append(profile)
    return made


def _rows(supervisor, k=1) -> list[dict]:
    out = io.StringIO()
    exports.export(by=supervisor, out=out, k=k)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_consent_is_recorded_replaced_and_withdrawn_at_once(person, caseworker, other_caseworker):
    consent.record(by=caseworker, person=person, purpose="statistics", given=True, language="es")
    assert consent.allows(person, "statistics") and not consent.allows(person, "referral")

    consent.record(by=caseworker, person=person, purpose="statistics", given=False, language="en")

    assert not consent.allows(person, "statistics")
    assert Consent.objects.filter(person=person, purpose="statistics").count() == 2  # kept
    rows = {code: c for code, _label, c in consent.rows(person)}
    assert rows["statistics"].given is False and rows["statistics"].language == "en"
    assert rows["referral"] is None
    with pytest.raises(PermissionDenied):
        consent.record(by=other_caseworker, person=person, purpose="statistics", given=True,
                       language="es")
    with pytest.raises(ValidationError):
        consent.record(by=caseworker, person=person, purpose="everything", given=True,
                       language="es")
    assert AuditEvent.objects.filter(action="consent.record").count() == 2


def test_the_export_holds_the_consenting_victims_and_their_flags(victims, supervisor):
    rows = _rows(supervisor)

    consenting = victims[::2]
    assert len(rows) == len(consenting)
    labour = sum(1 for p in consenting
                 if {"ForcedLabour", "ChildLabour"} & set(p.exploitation_types))
    sexual = sum(1 for p in consenting if "SexualExploitation" in p.exploitation_types)
    debt = sum(1 for p in consenting if "DebtBondage" in p.means_of_control)
    family = sum(1 for p in consenting if p.relation_to_recruiter == "Familial")
    minors = sum(1 for p in consenting if p.age_when_trafficked < 18)
    assert sum(int(r["isForcedLabour"]) for r in rows) == labour
    assert sum(int(r["isSexualExploit"]) for r in rows) == sexual
    assert sum(int(r["meansOfControlDebtBondage"]) for r in rows) == debt
    assert sum(int(r["recruiterRelationFamily"]) for r in rows) == family
    assert sum(r["majorityStatusAtExploit"] == "Minor" for r in rows) == minors
    assert {r["CountryOfExploitation"] for r in rows} == {"BZ"}
    assert {r["citizenship"] for r in rows} <= {"HN", "GT"}
    text = "".join(",".join(r.values()) for r in rows)
    assert "Víctima" not in text


def test_who_was_found_not_a_victim_is_not_in_the_file(victims, supervisor):
    before = len(_rows(supervisor))
    found = victims[0]  # allows statistics
    found.trafficking_status = "NotAVictimOfTrafficking"
    found.save()
    possible = victims[2]
    possible.trafficking_status = "PossibleVictimOfTrafficking"
    possible.save()

    assert len(_rows(supervisor)) == before - 1  # a possible victim stays


def test_a_withdrawal_takes_the_person_out_of_the_next_export(victims, supervisor, caseworker):
    before = len(_rows(supervisor))
    consent.record(by=caseworker, person=victims[0].person, purpose="statistics", given=False,
                   language="es")

    assert len(_rows(supervisor)) == before - 1


def test_k_suppresses_and_the_scope_is_the_supervisor_s_offices(victims, supervisor,
                                                                other_supervisor, caseworker):
    strict = _rows(supervisor, k=11)
    assert all(n >= 11 for _, n in ctdc.equivalence_classes(strict))
    assert _rows(other_supervisor) == []
    with pytest.raises(PermissionDenied):
        exports.export(by=caseworker, out=io.StringIO())


def test_the_command_writes_the_file_and_reports(victims, supervisor, caseworker, tmp_path):
    target = tmp_path / "ctdc.csv"
    said = io.StringIO()

    call_command("export_ctdc", str(target), "--user", supervisor.username, "--k", "3",
                 stdout=said)

    assert target.read_text().splitlines()[0].split(",")[:3] == ["yearOfRegistration", "gender",
                                                                 "ageBroad"]
    assert "records to" in said.getvalue() and "(k = 3)" in said.getvalue()
    event = AuditEvent.objects.get(action="tip.export_ctdc")
    assert event.details["records_in"] == 15 and event.details["k"] == 3
    with pytest.raises(CommandError, match="Only supervisors"):
        call_command("export_ctdc", str(tmp_path / "x.csv"), "--user", caseworker.username)
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "x.csv.part").exists()
