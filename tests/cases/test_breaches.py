"""The breach log (cases/breaches.py): anyone of an office reports, its supervisors manage,
its auditors read; the 72-hour notification clock on the supervisors' dashboard."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import breaches, services
from cases.models import Breach, BreachPerson, BreachStatus, Role
from tests.cases.rawsql import read_column

EN = {"accept-language": "en"}


def report(by, office, *, hours_ago: float = 1, description: str = "Se perdió una memoria USB"):
    return breaches.report_breach(
        by=by, office=office, nature="confidentiality", description=description,
        discovered_at=timezone.now() - datetime.timedelta(hours=hours_ago))


def manage(by, breach, **extra):
    values = dict(risk="medium", status="open", categories="", people_count=None,
                  occurred_from=None, occurred_to=None, actions="", focal_point_notified_at=None,
                  people_notified_at=None, reason="")
    values.update(extra)
    return breaches.manage_breach(by=by, breach=breach, **values)


def test_a_caseworker_reports_a_breach_and_is_sent_back_to_the_dashboard(client, caseworker, office):
    client.force_login(caseworker)
    response = client.post(reverse("breach_new"), {
        "office": office.pk, "nature": "availability", "description": "Se borró una carpeta",
        "discovered_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}, headers=EN)

    made = Breach.objects.get()
    assert response.status_code == 302 and response.url == reverse("dashboard")
    assert made.office == office and made.reported_by == caseworker
    assert made.status == BreachStatus.OPEN and made.nature == "availability"
    assert AuditEvent.objects.filter(action="breach.report", object_id=str(made.pk)).exists()
    # The caseworker does not read the log.
    assert client.get(reverse("breach_detail", args=[made.pk])).status_code == 403


def test_a_half_filled_report_comes_back_with_its_errors(client, caseworker, office):
    client.force_login(caseworker)
    response = client.post(reverse("breach_new"), {"office": office.pk, "nature": ""}, headers=EN)

    assert response.status_code == 400
    assert b"breach-form" in response.content
    assert not Breach.objects.exists()


def test_a_breach_cannot_be_reported_to_another_office(caseworker, other_office, office):
    with pytest.raises(PermissionDenied):
        report(caseworker, other_office)
    with pytest.raises(ValidationError) as exc:
        breaches.report_breach(by=caseworker, office=office, nature="integrity", description="x",
                               discovered_at=timezone.now() + datetime.timedelta(days=1))
    assert "discovered_at" in exc.value.error_dict


def test_what_happened_and_what_was_done_are_sealed_in_live_and_history_rows(
        caseworker, supervisor, office):
    made = report(caseworker, office, description="Correo enviado a Tzul por error")
    manage(supervisor, made, actions="Se pidió borrar el correo de Tzul", reason="Tzul avisado")

    for column in ("description", "actions"):
        raw = read_column(Breach, made.pk, column)
        assert raw and b"Tzul" not in raw
    hist = Breach.history.model
    for row in hist.objects.filter(id=made.pk):
        for column in ("description", "actions", "history_change_reason"):
            raw = read_column(hist, row.history_id, column)
            assert raw is None or b"Tzul" not in raw
    assert Breach.objects.get(pk=made.pk).description == "Correo enviado a Tzul por error"
    assert hist.objects.filter(id=made.pk).latest().history_change_reason == "Tzul avisado"


def test_only_a_supervisor_of_the_office_manages_it(caseworker, supervisor, auditor,
                                                   other_supervisor, office):
    made = report(caseworker, office)
    for user in (caseworker, auditor, other_supervisor):
        with pytest.raises(PermissionDenied):
            manage(user, made)

    manage(supervisor, made, status="contained", risk="high", people_count=40,
           categories="nombres, teléfonos")
    made.refresh_from_db()
    assert (made.status, made.risk, made.people_count) == ("contained", "high", 40)
    assert [h.status for h in made.history.order_by("history_date")] == ["open", "contained"]


def test_closing_needs_the_actions_and_a_closed_breach_stays_closed(caseworker, supervisor, office):
    made = report(caseworker, office)
    with pytest.raises(ValidationError) as exc:
        manage(supervisor, made, status="closed")
    assert "actions" in exc.value.error_dict

    manage(supervisor, made, status="closed", actions="Contraseñas cambiadas")
    with pytest.raises(ValidationError):
        manage(supervisor, made, status="open", actions="Reabierto")


def test_a_notification_cannot_be_dated_before_the_discovery(caseworker, supervisor, office):
    made = report(caseworker, office, hours_ago=5)
    with pytest.raises(ValidationError) as exc:
        manage(supervisor, made, focal_point_notified_at=timezone.now() - datetime.timedelta(hours=6))
    assert "focal_point_notified_at" in exc.value.error_dict


def test_the_other_office_and_the_caseworkers_do_not_see_the_log(client, caseworker, other_supervisor,
                                                                office):
    made = report(caseworker, office)
    client.force_login(other_supervisor)
    assert client.get(reverse("breach_detail", args=[made.pk])).status_code == 404
    listed = client.get(reverse("breach_list"))
    assert listed.status_code == 200 and str(made.pk).encode() not in listed.content
    assert AuditEvent.objects.filter(action="breach.view", outcome="denied").exists()


def test_the_auditor_reads_the_breach_but_gets_no_form(client, caseworker, auditor, office):
    made = report(caseworker, office, description="Portátil robado")
    client.force_login(auditor)
    response = client.get(reverse("breach_detail", args=[made.pk]), headers=EN)
    assert response.status_code == 200
    assert "Portátil robado" in response.content.decode()
    assert b"breach-manage" not in response.content
    assert client.post(reverse("breach_detail", args=[made.pk]), {"risk": "low"}).status_code == 403


def test_the_dashboard_shows_breaches_past_the_72_hour_clock(client, caseworker, supervisor, office):
    report(caseworker, office, hours_ago=2)
    late = report(caseworker, office, hours_ago=80)
    told = report(caseworker, office, hours_ago=90)
    manage(supervisor, told, focal_point_notified_at=timezone.now() - datetime.timedelta(hours=20))

    open_, overdue = breaches.open_counts(supervisor)
    assert (open_, overdue) == (3, 1)
    client.force_login(supervisor)
    page = client.get(reverse("dashboard"), headers=EN).content.decode()
    assert 'id="card-breaches"' in page and "1 not notified in time" in page

    manage(supervisor, late, focal_point_notified_at=timezone.now())
    assert breaches.open_counts(supervisor)[1] == 0
    page = client.get(reverse("dashboard"), headers=EN).content.decode()
    assert 'id="breaches-overdue"' not in page


def test_the_caseworkers_dashboard_has_no_breach_card(client, caseworker, office):
    report(caseworker, office, hours_ago=100)
    client.force_login(caseworker)
    assert b'id="card-breaches"' not in client.get(reverse("dashboard")).content


# --- The people affected -----------------------------------------------------------------------

@pytest.fixture
def other_case(other_caseworker, other_office, person_data):
    theirs = services.register_person(by=other_caseworker, office=other_office,
                                      data=person_data(given_names="Xiomara Ixchel",
                                                       family_names="Cojtí Tzul", documents=[]))
    return services.open_case(by=other_caseworker, person=theirs, kind="asylum")


def _name(client, by, breach, references):
    client.force_login(by)
    return client.post(reverse("breach_people", args=[breach.pk]), {"references": references},
                       headers=EN)


def test_a_supervisor_names_the_people_and_the_count_follows(client, caseworker, supervisor,
                                                             office, case, person_data):
    second = services.open_case(by=caseworker, kind="asylum", person=services.register_person(
        by=caseworker, office=office, data=person_data(given_names="Ana", documents=[])))
    breach = report(caseworker, office)

    response = _name(client, supervisor, breach, f"{case.reference}, {second.reference} "
                                                 f"{case.reference}")

    assert response.status_code == 302
    assert sorted(BreachPerson.objects.filter(breach=breach).values_list("person_id", flat=True)) \
        == sorted([case.principal_id, second.principal_id])
    breach.refresh_from_db()
    assert breach.people_count == 2
    event = AuditEvent.objects.get(action="breach.people")
    assert sorted(event.details["added"]) == sorted([str(case.principal_id),
                                                     str(second.principal_id)])
    page = client.get(reverse("breach_detail", args=[breach.pk]), headers=EN).content.decode()
    assert "María José Núñez Pérez" in page and reverse("person_detail", args=[case.principal_id]) in page
    # The showing is recorded person by person, as a search is.
    viewed = AuditEvent.objects.filter(action="breach.view").latest("id")
    assert sorted(viewed.details["people"]) == sorted([str(case.principal_id),
                                                       str(second.principal_id)])

    # Named again: nobody twice, the count unchanged; a larger count given by hand stays.
    assert _name(client, supervisor, breach, case.reference).status_code == 302
    assert BreachPerson.objects.filter(breach=breach).count() == 2
    manage(supervisor, Breach.objects.get(pk=breach.pk), people_count=40)
    with pytest.raises(ValidationError, match="2 people are named"):
        manage(supervisor, Breach.objects.get(pk=breach.pk), people_count=1)


def test_the_auditor_sees_the_people_by_case_reference_only(client, caseworker, supervisor,
                                                            auditor, office, case):
    breach = report(caseworker, office)
    breaches.name_people(by=supervisor, breach=breach, references=case.reference)
    client.force_login(auditor)

    page = client.get(reverse("breach_detail", args=[breach.pk]), headers=EN).content.decode()

    assert f"Principal of the case {case.reference}" in page
    assert "Núñez" not in page and "María" not in page
    # Nobody's name was shown: nobody is recorded as shown.
    assert AuditEvent.objects.filter(action="breach.view").latest("id").details["people"] == []
    assert 'id="breach-people-form"' not in page
    assert client.post(reverse("breach_people", args=[breach.pk]),
                       {"references": case.reference}).status_code == 403


def test_a_case_of_another_office_is_refused_as_unknown(client, caseworker, supervisor, office,
                                                       other_case):
    breach = report(caseworker, office)

    response = _name(client, supervisor, breach, other_case.reference)

    assert response.status_code == 400
    assert f"No case of your offices has the reference {other_case.reference}" in \
        response.content.decode()
    assert "Cojtí" not in response.content.decode()
    assert not BreachPerson.objects.exists()
    # The same answer for a reference that does not exist at all.
    assert "No case of your offices" in _name(client, supervisor, breach,
                                              "XX-XXX-2026-999999").content.decode()
    with pytest.raises(ValidationError):
        breaches.name_people(by=supervisor, breach=breach, references=other_case.reference)


def test_the_other_offices_supervisor_cannot_touch_the_breach(client, caseworker, office,
                                                              other_supervisor, other_case, case):
    breach = report(caseworker, office)
    assert _name(client, other_supervisor, breach, other_case.reference).status_code == 404
    assert _name(client, caseworker, breach, case.reference).status_code == 403
    with pytest.raises(PermissionDenied):
        breaches.name_people(by=other_supervisor, breach=breach, references=other_case.reference)
    assert not BreachPerson.objects.exists()
    assert AuditEvent.objects.filter(action="breach.people", outcome="denied").exists()


def test_a_supervisor_of_two_offices_names_people_of_both(make_user, caseworker, office,
                                                          other_office, case, other_case):
    both = make_user(Role.SUPERVISOR, office)
    services.grant_membership(by=None, user=both, office=other_office, role=Role.SUPERVISOR)
    breach = report(caseworker, office)
    breaches.name_people(by=both, breach=breach, references=f"{case.reference} {other_case.reference}")
    assert BreachPerson.objects.filter(breach=breach).count() == 2


def test_taking_a_person_off_and_a_closed_breach(client, caseworker, supervisor, other_supervisor,
                                                 office, case):
    breach = report(caseworker, office)
    link = breaches.name_people(by=supervisor, breach=breach, references=case.reference)[0]
    client.force_login(other_supervisor)
    assert client.post(reverse("breach_people", args=[breach.pk]),
                       {"remove": str(link.pk)}).status_code == 404
    client.force_login(supervisor)
    for wrong in ("not-an-id", str(breach.pk)):
        response = client.post(reverse("breach_people", args=[breach.pk]), {"remove": wrong},
                               headers=EN, follow=True)
        assert "This person is not named on this breach." in response.content.decode()
    assert BreachPerson.objects.count() == 1

    assert client.post(reverse("breach_people", args=[breach.pk]),
                       {"remove": str(link.pk)}).status_code == 302
    assert not BreachPerson.objects.exists()
    assert Breach.objects.get(pk=breach.pk).people_count == 1  # the estimate is the supervisor's

    manage(supervisor, Breach.objects.get(pk=breach.pk), status="closed", actions="Borrado remoto")
    with pytest.raises(ValidationError, match="closed"):
        breaches.name_people(by=supervisor, breach=breach, references=case.reference)


def test_an_empty_form_comes_back(client, caseworker, supervisor, office):
    breach = report(caseworker, office)
    response = _name(client, supervisor, breach, "  ")
    assert response.status_code == 400 and 'id="breach-people-form"' in response.content.decode()
