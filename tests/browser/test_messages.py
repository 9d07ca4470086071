"""A secure message between offices through the real pages, in Spanish: a caseworker of the
case's office writes to the office the case is offered to (a half-filled form first: nothing is
sent), a caseworker there sees the bell's count, opens the message and answers; the sender sees
who read it and when."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cases import consent, handovers, services
from cases.models import ConsentPurpose, Message, MessageThread
from tests.browser.conftest import csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lang() -> str:
    return "es"


def test_a_caseworker_writes_to_another_office_which_reads_and_answers(
        new_page, staff, login, office, other_office, person_data):
    person = services.register_person(by=staff["caseworker"], office=office, data=person_data())
    case = services.open_case(by=staff["caseworker"], person=person, kind="asylum",
                              assign_to_me=True)
    handovers.offer(by=staff["supervisor"], case=case, to_office=other_office,
                    reason="Se muda a San José")
    consent.record(by=staff["caseworker"], person=person, purpose=ConsentPurpose.SHARING,
                   given=True, language="es")
    receiver = staff["other_caseworker"]

    sender = new_page()
    violations = csp_violations(sender)
    login(sender, staff["caseworker"])
    sender.goto(f"/cases/{case.pk}/")
    expect(sender.locator("#messages")).to_contain_text("0 conversaciones que puede leer")
    sender.get_by_role("link", name="Leer y escribir mensajes seguros").click()
    sender.locator("#id_subject").fill("Traslado a San José")
    with sender.expect_navigation():
        sender.get_by_role("button", name="Enviar", exact=True).click()
    # No recipient, no message: the form comes back and nothing is sent.
    expect(sender.locator("#id_offices_error")).to_contain_text(
        "Elija al menos una oficina o una persona a quien escribir.")
    expect(sender.locator("#id_body_error")).to_be_visible()
    assert not MessageThread.objects.exists()
    sender.get_by_label(f"{other_office.code} · {other_office.name}").check()
    sender.locator("#id_body").fill("La persona llega el lunes; tiene cita médica.")
    with sender.expect_navigation():
        sender.get_by_role("button", name="Enviar", exact=True).click()
    expect(sender.get_by_text("Mensaje enviado.")).to_be_visible()
    expect(sender.locator(".receipts")).to_contain_text("Todavía no leído.")

    reader = new_page()
    login(reader, receiver)
    expect(reader.locator("#bell-count")).to_have_text("1")
    reader.locator("#bell").click()
    reader.get_by_role("link", name="Abrir los mensajes").click()
    threads = reader.locator("#threads")
    expect(threads).to_contain_text(f"Caso {case.reference}")
    expect(threads).not_to_contain_text("Traslado a San José")  # no subject in the list
    threads.get_by_role("link", name=f"Caso {case.reference}").click()
    expect(reader.locator("#thread-subject")).to_have_text("Traslado a San José")
    expect(reader.locator(".message-body")).to_contain_text("tiene cita médica")
    expect(reader.locator("#bell-count")).to_have_count(0)  # read now
    reader.locator("#id_body").fill("Recibido, la esperamos el lunes.")
    with reader.expect_navigation():
        reader.get_by_role("button", name="Enviar la respuesta").click()
    expect(reader.get_by_text("Respuesta enviada.")).to_be_visible()
    assert Message.objects.count() == 2

    sender.reload()
    receipt = sender.locator(".receipt").first
    expect(receipt).to_contain_text(f"Leído por {receiver.get_full_name()} el ")
    expect(sender.get_by_text("Recibido, la esperamos el lunes.")).to_be_visible()
    expect(sender.locator("#bell-count")).to_have_count(0)  # opening the thread read the answer
    assert violations == []
