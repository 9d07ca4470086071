"""The CTDC export of the trafficking cases of a supervisor's offices, for the people whose
consent allows anonymised statistics (docs/domain/trafficking.md#statistics)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from cases import access, consent, events
from cases.models import Case, CaseKind, ConsentPurpose, Role, User
from tip import ctdc
from tip.models import TraffickingEvent, VictimProfile
from tip.vocab import EventType, TraffickingStatus

GENDERS = {"female": "Feminine", "male": "Masculine", "intersex": "NonConforming"}


def _facts(profiles: Iterator[VictimProfile]) -> Iterator[ctdc.VictimFacts]:
    for profile in profiles:
        case = profile.case
        person = case.principal
        born = person.birth_year
        exploited = [e.country for e in case.trafficking_events.all()
                     if e.kind == EventType.EXPLOITATION and e.country]
        yield ctdc.VictimFacts(
            year_registered=case.opened_at.year,
            gender=GENDERS.get(person.sex, ""),
            age_at_registration=case.opened_at.year - born if born else None,
            age_when_trafficked=profile.age_when_trafficked,
            citizenship=(person.nationalities or [""])[0],
            country_of_exploitation=str(exploited[0]) if exploited else "",
            means_of_control=frozenset(profile.means_of_control or []),
            exploitation=frozenset(profile.exploitation_types or []),
            industry=profile.forced_labour_industry or "",
            sex_exploitation=frozenset(profile.sexual_exploitation_types or []),
            relation_to_recruiter=profile.relation_to_recruiter or "")


def export(*, by: User, out: IO[str], k: int = ctdc.DEFAULT_K, via: str = "command",
           download: bool = True) -> ctdc.Report:
    """Write the CSV; only the offices `by` supervises, only people allowing statistics.
    `download=False`: a check of what the file would hold (the screen's), recorded as such."""
    offices = access.offices_where(by, Role.SUPERVISOR)
    if not offices:
        raise PermissionDenied(_("Only supervisors export statistics of their offices."))
    allowed = consent.allowing(ConsentPurpose.STATISTICS).values("pk")
    cases = Case.objects.filter(office__in=offices, kind=CaseKind.TRAFFICKING,
                                principal__in=allowed)
    # CTDC counts victims, identified or possible: never whom a decision found not a victim.
    profiles = (VictimProfile.objects.filter(case__in=cases)
                .exclude(trafficking_status=TraffickingStatus.NOT_A_VICTIM)
                .select_related("case", "case__principal").order_by("pk")
                .prefetch_related(Prefetch("case__trafficking_events",
                                           queryset=TraffickingEvent.objects.only(
                                               "case_id", "kind", "country", "started_on")
                                           .order_by("started_on"))))
    report = ctdc.export(_facts(profiles.iterator(chunk_size=2000)), out, k=k)
    events.emit("tip.export_ctdc", actor=by, k=k, records_in=report.records_in,
                records_out=report.records_out, suppressed=report.records_suppressed,
                cells=report.cells, offices=sorted(offices), via=via, download=download)
    return report
