"""The asylum procedure's part of a person's copy of their data (cases/subject_export.py):
their applications, relatives on them, interviews, decisions and appeals. The
eligibility assessments and the interviewer's notes are the office's working papers: in
the copy only when a supervisor includes them."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cases import subject_export
from cases.models import Person
from cases.subject_export import Section, display, section
from cases.vocab import language_name, specific_need_label
from rsd.models import (
    Appeal,
    Application,
    Decision,
    EligibilityAssessment,
    FamilyMember,
    Interview,
    Stage,
)


def _case_label() -> dict[str, str]:
    return {"case": _("case")}


def sections(person: Person, internal: bool) -> tuple[list[Section], list[str]]:
    out: list[Section] = []
    withheld: list[str] = []
    apps = list(Application.objects.filter(person=person).select_related("case"))
    if apps:
        out.append(section("rsd.applications", _("Your applications for refugee status"), Application, [
            "case", "application_date", "arrival_date", "place_of_entry", "channel", "modality",
            "claim_summary", "narrative", "specific_needs", "interpreter_language",
            "interviewer_gender", "late_justification"], [
            {"case": a.case.reference, "application_date": a.application_date,
             "arrival_date": a.arrival_date, "place_of_entry": a.place_of_entry,
             "channel": display(a, "channel"), "modality": display(a, "modality"),
             "claim_summary": a.claim_summary, "narrative": a.narrative,
             "specific_needs": [specific_need_label(c) for c in a.specific_needs or []],
             "interpreter_language": language_name(a.interpreter_language) if a.interpreter_language else "",
             "interviewer_gender": display(a, "interviewer_gender"),
             "late_justification": a.late_justification} for a in apps],
            extra=_case_label()))
    cases = [a.case for a in apps]
    relatives = list(FamilyMember.objects.filter(case__in=cases).select_related("case", "person")
                     .order_by("case_id", "pk"))
    if relatives:
        out.append(section("rsd.family_members", _("Relatives on your applications"), FamilyMember,
                           ["case", "name", "relationship", "accompanying"], [
            {"case": m.case.reference, "name": m.person.full_name,
             "relationship": display(m, "relationship"), "accompanying": m.accompanying}
            for m in relatives], extra={**_case_label(), "name": _("name")}))
    interviews = list(Interview.objects.filter(person=person).select_related("case")
                      .order_by("scheduled_for"))
    if interviews:
        fields = ["case", "scheduled_for", "place", "interpreter_language", "status", "transcript"]
        if internal:
            fields.append("notes")
        out.append(section("rsd.interviews", _("Your interviews"), Interview, fields, [
            {"case": i.case.reference, "scheduled_for": i.scheduled_for, "place": i.place,
             "interpreter_language": language_name(i.interpreter_language) if i.interpreter_language else "",
             "status": display(i, "status"), "transcript": i.transcript,
             **({"notes": i.notes} if internal else {})} for i in interviews],
            extra=_case_label()))
        if not internal and any(i.notes for i in interviews):
            withheld.append(_("The interviewer's notes."))
    decisions_qs = Decision.objects.filter(person=person)
    if not internal:
        if (recommended := decisions_qs.filter(stage=Stage.RECOMMENDATION).count()):
            withheld.append(_("Recommendations made before the decision (%(count)d).")
                            % {"count": recommended})
        decisions_qs = decisions_qs.exclude(stage=Stage.RECOMMENDATION)
    decisions = list(decisions_qs.select_related("case").order_by("decided_on"))
    if decisions:
        out.append(section("rsd.decisions", _("Decisions"), Decision, [
            "case", "stage", "decided_on", "outcome", "legal_basis", "reasons", "delivered_on",
            "appeal_due_on"], [
            {"case": d.case.reference, "stage": display(d, "stage"), "decided_on": d.decided_on,
             "outcome": display(d, "outcome"), "legal_basis": display(d, "legal_basis"),
             "reasons": d.reasons, "delivered_on": d.delivered_on, "appeal_due_on": d.appeal_due_on}
            for d in decisions], extra={**_case_label(), "stage": _("decision")}))
    appeals = list(Appeal.objects.filter(person=person).select_related("case").order_by("lodged_on"))
    if appeals:
        out.append(section("rsd.appeals", _("Your appeals"), Appeal,
                           ["case", "lodged_on", "grounds", "late_justification"], [
            {"case": a.case.reference, "lodged_on": a.lodged_on, "grounds": a.grounds,
             "late_justification": a.late_justification} for a in appeals], extra=_case_label()))
    assessments = EligibilityAssessment.objects.filter(person=person).select_related("case")
    if internal:
        rows = [{"case": a.case.reference, "credibility": a.credibility,
                 "material_facts": a.material_facts, "inclusion": a.inclusion,
                 "exclusion": a.exclusion, "recommendation": display(a, "recommendation")}
                for a in assessments]
        if rows:
            out.append(section("rsd.assessments", _("Eligibility assessments"), EligibilityAssessment,
                               ["case", "credibility", "material_facts", "inclusion", "exclusion",
                                "recommendation"], rows, extra=_case_label()))
    elif assessments.exists():
        withheld.append(_("The eligibility assessment of your claim."))
    return out, withheld


def register() -> None:
    subject_export.register("rsd", sections)
