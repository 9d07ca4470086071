"""The breach log (cases/breaches.py): anyone of an office reports, its supervisors manage,
its auditors read; the 72-hour notification clock on the supervisors' dashboard."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import breaches
from cases.models import Breach, BreachStatus
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
