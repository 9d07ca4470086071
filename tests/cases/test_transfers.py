"""The register of transfers (cases/transfers.py): automatic entries on a cross-office share,
entries by hand, append-only, the list and its CSV export."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import services, transfers
from cases.models import CaseUserObjectPermission, Organisation, Transfer, TransferIsFinal
from tests.cases.rawsql import read_column

pytestmark = pytest.mark.usefixtures("file_root")
EN = {"accept-language": "en"}


@pytest.fixture
def partner(db):
    return Organisation.objects.create(name="Casa del Migrante", kind="shelter", country="GT")


def entry(by, office, **extra):
    values = dict(transferred_on=timezone.localdate(), channel="email",
                  categories="nombres, expedientes", purpose="Referencia a albergue")
    values.update(extra)
    return transfers.record_transfer(by=by, office=office, **values)


def test_a_share_with_another_office_writes_an_entry(supervisor, other_caseworker, case, office,
                                                      other_office):
    services.grant_case_access(by=supervisor, case=case, user=other_caseworker,
                               reason="Traslado a San José")

    made = Transfer.objects.get()
    assert (made.office, made.to_office, made.to_user) == (office, other_office, other_caseworker)
    assert made.case == case and made.person_id == case.principal_id
    assert made.channel == "share" and made.recorded_by == supervisor
    assert made.purpose == "Traslado a San José"
    assert b"San Jos" not in read_column(Transfer, made.pk, "purpose")
    share = AuditEvent.objects.get(action="case.share")
    assert share.details["transfer"] == str(made.pk)


def test_a_share_inside_the_office_writes_no_entry(supervisor, caseworker2, case):
    services.grant_case_access(by=supervisor, case=case, user=caseworker2, reason="Segunda opinión")
    assert not Transfer.objects.exists()


def test_the_entry_is_written_in_the_grants_transaction(supervisor, other_caseworker, case,
                                                        monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("register unavailable")

    monkeypatch.setattr(transfers, "record_share", broken)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.grant_case_access(by=supervisor, case=case, user=other_caseworker, reason="x")
    assert not CaseUserObjectPermission.objects.filter(user=other_caseworker).exists()


def test_a_partner_needs_an_agreement_or_a_legal_basis(supervisor, office, partner):
    with pytest.raises(ValidationError) as exc:
        entry(supervisor, office, to_organisation=partner)
    assert "agreement" in exc.value.error_dict

    made = entry(supervisor, office, to_organisation=partner, legal_basis="Consentimiento 12/2026")
    assert made.to_organisation == partner


def test_one_recipient_and_no_future_date(supervisor, office, other_office, partner):
    with pytest.raises(ValidationError) as exc:
        entry(supervisor, office, to_office=other_office, to_organisation=partner, agreement="A",
              transferred_on=timezone.localdate() + datetime.timedelta(days=1))
    assert {"to_office", "transferred_on"} <= set(exc.value.error_dict)
    with pytest.raises(ValidationError):
        entry(supervisor, office)


def test_only_a_supervisor_of_the_office_records(caseworker, auditor, other_supervisor, office,
                                                 other_office):
    for user in (caseworker, auditor, other_supervisor):
        with pytest.raises(PermissionDenied):
            entry(user, office, to_office=other_office)


def test_entries_are_never_changed_or_deleted_a_correction_is_a_new_entry(
        client, supervisor, office, other_office, partner):
    first = entry(supervisor, office, to_office=other_office)
    first.people_count = 7
    with pytest.raises(TransferIsFinal):
        first.save()
    with pytest.raises(TransferIsFinal):
        first.delete()

    client.force_login(supervisor)
    response = client.post(f"{reverse('transfer_new')}?corrects={first.pk}", {
        "office": office.pk, "transferred_on": timezone.localdate().isoformat(),
        "to_organisation": partner.pk, "channel": "email", "agreement": "MoU-2026-01",
        "categories": "nombres", "people_count": 2, "purpose": "Era a un albergue"}, headers=EN)

    assert response.status_code == 302
    fixed = Transfer.objects.exclude(pk=first.pk).get()
    assert fixed.corrects == first
    first.refresh_from_db()
    assert first.people_count == 1 and first.to_office == other_office


def test_a_half_filled_form_comes_back(client, supervisor, office):
    client.force_login(supervisor)
    response = client.post(reverse("transfer_new"), {"office": office.pk, "channel": "email"})
    assert response.status_code == 400
    assert not Transfer.objects.exists()


def test_the_other_office_does_not_see_the_entries(client, supervisor, other_supervisor, office,
                                                    other_office):
    made = entry(supervisor, office, to_office=other_office)
    client.force_login(other_supervisor)
    assert f"transfer-{made.pk}".encode() not in client.get(reverse("transfer_list")).content
    response = client.get(f"{reverse('transfer_new')}?corrects={made.pk}")
    assert response.status_code == 404


def test_the_list_filters_by_recipient_and_period(client, auditor, supervisor, office,
                                                  other_office, partner):
    old = entry(supervisor, office, to_office=other_office,
                transferred_on=timezone.localdate() - datetime.timedelta(days=40))
    new = entry(supervisor, office, to_organisation=partner, agreement="MoU-2026-01")
    client.force_login(auditor)

    page = client.get(reverse("transfer_list"), {"to_organisation": partner.pk}).content.decode()
    assert f"transfer-{new.pk}" in page and f"transfer-{old.pk}" not in page
    since = (timezone.localdate() - datetime.timedelta(days=50)).isoformat()
    until = (timezone.localdate() - datetime.timedelta(days=30)).isoformat()
    page = client.get(reverse("transfer_list"), {"since": since, "until": until}).content.decode()
    assert f"transfer-{old.pk}" in page and f"transfer-{new.pk}" not in page
    page = client.get(reverse("transfer_list"), {"agreement": "mou-2026-01"}).content.decode()
    assert f"transfer-{new.pk}" in page and f"transfer-{old.pk}" not in page
    assert AuditEvent.objects.filter(action="transfer.list").count() == 3


def test_the_csv_export_has_its_columns_and_is_audited(client, auditor, supervisor, office,
                                                       partner):
    entry(supervisor, office, to_organisation=partner, agreement="=HYPERLINK(1)",
          purpose="Referencia médica")
    client.force_login(auditor)
    response = client.get(reverse("transfer_export"))

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert tuple(rows[0]) == (
        "id", "office", "transferred_on", "to_office", "to_organisation", "to_user", "channel",
        "agreement", "legal_basis", "categories", "case", "people_count", "purpose", "corrects",
        "recorded_by", "recorded_at")
    data = dict(zip(rows[0], rows[1], strict=True))
    assert data["to_organisation"] == "Casa del Migrante" and data["purpose"] == "Referencia médica"
    assert data["agreement"] == "'=HYPERLINK(1)"
    assert AuditEvent.objects.get(action="transfer.export").details["rows"] == 1


def test_the_export_asks_for_a_recent_code(client, settings, auditor, supervisor, office, partner):
    settings.AMPARO_REQUIRE_2FA = True
    client.force_login(auditor)
    response = client.get(reverse("transfer_export"))
    assert response.status_code == 302 and reverse("two_factor") in response.url
    assert not AuditEvent.objects.filter(action="transfer.export").exists()
