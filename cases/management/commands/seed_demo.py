"""Demo data: four offices, staff of every role in each, a few hundred people and cases."""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from faker import Faker

from cases import services, subject_requests
from cases.crypto.datakeys import key_scope
from cases.management.demo import OFFICES, DemoOffice, DemoPerson, demo_people, split, staff_usernames
from cases.management.demo_command import DemoCommand
from cases.models import Membership, Office, Person, RequestChannel, RequestKind, Role, User

# Printed at the end of every run. Demo databases only: never load this data into a server
# that holds real people's records.
DEMO_PASSWORD = "amparo-demo-only"  # noqa: S105
# The demo's system administrator: configuration only (the administration site), in every
# demo office; the offices' own "<code>-system-admin" accounts stay as they are.
SYSADMIN = "sysadmin"


class Command(DemoCommand):
    help = ("Load demo offices, staff and synthetic people and cases. Safe to re-run: it adds "
            "only what is missing. For demonstrations only, never on a server with real data.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=300,
                            help="How many demo people in all, spread over the offices "
                                 "(default 300).")

    def handle(self, *args: Any, people: int, **opts: Any) -> None:
        if people < 0:
            raise CommandError("--people must be 0 or more.")
        self.added: Counter[str] = Counter()
        # One shared hash: hashing the same password for every account would cost seconds.
        self.password_hash = make_password(DEMO_PASSWORD)
        services.ensure_role_groups()
        targets = split(people)
        with key_scope(), transaction.atomic():
            offices = []
            for spec in OFFICES:
                office = self._office(spec)
                offices.append(office)
                staff = self._staff(spec, office)
                self._people(spec, office, staff, targets[spec.code])
            self._sysadmin(offices)
        self._report(people)

    def _office(self, spec: DemoOffice) -> Office:
        office, created = Office.objects.get_or_create(
            code=spec.code, defaults={"name": spec.name, "country": spec.country, "city": spec.city}
        )
        self.added["offices"] += created
        return office

    def _staff(self, spec: DemoOffice, office: Office) -> dict[str, list[User]]:
        fake = Faker(spec.staff_locale)
        by_role: dict[str, list[User]] = {}
        for username, role in staff_usernames(spec):
            user = User.objects.filter(username=username).first()
            if user is None:
                fake.seed_instance(f"amparo-demo-staff:{username}")
                user = User.objects.create(
                    username=username, password=self.password_hash,
                    first_name=fake.first_name(), last_name=fake.last_name(),
                    email=f"{username}@demo.amparo.invalid",
                    preferred_language=spec.staff_language,
                )
                self.added["staff"] += 1
            if not Membership.objects.filter(user=user, office=office, role=role).exists():
                services.grant_membership(by=None, user=user, office=office, role=role)
                self.added["memberships"] += 1
            by_role.setdefault(role, []).append(user)
        # Fresh objects: the selectors cache a user's roles on the instance.
        return {role: list(User.objects.filter(pk__in=[u.pk for u in users]).order_by("username"))
                for role, users in by_role.items()}

    def _sysadmin(self, offices: list[Office]) -> None:
        user = User.objects.filter(username=SYSADMIN).first()
        if user is None:
            fake = Faker("es_MX")
            fake.seed_instance(f"amparo-demo-staff:{SYSADMIN}")
            user = User.objects.create(
                username=SYSADMIN, password=self.password_hash, first_name=fake.first_name(),
                last_name=fake.last_name(), email=f"{SYSADMIN}@demo.amparo.invalid",
                preferred_language="es",
            )
            self.added["staff"] += 1
        for office in offices:
            if not Membership.objects.filter(user=user, office=office, role=Role.SYSTEM_ADMIN).exists():
                services.grant_membership(by=None, user=user, office=office, role=Role.SYSTEM_ADMIN)
                self.added["memberships"] += 1

    def _people(self, spec: DemoOffice, office: Office, staff: dict[str, list[User]],
                target: int) -> None:
        wanted = demo_people(spec, target)
        existing = set(
            Person.objects.filter(office=office, fingerprint__in=list(wanted))
            .values_list("fingerprint", flat=True)
        )
        missing = [d for fp, d in wanted.items() if fp not in existing]
        # Also count what the demo staff registered: a new Faker release changes the names
        # (and so the fingerprints), which must not double the demo.
        registered = Person.objects.filter(
            office=office, registered_by__in=staff[Role.CASEWORKER]
        ).count()
        for demo in missing[: max(0, target - registered)]:
            self._register(demo, office, staff)

    def _register(self, demo: DemoPerson, office: Office, staff: dict[str, list[User]]) -> None:
        caseworkers = staff[Role.CASEWORKER]
        clerk = caseworkers[demo.registered_by]
        person = services.register_person(by=clerk, office=office, data=demo.data)
        self.added["people"] += 1
        self._data_request(person, clerk)
        if demo.case is None:
            return
        c = demo.case
        assignee = caseworkers[c.caseworker] if c.caseworker is not None else None
        if assignee is not None and not c.assigned_by_supervisor:
            case = services.open_case(by=assignee, person=person, kind=c.kind, assign_to_me=True)
        else:
            case = services.open_case(by=clerk, person=person, kind=c.kind, assign_to_me=False)
            if assignee is not None:
                case = services.assign_case(by=staff[Role.SUPERVISOR][0], case=case,
                                            assignee=assignee, reason="Demo data")
        self.added["cases"] += 1
        author = assignee or staff[Role.SUPERVISOR][0]
        for text in c.notes:
            services.add_note(by=author, case=case, text=text)
            self.added["notes"] += 1

    def _data_request(self, person: Person, clerk: User) -> None:
        """About one person in twenty asked about their data: an open access or correction
        request for the requests page. Chosen by the keyed fingerprint, so a re-run of the
        demo (which registers nobody twice) adds none twice."""
        pick = int(person.fingerprint[:4], 16) % 20
        if pick > 1:
            return
        kind = RequestKind.ACCESS if pick == 0 else RequestKind.CORRECTION
        subject_requests.record_request(
            by=clerk, person=person, kind=kind, channel=RequestChannel.IN_PERSON,
            received_on=timezone.localdate() - datetime.timedelta(days=int(person.fingerprint[4:6], 16) % 40),
            details="" if kind == RequestKind.ACCESS else "La fecha de nacimiento está mal escrita.")
        self.added["data protection requests"] += 1

    def _report(self, people: int) -> None:
        if not sum(self.added.values()):
            self.stdout.write(f"Nothing added: the demo data ({people} people) is already there.")
        else:
            parts = ", ".join(f"{n} {what}" for what, n in self.added.items() if n)
            self.stdout.write(self.style.SUCCESS(f"Added {parts}."))
        self.stdout.write("")
        self.stdout.write(self.style.WARNING(
            f"DEMO ONLY: every demo account below has the password '{DEMO_PASSWORD}'. "
            "Never use these accounts or this data on a server with real people's records."
        ))
        for spec in OFFICES:
            names = [u for u, _role in staff_usernames(spec)]
            self.stdout.write(f"  {spec.code} {spec.name}: {', '.join(names)}")
        self.stdout.write(f"  System administrator (offices, non-working days, deadline periods, "
                          f"organisations at /admin/): {SYSADMIN}")
        self.stdout.write("Log in as, for example, bz-bmp-caseworker1, mx-tap-supervisor or "
                          f"{SYSADMIN}.")
        self.stdout.write("Two-factor authentication: log in and open /two-factor/ to set it up "
                          "with any TOTP app; `AMPARO_REQUIRE_2FA=1 make demo` requires it of "
                          "supervisors, auditors and administrators.")
