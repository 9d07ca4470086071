"""A case transferred to another office through the real pages, in Spanish: offered with a
half-filled form first (nothing is sent), then found on the receiving supervisor's dashboard
with its due date and accepted; the case lands in the new office's queue and the old office no
longer sees it."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases import services
from cases.models import Case, Handover, Office, Role
from tests.browser.conftest import csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lang() -> str:
    return "es"


@pytest.fixture
def orange_walk(db) -> Office:
    return Office.objects.create(code="BZ-ORW", name="Orange Walk", country="BZ",
                                 city="Orange Walk")


def test_a_supervisor_offers_a_case_and_the_other_office_accepts_it(
        new_page, staff, login, office, orange_walk, make_user, person_data):
    person = services.register_person(by=staff["caseworker"], office=office, data=person_data())
    case = services.open_case(by=staff["caseworker"], person=person, kind="asylum")
    receiver = make_user(Role.SUPERVISOR, orange_walk, preferred_language="es")

    sender_page = new_page()
    violations = csp_violations(sender_page)
    login(sender_page, staff["supervisor"])
    sender_page.goto(f"/cases/{case.pk}/")
    sender_page.get_by_role("link", name="Trasladar a otra oficina").click()
    sender_page.get_by_label("A la oficina").select_option(label=str(orange_walk))
    with sender_page.expect_navigation():
        sender_page.get_by_role("button", name="Ofrecer el caso").click()
    # No reason: refused, on the same form, and nothing is waiting anywhere.
    expect(sender_page.locator("#id_reason_error")).to_be_visible()
    assert not Handover.objects.exists()
    sender_page.get_by_label("Por qué").fill("La persona se mudó a Orange Walk")
    with sender_page.expect_navigation():
        sender_page.get_by_role("button", name="Ofrecer el caso").click()
    expect(sender_page.get_by_text("El traslado a BZ-ORW espera su respuesta.")).to_be_visible()

    receiver_page = new_page()
    login(receiver_page, receiver)
    # The dashboard lists it among what waits from other offices, with the day it is due.
    incoming = receiver_page.locator("#queue-transfers")
    expect(incoming).to_contain_text(case.reference)
    expect(incoming.locator(".due")).to_contain_text(
        (timezone.localdate() + datetime.timedelta(days=5)).isoformat())
    receiver_page.get_by_role("link", name="Entre oficinas").click()
    waiting = receiver_page.locator("#handovers-waiting")
    expect(waiting).to_contain_text(case.reference)
    expect(waiting).to_contain_text("La persona se mudó a Orange Walk")
    with receiver_page.expect_navigation():
        waiting.get_by_role("button", name="Aceptar").click()
    expect(receiver_page.get_by_text(
        f"El caso {case.reference} está ahora en BZ-ORW, en su cola.")).to_be_visible()
    # Now it waits in the office's queue to be taken, and no longer for an answer.
    receiver_page.goto("/")
    expect(receiver_page.locator("#queue-arrived")).to_contain_text(case.reference)
    expect(receiver_page.locator("#queue-transfers")).to_have_count(0)
    receiver_page.goto(f"/cases/{case.pk}/")
    expect(receiver_page.locator("#case-reference")).to_contain_text(case.reference)

    case.refresh_from_db()
    assert case.office == orange_walk and case.assigned_to is None
    response = sender_page.goto(f"/cases/{case.pk}/")
    assert response is not None and response.status == 404
    assert Case.objects.filter(office=office).count() == 0
    assert violations == []


def test_the_receiver_lets_the_sender_keep_where_the_case_stands_for_a_while(
        new_page, staff, login, office, orange_walk, make_user, person_data):
    from cases import handovers

    person = services.register_person(by=staff["caseworker"], office=office, data=person_data())
    case = services.open_case(by=staff["caseworker"], person=person, kind="asylum")
    handovers.offer(by=staff["supervisor"], case=case, to_office=orange_walk, reason="Traslado")
    receiver = make_user(Role.SUPERVISOR, orange_walk, preferred_language="es")
    page = new_page()
    violations = csp_violations(page)
    login(page, receiver)
    page.goto("/handovers/")
    waiting = page.locator("#handovers-waiting")

    # Kept without the person's consent and without a reason: refused, nothing moves.
    waiting.get_by_label("La oficina que envía conserva el acceso").check()
    with page.expect_navigation():
        waiting.get_by_role("button", name="Aceptar").click()
    expect(page.locator(".alert-danger")).to_contain_text("no ha dado su consentimiento")
    case.refresh_from_db()
    assert case.office == office

    waiting = page.locator("#handovers-waiting")
    waiting.get_by_label("La oficina que envía conserva el acceso").check()
    waiting.locator("summary").click()
    expect(waiting.get_by_label("Procedimiento", exact=False).first).to_be_checked()
    waiting.get_by_label("Sin el consentimiento de la persona para compartir, porque").fill(
        "Seguimiento del traslado con la oficina anterior")
    with page.expect_navigation():
        waiting.get_by_role("button", name="Aceptar").click()
    expect(page.get_by_text(f"El caso {case.reference} está ahora en BZ-ORW, en su cola.")
           ).to_be_visible()
    case.refresh_from_db()
    assert case.office == orange_walk

    sender = new_page()
    login(sender, staff["supervisor"])
    response = sender.goto(f"/cases/{case.pk}/")
    assert response is not None and response.status == 200  # kept, by the share
    assert violations == []
