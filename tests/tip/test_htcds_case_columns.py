"""The cas_ columns of an HTCDS import: cas_Status brings the case to its state along the
procedure's transitions (closed ones with their reason), the referrals are kept (sealed but
for their codes and dates), and the incoming referral's date is the case's opening date and
the year of its number. Bad values are row errors and write nothing."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import services as case_services
from cases.crypto.datakeys import key_scope
from cases.models import Case, CaseStep, Person, ReferenceCounter
from tests.tip.test_htcds_import import WORKBOOKS, _people, _run, _workbook
from tip import services
from tip.importing import import_htcds
from tip.models import ImportedReferral
from tip.names import States, Steps
from tip.procedures import CASE_STATUS, IMPORT_PATHS, build
from tip.vocab import CaseStatus, ClosureReason, ReferralDirection, ReferralReason

BASE = ["prs_FirstName", "prs_SecondName"]


def _file(header: list[str], *rows: list[str]) -> bytes:
    def cell(value: str) -> str:
        return f'"{value}"' if value else ""

    lines = [",".join(BASE + header)]
    for at, row in enumerate(rows):
        lines.append(",".join([cell(f"Persona{at}"), cell(f"Apellido{at}"), *map(cell, row)]))
    return ("\n".join(lines) + "\n").encode()


def _steps(case: Case) -> list[CaseStep]:
    return list(CaseStep.objects.filter(case=case).order_by("number"))


# cas_Status


def test_every_import_path_walks_the_procedure_to_a_state_of_its_status():
    wf = build()
    for status, path in IMPORT_PATHS.items():
        state = States.OPEN
        for name in path:
            transition = wf.transition(name)
            assert state in transition.sources, (status, name)
            state = transition.target
        assert CASE_STATUS[States(state)] == status
    assert set(IMPORT_PATHS) == set(CaseStatus.values)


@pytest.mark.parametrize(("status", "state", "closed"), [
    ("", States.OPEN, False),
    ("Active", States.OPEN, False),
    ("Follow Up", States.FOLLOW_UP, False),  # as the validated templates enter it
    ("FollowUp", States.FOLLOW_UP, False),
    ("Closed", States.CLOSED, True),
    ("Closed Referred", States.CLOSED_REFERRED, True),
])
def test_the_case_lands_in_the_state_of_its_status(supervisor, office, status, state, closed):
    reason = "Objetivos cumplidos." if closed else ""
    result = _run(supervisor, office, _file(["cas_Status", "cas_ReasonForCaseClosure"],
                                            [status, reason]))

    assert result.created == 1, [str(p) for p in result.problems]
    case = Case.objects.get()
    assert case.state == state
    assert (case.closed_at is not None) == closed
    steps = _steps(case)
    code = {"": "Active"}.get(status, status.replace(" ", ""))
    assert [s.transition for s in steps] == list(IMPORT_PATHS[code])
    # What fire writes: numbered steps, each from the state the previous one left, each a
    # case.transition event; marked as taken before the case came here.
    assert case.step_no == len(steps)
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))
    source = States.OPEN
    for step in steps:
        assert step.source == source and step.details["imported"] == "htcds"
        assert step.actor_id == supervisor.pk
        source = step.target
    events = AuditEvent.objects.filter(action="case.transition", object_id=str(case.pk))
    assert sorted(e.details["step"] for e in events) == [s.number for s in steps]
    assert case.history.count() == 1 + len(steps)


def test_a_case_in_follow_up_moves_on_through_the_procedure(supervisor, office):
    _run(supervisor, office, _file(["cas_Status"], ["FollowUp"]))
    case = Case.objects.get()

    services.take_step(by=supervisor, case=case, name=Steps.RESUME)

    assert Case.objects.get().state == States.ACTIVE


def test_a_closed_case_keeps_its_reason_sealed_and_its_ground_as_a_code(supervisor, office):
    header = ["cas_Status", "cas_ReasonForCaseClosure"]
    data = _file(header, ["Closed", "Contact lost"],
                 ["Closed", "Se mudó a Cayo y no volvió a llamar."],
                 ["ClosedReferred", "Derivada a un albergue especializado."])

    result = _run(supervisor, office, data)

    assert result.created == 3, [str(p) for p in result.problems]
    with key_scope():
        closing = {s.reason: s for s in CaseStep.objects.filter(
            transition__in=[Steps.CLOSE, Steps.CLOSE_REFERRED])}
    assert closing["Contact lost"].details["ground"] == ClosureReason.LOST_CONTACT
    assert closing["Se mudó a Cayo y no volvió a llamar."].details["ground"] == ClosureReason.OTHER
    referred = closing["Derivada a un albergue especializado."]
    assert (referred.transition, referred.details["ground"]) == (Steps.CLOSE_REFERRED,
                                                                 ClosureReason.REFERRED)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM cases_casestep WHERE id = %s", [referred.pk.hex])
        assert b"albergue" not in bytes(cursor.fetchone()[0])


def test_a_closed_case_reopens_for_screening_here(supervisor, office):
    _run(supervisor, office, _file(["cas_Status", "cas_ReasonForCaseClosure"],
                                   ["Closed", "Contacto perdido."]))
    case = Case.objects.get()

    services.take_step(by=supervisor, case=case, name=Steps.REOPEN_FOR_SCREENING,
                       reason="La persona volvió a la oficina.")

    assert Case.objects.get().state == States.SCREENING


@pytest.mark.parametrize(("row", "column"), [
    (["Archived", ""], "cas_Status"),  # not a value of the list
    (["Closed", ""], "cas_ReasonForCaseClosure"),  # a closure needs its reason
    (["Active", "Ya no necesita apoyo."], "cas_ReasonForCaseClosure"),  # open, with a reason
])
def test_a_bad_status_or_closure_is_a_row_error_and_nothing_is_written(supervisor, office, row,
                                                                        column):
    good = ["FollowUp", ""]

    result = _run(supervisor, office, _file(["cas_Status", "cas_ReasonForCaseClosure"], good, row))

    assert result.created == 0 and not result.written
    assert [(p.row, p.column) for p in result.problems] == [(3, column)]
    assert "Archived" not in " ".join(str(p) for p in result.problems)
    assert not Case.objects.exists() and not Person.objects.exists()
    assert not CaseStep.objects.exists()


def test_with_skip_invalid_a_bad_status_leaves_the_other_rows_whole(supervisor, office):
    result = _run(supervisor, office, _file(["cas_Status"], ["Suspended"], ["FollowUp"],
                                            ["Dormant"]), skip_invalid=True)

    assert (result.created, result.rejected) == (1, 2)
    assert [(p.row, p.column) for p in result.problems] == [(2, "cas_Status"), (4, "cas_Status")]
    assert Case.objects.get().state == States.FOLLOW_UP


# The referrals


REFERRAL_HEADER = ["cas_Status", "cas_ReasonForCaseClosure", "cas_ReferringOrganisation",
                   "cas_ReferringPrimaryCaseWorker", "cas_ReasonForIncomingReferral",
                   "cas_IncomingReferralDate", "cas_IncomingReferralDetails",
                   "cas_ReferredOrganisation", "cas_ReferredPrimaryCaseWorker",
                   "cas_ReasonForOutgoingReferral", "cas_OutgoingReferralDate",
                   "cas_OutgoingReferralDetails"]


def test_the_referrals_are_kept_sealed_but_for_their_codes_and_dates(supervisor, office):
    row = ["Closed Referred", "Derivada por traslado.", "Refugio Esperanza", "Marta Ical",
           "Additional Services Required", "2022-05-10", "Llegó con su hija.",
           "Casa Alianza", "Pedro Choc", "MigrationOrChangeOfLocation", "03/02/2023",
           "Se trasladó a otra ciudad."]

    result = _run(supervisor, office, _file(REFERRAL_HEADER, row))

    assert result.created == 1, [str(p) for p in result.problems]
    case = Case.objects.get()
    with key_scope():
        refs = {r.direction: r for r in ImportedReferral.objects.filter(case=case)}
        incoming, outgoing = refs[ReferralDirection.INCOMING], refs[ReferralDirection.OUTGOING]
        assert (incoming.organisation, incoming.caseworker, incoming.details) == (
            "Refugio Esperanza", "Marta Ical", "Llegó con su hija.")
        assert (outgoing.organisation, outgoing.caseworker, outgoing.details) == (
            "Casa Alianza", "Pedro Choc", "Se trasladó a otra ciudad.")
    assert (incoming.reason, incoming.referred_on) == (ReferralReason.ADDITIONAL_SERVICES,
                                                       datetime.date(2022, 5, 10))
    assert (outgoing.reason, outgoing.referred_on) == (ReferralReason.MIGRATION,
                                                       datetime.date(2023, 2, 3))
    assert all(r.person_id == case.principal_id for r in refs.values())
    with connection.cursor() as cursor:
        cursor.execute("SELECT organisation, caseworker, details FROM tip_importedreferral "
                       "WHERE id = %s", [incoming.pk.hex])
        sealed = b"".join(bytes(v) for v in cursor.fetchone())
    assert b"Esperanza" not in sealed and b"Ical" not in sealed and b"hija" not in sealed
    # The case closed and referred on the outgoing referral's day.
    closing = _steps(case)[-1]
    assert (closing.transition, closing.effective_on) == (Steps.CLOSE_REFERRED,
                                                          datetime.date(2023, 2, 3))
    case.refresh_from_db()
    assert timezone.localdate(case.closed_at) == datetime.date(2023, 2, 3)  # not the import's day
    assert AuditEvent.objects.filter(action="tip.referral.import").count() == 2


@pytest.mark.parametrize(("column", "value"), [
    ("cas_ReasonForIncomingReferral", "Better weather"),
    ("cas_IncomingReferralDate", "mañana"),
    ("cas_OutgoingReferralDate", "2021-01-01"),  # before the incoming referral
])
def test_a_bad_referral_value_is_a_row_error(supervisor, office, column, value):
    row = dict.fromkeys(REFERRAL_HEADER, "")
    row.update({"cas_ReferringOrganisation": "Refugio Esperanza",
                "cas_IncomingReferralDate": "2022-05-10", column: value})

    result = _run(supervisor, office, _file(REFERRAL_HEADER, list(row.values())))

    assert [(p.row, p.column) for p in result.problems] == [(2, column)]
    assert not Case.objects.exists() and not ImportedReferral.objects.exists()


# The opening date and the year of the case's number


def test_the_case_opens_on_its_incoming_referral_day_with_a_number_of_that_year(supervisor,
                                                                               office):
    this_year = timezone.localdate().year
    data = _file(["cas_IncomingReferralDate"], ["2021-03-15"], ["20/11/2021"], [""],
                 ["2019-07-01"])

    result = _run(supervisor, office, data)

    assert result.created == 4
    with key_scope():
        cases = {c.principal.given_names: c for c in Case.objects.select_related("principal")}
    opened = {name: timezone.localdate(c.opened_at) for name, c in cases.items()}
    assert opened["Persona0"] == datetime.date(2021, 3, 15)
    assert opened["Persona1"] == datetime.date(2021, 11, 20)
    assert opened["Persona2"] == timezone.localdate()
    assert opened["Persona3"] == datetime.date(2019, 7, 1)
    assert cases["Persona0"].opened_at.year == 2021  # what the CTDC export counts by
    assert {cases[n].reference for n in ("Persona0", "Persona1")} == {
        f"{office.code}-2021-000001", f"{office.code}-2021-000002"}
    assert cases["Persona2"].reference == f"{office.code}-{this_year}-000001"
    assert cases["Persona3"].reference == f"{office.code}-2019-000001"
    assert {c.year: c.last for c in ReferenceCounter.objects.filter(office=office)} == {
        2019: 1, 2021: 2, this_year: 1}
    # Steps taken before the case came here take effect on its opening day.
    assert all(s.effective_on >= opened[s.case.principal.given_names]
               for s in CaseStep.objects.select_related("case__principal"))


def test_earlier_years_numbers_stay_unique_across_imports_and_chunks(supervisor, office,
                                                                      person_data, settings):
    settings.AMPARO_IMPORT_CHUNK_ROWS = 2
    first = _run(supervisor, office, _file(["cas_IncomingReferralDate"],
                                           *[[f"2021-0{m}-01"] for m in range(1, 6)]))
    second = _run(supervisor, office, _file(["cas_IncomingReferralDate", "prs_Email"],
                                            *[[f"2021-0{m}-02", f"p{m}@example.org"]
                                              for m in range(1, 4)]))
    person = case_services.register_person(by=supervisor, office=office,
                                           data=person_data(given_names="Ana", family_names="Tzul"))
    by_hand = case_services.open_case(by=supervisor, person=person, kind="trafficking")

    assert (first.created, second.created) == (5, 3)
    refs = list(Case.objects.values_list("reference", flat=True))
    assert len(refs) == len(set(refs)) == 9
    assert sorted(r for r in refs if "-2021-" in r) == [
        f"{office.code}-2021-{n:06d}" for n in range(1, 9)]
    assert by_hand.reference == f"{office.code}-{timezone.localdate().year}-000001"


def test_an_opening_day_in_the_future_is_a_row_error(supervisor, office):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    result = _run(supervisor, office, _file(["cas_IncomingReferralDate"], [tomorrow.isoformat()]))

    assert [(p.row, p.column) for p in result.problems] == [(2, "cas_IncomingReferralDate")]
    assert not ReferenceCounter.objects.exists() and not Case.objects.exists()


def test_a_template_row_with_its_case_columns(supervisor, office):
    people = _people(1)
    people[0].update({"cas_Status": "Follow Up", "cas_IncomingReferralDate": datetime.date(2020, 6, 1),
                      "cas_ReferringOrganisation": "Refugio Esperanza"})

    with key_scope():
        result = import_htcds(by=supervisor, office=office, filename=WORKBOOKS[1],
                              data=_workbook(WORKBOOKS[1], people))

    assert result.created == 1, [str(p) for p in result.problems]
    case = Case.objects.get()
    assert case.state == States.FOLLOW_UP and case.reference == f"{office.code}-2020-000001"
    # The identification decided elsewhere is a code of its step, not a decision of the office's.
    identify = CaseStep.objects.get(case=case, transition=Steps.IDENTIFY)
    assert identify.details == {"imported": "htcds", "status": "ActualVictimOfTrafficking"}


# cas_CaseOwner


def test_the_case_owner_is_the_caseworker_assigned(supervisor, caseworker, office, make_user):
    caseworker.email = "Marta.Ical@example.org"
    caseworker.save()
    colleague = make_user("caseworker", office)
    data = _file(["cas_Status", "cas_CaseOwner"], ["Active", caseworker.username],
                 ["Follow Up", "marta.ical@EXAMPLE.org"], ["Active", colleague.username.upper()],
                 ["Active", ""])

    result = _run(supervisor, office, data)

    assert result.created == 4, [str(p) for p in result.problems]
    owners = list(Case.objects.order_by("reference").values_list("assigned_to", flat=True))
    assert owners == [caseworker.pk, caseworker.pk, colleague.pk, None]
    # Assigned like a supervisor assigns: the event, and the deadlines the steps started
    # carry the assignee.
    assert AuditEvent.objects.filter(action="case.assign").count() == 3
    from cases.models import CaseDeadline

    assert not CaseDeadline.objects.filter(case__assigned_to=caseworker).exclude(
        assigned_to=caseworker).exists()


@pytest.mark.parametrize("who", ["stranger", "other office", "inactive", "auditor"])
def test_a_case_owner_who_does_not_work_on_cases_here_is_a_row_error(supervisor, office,
                                                                      make_user, who):
    from cases.models import Office

    owner = {"stranger": None,
             "other office": lambda: make_user("caseworker", Office.objects.create(
                 code="BZ-ORW", name="Orange Walk", country="BZ", city="Orange Walk")),
             "inactive": lambda: make_user("caseworker", office, is_active=False),
             "auditor": lambda: make_user("auditor", office)}[who]
    name = owner().username if owner else "nadie.conocido"

    result = _run(supervisor, office, _file(["cas_CaseOwner"], [name]))

    assert [(p.row, p.column) for p in result.problems] == [(2, "cas_CaseOwner")]
    assert "unassigned" in str(result.problems[0])
    assert not Case.objects.exists() and not Person.objects.exists()


def test_the_case_page_shows_the_imported_referrals(client, supervisor, caseworker, office):
    row = ["Active", "", "Refugio Esperanza", "Marta Ical", "Additional Services Required",
           "2022-05-10", "Llegó con su hija.", "", "", "", "", ""]
    result = _run(supervisor, office, _file([*REFERRAL_HEADER, "cas_CaseOwner"],
                                            [*row, caseworker.username]))
    assert result.created == 1, [str(p) for p in result.problems]
    case = Case.objects.get()

    client.force_login(caseworker)
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()

    assert 'id="imported-referrals"' in page
    assert "Refugio Esperanza" in page and "Llegó con su hija." in page
    assert "2022-05-10" in page and "Additional services required" in page
