"""Reads of the trafficking records. Perpetrators are read only through `perpetrators_for`,
which knows who may see them."""

from __future__ import annotations

import datetime
import uuid

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from cases import access, selectors
from cases.models import Case, CaseKind, User
from tip.models import (
    Identification,
    ImportedReferral,
    Perpetrator,
    Referral,
    RiskAssessment,
    Screening,
    SupportOrganisation,
    SupportPlan,
    SupportService,
    TraffickingEvent,
    VictimProfile,
)


def profile_of(case: Case) -> VictimProfile | None:
    return VictimProfile.objects.filter(case=case).first()


def events_of(case: Case) -> list[TraffickingEvent]:
    return list(TraffickingEvent.objects.filter(case=case))


def screenings_of(case: Case) -> list[Screening]:
    return list(Screening.objects.filter(case=case).select_related("screened_by"))


def latest_screening(case: Case) -> Screening | None:
    return Screening.objects.filter(case=case).order_by("-step__number").first()


def identifications_of(case: Case) -> list[Identification]:
    return list(Identification.objects.filter(case=case).select_related("recorded_by"))


def may_see_perpetrators(user: User, case: Case) -> bool:
    """The caseworker the case is assigned to and the supervisors of its office: who works on
    the case, not a colleague who sees it waiting in the queue, nor an auditor."""
    return access.can_edit_case(user, case)


def perpetrators_for(user: User, case: Case) -> list[Perpetrator] | None:
    """The case's perpetrators, or None for who may not see them (they may see the count)."""
    if not may_see_perpetrators(user, case):
        return None
    return list(Perpetrator.objects.filter(case=case).select_related("recorded_by"))


def perpetrator_count(case: Case) -> int:
    return Perpetrator.objects.filter(case=case).count()


def awaiting(user: User, *states: str) -> QuerySet[Case]:
    """The open trafficking cases this user sees at one of `states`, oldest first."""
    return (selectors.visible_cases(user)
            .filter(kind=CaseKind.TRAFFICKING, state__in=states, closed_at__isnull=True)
            .order_by("opened_at"))


# --- Support (docs/domain/trafficking.md#support) ---------------------------------------------

def current_risk(case: Case) -> RiskAssessment | None:
    return (RiskAssessment.objects.filter(case=case, replaced_at__isnull=True)
            .select_related("assessed_by").first())


def earlier_risks(case: Case) -> list[RiskAssessment]:
    return list(RiskAssessment.objects.filter(case=case, replaced_at__isnull=False)
                .select_related("assessed_by"))


def plan_of(case: Case) -> SupportPlan | None:
    return SupportPlan.objects.filter(case=case).first()


def services_of(case: Case) -> list[SupportService]:
    return list(SupportService.objects.filter(case=case).select_related("provider"))


def service_of(case: Case, service_id: uuid.UUID) -> SupportService:
    """A service of `case` (already scoped by the caller), or 404."""
    return get_object_or_404(SupportService.objects.select_related("provider", "case"), pk=service_id,
                             case=case)


def referrals_of(case: Case) -> list[Referral]:
    return list(Referral.objects.filter(case=case).select_related("organisation", "referred_by"))


def imported_referrals_of(case: Case) -> list[ImportedReferral]:
    """The referrals an HTCDS file recorded for the case before it came here."""
    return list(ImportedReferral.objects.filter(case=case))


def referral_of(case: Case, referral_id: uuid.UUID) -> Referral:
    return get_object_or_404(Referral.objects.select_related("organisation", "case"), pk=referral_id,
                             case=case)


def directory(office_ids: set[int], *, active_only: bool = False) -> QuerySet[SupportOrganisation]:
    """The organisations of these offices' directories."""
    qs = SupportOrganisation.objects.filter(office_id__in=office_ids).select_related("office")
    return qs.filter(is_active=True) if active_only else qs


def overdue_services(user: User, today: datetime.date) -> QuerySet[SupportService]:
    """Services past their planned end, still owed, of the open trafficking cases the user sees."""
    cases = selectors.visible_cases(user).filter(kind=CaseKind.TRAFFICKING, closed_at__isnull=True)
    return (SupportService.objects.filter(case__in=cases, planned_end__lt=today,
                                          status__in=("planned", "in_progress"))
            .select_related("case", "case__principal").order_by("planned_end", "pk"))


def overdue_reviews(user: User, today: datetime.date) -> QuerySet[SupportPlan]:
    """Support plans whose review date passed, of the open trafficking cases the user sees."""
    cases = selectors.visible_cases(user).filter(kind=CaseKind.TRAFFICKING, closed_at__isnull=True)
    return (SupportPlan.objects.filter(case__in=cases, review_on__lt=today)
            .select_related("case", "case__principal").order_by("review_on", "pk"))


def services_due(start: datetime.date, end: datetime.date) -> QuerySet[SupportService]:
    """Services still owed whose planned end falls between `start` and `end`, of open
    trafficking cases (the reminders' sweep: every office, no user)."""
    return (SupportService.objects.filter(planned_end__gte=start, planned_end__lte=end,
                                          status__in=("planned", "in_progress"),
                                          case__kind=CaseKind.TRAFFICKING, case__closed_at__isnull=True)
            .select_related("case").order_by("planned_end", "pk"))


def reviews_due(start: datetime.date, end: datetime.date) -> QuerySet[SupportPlan]:
    """Support plans whose review falls between `start` and `end`, of open trafficking cases."""
    return (SupportPlan.objects.filter(review_on__gte=start, review_on__lte=end,
                                       case__kind=CaseKind.TRAFFICKING, case__closed_at__isnull=True)
            .select_related("case").order_by("review_on", "pk"))
