"""The configuration a system administrator keeps in the administration site, as the rest of
the system reads it (docs/architecture.md#configuration): the database source of
`cases.workflow.configured`, the version it changes on every save, what the admin pages show
beside each entry, and the system administrator's part of the dashboard."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access, workflow
from cases.dashboard import Section
from cases.models import (
    CaseKind,
    ConfigurationVersion,
    DeadlinePeriod,
    Holiday,
    Office,
    Organisation,
    PeriodUnit,
    Role,
    User,
)
from cases.workflow import configured

VERSION_ROW = 1


class DatabaseSource:
    """What `cases.workflow.configured` reads: the version row, then (once per version) every
    non-working day and deadline period (small tables: a few dozen rows)."""

    def version(self) -> str:
        token = ConfigurationVersion.objects.filter(pk=VERSION_ROW).values_list("token", flat=True).first()
        return token or ""

    def load(self) -> configured.Snapshot:
        closed: dict[str, set[datetime.date]] = {}
        for country, day in Holiday.objects.values_list("country", "date"):
            closed.setdefault(str(country), set()).add(day)
        periods: dict[str, dict[str, tuple[int, str]]] = {}
        for procedure, clock, days, unit in DeadlinePeriod.objects.values_list(
                "procedure", "clock", "days", "unit"):
            periods.setdefault(procedure, {})[clock] = (days, unit)
        return configured.Snapshot(closed_days={c: frozenset(d) for c, d in closed.items()},
                                   periods=periods)


def changed(**kwargs: Any) -> None:
    """A non-working day or a deadline period was saved or deleted: a new version, in the
    same transaction (a rolled-back change leaves the old one; a token never comes back)."""
    updated = ConfigurationVersion.objects.filter(pk=VERSION_ROW).update(token=uuid.uuid4().hex)
    if not updated:
        ConfigurationVersion.objects.get_or_create(pk=VERSION_ROW, defaults={"token": uuid.uuid4().hex})


def connect() -> None:
    """From CasesConfig.ready(): the database is the source, and every save is a new version."""
    configured.use(DatabaseSource())
    for model in (Holiday, DeadlinePeriod):
        models.signals.post_save.connect(changed, sender=model, dispatch_uid=f"config-{model.__name__}-save")
        models.signals.post_delete.connect(changed, sender=model,
                                           dispatch_uid=f"config-{model.__name__}-delete")


# --- What the admin pages show ---------------------------------------------------------------

def describe_period(days: int, unit: str) -> str:
    if unit == PeriodUnit.WORKING:
        return _("%(days)s working days") % {"days": days}
    return _("%(days)s calendar days") % {"days": days}


@dataclass
class ClockRow:
    procedure: str
    procedure_label: str
    clock: str
    label: str
    law: str        # the period the procedure defines
    settings: str   # as settings.AMPARO_DEADLINES changed it ("" when it did not)
    configured: DeadlinePeriod | None


def clock_rows() -> list[ClockRow]:
    """Every clock of every procedure with its period by law, by settings and as configured."""
    configured_rows = {(p.procedure, p.clock): p for p in DeadlinePeriod.objects.all()}
    rows = []
    for wf in sorted(workflow.registered(), key=lambda w: w.name):
        for clock in wf.clocks:
            law = workflow.law_clock(wf.name, clock.name) or clock
            by_settings = ("" if (law.days, law.unit) == (clock.days, clock.unit)
                           else describe_period(clock.days, clock.unit))
            rows.append(ClockRow(wf.name, str(wf.label), clock.name, str(clock.label),
                                 describe_period(law.days, law.unit), by_settings,
                                 configured_rows.get((wf.name, clock.name))))
    return rows


def procedure_choices() -> list[tuple[str, str]]:
    return [(wf.name, f"{wf.label} ({wf.name})")
            for wf in sorted(workflow.registered(), key=lambda w: w.name)]


def clock_choices() -> list[tuple[str, str]]:
    """Each clock name once, labelled as its first procedure calls it."""
    seen: dict[str, str] = {}
    for wf in sorted(workflow.registered(), key=lambda w: w.name):
        for c in wf.clocks:
            seen.setdefault(c.name, f"{c.label} ({c.name})")
    return sorted(seen.items())


def office_procedures(office: Office) -> list[str]:
    """The procedures the office's cases follow, one per kind of case (decided by its country)."""
    out = []
    for kind, label in CaseKind.choices:
        wf = workflow.for_kind(kind, office.country.code) if office.country else None
        if wf is not None:
            out.append(f"{label}: {wf.label} ({wf.name})")
    return out


def configures(user: User) -> bool:
    """Who keeps the configuration: superusers and system administrators (staff accounts)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return bool(user.is_superuser) or access.has_role(user, Role.SYSTEM_ADMIN)


# --- The dashboard ---------------------------------------------------------------------------

def dashboard_section(user: User) -> Section | None:
    """Counts of what is configured, with links to the administration site; no case content."""
    if not configures(user):
        return None
    year = timezone.localdate().year
    context = {
        "offices": Office.objects.filter(is_active=True).count(),
        "staff": User.objects.filter(is_active=True, memberships__isnull=False).distinct().count(),
        "holidays": Holiday.objects.filter(date__year=year).count(),
        "year": year,
        "periods": DeadlinePeriod.objects.count(),
        "organisations": Organisation.objects.filter(is_active=True).count(),
        "staff_link": bool(user.is_superuser),
    }
    return Section(template="cases/_configuration.html", context=context)
