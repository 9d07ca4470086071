"""Reads of the asylum procedure; scoping always comes from cases.selectors."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from cases import selectors, workflow
from cases.models import Case, CaseDeadline, CaseKind, CaseStep, Role, User
from rsd.models import (
    Appeal,
    Application,
    AssessmentStatus,
    CoiSource,
    Decision,
    EligibilityAssessment,
    FamilyMember,
    Interview,
    InterviewStatus,
    Outcome,
)

DUE_SOON_DAYS = selectors.DUE_SOON_DAYS
# Before the interview: where a priority case still waits to be heard.
NOT_INTERVIEWED = ("registered", "interview_scheduled", "no_show")
# Interviews that happen (or happened) at their time; rescheduled and cancelled ones do not.
HELD_OR_DUE = (InterviewStatus.SCHEDULED, InterviewStatus.ATTENDED, InterviewStatus.NO_SHOW)


def review_queue(user: User) -> QuerySet[Case]:
    """Asylum cases of the user's offices waiting for a supervisor: priority first, then the
    longest waiting. `waiting_since` is the date the case reached the step it is at."""
    # order_by(): the model's ordering would join the case again inside the subquery.
    entered = CaseStep.objects.filter(case=OuterRef("pk"), number=OuterRef("step_no")).order_by()
    return (selectors.waiting_for(user, Role.SUPERVISOR)
            .filter(kind=CaseKind.ASYLUM)
            .annotate(priority=Exists(Application.objects.filter(case=OuterRef("pk"), priority=True)),
                      waiting_since=Subquery(entered.values("effective_on")[:1]))
            .order_by("-priority", F("waiting_since").asc(nulls_last=True), "opened_at", "pk"))


@dataclass
class ReviewRow:
    case: Case
    waiting_since: datetime.date | None
    days_waiting: int | None
    recommendation: str  # the label of the assessment's recommendation, "" without one
    author: str  # who wrote the assessment, "" without one
    deadline: CaseDeadline | None  # the running deadline due first
    deadline_label: str


def review_rows(cases: Iterable[Case]) -> list[ReviewRow]:
    """What the review queue shows about each case of a page, in a fixed number of queries."""
    cases = list(cases)
    ids = [c.pk for c in cases]
    assessments: dict[uuid.UUID, dict] = {}
    for a in (EligibilityAssessment.objects
              .filter(case__in=ids, status__in=(AssessmentStatus.SUBMITTED, AssessmentStatus.APPROVED))
              .order_by("case_id", F("submitted_at").desc(nulls_last=True))
              .values("case_id", "recommendation", "author__username", "author__first_name",
                      "author__last_name")):
        assessments.setdefault(a["case_id"], a)  # the latest one submitted
    deadlines: dict[uuid.UUID, CaseDeadline] = {}
    for d in CaseDeadline.objects.filter(case__in=ids, met_at__isnull=True).order_by("due_on", "pk"):
        deadlines.setdefault(d.case_id, d)
    today = timezone.localdate()
    rows = []
    for case in cases:
        a = assessments.get(case.pk)
        since = getattr(case, "waiting_since", None)
        deadline = deadlines.get(case.pk)
        author = ""
        if a:
            author = (f"{a['author__first_name']} {a['author__last_name']}".strip()
                      or a["author__username"])
        rows.append(ReviewRow(
            case=case, waiting_since=since, days_waiting=(today - since).days if since else None,
            recommendation=str(Outcome(a["recommendation"]).label) if a and a["recommendation"] else "",
            author=author, deadline=deadline,
            deadline_label=workflow.clock_label(case, deadline.clock) if deadline else "",
        ))
    return rows


def priority_cases(user: User) -> QuerySet[Case]:
    return (selectors.visible_cases(user)
            .filter(kind=CaseKind.ASYLUM, closed_at__isnull=True, application__priority=True)
            .order_by("opened_at"))


def priority_not_interviewed(user: User) -> QuerySet[Case]:
    """Priority cases (children, specific needs) of the user's offices not yet interviewed,
    the oldest application first."""
    return (priority_cases(user)
            .filter(state__in=NOT_INTERVIEWED,
                    office__in=selectors.offices_where(user, *selectors.CASE_ROLES))
            # Annotated, not joined whole: the application rows carry the sealed narratives.
            .annotate(applied_on=F("application__application_date"))
            .order_by("applied_on", "opened_at", "pk"))


def week_of(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The Monday of `day`'s week and the Monday after it (the end, not included)."""
    start = day - datetime.timedelta(days=day.weekday())
    return start, start + datetime.timedelta(days=7)


def interviews_for_week(user: User, day: datetime.date) -> QuerySet[Interview]:
    """The user's own interviews in the week (Monday to Sunday) of `day`, in cases they see."""
    start, end = week_of(day)
    tz = timezone.get_current_timezone()
    return (Interview.objects
            .filter(interviewer=user, status__in=HELD_OR_DUE,
                    scheduled_for__gte=datetime.datetime.combine(start, datetime.time(), tz),
                    scheduled_for__lt=datetime.datetime.combine(end, datetime.time(), tz),
                    case__in=selectors.visible_cases(user).values("pk"))
            .select_related("case", "case__office", "person")
            .order_by("scheduled_for", "pk"))


def due_deadlines(user: User, *, mine_only: bool = False,
                  within_days: int = DUE_SOON_DAYS) -> QuerySet[CaseDeadline]:
    """Running deadlines of the asylum cases the user sees, overdue or due within `within_days`."""
    return (selectors.due_deadlines(user, mine_only=mine_only, within_days=within_days)
            .filter(case__kind=CaseKind.ASYLUM))


def possible_interviewers(case: Case) -> QuerySet[User]:
    """The assigned caseworker or a supervisor of the office: people who can see the case.
    Another officer interviews once the case is assigned to them."""
    return (User.objects.filter(is_active=True)
            .filter(Q(pk=case.assigned_to_id)
                    | Q(memberships__office=case.office_id, memberships__role=Role.SUPERVISOR))
            .distinct().order_by("last_name", "first_name", "username"))


def coi_library(office_ids: set[int]) -> QuerySet[CoiSource]:
    return CoiSource.objects.filter(office__in=office_ids, is_active=True)


def coi_offices(user: User) -> set[int]:
    """The offices whose library the user works with: where they are caseworker or supervisor."""
    return selectors.offices_where(user, *selectors.CASE_ROLES)


def get_coi_source(user: User, source_id: int | str) -> CoiSource:
    """A source of one of the user's offices' libraries (retired ones too); 404 otherwise."""
    try:
        return CoiSource.objects.select_related("office").get(pk=source_id, office__in=coi_offices(user))
    except (CoiSource.DoesNotExist, ValueError, TypeError):
        raise Http404("No such source.") from None


@dataclass
class Procedure:
    """The asylum records the case page's panel shows (the card shows steps and deadlines)."""

    workflow: workflow.Workflow | None
    application: Application | None
    family: list[FamilyMember]
    interviews: list[Interview]
    assessments: list[EligibilityAssessment]
    decisions: list[Decision]
    appeals: list[Appeal]


def procedure_of(case: Case) -> Procedure:
    return Procedure(
        workflow=workflow.for_case(case),
        application=Application.objects.filter(case=case).first(),
        family=list(FamilyMember.objects.filter(case=case).select_related("person")),
        interviews=list(Interview.objects.filter(case=case).select_related("interviewer")
                        .order_by("-scheduled_for")),
        assessments=list(EligibilityAssessment.objects.filter(case=case)
                         .select_related("author", "reviewed_by").prefetch_related("coi_sources")),
        decisions=list(Decision.objects.filter(case=case).select_related("recorded_by")),
        appeals=list(Appeal.objects.filter(case=case)),
    )
