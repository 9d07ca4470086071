"""Demo data for the asylum procedure: moves the demo's asylum cases along their country's
procedure through the real services, and gives each office a small COI library."""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter
from typing import Any

from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from faker import Faker

from cases.crypto.datakeys import key_scope
from cases.management.demo import OFFICES, demo_people, staff_usernames
from cases.management.demo_command import DemoCommand
from cases.models import (
    Case,
    CaseKind,
    CaseParticipant,
    Membership,
    Office,
    ParticipantRole,
    Person,
    Role,
    User,
)
from rsd import selectors, services
from rsd.models import CoiSource, Interview, InterviewStatus
from rsd.names import States, Steps

# Where a demo case stops, by a stable hash of its reference (out of 20).
STOPS = {2: States.REGISTERED, 3: States.REGISTERED, 4: States.INTERVIEW_SCHEDULED,
         5: States.INTERVIEW_SCHEDULED, 6: States.NO_SHOW, 7: States.INTERVIEWED, 8: States.INTERVIEWED,
         9: States.UNDER_REVIEW, 10: States.UNDER_REVIEW, 11: States.DECIDED, 12: States.DECIDED,
         13: States.APPEAL_PERIOD, 14: States.APPEAL_LODGED, 15: States.RECOGNIZED, 16: States.RECOGNIZED,
         17: States.REJECTED_FINAL, 18: States.WITHDRAWN}
ORDER = [States.REGISTERED, States.INTERVIEW_SCHEDULED, States.NO_SHOW, States.INTERVIEWED,
         States.UNDER_REVIEW, States.DECIDED, States.APPEAL_PERIOD, States.APPEAL_LODGED,
         States.RECOGNIZED, States.REJECTED_FINAL, States.WITHDRAWN]

LIBRARY = [  # fictional titles of the kind of reports offices cite
    ("Country report: Honduras, security situation", "UNHCR", "HN", 180),
    ("Eligibility guidelines for asylum seekers from El Salvador", "UNHCR", "SV", 400),
    ("Gang violence and state protection in Guatemala", "European Union Agency for Asylum", "GT", 260),
    ("Nicaragua: treatment of political opponents", "Inter-American Commission on Human Rights", "NI", 120),
    ("Venezuela: access to health care and persecution", "Human rights monitoring report", "VE", 90),
]


def _bucket(reference: str) -> int:
    return int(hashlib.sha256(reference.encode()).hexdigest(), 16) % 20


class Command(DemoCommand):
    help = ("Move the demo's asylum cases along their procedure (demo data only; run after "
            "seed_demo). Safe to re-run: it acts only on cases seed_demo opened for its own "
            "people that have not entered a procedure; cases people opened are left alone.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.added: Counter[str] = Counter()
        self.today = timezone.localdate()
        with key_scope():
            for office in Office.objects.filter(is_active=True).order_by("code"):
                staff = self._staff(office)
                if not staff.get(Role.SUPERVISOR) or not staff.get(Role.CASEWORKER):
                    continue
                with transaction.atomic():
                    self._library(office, staff[Role.CASEWORKER][0])
                for case in self._demo_cases(office):
                    target = STOPS.get(_bucket(case.reference))
                    if target:
                        # Step by step: each step is its own transaction (cases.workflow.fire).
                        self._drive(case, target, staff)
                        self.added[target] += 1
        if self.added:
            self.stdout.write(self.style.SUCCESS(
                "Asylum demo: " + ", ".join(f"{n} {what}" for what, n in sorted(self.added.items()))))
        else:
            self.stdout.write("Asylum demo: nothing added.")

    def _demo_cases(self, office: Office) -> list[Case]:
        """Asylum cases still at the start that seed_demo opened for its own people and
        assigned to the caseworker it chose: never a case someone opened or assigned by hand."""
        spec = next((o for o in OFFICES if o.code == office.code), None)
        if spec is None:
            return []
        ours = demo_people(spec, Person.objects.filter(office=office).count())
        workers = sorted(u for u, role in staff_usernames(spec) if role == Role.CASEWORKER)
        first: dict[object, tuple[Case, str]] = {}
        rows = (CaseParticipant.objects.filter(person__office=office, person__fingerprint__in=ours,
                                               role=ParticipantRole.PRINCIPAL)
                .select_related("case__assigned_to", "person")
                .order_by("-case__opened_at", "-case__pk"))
        for row in rows:  # each person's oldest case comes last and wins
            first[row.person_id] = (row.case, row.person.fingerprint)
        out = []
        for case, fingerprint in first.values():
            planned = ours[fingerprint].case
            if (planned is None or planned.caseworker is None or case.kind != CaseKind.ASYLUM
                    or case.state != States.OPEN or case.assigned_to is None):
                continue
            if case.assigned_to.username == workers[planned.caseworker]:
                out.append(case)
        return sorted(out, key=lambda c: c.reference)

    def _staff(self, office: Office) -> dict[str, list[User]]:
        out: dict[str, list[User]] = {}
        for m in Membership.objects.filter(office=office).select_related("user").order_by("user__username"):
            out.setdefault(m.role, []).append(m.user)
        return out

    def _library(self, office: Office, by: User) -> None:
        if CoiSource.objects.filter(office=office).exists():
            return
        for title, publisher, country, age in LIBRARY:
            services.add_coi_source(by=by, office=office, title=title, publisher=publisher, country=country,
                                    published_on=self.today - datetime.timedelta(days=age),
                                    url=f"https://coi.example.org/{country.lower()}/{age}")
            self.added["COI sources"] += 1

    def _drive(self, case: Case, target: States, staff: dict[str, list[User]]) -> None:
        fake = Faker("es_MX")
        fake.seed_instance(case.reference)
        if case.assigned_to_id is None:  # handle() drives assigned cases only
            raise CommandError(f"{case.reference} is not assigned.")
        worker = User.objects.get(pk=case.assigned_to_id)
        boss = User.objects.get(pk=staff[Role.SUPERVISOR][0].pk)
        goal = ORDER.index(target)
        # Older applications for cases further along, so that clocks run and some are overdue.
        age = 20 + 25 * goal + _bucket(case.reference[::-1]) * 3
        applied = self.today - datetime.timedelta(days=age)
        services.record_application(by=worker, case=case, data=services.ApplicationData(
            application_date=applied, arrival_date=applied - datetime.timedelta(days=5),
            channel="office", place_of_entry=fake.city(),
            claim_summary=fake.paragraph(nb_sentences=3), narrative="\n\n".join(fake.paragraphs(4)),
            interpreter_language="es"))
        if target == States.WITHDRAWN:
            services.take_step(by=worker, case=case, name=Steps.WITHDRAW, reason="Demo: left the country.")
            return
        if target == States.REGISTERED:
            return
        when = timezone.now() + datetime.timedelta(days=1 + _bucket(case.reference) % 5, hours=2)
        services.schedule_interview(by=worker, case=case, when=when, place="Interview room 2",
                                    interviewer=worker, interpreter_language="es")
        if target == States.INTERVIEW_SCHEDULED:
            return
        self._past_interview(case, applied)
        if target == States.NO_SHOW:
            services.record_interview(by=worker, case=case, attended=False)
            return
        services.record_interview(by=worker, case=case, attended=True,
                                  transcript="\n".join(fake.paragraphs(6)), notes=fake.paragraph())
        if target == States.INTERVIEWED:
            return
        rejected = target in (States.APPEAL_PERIOD, States.APPEAL_LODGED, States.REJECTED_FINAL)
        outcome = "rejected" if rejected else "recognized"
        source_ids = list(CoiSource.objects.filter(office=case.office).values_list("pk", flat=True)[:2])
        services.submit_assessment(by=worker, case=case, data=services.AssessmentData(
            credibility=fake.paragraph(), material_facts=fake.paragraph(), inclusion=fake.paragraph(),
            convention_grounds=[] if rejected else ["social_group"], coi_source_ids=source_ids,
            recommendation=outcome))
        if target == States.UNDER_REVIEW:
            return
        # Decided today, after the review the services date today; only a refusal that must
        # already be final was decided long ago (its appeal period is over).
        days_ago = 45 if target == States.REJECTED_FINAL else 0
        decided_on = self.today - datetime.timedelta(days=days_ago)
        decision = services.DecisionData(
            outcome=outcome, legal_basis="none" if rejected else "convention",
            grounds=[] if rejected else ["social_group"], reasons=fake.paragraph(nb_sentences=5),
            decided_on=decided_on, meeting_date=decided_on)
        steps = {"rsd.bz": ["approve", Steps.RECORD_COMMITTEE_RECOMMENDATION, Steps.RECORD_MINISTER_DECISION],
                 "rsd.cr": ["approve", Steps.RECORD_COMMISSION_DECISION]}.get(case.procedure, [Steps.DECIDE])
        for step in steps:
            case.refresh_from_db()
            if step == "approve":
                services.review_assessment(by=boss, case=case, approve=True)
            else:
                services.record_decision(by=boss, case=case, step_name=step, data=decision)
        if target == States.DECIDED:
            return
        delivered = decision.decided_on
        case.refresh_from_db()
        services.record_notification(by=worker, case=case, delivered_on=delivered,
                                     language=selectors.letter_language(case))
        if target == States.APPEAL_LODGED:
            case.refresh_from_db()
            services.lodge_appeal(by=worker, case=case, lodged_on=delivered,
                                  grounds=fake.paragraph())
        elif target == States.REJECTED_FINAL:
            case.refresh_from_db()
            services.take_step(by=boss, case=case, name=Steps.CLOSE_UNAPPEALED)

    def _past_interview(self, case: Case, applied: datetime.date) -> None:
        # Demo history: the interview was booked in the future, then the demo moves it to
        # the day it would have taken place, so that its outcome can be recorded.
        day = applied + datetime.timedelta(days=10)
        Interview.objects.filter(case=case, status=InterviewStatus.SCHEDULED).update(
            scheduled_for=timezone.make_aware(datetime.datetime.combine(day, datetime.time(10))))
