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
from cases.models import Breach, BreachNature, BreachRisk, BreachStatus, Office, Role, User
from cases.selectors import Bounded, bounded_count

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
