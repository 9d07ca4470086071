"""Why a person was erased: a code anyone who sees the record reads, and a note sealed with
the office's key that the office's supervisors and auditors read (never the person's key,
which the erasure destroys; never in clear in history or in the audit log)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from cases import services
from cases.models import Person

EN = {"accept-language": "en"}
NOTE = "Oficio 12/2026 del Juzgado Primero, a pedido de María José Núñez"


@pytest.fixture
def erased(supervisor, person, case):
    services.erase_person(by=supervisor, person=person, code="court_order", note=NOTE)
    return person


def _page(client, user, person) -> str:
    client.force_login(user)
    response = client.get(reverse("person_detail", args=[person.pk]), headers=EN)
    assert response.status_code == 200
    return response.content.decode()


def test_the_offices_supervisor_reads_the_code_and_the_note(client, supervisor, erased):
    html = _page(client, supervisor, erased)

    assert "Court order" in html
    assert NOTE in html


def test_the_caseworker_of_the_case_reads_the_code_only(client, caseworker, erased):
    html = _page(client, caseworker, erased)

    assert "Court order" in html
    assert "Oficio 12/2026" not in html


def test_a_supervisor_of_another_office_does_not_see_the_record(client, other_supervisor, erased):
    client.force_login(other_supervisor)

    assert client.get(reverse("person_detail", args=[erased.pk])).status_code == 404


def test_the_offices_auditor_reads_the_note_in_the_timeline_without_a_grant(client, auditor, erased,
                                                                           case):
    client.force_login(auditor)

    response = client.get(reverse("audit_case_timeline", kwargs={"reference": case.reference}),
                          headers=EN)

    assert response.status_code == 200 and response.context["values"] is False
    changes = {c.name: c for e in response.context["entries"] if e.kind == "change"
               for c in e.changes}
    assert (changes["erasure_code"].new, changes["erasure_note"].new) == ("court_order", NOTE)
    assert changes["erased_at"].shown is False  # the rest stays hidden without a grant
    html = response.content.decode()
    assert NOTE in html


def test_the_note_is_in_no_change_reason_and_no_audit_event(erased):
    history = Person.history.filter(id=erased.pk)
    assert all(h.history_change_reason is None for h in history.filter(erased_at__isnull=False))
    for event in AuditEvent.objects.all():
        assert "Oficio" not in str(event.details)
    assert AuditEvent.objects.filter(action="person.erase").get().details["code"] == "court_order"
