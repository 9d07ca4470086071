"""Reads of the asylum procedure; scoping always comes from cases.selectors."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Case as CaseWhen
from django.db.models import Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases import access, listing, selectors, workflow
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
    Stage,
)
from rsd.names import States, Steps

DUE_SOON_DAYS = selectors.DUE_SOON_DAYS
# Before the interview: where a priority case still waits to be heard.
NOT_INTERVIEWED = (States.REGISTERED, States.INTERVIEW_SCHEDULED, States.NO_SHOW)
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
    assessments: dict[uuid.UUID, Mapping[str, Any]] = {}
    for row in (EligibilityAssessment.objects
              .filter(case__in=ids, status__in=(AssessmentStatus.SUBMITTED, AssessmentStatus.APPROVED))
              .order_by("case_id", F("submitted_at").desc(nulls_last=True))
              .values("case_id", "recommendation", "author__username", "author__first_name",
                      "author__last_name")):
        assessments.setdefault(row["case_id"], row)  # the latest one submitted
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
    """Open priority asylum cases the user sees, the oldest first."""
    return (selectors.visible_cases(user)
            .filter(kind=CaseKind.ASYLUM, closed_at__isnull=True, application__priority=True)
            .order_by("opened_at"))


def is_priority() -> Q:
    """Asylum cases in the priority queue (children, specific needs), as a condition on Case:
    the case list's "priority" filter (cases.listing.register_flag)."""
    return Q(Exists(Application.objects.filter(case=OuterRef("pk"), priority=True)))


PRIORITY = listing.Flag("priority", _("Priority (children, specific needs)"), is_priority)


def priority_not_interviewed(user: User) -> QuerySet[Case]:
    """Priority cases (children, specific needs) of the user's offices not yet interviewed,
    the oldest application first."""
    return (priority_cases(user)
            .filter(state__in=NOT_INTERVIEWED,
                    office__in=access.offices_where(user, *access.CASE_ROLES))
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
    """The sources still in the libraries of these offices."""
    return CoiSource.objects.filter(office__in=office_ids, is_active=True)


def coi_offices(user: User) -> set[int]:
    """The offices whose library the user works with: where they are caseworker or supervisor."""
    return access.offices_where(user, *access.CASE_ROLES)


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
    citations: dict[uuid.UUID, list[CoiSource]]  # the sources each assessment cites
    decisions: list[Decision]
    appeals: list[Appeal]


DECISIONS = "rsd.decisions"  # the case's decisions, as a fact the checks may use


def procedure_of(case: Case) -> Procedure:
    """Every asylum record of the case, read once for the case page's panel: one query per
    kind of record, whatever the case holds (docs/architecture.md#speed). Inside a
    `workflow.facts` block the decisions are kept for the steps' checks."""
    cited = EligibilityAssessment.coi_sources.through.objects.filter(
        eligibilityassessment__case=case).select_related("coisource").order_by(
        "-coisource__published_on", "coisource__title")
    citations: dict[uuid.UUID, list[CoiSource]] = {}
    for row in cited:
        citations.setdefault(row.eligibilityassessment_id, []).append(row.coisource)
    return Procedure(
        workflow=workflow.for_case(case),
        application=application_of(case),
        family=list(family_members(case)),
        interviews=interviews_of(case),
        assessments=list(EligibilityAssessment.objects.filter(case=case)
                         .select_related("author", "reviewed_by")),
        citations=citations,
        decisions=workflow.once(case, DECISIONS, lambda: list(
            Decision.objects.filter(case=case).select_related("recorded_by"))),
        appeals=list(Appeal.objects.filter(case=case)),
    )


# --- The records of one case ----------------------------------------------------------------
# Scoping is the caller's: these read a case the user was already allowed to open.

def application_of(case: Case) -> Application | None:
    """The case's application, None before it is recorded."""
    return Application.objects.filter(case=case).first()


def family_members(case: Case) -> QuerySet[FamilyMember]:
    """The relatives on the application, with their person records."""
    return FamilyMember.objects.filter(case=case).select_related("person")


def letter_language(case: Case) -> str:
    """Spanish for Spanish speakers, English otherwise (the two languages letters come in)."""
    return "es" if "es" in (case.principal.languages or []) else "en"


INTERVIEWS = "rsd.interviews"  # the case's interviews, as a fact the checks may use


def interviews_of(case: Case) -> list[Interview]:
    """Every interview of the case, the latest first (kept inside a `workflow.facts` block)."""
    return workflow.once(case, INTERVIEWS, lambda: list(
        Interview.objects.filter(case=case).select_related("interviewer").order_by("-scheduled_for")))


def scheduled_interview(case: Case) -> Interview | None:
    """The interview set and not yet held, missed, moved or cancelled."""
    return (Interview.objects.filter(case=case, status=InterviewStatus.SCHEDULED)
            .select_related("interviewer").first())


def held_interviews(case: Case) -> list[Interview]:
    """The interviews held, the latest first: what the applicant said and the interviewer noted."""
    return list(Interview.objects.filter(case=case, status=InterviewStatus.ATTENDED)
                .select_related("interviewer").order_by("-scheduled_for"))


def missed_interviews(case: Case) -> int:
    """How many interviews the applicant missed since the application was recorded or reopened."""
    steps: list[CaseStep] | None = workflow.known(case, "steps")
    if steps is not None:
        start = max((s.number for s in steps if s.transition in (Steps.REGISTER, Steps.REOPEN)), default=0)
        return sum(1 for s in steps if s.transition == Steps.RECORD_NO_SHOW and s.number > start)
    since = (CaseStep.objects.filter(case=case, transition__in=(Steps.REGISTER, Steps.REOPEN))
             .order_by("-number").values_list("number", flat=True).first() or 0)
    return CaseStep.objects.filter(case=case, transition=Steps.RECORD_NO_SHOW, number__gt=since).count()


def current_assessment(case: Case) -> EligibilityAssessment | None:
    """The assessment being written or reviewed: the latest one not approved."""
    return (EligibilityAssessment.objects.filter(case=case)
            .exclude(status=AssessmentStatus.APPROVED).order_by("-updated_at").first())


def returned_assessment(case: Case) -> EligibilityAssessment | None:
    """The current assessment when a reviewer sent it back with comments, else None."""
    current = current_assessment(case)
    return current if current and current.status == AssessmentStatus.RETURNED else None


def submitted_assessment(case: Case, *, to_show: bool = True) -> EligibilityAssessment | None:
    """The assessment waiting for review; `to_show`: with its author and cited sources."""
    found = EligibilityAssessment.objects.filter(case=case, status=AssessmentStatus.SUBMITTED)
    if to_show:
        found = found.select_related("author").prefetch_related("coi_sources")
    return found.first()


def latest_assessment(case: Case) -> EligibilityAssessment | None:
    """The latest assessment past its draft (submitted or approved): what a decision rests on."""
    return (EligibilityAssessment.objects.filter(case=case)
            .exclude(status=AssessmentStatus.DRAFT).order_by("-updated_at")
            .select_related("author").prefetch_related("coi_sources").first())


def assessment_version(assessment: EligibilityAssessment | None) -> str:
    """What a form shows was read at: a later save by someone else is not overwritten."""
    return assessment.updated_at.isoformat() if assessment and assessment.updated_at else ""


def assessment_writers(case: Case) -> set[int]:
    """Everyone who wrote or edited the assessment under review (four-eyes)."""
    return workflow.once(case, "rsd.assessment_writers", lambda: _assessment_writers(case))


def _assessment_writers(case: Case) -> set[int]:
    # The one under review, or once approved (Committee, Minister, Commission) the latest:
    # picked in a subquery, so that the step's four-eyes check costs one query.
    approved = CaseWhen(When(status=AssessmentStatus.APPROVED, then=Value(1)), default=Value(0),
                     output_field=IntegerField())
    current = (EligibilityAssessment.objects.filter(case=case).annotate(approved=approved)
               .order_by("approved", "-updated_at").values("pk")[:1])
    # Saves as a draft or a submission are writing; a return or an approval is reviewing.
    writers = EligibilityAssessment.history.filter(
        id=Subquery(current), status__in=(AssessmentStatus.DRAFT, AssessmentStatus.SUBMITTED),
    ).values_list("history_user_id", flat=True)
    return {w for w in writers if w}


def _of_stage(case: Case, stage: str) -> QuerySet[Decision]:
    return Decision.objects.filter(case=case, stage=stage).order_by("-recorded_at")


def latest_decision(case: Case, stage: str) -> Decision | None:
    """The decision of `stage` (a `Stage`) recorded last: a reopened case may have several."""
    return _of_stage(case, stage).first()


def latest_outcome(case: Case, stage: str) -> str | None:
    """The outcome of the decision of `stage` recorded last, without reading the decision
    (or from the decisions the case page read already)."""
    decisions: list[Decision] | None = workflow.known(case, DECISIONS)
    if decisions is not None:
        latest = max((d for d in decisions if d.stage == stage), key=lambda d: d.recorded_at, default=None)
        return latest.outcome if latest else None
    return _of_stage(case, stage).values_list("outcome", flat=True).first()


def first_instance_decision(case: Case) -> Decision | None:
    """The latest first-instance decision."""
    return latest_decision(case, Stage.FIRST_INSTANCE)


def appeal_decision(case: Case) -> Decision | None:
    """The latest decision on appeal."""
    return latest_decision(case, Stage.APPEAL)


def governing_decision(case: Case) -> Decision | None:
    """The decision that stands: the appeal decision once there is one, else the first."""
    latest: dict[str, Decision] = {}  # per stage, the one recorded last: one read for both
    for decision in (Decision.objects.filter(case=case, stage__in=(Stage.FIRST_INSTANCE, Stage.APPEAL))
                     .order_by("-recorded_at")):
        latest.setdefault(decision.stage, decision)
    first, appeal = latest.get(Stage.FIRST_INSTANCE), latest.get(Stage.APPEAL)
    if appeal and first and appeal.recorded_at > first.recorded_at:
        return appeal
    return first


def pending_appeal(case: Case) -> Appeal | None:
    """The appeal not yet decided, against the latest decision (lodged last, if several)."""
    # An application withdrawn while its appeal was pending leaves that appeal undecided:
    # once reopened and decided again, the appeal of the new decision is the one pending.
    return (Appeal.objects.filter(case=case, outcome__isnull=True)
            .order_by("-decision__recorded_at", "-lodged_on").first())


def closed_for_want_of_appeal(case: Case) -> bool:
    """Whether the case's last step closed a decision because nobody appealed it in time."""
    steps: list[CaseStep] | None = workflow.known(case, "steps")
    if steps is not None:
        last = steps[-1].transition if steps else None
    else:
        last = (CaseStep.objects.filter(case=case).order_by("-number")
                .values_list("transition", flat=True).first())
    return last in (Steps.CLOSE_UNAPPEALED, Steps.CLOSE_WITH_PROTECTION)


def lapsed_cases(clock: str, state: str) -> QuerySet[CaseDeadline, uuid.UUID]:
    """Ids of asylum cases in `state` whose running `clock` is overdue, the oldest deadline first."""
    return (CaseDeadline.objects.filter(clock=clock, met_at__isnull=True, due_on__lt=timezone.localdate(),
                                        case__kind=CaseKind.ASYLUM, case__state=state)
            .order_by("due_on", "case_id").values_list("case_id", flat=True))
