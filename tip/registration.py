"""The trafficking risk screen at asylum registration (docs/domain/trafficking.md#at-asylum-registration).

A few HTCDS indicators (`indicators.REGISTRATION`) asked of an asylum applicant. Any one
present suggests a referral to the anti-trafficking office; with the person's consent to
referral, the referral opens a trafficking case for the same person in their office's
queue (or finds the one already open). The two cases keep their own access rules: the
asylum case's assignee, shares and grants open nothing of the trafficking case.

`tip` knows asylum cases only as `cases.Case` of kind asylum; `rsd` knows nothing of this:
the screen is shown on the case page as a `cases.sections` section.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access, consent, events, restriction, selectors, services
from cases.models import Case, CaseKind, ConsentPurpose, Person, User
from tip import indicators
from tip.models import RegistrationScreen
from tip.services import _check_date

CODES = {i.code for i in indicators.REGISTRATION}
YES, NO = "yes", "no"


@dataclass
class ScreenData:
    present: set[str]
    screened_on: datetime.date
    refer: bool = False
    consent: str = ""   # the person's answer to referral asked now: yes, no, or "" (not asked)
    language: str = ""  # the language it was explained in


def suggests(present: set[str]) -> bool:
    return bool(present & CODES)


def may_screen(user: User, case: Case) -> bool:
    return (case.kind == CaseKind.ASYLUM and access.can_edit_case(user, case)
            and not case.closed_at and not case.principal.erased_at
            and not case.principal.restricted_at)


def _check(data: ScreenData) -> None:
    errors: dict[str, str] = {}
    if data.present - CODES:
        errors["present"] = _("Unknown indicators.")
    _check_date(errors, "screened_on", data.screened_on)
    if data.consent not in ("", YES, NO):
        errors["consent"] = _("Choose from the list.")
    elif data.consent and not data.language:
        errors["language"] = _("Choose the language it was explained in.")
    if errors:
        raise ValidationError(errors)


def screen(*, by: User, case: Case, data: ScreenData) -> RegistrationScreen:
    """Record the screen of an asylum case; with `refer`, refer the person to the
    anti-trafficking office, which needs their consent to referral (given now, or current)."""
    if case.kind != CaseKind.ASYLUM:
        raise ValidationError(_("The trafficking risk screen is for asylum cases."))
    _check(data)
    if not may_screen(by, case):
        raise PermissionDenied(_("You cannot change this case."))
    if data.consent:  # the person's answer stands, whatever happens to the referral
        consent.record(by=by, person=case.principal, purpose=ConsentPurpose.REFERRAL,
                       given=data.consent == YES, language=data.language)
    refused = False
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).select_related("principal").get(pk=case.pk)
        if not may_screen(by, case):
            raise PermissionDenied(_("You cannot change this case."))
        restriction.ensure_processing_allowed(case.principal)
        # Under the person's row lock (the one a new answer takes): a withdrawal recorded
        # first refuses this referral.
        person = Person.objects.select_for_update().get(pk=case.principal_id)
        referred: Case | None = None
        if data.refer:
            if not consent.allows(person, ConsentPurpose.REFERRAL):
                refused = True
            else:
                referred = _trafficking_case(by, person)
        if not refused:
            made = RegistrationScreen(case=case, person=person, screened_on=data.screened_on,
                                      present=sorted(data.present), suggested=suggests(data.present),
                                      referred_case=referred, screened_by=by)
            made.save()
            events.emit("tip.registration_screen", actor=by, obj=case, screen=str(made.pk),
                        suggested=made.suggested, referred=referred is not None,
                        trafficking_case=str(referred.pk) if referred else "")
    if refused:  # on the record, after the (empty) transaction
        events.emit("tip.registration_screen", actor=by, obj=case, outcome="refused",
                    reason="no_consent")
        raise ValidationError({"consent": _(
            "A referral needs the person's consent to referral. Ask them, and record their "
            "answer here.")})
    return made


def _trafficking_case(by: User, person: Person) -> Case:
    """The person's open trafficking case in their office, or a new one in its queue."""
    open_case = (Case.objects.filter(principal=person, office_id=person.office_id,
                                     kind=CaseKind.TRAFFICKING, closed_at__isnull=True)
                 .order_by("opened_at").first())
    if open_case is not None:
        return open_case
    return services.open_case(by=by, person=person, kind=CaseKind.TRAFFICKING, assign_to_me=False,
                              reason=str(_("Referred by the trafficking risk screen at asylum "
                                           "registration.")))


def latest(case: Case) -> RegistrationScreen | None:
    return RegistrationScreen.objects.filter(case=case).select_related("screened_by").first()


def card(user: User, case: Case) -> tuple[str, dict[str, Any]] | None:
    """The screen's card on an asylum case page (a `cases.sections` section): to who works on
    the case."""
    if case.kind != CaseKind.ASYLUM or not access.reads_records(user, case):
        return None
    # One statement; the answers are not shown here, so not read (nor opened).
    screen = (RegistrationScreen.objects.filter(case=case).select_related("referred_case")
              .defer("present").first())
    referred = screen.referred_case if screen and screen.referred_case_id else None
    return "tip/_registration_card.html", {
        "case": case, "screen": screen, "may_screen": may_screen(user, case),
        "referred": referred,
        "referred_visible": bool(referred and selectors.visible_cases(user).filter(
            pk=referred.pk).exists()),
        "today": timezone.localdate(),
    }
