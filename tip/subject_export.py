"""The trafficking procedure's part of a person's copy of their data (cases/subject_export.py):
their victim profile, the events of their case and the identification decisions. The
screening is the office's working paper, and the names and descriptions of perpetrators are
about other people: in the copy only when a supervisor includes the internal records."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cases import subject_export
from cases.models import Person
from cases.subject_export import Section, display, section
from tip import indicators
from tip.models import (
    Identification,
    ImportedReferral,
    Perpetrator,
    Referral,
    RegistrationScreen,
    RiskAssessment,
    Screening,
    SupportPlan,
    SupportService,
    TraffickingEvent,
    VictimProfile,
)
from tip.vocab import (
    Exploitation,
    MeansOfControl,
    RecruitmentMethod,
    SexualExploitation,
    WebsiteOrApp,
    labels,
)

known = {i.code: i for i in indicators.REGISTRATION}


def _case() -> dict[str, str]:
    return {"case": _("case")}


def sections(person: Person, internal: bool) -> tuple[list[Section], list[str]]:
    out: list[Section] = []
    withheld: list[str] = []
    profiles = list(VictimProfile.objects.filter(person=person).select_related("case"))
    if profiles:
        out.append(section("tip.profiles", _("Your record as a person assisted against trafficking"),
                           VictimProfile, [
            "case", "trafficking_status", "status_decided_by", "age_when_trafficked",
            "relation_to_recruiter", "recruitment_methods", "means_of_control", "exploitation_types",
            "sexual_exploitation_types", "recruitment_websites", "exploitation_websites",
            "forced_labour_industry", "migration_status", "narrative"], [
            {"case": p.case.reference, "trafficking_status": display(p, "trafficking_status"),
             "status_decided_by": display(p, "status_decided_by"),
             "age_when_trafficked": p.age_when_trafficked,
             "relation_to_recruiter": display(p, "relation_to_recruiter"),
             "recruitment_methods": labels(RecruitmentMethod, p.recruitment_methods),
             "means_of_control": labels(MeansOfControl, p.means_of_control),
             "exploitation_types": labels(Exploitation, p.exploitation_types),
             "sexual_exploitation_types": labels(SexualExploitation, p.sexual_exploitation_types),
             "recruitment_websites": labels(WebsiteOrApp, p.recruitment_websites),
             "exploitation_websites": labels(WebsiteOrApp, p.exploitation_websites),
             "forced_labour_industry": display(p, "forced_labour_industry"),
             "migration_status": display(p, "migration_status"), "narrative": p.narrative}
            for p in profiles], extra=_case()))
    trafficking_events = list(TraffickingEvent.objects.filter(person=person).select_related("case"))
    if trafficking_events:
        out.append(section("tip.events", _("What happened, as recorded"), TraffickingEvent,
                           ["case", "kind", "country", "place", "started_on", "ended_on", "description"], [
            {"case": e.case.reference, "kind": display(e, "kind"), "country": str(e.country.name),
             "place": e.place, "started_on": e.started_on, "ended_on": e.ended_on,
             "description": e.description} for e in trafficking_events], extra=_case()))
    decisions = list(Identification.objects.filter(person=person).select_related("case"))
    if decisions:
        out.append(section("tip.identifications", _("Identification decisions"), Identification,
                           ["case", "status", "deciding_body", "decided_on", "reasons"], [
            {"case": d.case.reference, "status": display(d, "status"), "deciding_body": d.deciding_body,
             "decided_on": d.decided_on, "reasons": d.reasons} for d in decisions], extra=_case()))
    perpetrators = list(Perpetrator.objects.filter(person=person).select_related("case"))
    if perpetrators:
        fields = ["case", "role", "relation_to_victim"] + (["name", "description"] if internal else [])
        out.append(section("tip.perpetrators", _("People who took part in the trafficking"), Perpetrator,
                           fields, [
            {"case": p.case.reference, "role": display(p, "role"),
             "relation_to_victim": display(p, "relation_to_victim"),
             **({"name": p.name, "description": p.description} if internal else {})}
            for p in perpetrators], extra=_case()))
        if not internal:
            withheld.append(_("The names and descriptions of the people who took part in the "
                              "trafficking."))
    screenings = list(Screening.objects.filter(person=person).select_related("case"))
    if internal and screenings:
        out.append(section("tip.screenings", _("Screenings"), Screening,
                           ["case", "screened_on", "recommendation", "notes"], [
            {"case": s.case.reference, "screened_on": s.screened_on,
             "recommendation": display(s, "recommendation"), "notes": s.notes} for s in screenings],
            extra=_case()))
    elif screenings:
        withheld.append(_("The screening of your case."))
    # The risk screen at asylum registration: what the person said is theirs; where it led
    # (the trafficking case's reference) only with the internal records.
    registration = list(RegistrationScreen.objects.filter(person=person).select_related("case"))
    if registration:
        fields = ["case", "screened_on", "present", "suggested"] + (["referred_case"] if internal else [])
        out.append(section("tip.registration_screens", _("Trafficking risk screen"), RegistrationScreen,
                           fields, [
            {"case": r.case.reference, "screened_on": r.screened_on,
             "present": [str(known[c].label) for c in (r.present or []) if c in known],
             "suggested": r.suggested,
             **({"referred_case": r.referred_case.reference if r.referred_case else ""}
                if internal else {})}
            for r in registration], extra={**_case(), "referred_case": _("trafficking case")}))
    _support_sections(person, internal, out, withheld)
    return out, withheld


def _support_sections(person: Person, internal: bool, out: list[Section], withheld: list[str]) -> None:
    """The support plan, its services and the referrals are the person's; the risk assessment
    and a supervisor's reason to refer without consent are the office's working papers."""
    plans = list(SupportPlan.objects.filter(person=person).select_related("case"))
    if plans:
        out.append(section("tip.plans", _("Your support plan"), SupportPlan,
                           ["case", "objectives", "review_on"], [
            {"case": p.case.reference, "objectives": p.objectives, "review_on": p.review_on}
            for p in plans], extra=_case()))
    services = list(SupportService.objects.filter(person=person).select_related("case", "provider"))
    if services:
        out.append(section("tip.services", _("Services of your support plan"), SupportService, [
            "case", "kind", "provider", "planned_start", "planned_end", "actual_start", "actual_end",
            "status", "outcome"], [
            {"case": s.case.reference, "kind": display(s, "kind"),
             "provider": s.provider.name if s.provider else "", "planned_start": s.planned_start,
             "planned_end": s.planned_end, "actual_start": s.actual_start, "actual_end": s.actual_end,
             "status": display(s, "status"), "outcome": s.outcome} for s in services], extra=_case()))
    referrals = list(Referral.objects.filter(person=person).select_related("case", "organisation"))
    if referrals:
        fields = ["case", "organisation", "service_kind", "referred_on", "status", "details",
                  "without_consent"] + (["override_reason"] if internal else [])
        out.append(section("tip.referrals", _("Your referrals to other organisations"), Referral, fields, [
            {"case": r.case.reference, "organisation": r.organisation.name,
             "service_kind": display(r, "service_kind"), "referred_on": r.referred_on,
             "status": display(r, "status"), "details": r.details, "without_consent": r.without_consent,
             **({"override_reason": r.override_reason} if internal else {})}
            for r in referrals], extra=_case()))
    imported = list(ImportedReferral.objects.filter(person=person).select_related("case"))
    if imported:
        out.append(section("tip.imported_referrals", _("Referrals before your case came here"),
                           ImportedReferral, ["case", "direction", "organisation", "caseworker",
                                              "reason", "referred_on", "details"], [
            {"case": r.case.reference, "direction": display(r, "direction"),
             "organisation": r.organisation, "caseworker": r.caseworker,
             "reason": display(r, "reason"), "referred_on": r.referred_on, "details": r.details}
            for r in imported], extra=_case()))
    risks = list(RiskAssessment.objects.filter(person=person).select_related("case"))
    if internal and risks:
        out.append(section("tip.risks", _("Risk assessments"), RiskAssessment, [
            "case", "assessed_on", "individual", "individual_notes", "household", "household_notes",
            "community", "community_notes"], [
            {"case": r.case.reference, "assessed_on": r.assessed_on, "individual": display(r, "individual"),
             "individual_notes": r.individual_notes, "household": display(r, "household"),
             "household_notes": r.household_notes, "community": display(r, "community"),
             "community_notes": r.community_notes} for r in risks], extra=_case()))
    elif risks:
        withheld.append(_("The assessments of the risks you face."))


def register() -> None:
    subject_export.register("tip", sections)
