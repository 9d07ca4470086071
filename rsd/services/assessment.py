"""The eligibility assessment: drafts, submission and review."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access, events, restriction, texts, updates, workflow
from cases.models import Case, CaseStep, Person, User
from rsd import selectors as rsd_selectors
from rsd.models import (
    AssessmentStatus,
    CartagenaGround,
    CoiSource,
    ConventionGround,
    EligibilityAssessment,
    Outcome,
)
from rsd.names import States, Steps
from rsd.services._common import as_of_lock, check_asylum_case, raise_errors


@dataclass
class AssessmentData:
    credibility: str = ""
    material_facts: str = ""
    inclusion: str = ""
    convention_grounds: list[str] = field(default_factory=list)
    cartagena_grounds: list[str] = field(default_factory=list)
    exclusion: str = ""
    exclusion_applies: bool = False
    coi_source_ids: list[int] = field(default_factory=list)
    recommendation: str = ""


def _check_assessment(case: Case, data: AssessmentData, complete: bool) -> list[CoiSource]:
    errors: dict[str, str] = {}
    if set(data.convention_grounds) - set(ConventionGround.values):
        errors["convention_grounds"] = _("Unknown grounds.")
    if set(data.cartagena_grounds) - set(CartagenaGround.values):
        errors["cartagena_grounds"] = _("Unknown grounds.")
    sources = list(CoiSource.objects.filter(pk__in=data.coi_source_ids, office=case.office, is_active=True))
    if len(sources) != len(set(data.coi_source_ids)):
        errors["coi_sources"] = _("Cite sources from this office's library only.")
    if data.recommendation and data.recommendation not in Outcome.values:
        errors["recommendation"] = _("Choose a recommendation.")
    texts.check(errors, {name: (getattr(data, name).strip(), texts.LONG)
                         for name in ("credibility", "material_facts", "inclusion", "exclusion")})
    if complete:
        for name in ("credibility", "material_facts", "inclusion"):
            if not getattr(data, name).strip() and name not in errors:
                errors[name] = _("This part of the assessment is needed before review.")
        if not data.recommendation:
            errors["recommendation"] = _("Choose a recommendation.")
        if data.recommendation == Outcome.RECOGNIZED:
            if not (data.convention_grounds or data.cartagena_grounds):
                errors["convention_grounds"] = _("A recognition needs at least one ground.")
            if data.exclusion_applies:
                errors["exclusion_applies"] = _("An exclusion clause applies: recognition is not possible.")
        if data.exclusion_applies and not data.exclusion.strip() and "exclusion" not in errors:
            errors["exclusion"] = _("Explain the exclusion considerations.")
    raise_errors(errors)
    return sources


def _fill(assessment: EligibilityAssessment, data: AssessmentData) -> None:
    for name in ("credibility", "material_facts", "inclusion", "exclusion"):
        setattr(assessment, name, getattr(data, name).strip())
    assessment.convention_grounds = sorted(set(data.convention_grounds))
    assessment.cartagena_grounds = sorted(set(data.cartagena_grounds))
    assessment.exclusion_applies = data.exclusion_applies
    assessment.recommendation = data.recommendation


def _check_version(case: Case, expected: str | None) -> EligibilityAssessment | None:
    current = rsd_selectors.current_assessment(case)
    if expected is not None and rsd_selectors.assessment_version(current) != expected:
        raise ValidationError(_("Someone else saved this assessment a moment ago. Nothing of yours was "
                                "saved: look at their version before you go on."))
    return current


@transaction.atomic
def save_assessment(*, by: User, case: Case, data: AssessmentData,
                    expected_version: str | None = None) -> EligibilityAssessment:
    """Save a draft of the eligibility assessment (nothing moves)."""
    check_asylum_case(case)
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not access.can_edit_case(by, case):
        raise PermissionDenied(_("You cannot change this case."))
    restriction.ensure_processing_allowed(Person.objects.get(pk=case.principal_id))
    if case.state != States.INTERVIEWED:
        raise ValidationError(_("The assessment is written after the interview, before review."))
    sources = _check_assessment(case, data, complete=False)
    assessment = _check_version(case, expected_version) or EligibilityAssessment(
        case=case, person_id=case.principal_id, author=by)
    _fill(assessment, data)
    assessment.status = AssessmentStatus.DRAFT
    updates.stamp(assessment, by=by)
    assessment.save()
    assessment.coi_sources.set(sources)
    events.emit("rsd.assessment.save", actor=by, obj=case, assessment=str(assessment.pk))
    return assessment


def submit_assessment(*, by: User, case: Case, data: AssessmentData, expected_step: int | None = None,
                      expected_version: str | None = None) -> EligibilityAssessment:
    check_asylum_case(case)
    sources = _check_assessment(case, data, complete=True)
    made: list[EligibilityAssessment] = []

    def effect(case: Case, step: CaseStep) -> dict[str, Any]:
        assessment = _check_version(case, expected_version) or EligibilityAssessment(
            case=case, person_id=case.principal_id, author=by)
        _fill(assessment, data)
        assessment.author = by
        assessment.status = AssessmentStatus.SUBMITTED
        assessment.submitted_at = timezone.now()
        updates.stamp(assessment, by=by)
        assessment.save()
        assessment.coi_sources.set(sources)
        made.append(assessment)
        return {"assessment": str(assessment.pk), "recommendation": data.recommendation}

    workflow.fire(case=case, name=Steps.SUBMIT_ASSESSMENT, by=by, expected_step=expected_step, effect=effect)
    return made[0]


def review_assessment(*, by: User, case: Case, approve: bool, comments: str = "",
                      expected_step: int | None = None) -> EligibilityAssessment:
    """Return the assessment with comments, or approve it for the deciding body (BZ, CR)."""
    check_asylum_case(case)
    workflow.ensure_fresh(case, expected_step)
    assessment = rsd_selectors.submitted_assessment(case, to_show=False)
    if assessment is None:
        raise ValidationError(_("No assessment is waiting for review."))
    seen, found = case.step_no, assessment
    made: list[EligibilityAssessment] = []

    def effect(case: Case, step: CaseStep) -> dict[str, Any]:
        fresh = as_of_lock(found, case, seen)
        made.append(fresh)
        fresh.status = AssessmentStatus.APPROVED if approve else AssessmentStatus.RETURNED
        fresh.reviewed_by, fresh.reviewed_at = by, timezone.now()
        if comments.strip():  # an approval without comments keeps those of an earlier return
            fresh.review_comments = comments.strip()
        updates.stamp(fresh, by=by)
        fresh.save()
        return {"assessment": str(fresh.pk)}

    workflow.fire(case=case, name=Steps.APPROVE_ASSESSMENT if approve else Steps.RETURN_ASSESSMENT, by=by,
                  reason=comments, expected_step=expected_step, effect=effect)
    return made[0]
