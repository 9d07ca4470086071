"""What the case page shows of the trafficking procedure (the procedure's `panel` option)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from cases import access, consent
from cases.models import Case, ConsentPurpose, User
from tip import indicators, selectors
from tip.models import VictimProfile
from tip.procedures import identifying_body
from tip.support import OWED, REFERRAL_NEXT
from tip.vocab import (
    Exploitation,
    MeansOfControl,
    PerpetratorRole,
    RecruitmentMethod,
    SexualExploitation,
    WebsiteOrApp,
    age_band,
    label,
    labels,
)


def profile_labels(profile: VictimProfile | None) -> dict[str, Any]:
    """The profile's multi-select codes as labels, for the templates."""
    if profile is None:
        return {"recruitment": [], "control": [], "exploitation": [], "sexual": [],
                "recruitment_websites": [], "exploitation_websites": []}
    return {"recruitment": labels(RecruitmentMethod, profile.recruitment_methods),
            "control": labels(MeansOfControl, profile.means_of_control),
            "exploitation": labels(Exploitation, profile.exploitation_types),
            "sexual": labels(SexualExploitation, profile.sexual_exploitation_types),
            "recruitment_websites": labels(WebsiteOrApp, profile.recruitment_websites),
            "exploitation_websites": labels(WebsiteOrApp, profile.exploitation_websites)}


def panel_context(case: Case, user: User) -> dict[str, Any]:
    profile = selectors.profile_of(case)
    perpetrators = selectors.perpetrators_for(user, case)
    by_role: list[tuple[str, list[Any]]] = []
    if perpetrators is not None:
        grouped: dict[str, list[Any]] = {}
        for p in perpetrators:
            grouped.setdefault(p.role, []).append(p)
        by_role = [(label(PerpetratorRole, role), people) for role, people in grouped.items()]
    known = {i.code: i for i in indicators.DEFAULT}
    # Who works on the case reads the sealed texts; a colleague sees the codes and dates.
    show_records = access.reads_records(user, case)
    can_edit = access.can_edit_case(user, case)
    screenings = [(s, [known[c].label for c in (s.present or []) if c in known] if show_records else [])
                  for s in selectors.screenings_of(case)]
    can_edit = can_edit and not case.principal.erased_at and not case.closed_at
    return {
        "profile": profile,
        "age_band": age_band(profile.age_when_trafficked) if profile else "",
        **profile_labels(profile),
        "events": selectors.events_of(case),
        "screenings": screenings,
        "identifications": selectors.identifications_of(case),
        "identifying_body": identifying_body(case.office.country.code).name,
        "perpetrators_by_role": by_role,
        "perpetrators_hidden": perpetrators is None,
        "perpetrator_count": selectors.perpetrator_count(case) if perpetrators is None else len(perpetrators),
        "show_records": show_records,
        "can_edit": can_edit,
        "can_edit_profile": can_edit and profile is not None,
        **support_context(case),
    }


def support_context(case: Case) -> dict[str, Any]:
    """Risk, the support plan with its services (overdue ones marked) and the referrals."""
    today = timezone.localdate()
    plan = selectors.plan_of(case)
    services = [(s, bool(s.planned_end and s.planned_end < today and s.status in OWED))
                for s in selectors.services_of(case)]
    referrals = [(r, bool(REFERRAL_NEXT.get(r.status))) for r in selectors.referrals_of(case)]
    return {
        "risk": selectors.current_risk(case),
        "earlier_risks": selectors.earlier_risks(case),
        "plan": plan,
        "plan_review_overdue": bool(plan and plan.review_on and plan.review_on < today),
        "services": services,
        "referrals": referrals,
        "imported_referrals": selectors.imported_referrals_of(case),
        "referral_consent": consent.allows(case.principal, ConsentPurpose.REFERRAL),
    }
