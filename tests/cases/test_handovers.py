"""Cases handed from one office to another: offers, requests, answers, and who may do each."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import access, consent, handovers, selectors
from cases.models import (
    Case,
    CaseDeadline,
    CaseStep,
    CaseUserObjectPermission,
    ConsentPurpose,
    Handover,
    HandoverStatus,
    Office,
    Person,
)
from tests.races import race


@pytest.fixture
def second_office(db) -> Office:
    """Another office of the same country (Belize)."""
    return Office.objects.create(code="BZ-ORW", name="Orange Walk", country="BZ", city="Orange Walk")


@pytest.fixture
def second_supervisor(make_user, second_office):
    return make_user("supervisor", second_office)


@pytest.fixture
def second_caseworker(make_user, second_office):
    return make_user("caseworker", second_office)


def _deadline(case: Case) -> CaseDeadline:
    step = CaseStep.objects.create(case=case, number=1, transition="register", source="open",
                                   target="registered", actor=case.opened_by,
                                   effective_on=datetime.date(2026, 11, 2), person=case.principal)
    return CaseDeadline.objects.create(case=case, clock="interview", starts_on=step.effective_on,
                                       due_on=datetime.date(2026, 12, 30), started_by_step=step,
                                       office=case.office, assigned_to=case.assigned_to)


def test_an_accepted_offer_moves_the_case_its_deadlines_and_its_person(
        case, caseworker, supervisor, second_office, second_supervisor, second_caseworker):
    deadline = _deadline(case)
    offer = handovers.offer(by=supervisor, case=case, to_office=second_office,
                            reason="Vive ahora en Orange Walk")

    handovers.accept(by=second_supervisor, handover=offer)

    case.refresh_from_db()
    deadline.refresh_from_db()
    assert (case.office, case.assigned_to) == (second_office, None)
    assert (deadline.office, deadline.assigned_to) == (second_office, None)
    assert Person.objects.get(pk=case.principal_id).office == second_office
    assert selectors.get_case(second_caseworker, case.pk) == case  # in the new office's queue
    with pytest.raises(Http404):
        selectors.get_case(caseworker, case.pk)  # nobody in the old office kept it
    assert AuditEvent.objects.filter(action="case.handover_accept", object_id=str(case.pk)).exists()


def test_the_sender_keeps_access_only_with_consent_or_a_reason(case, caseworker, supervisor,
                                                                second_office, second_supervisor):
    offer = handovers.offer(by=supervisor, case=case, to_office=second_office, reason="Traslado")

    # The person never consented to sharing and no reason was given: nothing happens at all.
    with pytest.raises(ValidationError) as refused:
        handovers.accept(by=second_supervisor, handover=offer, sender_keeps_access=True)
    assert "consented" in " ".join(refused.value.messages)
    case.refresh_from_db()
    offer.refresh_from_db()
    assert case.office_id == offer.from_office_id and offer.status == HandoverStatus.PENDING

    handovers.accept(by=second_supervisor, handover=offer, sender_keeps_access=True,
                     answer="De acuerdo", keep_override="Seguimiento del traslado")

    case.refresh_from_db()
    assert selectors.get_case(caseworker, case.pk) == case  # the old assignee, by a share
    assert selectors.get_case(supervisor, case.pk) == case  # who offered it
    # Where the case stands, not the narrative; for three months, not for good.
    assert access.case_parts(caseworker, case) == {"procedure"}
    grants = CaseUserObjectPermission.objects.filter(content_object=case, user=caseworker)
    ends = {timezone.localdate(g.expires_at) for g in grants}
    assert ends == {timezone.localdate() + datetime.timedelta(days=handovers.KEEP_DAYS + 1)}
    share = AuditEvent.objects.get(action="case.share", details__user=caseworker.pk)
    assert share.details["consent"] == "overridden"


def test_the_receiver_chooses_what_the_sender_keeps_and_until_when(
        case, office, caseworker, supervisor, second_office, second_supervisor):
    consent.record(by=caseworker, person=case.principal, purpose=ConsentPurpose.SHARING,
                   given=True, language="es")
    offer = handovers.offer(by=supervisor, case=case, to_office=second_office, reason="Traslado")
    until = timezone.localdate() + datetime.timedelta(days=10)

    handovers.accept(by=second_supervisor, handover=offer, sender_keeps_access=True,
                     keep_parts=("procedure", "records"), keep_until=until)

    case.refresh_from_db()
    assert access.case_parts(caseworker, case) == {"procedure", "records"}
    assert AuditEvent.objects.get(action="case.share",
                                  details__user=caseworker.pk).details["until"] == until.isoformat()
    # Beyond what a share may last: refused whole, the case stays where it is.
    again = handovers.offer(by=second_supervisor, case=case, to_office=office,
                            reason="De vuelta")
    with pytest.raises(ValidationError):
        handovers.accept(by=supervisor, handover=again, sender_keeps_access=True,
                         keep_until=timezone.localdate() + datetime.timedelta(days=4000))
    assert Case.objects.get(pk=case.pk).office == second_office


def test_who_may_offer_answer_and_withdraw(case, caseworker, supervisor, other_supervisor,
                                           second_office, second_supervisor, second_caseworker):
    with pytest.raises(PermissionDenied):
        handovers.offer(by=caseworker, case=case, to_office=second_office, reason="x")
    with pytest.raises(PermissionDenied):
        handovers.offer(by=second_supervisor, case=case, to_office=second_office, reason="x")
    with pytest.raises(ValidationError):
        handovers.offer(by=supervisor, case=case, to_office=second_office, reason="  ")
    with pytest.raises(ValidationError):
        handovers.offer(by=supervisor, case=case, to_office=case.office, reason="x")
    offer = handovers.offer(by=supervisor, case=case, to_office=second_office, reason="x")
    with pytest.raises(ValidationError, match="already has a transfer waiting"):
        handovers.offer(by=supervisor, case=case, to_office=second_office, reason="again")

    for wrong in (supervisor, second_caseworker, other_supervisor):
        with pytest.raises(PermissionDenied):
            handovers.accept(by=wrong, handover=offer)
    with pytest.raises(PermissionDenied):
        handovers.withdraw(by=second_supervisor, handover=offer)
    with pytest.raises(ValidationError):
        handovers.reject(by=second_supervisor, handover=offer, answer="")

    handovers.withdraw(by=supervisor, handover=offer)

    with pytest.raises(ValidationError, match="already answered or withdrawn"):
        handovers.accept(by=second_supervisor, handover=offer)
    case.refresh_from_db()
    assert case.office_id != second_office.pk


def test_another_office_asks_for_a_case_and_the_owner_answers(case, supervisor, second_office,
                                                              second_supervisor):
    with pytest.raises(ValidationError, match="No case has this reference"):
        handovers.ask(by=second_supervisor, reference="BZ-BMP-1999-000001", office=second_office,
                      reason="x")
    with pytest.raises(PermissionDenied):
        handovers.ask(by=second_supervisor, reference=case.reference, office=case.office,
                      reason="x")
    asked = handovers.ask(by=second_supervisor, reference=case.reference.lower(),
                          office=second_office, reason="La persona se presentó aquí")
    with pytest.raises(PermissionDenied):
        handovers.accept(by=second_supervisor, handover=asked)  # the owner answers a request

    handovers.reject(by=supervisor, handover=asked, answer="Entrevista ya programada")

    asked.refresh_from_db()
    assert asked.status == "rejected" and asked.answer == "Entrevista ya programada"
    case.refresh_from_db()
    assert case.office_id != second_office.pk


def test_an_accepted_request_moves_the_case_to_the_asking_office(
        case, caseworker, supervisor, second_office, second_supervisor, second_caseworker):
    deadline = _deadline(case)
    asked = handovers.ask(by=second_supervisor, reference=case.reference, office=second_office,
                          reason="La persona se presentó aquí")

    handovers.accept(by=supervisor, handover=asked, answer="De acuerdo")

    asked.refresh_from_db()
    case.refresh_from_db()
    deadline.refresh_from_db()
    assert (asked.status, asked.answered_by, asked.answer) == ("accepted", supervisor, "De acuerdo")
    assert (case.office, case.assigned_to) == (second_office, None)
    assert (deadline.office, deadline.assigned_to) == (second_office, None)
    assert Person.objects.get(pk=case.principal_id).office == second_office
    assert selectors.get_case(second_caseworker, case.pk) == case  # in the asker's queue
    for gone in (caseworker, supervisor):  # a request leaves the old office nothing
        with pytest.raises(Http404):
            selectors.get_case(gone, case.pk)
    assert AuditEvent.objects.filter(action="case.handover_accept", object_id=str(case.pk),
                                     outcome="ok").exists()
    with pytest.raises(ValidationError, match="already answered or withdrawn"):
        handovers.reject(by=supervisor, handover=asked, answer="Demasiado tarde")


def test_the_asking_office_withdraws_its_request_and_nobody_may_answer_it(
        case, caseworker, supervisor, second_office, second_supervisor, second_caseworker):
    asked = handovers.ask(by=second_supervisor, reference=case.reference, office=second_office,
                          reason="La persona se presentó aquí")
    for wrong in (supervisor, second_caseworker, caseworker):  # the owner answers, not withdraws
        with pytest.raises(PermissionDenied):
            handovers.withdraw(by=wrong, handover=asked)

    handovers.withdraw(by=second_supervisor, handover=asked)

    asked.refresh_from_db()
    case.refresh_from_db()
    assert (asked.status, asked.answered_by) == ("withdrawn", second_supervisor)
    assert case.office_id != second_office.pk
    assert AuditEvent.objects.filter(action="case.handover_withdraw", object_id=str(case.pk),
                                     outcome="ok").exists()
    with pytest.raises(ValidationError, match="already answered or withdrawn"):
        handovers.accept(by=supervisor, handover=asked)
    with pytest.raises(ValidationError, match="already answered or withdrawn"):
        handovers.withdraw(by=second_supervisor, handover=asked)
    # Withdrawn, it waits no more: the office may be asked again.
    again = handovers.ask(by=second_supervisor, reference=case.reference, office=second_office,
                          reason="Otra vez")
    assert again.status == "pending"


def test_the_pages_take_a_request_from_asking_to_withdrawal_and_acceptance(
        client, case, supervisor, second_office, second_supervisor):
    client.force_login(second_supervisor)
    asked = client.post(reverse("handover_ask"), {"office": second_office.pk,
                                                  "reference": case.reference,
                                                  "reason": "Cambio de domicilio"})
    assert asked.status_code == 302
    first = Handover.objects.get()
    withdrawn = client.post(reverse("handover_withdraw", args=[first.pk]))
    assert withdrawn.status_code == 302
    first.refresh_from_db()
    assert first.status == "withdrawn"
    client.post(reverse("handover_ask"), {"office": second_office.pk, "reference": case.reference,
                                          "reason": "Otra vez"})
    second = Handover.objects.get(status="pending")

    client.force_login(supervisor)
    listed = client.get(reverse("handover_list")).content.decode()
    assert f'id="handover-{second.pk}"' in listed and "Otra vez" in listed
    answered = client.post(reverse("handover_answer", args=[second.pk]),
                           {"action": "accept", "answer": ""})

    assert answered.status_code == 302
    case.refresh_from_db()
    assert case.office == second_office
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 404
    client.force_login(second_supervisor)
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200


def test_a_case_in_a_procedure_stays_in_its_country(case, supervisor, other_office):
    Case.objects.filter(pk=case.pk).update(procedure="bz")
    case.refresh_from_db()

    with pytest.raises(ValidationError, match="same country"):
        handovers.offer(by=supervisor, case=case, to_office=other_office, reason="x")


def test_reasons_are_sealed(case, supervisor, second_office):
    handovers.offer(by=supervisor, case=case, to_office=second_office, reason="Amenazas de la pandilla")

    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM cases_handover")
        raw = bytes(cursor.fetchone()[0])
    assert b"pandilla" not in raw and len(raw) > 20


def test_the_pages_take_a_case_from_offer_to_acceptance(client, case, supervisor, second_office,
                                                         second_supervisor):
    client.force_login(supervisor)
    form = client.get(reverse("handover_offer", args=[case.pk]))
    half = client.post(reverse("handover_offer", args=[case.pk]), {"to_office": second_office.pk})
    done = client.post(reverse("handover_offer", args=[case.pk]),
                       {"to_office": second_office.pk, "reason": "Cambio de domicilio"})
    assert form.status_code == 200 and half.status_code == 400 and done.status_code == 302
    offer = Handover.objects.get()

    client.force_login(second_supervisor)
    listed = client.get(reverse("handover_list")).content.decode()
    assert case.reference in listed and "Cambio de domicilio" in listed
    answered = client.post(reverse("handover_answer", args=[offer.pk]),
                           {"action": "accept", "answer": ""})

    assert answered.status_code == 302
    case.refresh_from_db()
    assert case.office == second_office
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_supervisors_answering_at_once_one_wins(postgres, case, supervisor, second_office,
                                                    second_supervisor, make_user):
    colleague = make_user("supervisor", second_office)
    offer = handovers.offer(by=supervisor, case=case, to_office=second_office, reason="Traslado")

    results = race([lambda: handovers.accept(by=second_supervisor, handover=offer),
                    lambda: handovers.reject(by=colleague, handover=offer, answer="No")],
                   lambda holder: holder.execute(
                       "SELECT id FROM cases_handover WHERE id = %s FOR UPDATE", [offer.pk]))

    won = [r for r in results if isinstance(r, Handover)]
    lost = [r for r in results if isinstance(r, ValidationError)]
    assert len(won) == 1 and len(lost) == 1, results
    offer.refresh_from_db()
    case.refresh_from_db()
    assert offer.status == won[0].status
    assert (case.office == second_office) == (offer.status == "accepted")


def test_the_answering_office_s_dashboard_counts_what_waits(client, case, supervisor,
                                                            second_office, second_supervisor):
    handovers.offer(by=supervisor, case=case, to_office=second_office, reason="Traslado")

    client.force_login(second_supervisor)
    theirs = client.get(reverse("dashboard")).content.decode()
    client.force_login(supervisor)
    ours = client.get(reverse("dashboard")).content.decode()

    assert 'id="card-handovers"' in theirs and "Case transfers waiting for your answer" in theirs
    assert 'id="card-handovers"' not in ours  # the sender waits; it has nothing to answer
