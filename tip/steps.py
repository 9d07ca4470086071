"""One page per step of the trafficking procedure: its form, what it shows of the case above
the form, and the service it calls (the framework around them is `cases.steps`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.steps import Step, StepPage
from tip import forms as tip_forms
from tip import indicators, selectors, services
from tip.names import Steps
from tip.panel import profile_labels
from tip.procedures import identifying_body


def _profile_form(step: Step, data: Any) -> forms.Form:
    # A profile imported with the case (tip.importing) is where the step starts from.
    profile = selectors.profile_of(step.case)
    initial = {name: getattr(profile, name) for name in services.PROFILE_FIELDS} if profile else {}
    return tip_forms.ProfileStepForm(data, initial={**initial, **step.initial()})


def _record_profile(step: Step, form: Any) -> tuple[str, str]:
    services.record_profile(by=step.user, case=step.case, data=form.data_object(),
                            expected_step=step.expected)
    return _("Victim profile recorded."), ""


def _screening_form(step: Step, data: Any) -> forms.Form:
    return tip_forms.ScreeningForm(data, asked=indicators.for_office(step.case.office_id),
                                   initial=step.initial(screened_on=timezone.localdate()))


def _screen(step: Step, form: Any) -> tuple[str, str]:
    d = form.cleaned_data
    screening = services.screen(by=step.user, case=step.case, present=form.present(), notes=d["notes"],
                                screened_on=d["screened_on"], expected_step=step.expected)
    return _("Screening recorded. Recommendation: %(recommendation)s.") % {
        "recommendation": screening.get_recommendation_display()}, ""


def _show_profile(step: Step) -> dict[str, Any]:
    profile = selectors.profile_of(step.case)
    return {"profile": profile, **profile_labels(profile)}


def _identification_form(step: Step, data: Any) -> forms.Form:
    return tip_forms.IdentificationForm(data, initial=step.initial(
        decided_on=timezone.localdate(), body_type=identifying_body(step.case.office.country.code).body_type))


def _identify(step: Step, form: Any) -> tuple[str, str]:
    services.identify(by=step.user, case=step.case, data=form.data_object(),
                      expected_step=step.expected)
    return _("Identification decision recorded."), ""


def _show_screening(step: Step) -> dict[str, Any]:
    screening = selectors.latest_screening(step.case)
    known = {i.code: i for i in indicators.DEFAULT}
    return {"profile": selectors.profile_of(step.case), "screening": screening,
            "present": [known[c].label for c in (screening.present or []) if c in known] if screening else [],
            "authority": identifying_body(step.case.office.country.code).name}


def _plain_form(step: Step, data: Any) -> forms.Form:
    grounds = services.STEP_GROUNDS.get(step.name)
    return tip_forms.PlainStepForm(data, grounds=grounds.choices if grounds else None,
                                   reason_required=step.transition.needs_reason, initial=step.initial())


def _plain(step: Step, form: Any) -> tuple[str, str]:
    d = form.cleaned_data
    services.take_step(by=step.user, case=step.case, name=step.name, reason=d["reason"],
                       ground=d.get("ground", ""), expected_step=step.expected)
    return _("Recorded: %(step)s.") % {"step": step.transition.label}, ""


_SCREENING = "tip/_show_screening.html"

PAGES: dict[str, StepPage] = {
    Steps.RECORD_PROFILE: StepPage(_profile_form, _record_profile),
    Steps.SCREEN: StepPage(_screening_form, _screen, _show_profile, "tip/_show_profile.html"),
    Steps.IDENTIFY: StepPage(_identification_form, _identify, _show_screening, _SCREENING),
    **{name: StepPage(_plain_form, _plain, _show_screening, _SCREENING) for name in services.PLAIN_STEPS},
}
