"""Hand-built asylum and trafficking cases for the statistics tests: people registered
through the real service (sealed), the procedure's records written directly with the dates
a test needs (years back, which the steps would not accept as today)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from faker import Faker

from cases import consent, services
from cases.models import Case, CaseStep, ConsentPurpose, Office, User
from rsd.models import (
    Appeal,
    Application,
    Decision,
    EligibilityAssessment,
    FamilyMember,
    Interview,
)
from tip.models import Identification, Screening

D = datetime.date
BORN = D(1990, 1, 1)
fake = Faker(["es_MX", "es", "en"])
Faker.seed(15)


def person(by: User, office: Office, *, nationality: str | None = None, sex: str = "female",
           born: D = BORN):
    return services.register_person(by=by, office=office, data=services.PersonData(
        given_names=fake.first_name(), family_names=fake.last_name(), sex=sex,
        date_of_birth=born, nationalities=[nationality] if nationality else []))


@dataclass
class Built:
    case: Case
    by: User
    steps: int = 0

    def step(self, transition: str, source: str, target: str, on: D) -> CaseStep:
        self.steps += 1
        step = CaseStep.objects.create(
            case=self.case, number=self.steps, transition=transition, source=source,
            target=target, actor=self.by, effective_on=on, person=self.case.principal)
        if target != self.case.state:
            self.case.state = target
            self.case.save(update_fields=["state"])
        return step

    def close(self, target: str, on: D) -> CaseStep:
        step = self.step(target, self.case.state, target, on)
        self.case.closed_at = datetime.datetime.combine(on, datetime.time(12), datetime.UTC)
        self.case.save(update_fields=["closed_at"])
        return step

    def family(self, n: int, *, derivative: bool = True) -> Built:
        for _ in range(n):
            FamilyMember.objects.create(case=self.case, person=person(self.by, self.case.office),
                                        relationship="child", derivative=derivative,
                                        added_by=self.by)
        return self

    def decide(self, stage: str, outcome: str, on: D, *, by: User | None = None,
               basis: str | None = None, grounds: tuple[str, ...] = (),
               delivered: D | None = None) -> Decision:
        source = self.case.state
        step = self.step("decide", source, "decided", on)
        basis = basis or {"recognized": "convention",
                          "complementary": "complementary"}.get(outcome, "none")
        return Decision.objects.create(case=self.case, person=self.case.principal, stage=stage,
                                       authority="officer", outcome=outcome, legal_basis=basis,
                                       grounds=list(grounds), decided_on=on, delivered_on=delivered,
                                       recorded_by=by or self.by, step=step)

    def interview(self, on: D, status: str = "attended") -> None:
        Interview.objects.create(
            case=self.case, person=self.case.principal, interviewer=self.by, status=status,
            scheduled_for=datetime.datetime.combine(on, datetime.time(10), datetime.UTC),
            scheduled_by=self.by)

    def appeal(self, on: D) -> Appeal:
        decision = Decision.objects.filter(case=self.case, stage="first_instance").latest("decided_on")
        self.step("lodge_appeal", self.case.state, "appeal_lodged", on)
        return Appeal.objects.create(case=self.case, person=self.case.principal, decision=decision,
                                     lodged_on=on, lodged_by=self.by)


def asylum(by: User, office: Office, *, nationality: str | None, applied: D,
           procedure: str = "rsd.bz", modality: str = "regular", sex: str = "female",
           born: D = BORN, channel: str = "office", priority: bool = False) -> Built:
    principal = person(by, office, nationality=nationality, sex=sex, born=born)
    case = services.open_case(by=by, person=principal, kind="asylum")
    case.procedure = procedure
    case.save(update_fields=["procedure"])
    built = Built(case=case, by=by)
    built.step("register", "open", "registered", applied)
    Application.objects.create(case=case, person=principal, application_date=applied,
                               channel=channel, modality=modality, recorded_by=by,
                               priority=priority)
    return built


def trafficking(by: User, office: Office, *, screened: D | None, identified: tuple[str, D] | None = None,
                nationality: str = "GT", sex: str = "female", statistics: bool = True) -> Built:
    principal = person(by, office, nationality=nationality, sex=sex)
    if statistics:  # the trafficking figures count only people who allow them
        consent.record(by=by, person=principal, purpose=ConsentPurpose.STATISTICS, given=True,
                       language="es")
    case = services.open_case(by=by, person=principal, kind="trafficking")
    built = Built(case=case, by=by)
    if screened:
        step = built.step("screen", "screening", "identification", screened)
        Screening.objects.create(case=case, person=principal, step=step, screened_on=screened,
                                 present=[], recommendation="likely", screened_by=by)
    if identified:
        status, on = identified
        step = built.step("identify", "identification", "active", on)
        Identification.objects.create(case=case, person=principal, step=step, status=status,
                                      deciding_body="Fiscalía", body_type="CourtOrProsecution",
                                      decided_on=on, recorded_by=by)
    return built


def assess(built: Built, *, author: User, reviewer: User | None) -> EligibilityAssessment:
    """An assessment of the case written by `author` and approved by `reviewer` (submitted now,
    so before a decision recorded after it)."""
    from django.utils import timezone

    return EligibilityAssessment.objects.create(
        case=built.case, person=built.case.principal, author=author,
        status="approved" if reviewer else "submitted", submitted_at=timezone.now(),
        reviewed_by=reviewer, reviewed_at=timezone.now() if reviewer else None,
        recommendation="recognized")
