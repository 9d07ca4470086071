"""Demo fingerprints: two fingers of a few demo applicants per office, enrolled through the
real services (sealed, audited, de-duplicated), one person enrolled twice under two names in
two offices so that the duplicate queue shows a fingerprint pair, and fresh impressions of
the enrolled fingers under var/demo/fingerprints/ (named after the applicant's case) to try
the search and verification pages.

Safe to re-run: a person who has any fingerprint capture already is left alone, so nothing a
person enrolled, replaced or erased is touched; missing sample images are written again.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

from biometrics import engine, services, synthetic
from biometrics.models import FingerprintCapture
from cases.crypto.datakeys import key_scope
from cases.management.demo import OFFICES, demo_person
from cases.management.demo_command import DemoCommand
from cases.models import CaseKind, CaseParticipant, Membership, Office, ParticipantRole, Person, Role

FINGERS = (2, 7)  # right and left index, the fingers offices take first
# The second office's last enrolled applicant has the first office's first applicant's fingers:
# one person registered twice under different names.
TWICE = ("BZ-BMP", 0, "BZ-BQV")
DEVICE = "Demo scanner"


def _seed(source: str, finger: int) -> int:
    digest = hashlib.sha256(f"{source}:{finger}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


class Command(DemoCommand):
    help = ("Enrol demo fingerprints for a few of seed_demo's asylum applicants in each office "
            "(demo data only; run after seed_demo) and write sample images to try the "
            "fingerprint search. Safe to re-run: people with any fingerprints are left alone.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--per-office", type=int, default=3,
                            help="Applicants to enrol in each office (default 3).")

    def handle(self, *args: Any, **options: Any) -> None:
        per_office = max(0, options["per_office"])
        added: Counter[str] = Counter()
        samples = Path(settings.VAR_DIR) / "demo" / "fingerprints"
        samples.mkdir(parents=True, exist_ok=True)
        chosen: dict[str, list[tuple[Person, str, int]]] = {}
        with key_scope():
            for spec in OFFICES:
                office = Office.objects.filter(code=spec.code, is_active=True).first()
                boss = (Membership.objects.filter(office=office, role=Role.SUPERVISOR,
                                                  user__is_active=True)
                        .select_related("user").order_by("user__username").first())
                if office is None or boss is None:
                    continue
                people = self._applicants(office, spec, per_office)
                chosen[spec.code] = people
                for n, (person, reference, _index) in enumerate(people):
                    source = self._source(spec.code, n, len(people), chosen)
                    for finger in FINGERS:
                        seed = _seed(source, finger)
                        sample = samples / f"{reference}-finger{finger}.png"
                        if not sample.exists():
                            sample.write_bytes(
                                synthetic.png(synthetic.impression(synthetic.finger(seed), 2)))
                        if self._by_hand(person) or FingerprintCapture.objects.filter(
                                person=person, finger=finger).exists():
                            continue
                        data = synthetic.png(synthetic.impression(synthetic.finger(seed), 1))
                        try:
                            services.enrol_finger(by=boss.user, person=person, finger=finger,
                                                  data=data, device=DEVICE)
                        except engine.Refused as refused:
                            self.stderr.write(f"{person.pk} finger {finger}: {refused}")
                            continue
                        added["fingers"] += 1
        if added:
            self.stdout.write(self.style.SUCCESS(
                f"Fingerprint demo: {added['fingers']} fingers enrolled; sample images in {samples}"))
        else:
            self.stdout.write(f"Fingerprint demo: nothing added; sample images in {samples}")

    def _applicants(self, office: Office, spec: Any, upto: int) -> list[tuple[Person, str, int]]:
        """The first `upto` of seed_demo's own people in `office` (in seed_demo's order) who
        are the principal applicant of an asylum case, with that case's reference and the
        person's demo index."""
        count = Person.objects.filter(office=office).count()
        index = {demo_person(spec, n).data.fingerprint(): n for n in reversed(range(count))}
        rows = (CaseParticipant.objects.filter(person__office=office, person__fingerprint__in=index,
                                               person__erased_at__isnull=True,
                                               person__restricted_at__isnull=True,
                                               role=ParticipantRole.PRINCIPAL,
                                               case__kind=CaseKind.ASYLUM)
                .select_related("person", "case").order_by("case__opened_at", "case__pk"))
        out: dict[Person, tuple[str, int]] = {}
        for row in rows:
            out.setdefault(row.person, (row.case.reference, index[row.person.fingerprint]))
        first = sorted(out.items(), key=lambda item: item[1][1])[:upto]
        return [(person, reference, n) for person, (reference, n) in first]

    @staticmethod
    def _by_hand(person: Person) -> bool:
        """Someone enrolled this person's fingers on a real device: leave them alone."""
        return FingerprintCapture.objects.filter(person=person).exclude(device=DEVICE).exists()

    def _source(self, code: str, n: int, count: int,
                chosen: dict[str, list[tuple[Person, str, int]]]) -> str:
        """Whose fingers the n-th chosen person of office `code` has: their own, or (TWICE)
        another demo person's. Named by office and demo index, not by anything keyed, so
        that every installation has the same demo fingers."""
        first_office, index, second_office = TWICE
        if code == second_office and n == count - 1 and len(chosen.get(first_office, [])) > index:
            return f"{first_office}:{chosen[first_office][index][2]}"
        return f"{code}:{chosen[code][n][2]}"
