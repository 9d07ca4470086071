"""Reads of the asylum procedure; scoping always comes from cases.selectors."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from cases import selectors, workflow
from cases.models import Case, CaseDeadline, CaseKind, CaseStep, Role, User
from rsd.models import (
    Appeal,
    Application,
    CoiSource,
    Decision,
    EligibilityAssessment,
    FamilyMember,
    Interview,
    InterviewStatus,
)

DUE_SOON_DAYS = 7


def review_queue(user: User) -> QuerySet[Case]:
    """Asylum cases of the user's offices waiting for a supervisor, priority first."""
    return (selectors.visible_cases(user)
            .filter(kind=CaseKind.ASYLUM, office__in=selectors.offices_where(user, Role.SUPERVISOR),
                    state__in=workflow.states_waiting_for(Role.SUPERVISOR))
            .annotate(priority=Exists(Application.objects.filter(case=OuterRef("pk"), priority=True)))
            .order_by("-priority", "updated_at"))


def priority_cases(user: User) -> QuerySet[Case]:
    return (selectors.visible_cases(user)
            .filter(kind=CaseKind.ASYLUM, closed_at__isnull=True, application__priority=True)
            .order_by("opened_at"))


def week_of(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    start = day - datetime.timedelta(days=day.weekday())
    return start, start + datetime.timedelta(days=7)


def interviews_for_week(user: User, day: datetime.date) -> QuerySet[Interview]:
    """The user's own interviews in the week (Monday to Sunday) of `day`, in cases they see."""
    start, end = week_of(day)
    tz = timezone.get_current_timezone()
    return (Interview.objects
            .filter(interviewer=user, status=InterviewStatus.SCHEDULED,
                    scheduled_for__gte=datetime.datetime.combine(start, datetime.time(), tz),
                    scheduled_for__lt=datetime.datetime.combine(end, datetime.time(), tz),
                    case__in=selectors.visible_cases(user).values("pk"))
            .select_related("case", "case__office")
            .order_by("scheduled_for"))


def due_deadlines(user: User, *, mine_only: bool = False,
                  within_days: int = DUE_SOON_DAYS) -> QuerySet[CaseDeadline]:
    """Open deadlines, overdue or due within `within_days`, of the cases the user sees."""
    cases = selectors.my_cases(user) if mine_only else selectors.visible_cases(user)
    limit = timezone.localdate() + datetime.timedelta(days=within_days)
    return (CaseDeadline.objects
            .filter(met_at__isnull=True, due_on__lte=limit, case__in=cases.values("pk"),
                    case__closed_at__isnull=True)
            .select_related("case", "case__office")
            .order_by("due_on"))


def coi_library(office_ids: set[int]) -> QuerySet[CoiSource]:
    return CoiSource.objects.filter(office__in=office_ids, is_active=True)


@dataclass
class Procedure:
    """Everything the case page shows about where the procedure stands."""

    workflow: workflow.Workflow | None
    application: Application | None
    family: list[FamilyMember]
    interviews: list[Interview]
    assessment: EligibilityAssessment | None
    assessments: list[EligibilityAssessment]
    decisions: list[Decision]
    appeals: list[Appeal]
    steps: list[CaseStep]
    deadlines: list[CaseDeadline]


def procedure_of(case: Case) -> Procedure:
    from rsd.services import current_assessment

    return Procedure(
        workflow=workflow.for_case(case),
        application=Application.objects.filter(case=case).first(),
        family=list(FamilyMember.objects.filter(case=case).select_related("person")),
        interviews=list(Interview.objects.filter(case=case).select_related("interviewer")
                        .order_by("-scheduled_for")),
        assessment=current_assessment(case),
        assessments=list(EligibilityAssessment.objects.filter(case=case).select_related("author")
                         .prefetch_related("coi_sources")),
        decisions=list(Decision.objects.filter(case=case).select_related("recorded_by")),
        appeals=list(Appeal.objects.filter(case=case)),
        steps=list(CaseStep.objects.filter(case=case).select_related("actor").order_by("-number")),
        deadlines=list(CaseDeadline.objects.filter(case=case).order_by("met_at", "due_on")),
    )
