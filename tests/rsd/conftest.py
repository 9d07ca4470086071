"""Asylum procedure tests: offices under each of the four procedures, their staff, and a
driver that opens a case and takes it to any state through the real services (never by
writing the state), so that tests read as given / when / then.

Procedures by office: BZ-BMP (Belize, `rsd.bz`), CR-SJO (Costa Rica, `rsd.cr`), MX-TAP
(Mexico, `rsd.mx`), GT-GUA (Guatemala: no variant, the UNHCR-mandate default `rsd.unhcr`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import pytest
from django.utils import timezone
from faker import Faker

from audit.models import AuditEvent
from cases import services as case_services
from cases.models import Case, CaseStep, Office, Role, User
from rsd import selectors, services
from rsd.models import Appeal, Application, Decision, EligibilityAssessment, Interview, InterviewStatus
from rsd.services import AssessmentData, DecisionData

D = datetime.date
DAY = datetime.timedelta(days=1)
fake = Faker("es_MX")
Faker.seed(20261122)


def today() -> datetime.date:
    return timezone.localdate()


def ago(days: int) -> datetime.date:
    return today() - datetime.timedelta(days=days)


def at_local(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), timezone.get_current_timezone())


# --- Offices and staff --------------------------------------------------------------------

@dataclass
class Staff:
    """The people of one office: the assigned caseworker, the supervisor who reviews and
    decides, a second supervisor (appeals, four-eyes), and people with no say."""

    office: Office
    caseworker: User
    supervisor: User
    supervisor2: User
    caseworker2: User
    auditor: User
    office_admin: User
    procedure: str = ""
    extra: dict = field(default_factory=dict)


def _staff(make_user, office: Office, procedure: str, **known: User) -> Staff:
    def get(name: str, role: str) -> User:
        return known.get(name) or make_user(role, office)

    return Staff(office=office, procedure=procedure,
                 caseworker=get("caseworker", Role.CASEWORKER),
                 supervisor=get("supervisor", Role.SUPERVISOR),
                 supervisor2=get("supervisor2", Role.SUPERVISOR),
                 caseworker2=get("caseworker2", Role.CASEWORKER),
                 auditor=get("auditor", Role.AUDITOR),
                 office_admin=get("office_admin", Role.OFFICE_ADMIN))


@pytest.fixture
def mx_office(db) -> Office:
    return Office.objects.create(code="MX-TAP", name="COMAR Tapachula", country="MX", city="Tapachula")


@pytest.fixture
def gt_office(db) -> Office:
    # Guatemala has no variant of its own: its cases follow the UNHCR-mandate default.
    return Office.objects.create(code="GT-GUA", name="Departamento de Reconocimiento", country="GT",
                                 city="Ciudad de Guatemala")


@pytest.fixture
def bz_staff(make_user, office, caseworker, caseworker2, supervisor, auditor, office_admin) -> Staff:
    return _staff(make_user, office, "rsd.bz", caseworker=caseworker, caseworker2=caseworker2,
                  supervisor=supervisor, auditor=auditor, office_admin=office_admin)


@pytest.fixture
def cr_staff(make_user, other_office, other_caseworker, other_supervisor) -> Staff:
    return _staff(make_user, other_office, "rsd.cr", caseworker=other_caseworker,
                  supervisor=other_supervisor)


@pytest.fixture
def mx_staff(make_user, mx_office) -> Staff:
    return _staff(make_user, mx_office, "rsd.mx")


@pytest.fixture
def unhcr_staff(make_user, gt_office) -> Staff:
    return _staff(make_user, gt_office, "rsd.unhcr")


# --- Content: made-up claims and decisions ------------------------------------------------

def application_data(**changes) -> services.ApplicationData:
    values = dict(
        application_date=ago(120), arrival_date=ago(123), place_of_entry="Paso fronterizo",
        channel="office", claim_summary=fake.paragraph(nb_sentences=2),
        narrative=fake.paragraph(nb_sentences=6), interpreter_language="es",
    )
    values.update(changes)
    return services.ApplicationData(**values)


def assessment_data(recommendation: str = "recognized", **changes) -> AssessmentData:
    values = dict(
        credibility=fake.paragraph(nb_sentences=3), material_facts=fake.paragraph(nb_sentences=3),
        inclusion=fake.paragraph(nb_sentences=3), recommendation=recommendation,
        convention_grounds=["political_opinion"] if recommendation == "recognized" else [],
    )
    values.update(changes)
    return AssessmentData(**values)


BASIS = {"recognized": "convention", "rejected": "none", "complementary": "complementary"}


def decision_data(outcome: str = "recognized", **changes) -> DecisionData:
    values = dict(outcome=outcome, legal_basis=BASIS[outcome],
                  grounds=["political_opinion"] if outcome == "recognized" else [],
                  reasons=fake.paragraph(nb_sentences=4), decided_on=ago(5))
    values.update(changes)
    return DecisionData(**values)


# --- The driver ---------------------------------------------------------------------------

FIRST_DECISION = {"rsd.unhcr": "decide", "rsd.mx": "decide", "rsd.bz": "record_minister_decision",
                  "rsd.cr": "record_commission_decision"}


class Asylum:
    """Opens asylum cases in one office and takes them along its procedure with the services."""

    def __init__(self, staff: Staff, person_data) -> None:
        self.staff = staff
        self.person_data = person_data

    @property
    def procedure(self) -> str:
        return self.staff.procedure

    # One step each --------------------------------------------------------------------

    def open(self, **person) -> Case:
        data = self.person_data(given_names=fake.first_name(), family_names=fake.last_name(), **person)
        who = case_services.register_person(by=self.staff.caseworker, office=self.staff.office, data=data)
        return case_services.open_case(by=self.staff.caseworker, person=who, kind="asylum")

    def register(self, case: Case, *, by: User | None = None, **changes) -> Application:
        return services.record_application(by=by or self.staff.caseworker, case=fresh(case),
                                           data=application_data(**changes))

    def schedule(self, case: Case, *, by: User | None = None) -> Interview:
        return services.schedule_interview(
            by=by or self.staff.caseworker, case=fresh(case), when=timezone.now() + 3 * DAY,
            place="Sala 2", interviewer=self.staff.caseworker, interpreter_language="es",
            interpreter=fake.name())

    def hold_interview(self, case: Case, *, attended: bool = True, on: datetime.date | None = None,
                       by: User | None = None, transcript: str | None = None) -> Interview:
        """Record the scheduled interview as held (or missed) on `on` (default 20 days ago)."""
        # Test-only time shift: interviews are scheduled in the future and the service refuses
        # to record one before its day, so the interview is moved into the past first.
        Interview.objects.filter(case=case, status=InterviewStatus.SCHEDULED).update(
            scheduled_for=at_local(on or ago(20)))
        return services.record_interview(
            by=by or self.staff.caseworker, case=fresh(case), attended=attended,
            transcript=fake.paragraph(nb_sentences=8) if transcript is None else transcript,
            notes=fake.sentence() if attended else "")

    def submit(self, case: Case, recommendation: str = "recognized", *, by: User | None = None,
               **changes) -> EligibilityAssessment:
        return services.submit_assessment(by=by or self.staff.caseworker, case=fresh(case),
                                          data=assessment_data(recommendation, **changes))

    def approve(self, case: Case, *, by: User | None = None) -> EligibilityAssessment:
        return services.review_assessment(by=by or self.staff.supervisor, case=fresh(case), approve=True)

    def return_assessment(self, case: Case, comments: str, *, by: User | None = None):
        return services.review_assessment(by=by or self.staff.supervisor, case=fresh(case),
                                          approve=False, comments=comments)

    def recommend(self, case: Case, outcome: str = "recognized", *, by: User | None = None,
                  **changes) -> Decision:
        """Belize: the Refugee Eligibility Committee's recommendation (with its meeting date)."""
        changes.setdefault("meeting_date", ago(6))
        return services.record_decision(by=by or self.staff.supervisor, case=fresh(case),
                                        step_name="record_committee_recommendation",
                                        data=decision_data(outcome, **changes))

    def first_decision(self, case: Case, outcome: str = "recognized", *, by: User | None = None,
                       **changes) -> Decision:
        """The decision at first instance, by the body the country's procedure names."""
        return services.record_decision(by=by or self.staff.supervisor, case=fresh(case),
                                        step_name=FIRST_DECISION[self.procedure],
                                        data=decision_data(outcome, **changes))

    def decide(self, case: Case, outcome: str = "recognized", **changes) -> Decision:
        """From under review to decided, through the steps the country has in between."""
        if self.procedure in ("rsd.bz", "rsd.cr"):
            self.approve(case)
        if self.procedure == "rsd.bz":
            self.recommend(case, outcome)
        return self.first_decision(case, outcome, **changes)

    def notify(self, case: Case, *, delivered_on: datetime.date | None = None,
               by: User | None = None) -> Decision:
        """Record the delivery of the decision that stands: the first-instance decision, or
        the appeal decision once there is one (by default five days ago, or on the day the
        decision was taken when that is later)."""
        if delivered_on is None:
            decision = selectors.governing_decision(case)
            delivered_on = max(ago(5), decision.decided_on) if decision else ago(5)
        return services.record_notification(by=by or self.staff.caseworker, case=fresh(case),
                                            delivered_on=delivered_on, language="es")

    def appeal(self, case: Case, *, lodged_on: datetime.date | None = None, late_justification: str = "",
               by: User | None = None) -> Appeal:
        return services.lodge_appeal(by=by or self.staff.caseworker, case=fresh(case),
                                     lodged_on=lodged_on or today(), grounds=fake.paragraph(),
                                     late_justification=late_justification)

    def decide_appeal(self, case: Case, outcome: str, *, by: User | None = None, **changes) -> Decision:
        changes.setdefault("decided_on", today())
        return services.decide_appeal(by=by or self.staff.supervisor2, case=fresh(case),
                                      data=decision_data(outcome, **changes))

    def step(self, case: Case, name: str, *, by: User | None = None, reason: str = "",
             ground: str = "") -> CaseStep:
        return services.take_step(by=by or self.staff.supervisor, case=fresh(case), name=name,
                                  reason=reason or fake.sentence(), ground=ground)

    def propose_cancellation(self, case: Case, ground: str = "exclusion_applied", *,
                             by: User | None = None) -> CaseStep:
        """A supervisor proposes cancelling the recognition (another one decides)."""
        return self.step(case, "propose_cancellation", by=by or self.staff.supervisor, ground=ground)

    def unappealed(self, outcome: str = "rejected", *, case: Case | None = None) -> Case:
        """A refusal (or complementary protection) decided 50 days ago, delivered 45 days ago
        and closed by a supervisor for want of an appeal: the appeal period is long over."""
        case = self.at("under_review", outcome, case=case)
        self.decide(case, outcome, decided_on=ago(50))
        self.notify(case, delivered_on=ago(45))
        self.step(case, "close_unappealed" if outcome == "rejected" else "close_with_protection")
        return fresh(case)

    def erase(self, case: Case) -> Case:
        """The applicant's record is erased (crypto-shredded) by a supervisor of the office."""
        case_services.erase_person(by=self.staff.supervisor, person=fresh(case).principal,
                                   code="request", note="Solicitud de supresión de datos.")
        return fresh(case)

    def expire_contact_period(self, case: Case) -> Case:
        """Two missed interviews, the second 50 days ago: the 6-week contact period is over."""
        self.schedule(case)
        self.hold_interview(case, attended=False, on=ago(60))
        self.schedule(case)
        self.hold_interview(case, attended=False, on=ago(50))
        return fresh(case)

    # Any state -------------------------------------------------------------------------

    def at(self, state: str, outcome: str = "", *, case: Case | None = None,
           appeal_outcome: str = "rejected") -> Case:
        """A new case (or `case`) taken through the services until it is in `state`.

        The first-instance decision takes `outcome` (recognition for the states that need one,
        else rejection), an appeal decision `appeal_outcome` (dismissed unless told); the
        closed states are reached along their usual path: "rejected_final" and
        "complementary" through a dismissed appeal, notified."""
        outcome = outcome or ("recognized" if state in ("recognized", "cancellation_proposed", "cancelled")
                              else "complementary" if state == "complementary" else "rejected")
        case = case or self.open()
        path = {
            "open": [],
            "registered": [self.register],
            "interview_scheduled": [self.register, self.schedule],
            "no_show": [self.register, self.schedule, lambda c: self.hold_interview(c, attended=False)],
            # Proposed by the caseworker: any supervisor may then confirm it (four-eyes).
            "abandonment_proposed": [self.register, self.expire_contact_period,
                                     lambda c: self.step(c, "propose_abandonment", by=self.staff.caseworker)],
            "interviewed": [self.register, self.schedule, self.hold_interview],
            "under_review": [self.register, self.schedule, self.hold_interview,
                             lambda c: self.submit(c, outcome)],
        }
        if state in path:
            steps = path[state]
        elif state == "withdrawn":
            steps = [self.register, lambda c: self.step(c, "withdraw", by=self.staff.caseworker)]
        elif state == "abandoned":
            steps = [lambda c: self.at("abandonment_proposed", case=c),
                     lambda c: self.step(c, "confirm_abandonment")]
        else:
            steps = [lambda c: self.at("under_review", outcome, case=c)]
            if state in ("committee", "minister", "commission"):
                steps.append(self.approve)
                if state == "minister":
                    steps.append(lambda c: self.recommend(c, outcome))
            else:
                steps.append(lambda c: self.decide(c, outcome))
                if state != "decided":
                    steps.append(self.notify)
                if state in ("appeal_lodged", "appeal_decided", "rejected_final", "complementary"):
                    steps.append(self.appeal)
                if state in ("appeal_decided", "rejected_final", "complementary"):
                    steps.append(lambda c: self.decide_appeal(c, appeal_outcome))
                if state in ("rejected_final", "complementary"):
                    steps.append(self.notify)
                if state in ("cancellation_proposed", "cancelled"):
                    steps.append(self.propose_cancellation)
                if state == "cancelled":
                    steps.append(lambda c: self.step(c, "cancel_recognition", by=self.staff.supervisor2))
        for step in steps:
            step(case)
        case = fresh(case)
        assert case.state == state, f"the driver reached {case.state}, not {state}"
        return case


def fresh(case: Case) -> Case:
    return Case.objects.select_related("office").get(pk=case.pk)


@pytest.fixture
def bz(bz_staff, person_data) -> Asylum:
    return Asylum(bz_staff, person_data)


@pytest.fixture
def cr(cr_staff, person_data) -> Asylum:
    return Asylum(cr_staff, person_data)


@pytest.fixture
def mx(mx_staff, person_data) -> Asylum:
    return Asylum(mx_staff, person_data)


@pytest.fixture
def unhcr(unhcr_staff, person_data) -> Asylum:
    return Asylum(unhcr_staff, person_data)


@pytest.fixture(params=["unhcr", "bz", "cr", "mx"])
def proc(request) -> Asylum:
    """Each of the four procedures in turn."""
    return request.getfixturevalue(request.param)


# --- Reading what was recorded ------------------------------------------------------------

def steps_of(case: Case) -> list[str]:
    return list(CaseStep.objects.filter(case=case).order_by("number").values_list("transition", flat=True))


def transition_events(case: Case, outcome: str | None = None):
    events = AuditEvent.objects.filter(action="case.transition", object_id=str(case.pk)).order_by("id")
    return events.filter(outcome=outcome) if outcome else events


def transitions_audited(case: Case) -> list[str]:
    """The transitions the audit log recorded as done on the case, in order."""
    return [e.details["transition"] for e in transition_events(case, "ok")]


def snapshot(case: Case) -> tuple:
    """What a refused step must leave untouched."""
    from cases.models import CaseDeadline
    from rsd.models import FamilyMember

    c = fresh(case)
    return (c.state, c.step_no, c.closed_at, CaseStep.objects.filter(case=case).count(),
            Decision.objects.filter(case=case).count(), Appeal.objects.filter(case=case).count(),
            Application.objects.filter(case=case).count(), Interview.objects.filter(case=case).count(),
            EligibilityAssessment.objects.filter(case=case).count(),
            list(EligibilityAssessment.objects.filter(case=case).values_list("status", flat=True)),
            FamilyMember.objects.filter(case=case).count(),
            list(CaseDeadline.objects.filter(case=case).values_list("clock", "due_on", "met_at")),
            transition_events(case, "ok").count())
