"""The trafficking records: sealed with the victim's key, perpetrators seen only by who works on
the case, erased with the person, in their copy of their data, in the case's history."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cases import history, subject_requests
from cases import services as case_services
from tests.cases.rawsql import read_column
from tests.tip.conftest import fresh, profile_data, today
from tip import selectors, services
from tip.models import Perpetrator, Screening, TraffickingEvent, VictimProfile
from tip.names import States
from tip.services import EventData, PerpetratorData

pytestmark = pytest.mark.usefixtures("file_root")


def _event(tip, case, **overrides) -> TraffickingEvent:
    values = dict(kind="Exploitation", country="BZ", place="Finca Los Naranjos, Cayo",
                  started_on=today().replace(year=today().year - 1), ended_on=today(),
                  description="Cosecha de naranja sin pago.")
    values.update(overrides)
    return services.add_event(by=tip.caseworker, case=fresh(case), data=EventData(**values))


# --- Sealed ----------------------------------------------------------------------------------

def test_narratives_places_and_perpetrators_are_sealed_and_codes_stay_clear(tip):
    case = tip.at(States.IDENTIFICATION)
    event = _event(tip, case)
    perpetrator = tip.perpetrator(case, name="Rigoberto Canul")
    profile = VictimProfile.objects.get(case=case)
    screening = Screening.objects.get(case=case)

    assert b"pasaporte" not in read_column(VictimProfile, profile.pk, "narrative")
    assert b"Naranjos" not in read_column(TraffickingEvent, event.pk, "place")
    assert b"naranja" not in read_column(TraffickingEvent, event.pk, "description")
    assert b"Canul" not in read_column(Perpetrator, perpetrator.pk, "name")
    assert b"tatuaje" not in read_column(Perpetrator, perpetrator.pk, "description")
    assert b"debt" not in read_column(Screening, screening.pk, "present")
    assert b"forzoso" not in read_column(Screening, screening.pk, "notes")
    row = Perpetrator.history.get(id=perpetrator.pk)
    assert b"Canul" not in read_column(Perpetrator.history.model, row.history_id, "name")
    # What queues and statistics read stays clear.
    assert TraffickingEvent.objects.filter(pk=event.pk, country="BZ").exists()
    with connection.cursor() as cur:
        cur.execute(f"SELECT exploitation_types FROM {VictimProfile._meta.db_table}")  # noqa: S608
        assert "ForcedLabour" in str(cur.fetchone()[0])
    # And the values come back for who reads them.
    assert fresh_event(event).place == "Finca Los Naranjos, Cayo"


def fresh_event(event: TraffickingEvent) -> TraffickingEvent:
    return TraffickingEvent.objects.get(pk=event.pk)


def test_the_screening_answers_do_not_tell_by_their_length_how_many_were_present(tip):
    lengths = set()
    for present in (set(), {"debt"}, {"debt", "threats", "violence", "isolated", "unpaid", "deceived"}):
        case = tip.at(States.SCREENING)
        services.screen(by=tip.caseworker, case=case, present=present, notes="", screened_on=today())
        screening = Screening.objects.get(case=case)
        lengths.add(len(read_column(Screening, screening.pk, "present")))
    assert len(lengths) == 1


def test_an_event_period_must_end_after_it_starts_and_not_in_the_future(tip):
    case = tip.at(States.ACTIVE)
    with pytest.raises(ValidationError) as refused:
        _event(tip, case, started_on=today(), ended_on=today().replace(year=today().year - 1))
    assert "ended_on" in refused.value.error_dict
    with pytest.raises(ValidationError) as refused:
        _event(tip, case, started_on=today().replace(year=today().year + 1), ended_on=None)
    assert "started_on" in refused.value.error_dict
    assert not TraffickingEvent.objects.filter(case=case).exists()


def test_a_profile_with_codes_outside_the_lists_is_refused(tip):
    case = tip.open()
    with pytest.raises(ValidationError) as refused:
        services.record_profile(by=tip.caseworker, case=case, data=profile_data(
            exploitation_types=["ForcedLabour", "DreamJob"], sexual_exploitation_types=["Pornography"]))
    assert set(refused.value.error_dict) == {"exploitation_types", "sexual_exploitation_types"}
    assert fresh(case).state == States.OPEN


# --- Perpetrators -------------------------------------------------------------------------------

def test_perpetrators_are_seen_by_the_assigned_caseworker_and_the_office_s_supervisors_only(
        tip, client, caseworker2, auditor, other_supervisor):
    case = tip.at(States.ACTIVE)
    tip.perpetrator(case, name="Rigoberto Canul")
    tip.perpetrator(case, name="La Güera", role="Exploiter")

    assert [p.name for p in selectors.perpetrators_for(tip.caseworker, case)] == [
        "La Güera", "Rigoberto Canul"]  # by role: Exploiter, then RecruiterOrIntermediary
    assert len(selectors.perpetrators_for(tip.supervisor, case)) == 2
    for user in (caseworker2, auditor, other_supervisor):
        assert selectors.perpetrators_for(user, case) is None

    client.force_login(tip.caseworker)
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Rigoberto Canul" in page and "Recruiter or intermediary" in page


def test_a_colleague_who_sees_a_queued_case_sees_how_many_perpetrators_not_who(
        tip, client, caseworker2):
    case = tip.at(States.ACTIVE)
    tip.perpetrator(case, name="Rigoberto Canul")
    case_services.assign_case(by=tip.supervisor, case=fresh(case), assignee=None, reason="A la cola")
    case = fresh(case)
    assert case.assigned_to_id is None

    client.force_login(caseworker2)
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "Rigoberto Canul" not in page
    assert 'id="perpetrator-count"' in page and "1 perpetrator recorded" in page


def test_the_auditor_s_timeline_shows_a_perpetrator_was_recorded_not_who(tip, client, auditor):
    case = tip.at(States.ACTIVE)
    tip.perpetrator(case, name="Rigoberto Canul")
    labels = {str(s.label) for s in history.sources()}
    assert {"perpetrator", "victim profile", "screening"} <= labels

    client.force_login(auditor)
    response = client.get(reverse("audit_case_timeline", args=[case.reference]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "perpetrator" in page
    assert "Rigoberto" not in page and "tatuaje" not in page


def test_only_who_may_change_the_case_records_a_perpetrator(tip, caseworker2, auditor):
    case = tip.at(States.ACTIVE)
    for user in (caseworker2, auditor):
        with pytest.raises(PermissionDenied):
            services.add_perpetrator(by=user, case=case, data=PerpetratorData(role="Exploiter",
                                                                              name="Alguien"))
    with pytest.raises(ValidationError):
        services.add_perpetrator(by=tip.caseworker, case=case, data=PerpetratorData(role="Exploiter"))
    assert not Perpetrator.objects.filter(case=case).exists()


def test_perpetrator_and_event_pages(tip, client):
    case = tip.at(States.ACTIVE)
    client.force_login(tip.caseworker)
    half = client.post(reverse("tip:perpetrator_add", args=[case.pk]), {"role": "", "name": "X"})
    assert half.status_code == 400
    done = client.post(reverse("tip:perpetrator_add", args=[case.pk]),
                       {"role": "Transporter", "name": "El Flaco", "relation_to_victim": "Unaquainted"})
    assert done.status_code == 302
    assert Perpetrator.objects.get(case=case).name == "El Flaco"
    done = client.post(reverse("tip:event_add", args=[case.pk]),
                       {"kind": "Transit", "country": "GT", "place": "Frontera Melchor de Mencos",
                        "started_on": today().isoformat()})
    assert done.status_code == 302
    assert TraffickingEvent.objects.get(case=case).place == "Frontera Melchor de Mencos"


# --- Erasure and the person's copy ------------------------------------------------------------

def test_erasure_shreds_the_records_and_clears_what_could_point_at_the_person(tip):
    case = tip.at(States.ACTIVE)
    event = _event(tip, case)
    perpetrator = tip.perpetrator(case)
    other = tip.at(States.ACTIVE)
    other_event = _event(tip, other)

    case_services.erase_person(by=tip.supervisor, person=fresh(case).principal, code="request",
                               note="Solicitud de supresión.")

    profile = VictimProfile.objects.get(case=case)
    assert profile.narrative is None and profile.age_when_trafficked is None
    event = TraffickingEvent.objects.get(pk=event.pk)
    assert event.place is None and event.country == "" and event.started_on is None
    assert Perpetrator.objects.get(pk=perpetrator.pk).name is None
    assert all(h.country == "" for h in TraffickingEvent.history.filter(id=event.pk))
    assert all(h.age_when_trafficked is None for h in VictimProfile.history.filter(case_id=case.pk))
    kept = TraffickingEvent.objects.get(pk=other_event.pk)
    assert kept.country == "BZ" and kept.place == "Finca Los Naranjos, Cayo"


def _copy(client, user, asked, **params) -> dict:
    client.force_login(user)
    response = client.post(reverse("subject_request_export", args=[asked.pk]),
                          {"format": "json", "language": "en", **params})
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_person_s_copy_holds_their_record_and_withholds_perpetrators_names(tip, client):
    case = tip.at(States.ACTIVE)
    _event(tip, case)
    tip.perpetrator(case, name="Rigoberto Canul")

    case = fresh(case)
    asked = subject_requests.record_request(
        by=case.assigned_to, person=case.principal, kind="access", channel="writing",
        received_on=timezone.localdate())
    data = _copy(client, tip.caseworker, asked)

    sections = {s["key"]: s for s in data["sections"]}
    profile = sections["tip.profiles"]["records"][0]
    assert profile["narrative"].startswith("Me ofrecieron trabajo")
    assert profile["exploitation_types"] == ["Forced labour"]
    assert sections["tip.events"]["records"][0]["place"] == "Finca Los Naranjos, Cayo"
    assert sections["tip.identifications"]["records"][0]["status"] == "Identified victim of trafficking"
    assert sections["tip.perpetrators"]["records"][0]["role"] == "Recruiter or intermediary"
    text = json.dumps(data, ensure_ascii=False)
    assert "Canul" not in text and "tip.screenings" not in sections
    assert any("took part in the trafficking" in w for w in data["withheld"])

    internal = _copy(client, tip.supervisor, asked, internal="1")
    sections = {s["key"]: s for s in internal["sections"]}
    assert sections["tip.perpetrators"]["records"][0]["name"] == "Rigoberto Canul"
    assert sections["tip.screenings"]["records"][0]["notes"] == "Indicadores de trabajo forzoso."


# --- Retention ---------------------------------------------------------------------------------

def test_a_retention_rule_erases_people_whose_trafficking_case_closed_long_ago(tip):
    import datetime

    from cases import retention
    from cases.models import Case, RetentionRule

    RetentionRule.objects.exclude(record_type="trafficking.closed").update(enabled=False)
    RetentionRule.objects.create(record_type="trafficking.closed", office=None, years=5,
                                 action="erase", destructive=True)
    old = tip.at(States.CLOSED)
    recent = tip.at(States.CLOSED)
    helped = tip.at(States.CLOSED)  # closed long ago too, but with an asylum case open now
    case_services.open_case(by=tip.caseworker, person=fresh(helped).principal, kind="asylum")
    long_ago = datetime.datetime(2019, 3, 1, 12, tzinfo=datetime.UTC)
    # Test-only time shift: the closures happened years ago.
    Case.objects.filter(pk__in=[old.pk, helped.pk]).update(closed_at=long_ago)

    run = retention.run(today=today())

    assert fresh(old).principal.erased_at is not None
    assert fresh(recent).principal.erased_at is None and fresh(helped).principal.erased_at is None
    [report] = [r for r in run.report["rules"] if r["record_type"] == "trafficking.closed"]
    assert report["erased"] == 1
    assert VictimProfile.objects.get(case=old).narrative is None


def test_the_case_page_shows_the_websites_and_apps_of_the_profile(tip, client):
    case = tip.open()
    services.record_profile(by=tip.caseworker, case=case, data=profile_data(
        recruitment_websites=["Facebook", "WhatsApp"], exploitation_websites=["FacebookMessenger"]))

    client.force_login(tip.caseworker)
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()

    assert 'id="recruitment-websites">Facebook, WhatsApp<' in page
    assert 'id="exploitation-websites">Facebook Messenger<' in page
