"""The breach log (docs/architecture.md#registers): anyone of an office reports a suspected
personal data breach; the office's supervisors manage it (risk, containment, notifications,
status); its auditors read it. The focal point or authority is to be told within
`AMPARO_BREACH_NOTIFY_HOURS` (72) hours of discovery: the supervisors' dashboard counts the
breaches past that clock and not yet notified.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import events, keystore, texts, updates
from cases.access import offices_where
from cases.models import (
    Breach,
    BreachNature,
    BreachPerson,
    BreachRisk,
    BreachStatus,
    Case,
    Office,
    Role,
    User,
)
from cases.selectors import Bounded, bounded_count, visible_people

DEFAULT_NOTIFY_HOURS = 72

# Every role of an office may report a breach it noticed.
REPORTING_ROLES = (Role.CASEWORKER, Role.SUPERVISOR, Role.AUDITOR, Role.OFFICE_ADMIN)


def notify_hours() -> int:
    return int(getattr(settings, "AMPARO_BREACH_NOTIFY_HOURS", DEFAULT_NOTIFY_HOURS))


def notify_by(breach: Breach) -> datetime.datetime:
    return breach.discovered_at + datetime.timedelta(hours=notify_hours())


def notification_overdue(breach: Breach, now: datetime.datetime | None = None) -> bool:
    return (breach.status != BreachStatus.CLOSED and breach.focal_point_notified_at is None
            and notify_by(breach) < (now or timezone.now()))


# --- Who may do what ---------------------------------------------------------------------------

def reporting_offices(user: User) -> QuerySet[Office]:
    return Office.objects.filter(pk__in=offices_where(user, *REPORTING_ROLES)).order_by("code")


def supervises(user: User, breach: Breach) -> bool:
    return breach.office_id in offices_where(user, Role.SUPERVISOR)


def visible_breaches(user: User) -> QuerySet[Breach]:
    """The breaches of the offices where the user supervises or audits."""
    if not user.is_authenticated or not user.is_active:
        return Breach.objects.none()
    offices = offices_where(user, Role.SUPERVISOR, Role.AUDITOR)
    return Breach.objects.filter(office__in=offices).select_related("office", "reported_by")


def get_breach(user: User, pk: uuid.UUID | str) -> Breach:
    try:
        return visible_breaches(user).get(pk=pk)
    except (Breach.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such breach.") from None


def open_counts(user: User) -> tuple[Bounded, Bounded]:
    """(not closed, past the notification clock and not notified) breaches of the offices the
    user supervises, counted no further than a page shows."""
    offices = offices_where(user, Role.SUPERVISOR)
    mine = Breach.objects.filter(office__in=offices).exclude(status=BreachStatus.CLOSED)
    late = mine.filter(focal_point_notified_at__isnull=True,
                       discovered_at__lt=timezone.now() - datetime.timedelta(hours=notify_hours()))
    return bounded_count(mine), bounded_count(late)


# --- Writes -----------------------------------------------------------------------------------------

@transaction.atomic
def report_breach(*, by: User, office: Office, discovered_at: datetime.datetime, nature: str,
                  description: str) -> Breach:
    """A suspected breach, as whoever noticed it saw it."""
    if office.pk not in offices_where(by, *REPORTING_ROLES):
        raise PermissionDenied(_("Report a breach to an office you work in."))
    description = description.strip()
    errors: dict[str, str] = {}
    if nature not in BreachNature.values:
        errors["nature"] = _("Choose what kind of breach it is.")
    if discovered_at > timezone.now():
        errors["discovered_at"] = _("This date is in the future.")
    if not description:
        errors["description"] = _("Say what happened.")
    texts.check(errors, {"description": (description, texts.NOTE)})
    if errors:
        raise ValidationError(errors)
    breach = Breach(office=office, discovered_at=discovered_at, nature=nature,
                    office_key=keystore.ensure_office_key(office.pk), description=description,
                    reported_by=by)
    updates.stamp(breach, by=by)
    breach.save()
    events.emit("breach.report", actor=by, obj=breach, office=office.pk, nature=nature)
    return breach


@transaction.atomic
def manage_breach(*, by: User, breach: Breach, risk: str, status: str, categories: str,
                  people_count: int | None, occurred_from: datetime.date | None,
                  occurred_to: datetime.date | None, actions: str,
                  focal_point_notified_at: datetime.datetime | None,
                  people_notified_at: datetime.datetime | None, reason: str = "") -> Breach:
    """A supervisor of the office records the assessment, what was done and who was told."""
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    if not supervises(by, breach):
        raise PermissionDenied(_("Only a supervisor of the office manages its breaches."))
    if breach.status == BreachStatus.CLOSED:
        raise ValidationError(_("This breach is closed."))
    actions, categories = actions.strip(), categories.strip()
    now = timezone.now()
    errors: dict[str, str] = {}
    if risk not in BreachRisk.values:
        errors["risk"] = _("Choose the risk.")
    if status not in BreachStatus.values:
        errors["status"] = _("Choose the status.")
    if occurred_from and occurred_to and occurred_to < occurred_from:
        errors["occurred_to"] = _("This date is before the start.")
    for name, when in (("focal_point_notified_at", focal_point_notified_at),
                       ("people_notified_at", people_notified_at)):
        if when and when > now:
            errors[name] = _("This date is in the future.")
        elif when and when < breach.discovered_at:
            errors[name] = _("This is before the breach was discovered.")
    named = BreachPerson.objects.filter(breach=breach).count()
    if people_count is not None and people_count < named:
        errors["people_count"] = _("%(count)d people are named as affected: the number "
                                   "cannot be lower.") % {"count": named}
    if status == BreachStatus.CLOSED and not actions and "actions" not in errors:
        errors["actions"] = _("Say what was done before closing the breach.")
    texts.check(errors, {"actions": (actions, texts.NOTE), "categories": (categories, texts.SHORT),
                         "reason": (reason, texts.SHORT)})
    if errors:
        raise ValidationError(errors)
    before = breach.status
    breach.risk, breach.status, breach.categories = risk, status, categories
    breach.people_count, breach.actions = people_count, actions
    breach.occurred_from, breach.occurred_to = occurred_from, occurred_to
    breach.focal_point_notified_at = focal_point_notified_at
    breach.people_notified_at = people_notified_at
    updates.stamp(breach, by=by, reason=reason)
    breach.save()
    events.emit("breach.update", actor=by, obj=breach, status=status, previous=before,
                risk=risk, notified=focal_point_notified_at is not None)
    return breach


# --- The people affected ----------------------------------------------------------------------

# How many case references one form may name at once.
MAX_REFERENCES = 200


def named_people(user: User, breach: Breach) -> list[BreachPerson]:
    """The people named on the breach, each with `shown`: whether this user may see the
    person (their name, linked); the others are shown by their case's reference only."""
    links = list(BreachPerson.objects.filter(breach=breach)
                 .select_related("person", "case").order_by("added_at", "pk"))
    seen = set(visible_people(user).filter(pk__in=[link.person_id for link in links])
               .values_list("pk", flat=True))
    for link in links:
        link.shown = link.person_id in seen and not link.person.erased_at  # type: ignore[attr-defined]
    return links


def _references(text: str) -> list[str]:
    return list(dict.fromkeys(r for r in text.replace(",", " ").split() if r))


@transaction.atomic
def name_people(*, by: User, breach: Breach, references: str) -> list[BreachPerson]:
    """A supervisor names the people affected, by the references of their cases: the
    principal of each case. Only cases and people of the offices the supervisor supervises;
    a reference outside them is refused as if it did not exist. The approximate count is
    raised to the number named when it was lower (or not given)."""
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    if not supervises(by, breach):
        raise PermissionDenied(_("Only a supervisor of the office manages its breaches."))
    if breach.status == BreachStatus.CLOSED:
        raise ValidationError(_("This breach is closed."))
    refs = _references(references)
    if not refs:
        raise ValidationError({"references": _("Give the reference of at least one case.")})
    if len(refs) > MAX_REFERENCES:
        raise ValidationError({"references": _("At most %(max)d references at once.")
                               % {"max": MAX_REFERENCES}})
    offices = offices_where(by, Role.SUPERVISOR)
    cases = {c.reference: c for c in Case.objects.filter(
        reference__in=refs, office__in=offices, principal__office__in=offices)}
    unknown = [r for r in refs if r not in cases]
    if unknown:
        raise ValidationError({"references": _("No case of your offices has the reference "
                                               "%(refs)s.") % {"refs": ", ".join(unknown[:10])}})
    already = set(BreachPerson.objects.filter(breach=breach).values_list("person_id", flat=True))
    added = []
    for ref in refs:
        case = cases[ref]
        if case.principal_id in already:
            continue
        already.add(case.principal_id)
        added.append(BreachPerson.objects.create(breach=breach, person_id=case.principal_id,
                                                 case=case, added_by=by))
    if added and (breach.people_count or 0) < len(already):
        breach.people_count = len(already)
        updates.stamp(breach, by=by, reason="")
        breach.save(update_fields=["people_count"])
    events.emit("breach.people", actor=by, obj=breach, added=[str(a.person_id) for a in added],
                removed=[], named=len(already))
    return added


@transaction.atomic
def unname_person(*, by: User, breach: Breach, link_id: uuid.UUID | str) -> None:
    """A person named by mistake is taken off (the audit log keeps that they were named).
    The approximate count stays as it was: the supervisor corrects it if it was wrong."""
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    if not supervises(by, breach):
        raise PermissionDenied(_("Only a supervisor of the office manages its breaches."))
    if breach.status == BreachStatus.CLOSED:
        raise ValidationError(_("This breach is closed."))
    try:
        link = BreachPerson.objects.get(pk=link_id, breach=breach)
    except (BreachPerson.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such person on this breach.") from None
    link.delete()
    events.emit("breach.people", actor=by, obj=breach, added=[], removed=[str(link.person_id)],
                named=BreachPerson.objects.filter(breach=breach).count())
