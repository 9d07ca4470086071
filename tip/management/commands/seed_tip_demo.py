"""Demo data for the trafficking procedure: moves the demo's trafficking cases along the
procedure through the real services, with events and perpetrators (Faker es_MX)."""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter
from typing import Any

from django.utils import timezone
from faker import Faker

from cases import consent
from cases.crypto.datakeys import key_scope
from cases.management.demo import OFFICES, demo_people, staff_usernames
from cases.management.demo_command import DemoCommand
from cases.models import (
    Case,
    CaseKind,
    CaseParticipant,
    ConsentPurpose,
    Membership,
    Office,
    ParticipantRole,
    Person,
    Role,
    User,
)
from tip import indicators, registration, services, support
from tip.models import RegistrationScreen, SupportOrganisation, SupportPlan
from tip.names import States, Steps
from tip.vocab import (
    ClosureReason,
    EventType,
    Exploitation,
    Industry,
    MeansOfControl,
    MigrationStatus,
    OrganisationType,
    PerpetratorRole,
    RecruitmentMethod,
    RelationToRecruiter,
    RiskLevel,
    ServiceKind,
    ServiceStatus,
    SexualExploitation,
    TraffickingStatus,
)

# Where a demo case stops, by a stable hash of its reference (out of 8); 0 stays open.
STOPS = {1: States.SCREENING, 2: States.IDENTIFICATION, 3: States.ACTIVE, 4: States.ACTIVE,
         5: States.FOLLOW_UP, 6: States.CLOSED, 7: States.CLOSED_REFERRED}
ORDER = [States.SCREENING, States.IDENTIFICATION, States.ACTIVE, States.FOLLOW_UP, States.CLOSED,
         States.CLOSED_REFERRED]
NEIGHBOURS = {"BZ": ["GT", "HN", "SV", "MX"], "CR": ["NI", "PA", "VE", "CO"], "MX": ["GT", "HN", "SV", "VE"],
              "GT": ["SV", "HN", "MX", "NI"]}


def _bucket(reference: str, n: int = 8) -> int:
    return int(hashlib.sha256(reference.encode()).hexdigest(), 16) % n


class Command(DemoCommand):
    help = ("Move the demo's trafficking cases along their procedure (demo data only; run after "
            "seed_demo). Safe to re-run: it acts only on trafficking cases seed_demo opened for its "
            "own people that have not entered a procedure; cases people opened or changed are "
            "left alone.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.added: Counter[str] = Counter()
        self.today = timezone.localdate()
        with key_scope():
            for office in Office.objects.filter(is_active=True).order_by("code"):
                staff = self._staff(office)
                if not staff.get(Role.SUPERVISOR) or not staff.get(Role.CASEWORKER):
                    continue
                for case in self._demo_cases(office):
                    target = STOPS.get(_bucket(case.reference))
                    if target:
                        # Step by step: each step is its own transaction (cases.workflow.fire).
                        self._drive(case, target, staff[Role.SUPERVISOR][0])
                        self.added[str(target)] += 1
                self._support(office, staff[Role.SUPERVISOR][0])
                self._registration_screen(office)
        if self.added:
            self.stdout.write(self.style.SUCCESS(
                "Trafficking demo: " + ", ".join(f"{n} {what}" for what, n in sorted(self.added.items()))))
        else:
            self.stdout.write("Trafficking demo: nothing added.")

    def _demo_cases(self, office: Office) -> list[Case]:
        """Trafficking cases still at the start, outside any procedure, that seed_demo opened for
        its own people and assigned to the caseworker it chose: never a case someone opened,
        assigned or moved by hand."""
        return [c for c in self._ours(office)
                if c.state == States.OPEN and not c.procedure and not c.step_no]

    def _ours(self, office: Office) -> list[Case]:
        """The oldest trafficking case of each of seed_demo's people, assigned to the caseworker
        seed_demo chose for it."""
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
        out: list[Case] = []
        for case, fingerprint in first.values():
            planned = ours[fingerprint].case
            if (planned is None or planned.caseworker is None or case.kind != CaseKind.TRAFFICKING
                    or case.assigned_to is None):
                continue
            if case.assigned_to.username == workers[planned.caseworker]:
                out.append(case)
        return sorted(out, key=lambda c: c.reference)

    def _staff(self, office: Office) -> dict[str, list[User]]:
        out: dict[str, list[User]] = {}
        for m in Membership.objects.filter(office=office).select_related("user").order_by("user__username"):
            out.setdefault(m.role, []).append(m.user)
        return out

    def _profile(self, fake: Faker, sexual: bool) -> services.ProfileData:
        kinds: list[str] = [Exploitation.SEXUAL if sexual else Exploitation.FORCED_LABOUR]
        if fake.boolean(chance_of_getting_true=20):
            kinds.append(fake.random_element([Exploitation.FORCED_BEGGING, Exploitation.FORCED_CRIMINALITY,
                                              Exploitation.SERVITUDE]))
        return services.ProfileData(
            age_when_trafficked=fake.random_int(12, 38),
            relation_to_recruiter=fake.random_element(RelationToRecruiter.values),
            recruitment_methods=[fake.random_element(RecruitmentMethod.values)],
            means_of_control=sorted(set(fake.random_elements(MeansOfControl.values, length=3))),
            exploitation_types=kinds,
            sexual_exploitation_types=[SexualExploitation.PROSTITUTION] if sexual else [],
            forced_labour_industry="" if sexual else fake.random_element(
                [Industry.A, Industry.F, Industry.I, Industry.T]),
            migration_status=fake.random_element([MigrationStatus.IRREGULAR_MIGRANT, MigrationStatus.NATIONAL,
                                                  MigrationStatus.ASYLUM_SEEKER,
                                                  MigrationStatus.UNACCOMPANIED_CHILD]),
            narrative="\n\n".join(fake.paragraphs(3)))

    def _drive(self, case: Case, target: States, boss: User) -> None:
        fake = Faker("es_MX")
        fake.seed_instance(case.reference)
        worker = User.objects.get(pk=case.assigned_to_id or 0)  # _demo_cases: assigned cases
        goal = ORDER.index(target)
        sexual = _bucket(case.reference[::-1], 2) == 0
        started = self.today - datetime.timedelta(days=30 + 20 * goal + _bucket(case.reference, 10))
        services.record_profile(by=worker, case=case, data=self._profile(fake, sexual))
        # Victims allow anonymised statistics, but those still waiting for their screening
        # declined: the statistics and the CTDC export count only the first
        # (docs/architecture.md#consent).
        consent.record(by=worker, person=case.principal, purpose=ConsentPurpose.STATISTICS,
                       given=target != States.SCREENING, language="es")
        country = case.office.country.code
        for kind, where in ((EventType.RECRUITMENT, fake.random_element(NEIGHBOURS.get(country, ["GT"]))),
                            (EventType.EXPLOITATION, country)):
            services.add_event(by=worker, case=case, data=services.EventData(
                kind=kind, country=where, place=fake.city(),
                started_on=started - datetime.timedelta(days=300 if kind == EventType.RECRUITMENT else 200),
                ended_on=None if kind == EventType.RECRUITMENT else started,
                description=fake.sentence(nb_words=12)))
        for role in (PerpetratorRole.RECRUITER, PerpetratorRole.EXPLOITER):
            services.add_perpetrator(by=worker, case=case, data=services.PerpetratorData(
                role=role, name=f"{fake.first_name_male()} «{fake.word()}»",
                relation_to_victim=fake.random_element(RelationToRecruiter.values),
                description=fake.sentence(nb_words=10)))
        if target == States.SCREENING:
            return
        group = Exploitation.SEXUAL if sexual else Exploitation.FORCED_LABOUR
        present = {i.code for i in indicators.DEFAULT if i.group in ("general", group)
                   and fake.boolean(chance_of_getting_true=50)}
        case.refresh_from_db()
        services.screen(by=worker, case=case, present=present, notes=fake.paragraph(),
                        screened_on=started)
        if target == States.IDENTIFICATION:
            return
        case.refresh_from_db()
        status = (TraffickingStatus.NOT_A_VICTIM if target == States.CLOSED and not present
                  else TraffickingStatus.ACTUAL)
        services.identify(by=boss, case=case, data=services.IdentificationData(
            status=status, decided_on=started + datetime.timedelta(days=7),
            reasons=fake.paragraph(nb_sentences=4)))
        if target == States.ACTIVE:
            return
        case.refresh_from_db()
        if target == States.FOLLOW_UP:
            services.take_step(by=worker, case=case, name=Steps.START_FOLLOW_UP)
        elif target == States.CLOSED:
            ground = (ClosureReason.NOT_A_VICTIM if status == TraffickingStatus.NOT_A_VICTIM
                      else ClosureReason.OBJECTIVES_MET)
            services.take_step(by=worker, case=case, name=Steps.CLOSE, ground=ground,
                               reason="Demo: " + fake.sentence())
        elif target == States.CLOSED_REFERRED:
            services.take_step(by=worker, case=case, name=Steps.CLOSE_REFERRED, ground=ClosureReason.REFERRED,
                               reason="Demo: " + fake.sentence())

    # --- Support: the directory, and risk, plan, services and a referral per case in support ---

    DIRECTORY = (("Casa Refugio Esperanza", OrganisationType.NGO, "+501 222 0101"),
                 ("Clínica Comunitaria San José", OrganisationType.HEALTH, "+501 222 0202"),
                 ("Defensoría Legal Gratuita", OrganisationType.LEGAL, "+501 222 0303"))

    def _directory(self, office: Office, boss: User) -> list[SupportOrganisation]:
        out: list[SupportOrganisation] = []
        for name, kind, phone in self.DIRECTORY:
            found = SupportOrganisation.objects.filter(office=office, name=name).first()
            if found is None:
                found = support.add_organisation(by=boss, office=office, data=support.OrganisationData(
                    name=name, org_type=kind, country=office.country.code, phone=phone,
                    email=f"contacto{len(out) + 1}@{office.code.lower()}.example.org"))
                self.added["organisations"] += 1
            out.append(found)
        return out

    def _registration_screen(self, office: Office) -> None:
        """One asylum case per office screened for trafficking risk at registration, with signs,
        and referred with the person's consent: its trafficking case waits in the queue. Once
        per office: a re-run finds the screen and adds nothing."""
        if RegistrationScreen.objects.filter(case__office=office).exists():
            return
        with_tip = Case.objects.filter(office=office, kind=CaseKind.TRAFFICKING).values("principal_id")
        case = (Case.objects.filter(office=office, kind=CaseKind.ASYLUM, closed_at__isnull=True,
                                    assigned_to__isnull=False, principal__erased_at__isnull=True,
                                    principal__restricted_at__isnull=True)
                .exclude(principal_id__in=with_tip).select_related("principal", "assigned_to")
                .order_by("reference").first())
        if case is None or case.assigned_to is None:
            return
        registration.screen(by=case.assigned_to, case=case, data=registration.ScreenData(
            present={"FalsePromises", "WithholdsDocuments", "DebtBondage"}, screened_on=self.today,
            refer=True, consent=registration.YES, language="es"))
        self.added["asylum cases screened and referred"] += 1

    def _support(self, office: Office, boss: User) -> None:
        """Cases in support without a plan get one: re-running adds only what is missing."""
        cases = [c for c in self._ours(office) if c.state in (States.ACTIVE, States.FOLLOW_UP)
                 and not SupportPlan.objects.filter(case=c).exists()]
        if not cases:
            return
        shelter, clinic, legal = self._directory(office, boss)
        for case in cases:
            fake = Faker("es_MX")
            fake.seed_instance(case.reference + "support")
            worker = User.objects.get(pk=case.assigned_to_id or 0)
            support.assess_risk(by=worker, case=case, data=support.RiskData(
                individual=RiskLevel.HIGH, household=fake.random_element(RiskLevel.values),
                community=fake.random_element(RiskLevel.values), assessed_on=self.today,
                individual_notes=fake.sentence(nb_words=12)))
            support.save_plan(by=worker, case=case, objectives=fake.paragraph(nb_sentences=3),
                              review_on=self.today + datetime.timedelta(days=fake.random_int(-10, 60)))
            day = datetime.timedelta(days=1)
            support.add_service(by=worker, case=case, data=support.ServiceData(  # overdue
                kind=ServiceKind.SHELTER, provider=shelter, planned_start=self.today - 40 * day,
                planned_end=self.today - 5 * day, status=ServiceStatus.IN_PROGRESS,
                actual_start=self.today - 38 * day))
            support.add_service(by=worker, case=case, data=support.ServiceData(
                kind=ServiceKind.MEDICAL, provider=clinic, planned_start=self.today,
                planned_end=self.today + 30 * day))
            consent.record(by=worker, person=case.principal, purpose=ConsentPurpose.REFERRAL,
                           given=True, language="es")
            support.refer(by=worker, case=case, data=support.ReferralData(
                organisation=legal, service_kind=ServiceKind.LEGAL, referred_on=self.today,
                details=fake.sentence(nb_words=10)))
            self.added["support plans"] += 1
