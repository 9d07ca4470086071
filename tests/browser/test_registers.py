"""The breach log and the register of transfers through the real pages, in Spanish: a
caseworker reports a breach found three days late (first without saying what happened), the
supervisor sees it past the 72-hour clock, names the person affected and records the
notification; then records a transfer to a partner, first without choosing the agreement."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases import services
from cases.models import Breach, BreachPerson, Organisation, SharingAgreement, Transfer
from tests.browser.conftest import csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lang() -> str:
    return "es"


@pytest.fixture
def case(staff, office, person_data):
    person = services.register_person(by=staff["caseworker"], office=office, data=person_data())
    return services.open_case(by=staff["caseworker"], person=person, kind="asylum")


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_a_breach_with_its_clock_and_a_transfer_in_spanish(new_page, staff, login, t, office,
                                                           case, settings):
    settings.AMPARO_REQUIRE_2FA = False
    partner = Organisation.objects.create(name="Casa del Migrante", kind="shelter", country="GT")
    mou = SharingAgreement.objects.create(
        office=office, partner=partner, reference="MoU-2026-07", purpose="Albergue",
        legal_basis="Convenio", starts_on=timezone.localdate() - datetime.timedelta(days=90))
    page = new_page()
    violations = csp_violations(page)
    login(page, staff["caseworker"])

    # Reported late: discovered 80 hours ago, first without what happened.
    page.locator("#nav-report-breach").click()
    expect(page.get_by_role("heading", name="Notificar una violación de datos")).to_be_visible()
    form = page.locator("#breach-form")
    form.locator("#id_discovered_at").fill(_local(timezone.now() - datetime.timedelta(hours=80)))
    form.locator("#id_nature").select_option("confidentiality")
    form.get_by_role("button", name="Notificar la violación").click()
    expect(page.locator("#id_description_error")).to_have_text(t["required"])
    expect(page.locator("#id_nature")).to_have_value("confidentiality")  # nothing lost
    assert not Breach.objects.exists()

    page.locator("#id_description").fill("Se envió un correo con expedientes a otra persona")
    with page.expect_navigation():
        page.get_by_role("button", name="Notificar la violación").click()
    expect(page.get_by_text("La violación fue notificada a los supervisores de la oficina."))\
        .to_be_visible()
    breach = Breach.objects.get()
    assert breach.reported_by == staff["caseworker"]

    # The supervisor: the dashboard counts it past the clock; the page says so.
    sup = new_page()
    login(sup, staff["supervisor"])
    expect(sup.locator("#breaches-overdue")).to_have_text("1 no notificada a tiempo")
    sup.locator("#card-breaches").click()
    sup.locator(f"a[href='/breaches/{breach.pk}/']").click()
    expect(sup.locator("#breach-overdue")).to_contain_text("El punto focal o la autoridad")

    # The person affected, by their case's reference: first one of no office of theirs.
    people = sup.locator("#breach-people-form")
    people.locator("#id_references").fill("ZZ-NOPE-2026-000001")
    people.get_by_role("button").click()
    expect(sup.locator("#id_references_error")).to_contain_text("ZZ-NOPE-2026-000001")
    assert not BreachPerson.objects.exists()
    sup.locator("#id_references").fill(case.reference)
    with sup.expect_navigation():
        sup.locator("#breach-people-form").get_by_role("button").click()
    expect(sup.locator("#breach-people")).to_contain_text("María José Núñez Pérez")
    assert BreachPerson.objects.get().person_id == case.principal_id

    # Notified now: the clock stops.
    manage = sup.locator("#breach-manage")
    manage.locator("#id_risk").select_option("high")
    manage.locator("#id_focal_point_notified_at").fill(_local(timezone.now()))
    with sup.expect_navigation():
        manage.get_by_role("button", name="Guardar").click()
    expect(sup.get_by_text("La violación de datos fue actualizada.")).to_be_visible()
    expect(sup.locator("#breach-overdue")).to_have_count(0)
    breach.refresh_from_db()
    assert breach.risk == "high" and breach.people_count == 1
    assert breach.focal_point_notified_at is not None

    # A transfer to a partner: first without the agreement or legal basis.
    sup.goto("/transfers/new/")
    form = sup.locator("#transfer-form")
    form.locator("#id_to_organisation").select_option(str(partner.pk))
    form.locator("#id_channel").select_option("email")
    form.locator("#id_categories").fill("nombres, expedientes")
    form.locator("#id_purpose").fill("Referencia a albergue")
    form.get_by_role("button", name="Registrar la transferencia").click()
    expect(sup.locator("#id_sharing_agreement_error")).to_be_visible()
    assert not Transfer.objects.exists()
    sup.locator("#id_sharing_agreement").select_option(str(mou.pk))
    with sup.expect_navigation():
        sup.locator("#transfer-form").get_by_role("button",
                                                  name="Registrar la transferencia").click()
    expect(sup.get_by_text("La transferencia fue registrada.")).to_be_visible()
    entry = Transfer.objects.get()
    expect(sup.locator(f"#transfer-{entry.pk}")).to_contain_text("MoU-2026-07")
    expect(sup.locator(f"#transfer-{entry.pk}")).to_contain_text("Casa del Migrante")
    assert violations == []
