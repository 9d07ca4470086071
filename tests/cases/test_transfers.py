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
from cases import services, subject_requests, transfers
from cases.models import (
    CaseUserObjectPermission,
    Organisation,
    SharingAgreement,
    Transfer,
    TransferIsFinal,
)
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
    assert "sharing_agreement" in exc.value.error_dict

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
        "to_organisation": partner.pk, "channel": "email", "legal_basis": "Consentimiento 3/2026",
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
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert tuple(rows[0]) == (
        "id", "office", "transferred_on", "to_office", "to_organisation", "to_user", "channel",
        "agreement", "legal_basis", "categories", "case", "people_count", "purpose", "corrects",
        "recorded_by", "recorded_at")
    data = dict(zip(rows[0], rows[1], strict=True))
    assert data["to_organisation"] == "Casa del Migrante" and data["purpose"] == "Referencia médica"
    assert data["agreement"] == "'=HYPERLINK(1)"
    assert AuditEvent.objects.get(action="transfer.export").details["rows"] == 1


def test_the_export_is_streamed_chunk_by_chunk_with_the_same_columns(
        client, monkeypatch, auditor, supervisor, other_supervisor, office, other_office, partner,
        case):
    from cases import views_registers
    monkeypatch.setattr(views_registers, "EXPORT_CHUNK", 2)
    made = [entry(supervisor, office, to_organisation=partner, agreement=f"MoU-{i}",
                  purpose=f"Referencia {i}") for i in range(4)]
    made.append(entry(supervisor, office, to_office=other_office, case=case,
                      purpose="Traslado", corrects=made[0]))
    entry(other_supervisor, other_office, to_office=office,
          purpose="Not ours")
    client.force_login(auditor)

    response = client.get(reverse("transfer_export"))

    chunks = [c.decode() for c in response.streaming_content]
    assert len(chunks) == 3  # header with two entries, two entries, the last entry
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    assert rows[0] == list(views_registers.CSV_COLUMNS)
    assert len(rows) == 1 + len(made) and all(len(r) == 16 for r in rows)
    by_id = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(by_id) == {str(m.pk) for m in made}
    last = by_id[str(made[4].pk)]
    assert (last["office"], last["to_office"], last["case"], last["corrects"]) == (
        office.code, other_office.code, case.reference, str(made[0].pk))
    assert last["purpose"] == "Traslado" and last["recorded_by"] == supervisor.username
    assert [by_id[str(m.pk)]["purpose"] for m in made[:4]] == [f"Referencia {i}" for i in range(4)]
    assert AuditEvent.objects.get(action="transfer.export").details["rows"] == 5


def test_the_export_asks_for_a_recent_code(client, settings, auditor, supervisor, office, partner):
    settings.AMPARO_REQUIRE_2FA = True
    client.force_login(auditor)
    response = client.get(reverse("transfer_export"))
    assert response.status_code == 302 and reverse("two_factor") in response.url
    assert not AuditEvent.objects.filter(action="transfer.export").exists()


# --- A copy answering an access request ------------------------------------------------------

def _access_copy(client, by, made, **params):
    client.force_login(by)
    query = {"format": "json", "language": "es", **params}
    return client.post(reverse("subject_request_export", args=[made.pk]), query)


def test_the_copy_of_an_access_request_is_recorded_once(client, caseworker, supervisor, auditor,
                                                        person, case, office):
    made = subject_requests.record_request(by=caseworker, person=person, kind="access",
                                           channel="in_person", received_on=timezone.localdate(),
                                           details="")
    assert _access_copy(client, caseworker, made).status_code == 200

    entry = Transfer.objects.get()
    assert (entry.office, entry.person_id, entry.subject_request) == (office, person.pk, made)
    assert entry.channel == "access" and entry.legal_basis == transfers.ACCESS_BASIS
    assert entry.categories == transfers.ACCESS_COPY
    assert (entry.to_office, entry.to_organisation, entry.to_user) == (None, None, None)
    assert entry.recorded_by == caseworker and entry.transferred_on == timezone.localdate()
    event = AuditEvent.objects.get(action="subject_request.export")
    assert event.details["transfer"] == str(entry.pk)
    assert AuditEvent.objects.filter(action="transfer.record", object_id=str(entry.pk)).exists()

    # Produced again (the other format, by a supervisor, with the working papers): no new entry.
    assert _access_copy(client, supervisor, made, format="pdf", internal="1").status_code == 200
    assert Transfer.objects.count() == 1
    assert AuditEvent.objects.filter(action="subject_request.export").count() == 2
    assert AuditEvent.objects.filter(action="subject_request.export").order_by(
        "-pk").first().details["transfer"] == ""

    client.force_login(auditor)
    page = client.get(reverse("transfer_list"), headers=EN).content.decode()
    assert f'id="transfer-{entry.pk}"' in page and "The person concerned" in page


def test_a_refused_copy_records_no_transfer(client, caseworker, other_caseworker, person, case):
    access = subject_requests.record_request(by=caseworker, person=person, kind="access",
                                             channel="in_person",
                                             received_on=timezone.localdate(), details="")
    correction = subject_requests.record_request(by=caseworker, person=person,
                                                 kind="correction", channel="in_person",
                                                 received_on=timezone.localdate(),
                                                 details="Dirección")
    assert _access_copy(client, caseworker, correction).status_code == 302
    assert _access_copy(client, caseworker, access, format="xml").status_code == 302
    assert _access_copy(client, other_caseworker, access).status_code == 404
    with pytest.raises(PermissionDenied):
        subject_requests.mark_exported(by=other_caseworker, request=access, fmt="json",
                                       language="es", internal=False)
    assert not Transfer.objects.exists()


def test_the_first_copy_with_working_papers_says_so(supervisor, person, case):
    made = subject_requests.record_request(by=supervisor, person=person, kind="access",
                                           channel="in_person", received_on=timezone.localdate(),
                                           details="")
    subject_requests.mark_exported(by=supervisor, request=made, fmt="pdf", language="en",
                                   internal=True)
    entry = Transfer.objects.get(subject_request=made)
    assert entry.categories == transfers.ACCESS_COPY_INTERNAL
    assert b"PDF" not in read_column(Transfer, entry.pk, "purpose")
    assert entry.purpose.endswith("PDF, en")


# --- Managed data-sharing agreements ------------------------------------------------------------

def agreement(office, partner, *, reference="MoU-2026-07", days_left: int | None = 30,
              started_days_ago: int = 365):
    today = timezone.localdate()
    return SharingAgreement.objects.create(
        office=office, partner=partner, reference=reference, purpose="Albergue y atención médica",
        legal_basis="Convenio interinstitucional", starts_on=today - datetime.timedelta(
            days=started_days_ago),
        ends_on=None if days_left is None else today + datetime.timedelta(days=days_left))


def test_a_transfer_under_an_agreement_names_it(client, supervisor, office, partner):
    mou = agreement(office, partner)
    client.force_login(supervisor)

    response = client.post(reverse("transfer_new"), {
        "office": office.pk, "transferred_on": timezone.localdate().isoformat(),
        "sharing_agreement": mou.pk, "channel": "email", "categories": "nombres",
        "people_count": 1, "purpose": "Referencia a albergue"}, headers=EN)

    assert response.status_code == 302
    made = Transfer.objects.get()
    assert made.sharing_agreement == mou and made.to_organisation == partner
    assert made.agreement == "MoU-2026-07"  # the list filter and the CSV read the reference


def test_an_expired_agreement_is_refused_with_a_clear_message(client, supervisor, office, partner):
    ended = agreement(office, partner, days_left=-1)
    client.force_login(supervisor)

    response = client.post(reverse("transfer_new"), {
        "office": office.pk, "transferred_on": timezone.localdate().isoformat(),
        "to_organisation": partner.pk, "sharing_agreement": ended.pk, "channel": "email",
        "categories": "nombres", "people_count": 1, "purpose": "Referencia"}, headers=EN)

    assert response.status_code == 400
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    assert (f"The agreement MoU-2026-07 ended on {yesterday}: no data may go under it after "
            "that day.") in response.content.decode()
    assert not Transfer.objects.exists()
    # A transfer made while it was in force, recorded late, is accepted.
    made = entry(supervisor, office, to_organisation=partner, sharing_agreement=ended,
                 transferred_on=timezone.localdate() - datetime.timedelta(days=5))
    assert made.sharing_agreement == ended
    with pytest.raises(ValidationError, match="in force only from"):
        entry(supervisor, office, to_organisation=partner,
              sharing_agreement=agreement(office, partner, reference="MoU-future",
                                          started_days_ago=-3, days_left=None))


def test_an_agreement_binds_its_office_and_its_partner(supervisor, office, other_office,
                                                       other_supervisor, partner):
    theirs = agreement(other_office, partner, reference="MoU-SJ")
    mine = agreement(office, partner)
    other_partner = Organisation.objects.create(name="Pastoral de Movilidad", kind="shelter",
                                                country="MX")
    with pytest.raises(ValidationError, match="not the office's"):
        entry(supervisor, office, to_organisation=partner, sharing_agreement=theirs)
    with pytest.raises(ValidationError, match="with Casa del Migrante"):
        entry(supervisor, office, to_organisation=other_partner, sharing_agreement=mine)
    with pytest.raises(ValidationError, match="with Casa del Migrante"):
        entry(supervisor, office, to_office=other_office, sharing_agreement=mine)
    assert not Transfer.objects.exists()


def test_the_form_offers_only_the_offices_agreements(client, supervisor, office, other_office,
                                                     partner):
    agreement(other_office, partner, reference="MoU-OTHER-OFFICE")
    mine = agreement(office, partner)
    client.force_login(supervisor)
    page = client.get(reverse("transfer_new"), headers=EN).content.decode()
    assert f'value="{mine.pk}"' in page and "MoU-OTHER-OFFICE" not in page
