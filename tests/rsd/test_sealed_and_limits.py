"""The asylum records' sealed needs and places, what an erasure clears in them, and the
length limits of their free text (cases/texts.py): in the forms and in the services."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases import texts
from cases.models import NEEDS_PAD
from rsd import services
from rsd.models import Application, Interview
from tests.cases.rawsql import read_column
from tests.rsd.conftest import application_data, fresh, snapshot, today
from tests.rsd.test_views import application_post, application_url, field_error, post_step

# --- Sealed -------------------------------------------------------------------------------------


def test_needs_and_places_are_sealed_with_the_applicants_key(bz):
    case = bz.at("interview_scheduled", case=bz.open(specific_needs=["lgbtiq"]))
    application = Application.objects.get(case=case)
    interview = Interview.objects.get(case=case)

    assert application.specific_needs == ["lgbtiq"]
    assert application.place_of_entry == "Paso fronterizo"
    assert interview.place
    assert b"lgbtiq" not in read_column(Application, application.pk, "specific_needs")
    assert b"fronterizo" not in read_column(Application, application.pk, "place_of_entry")
    assert interview.place.encode() not in read_column(Interview, interview.pk, "place")
    history = Application.history.filter(id=application.pk).get()
    assert b"lgbtiq" not in read_column(Application.history.model, history.history_id,
                                        "specific_needs")


def test_which_needs_a_person_has_is_not_told_by_the_ciphertexts_length(bz):
    lengths = set()
    for needs in ([], ["lgbtiq"], ["unaccompanied_child"], ["torture_survivor", "woman_at_risk"]):
        case = bz.at("registered", case=bz.open(specific_needs=needs))
        application = Application.objects.get(case=case)
        assert application.specific_needs == needs
        lengths.add(len(read_column(Application, application.pk, "specific_needs")))
        lengths.add(len(read_column(type(case.principal), case.principal_id, "specific_needs")))

    assert len(lengths) == 1, f"padded to {NEEDS_PAD} bytes: one length, not {sorted(lengths)}"


def test_erasure_clears_arrival_interpreter_language_and_preferred_interviewer(bz):
    case = bz.at("interview_scheduled")
    services.update_application(by=bz.staff.caseworker, case=fresh(case), reason="",
                                data=application_data(interviewer_gender="female",
                                                      interpreter_language="quc"))
    other = bz.at("interview_scheduled")

    bz.erase(case)

    fields = ("arrival_date", "interpreter_language", "interviewer_gender")
    cleared = (None, "", "any")
    assert tuple(Application.objects.filter(case=case).values_list(*fields).get()) == cleared
    rows = Application.history.filter(case_id=case.pk).values_list(*fields)
    assert len(rows) == 2 and all(tuple(r) == cleared for r in rows)
    assert set(Interview.objects.filter(case=case).values_list("interpreter_language", flat=True)) == {""}
    assert set(Interview.history.filter(case_id=case.pk)
               .values_list("interpreter_language", flat=True)) == {""}
    assert Application.objects.get(case=case).priority is not None  # the queues' flag stays
    # Someone else's records keep theirs.
    assert Application.objects.get(case=other).arrival_date is not None
    assert Interview.objects.get(case=other).interpreter_language == "es"


# --- Length limits ------------------------------------------------------------------------------

TOO_LONG = "Relato de los hechos. " * (texts.LONG // 20)  # longer than LONG, also stripped


def test_an_oversized_narrative_is_refused_and_nothing_is_recorded(client, bz, bz_staff):
    case = bz.open()
    client.force_login(bz_staff.caseworker)
    before = snapshot(case)

    response = post_step(client, case, "register", {
        "application_date": today().isoformat(), "channel": "office", "modality": "regular",
        "claim_summary": "Resumen.", "narrative": TOO_LONG, "interviewer_gender": "any"})

    assert response.status_code == 400
    assert f"at most {texts.LONG} characters" in field_error(response.content.decode(), "narrative")
    assert snapshot(case) == before
    assert not Application.objects.filter(case=case).exists()


def test_an_oversized_place_or_change_reason_leaves_the_application_as_it_was(client, bz, bz_staff):
    case = bz.at("registered")
    application = Application.objects.get(case=case)
    client.force_login(bz_staff.caseworker)
    versions = application.history.count()

    place = client.post(application_url(case), application_post(
        application, place_of_entry="x" * (texts.PLACE + 1)))
    reason = client.post(application_url(case), application_post(
        application, place_of_entry="Santa Elena", reason="x" * (texts.NOTE + 1)))

    assert place.status_code == reason.status_code == 400
    assert f"at most {texts.PLACE} characters" in field_error(place.content.decode(), "place_of_entry")
    assert f"at most {texts.NOTE} characters" in field_error(reason.content.decode(), "reason")
    assert Application.objects.get(pk=application.pk).place_of_entry == "Paso fronterizo"
    assert application.history.count() == versions


def test_an_oversized_interview_place_schedules_nothing(client, bz, bz_staff):
    case = bz.at("registered")
    client.force_login(bz_staff.caseworker)
    before = snapshot(case)
    when = timezone.localtime(timezone.now() + datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")

    response = post_step(client, case, "schedule_interview", {
        "when": when, "place": "Sala " * 30, "interviewer": bz_staff.caseworker.pk})

    assert response.status_code == 400
    assert f"at most {texts.PLACE} characters" in field_error(response.content.decode(), "place")
    assert snapshot(case) == before
    assert not Interview.objects.filter(case=case).exists()


@pytest.mark.parametrize(("call", "field"), [
    (lambda bz, case: services.update_application(
        by=bz.staff.caseworker, case=case, data=application_data(narrative=TOO_LONG)), "narrative"),
    (lambda bz, case: services.update_application(
        by=bz.staff.caseworker, case=case, data=application_data(claim_summary="x" * (texts.NOTE + 1))),
     "claim_summary"),
    (lambda bz, case: services.update_application(
        by=bz.staff.caseworker, case=case, data=application_data(), reason="x" * (texts.NOTE + 1)),
     "reason"),
    (lambda bz, case: services.schedule_interview(
        by=bz.staff.caseworker, case=case, when=timezone.now() + datetime.timedelta(days=2),
        place="Sala 1", interviewer=bz.staff.caseworker, interpreter="x" * (texts.SHORT + 1)),
     "interpreter"),
    (lambda bz, case: bz.step(case, "withdraw", reason="x" * (texts.NOTE + 1)), "reason"),
])
def test_the_services_refuse_oversized_text_whoever_calls_them(bz, call, field):
    case = bz.at("registered")
    before = snapshot(case)
    versions = Application.history.filter(case_id=case.pk).count()

    with pytest.raises(ValidationError) as refused:
        call(bz, fresh(case))

    assert field in refused.value.message_dict
    assert "Longer than" in refused.value.message_dict[field][0]
    assert snapshot(case) == before
    assert Application.history.filter(case_id=case.pk).count() == versions


def test_the_assessment_and_the_decision_refuse_oversized_text(bz):
    case = bz.at("interviewed")
    with pytest.raises(ValidationError) as refused:
        services.save_assessment(by=bz.staff.caseworker, case=fresh(case),
                                 data=services.AssessmentData(credibility=TOO_LONG))
    assert "credibility" in refused.value.message_dict
    reviewed = bz.at("under_review")
    with pytest.raises(ValidationError) as refused:
        bz.decide(reviewed, reasons=TOO_LONG)
    assert "reasons" in refused.value.message_dict
    assert fresh(reviewed).state != "decided"
