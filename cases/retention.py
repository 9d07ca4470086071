"""Retention schedules (docs/architecture.md#retention): what each record type keeps, for how
long, and the run that erases, anonymises or deletes what is past its period.

Record types are registered here (`register`); the asylum procedure registers its own from
rsd/retention.py (`cases` imports no app). A person type yields people: they are crypto-shredded
with `services.shred_person` (reason "retention period ended") unless something holds them
(`blockers`, and the apps' `register_blocker`). A technical type yields rows to delete or
anonymise. Each object is handled in its own transaction, the person row locked: a run that
stops is resumed by the next one, and two runs at once never erase a person twice.
"""

from __future__ import annotations

import calendar
import datetime
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases import events, services, texts, updates
from cases.access import offices_where
from cases.crypto import datakeys, files
from cases.models import (
    Case,
    ErasureCode,
    ImportJob,
    LoginCounter,
    Notification,
    Person,
    RequestStatus,
    RetentionAction,
    RetentionRule,
    RetentionRun,
    Role,
    SubjectRequest,
    User,
)

log = logging.getLogger(__name__)

BATCH = 200

# Objects due under a rule: (cutoff date, offices the rule covers or None for all, offices
# excluded because they have their own rule) -> queryset.
Due = Callable[[datetime.date, "OfficeScope"], QuerySet[Any]]
Act = Callable[[Any], None]
Blocker = Callable[[Person], bool]


@dataclass(frozen=True)
class OfficeScope:
    only: int | None = None           # the rule of one office
    exclude: frozenset[int] = frozenset()  # a global rule: not these offices (they have theirs)

    def q(self, path: str) -> Q:
        if self.only is not None:
            return Q(**{path: self.only})
        return ~Q(**{f"{path}__in": self.exclude}) if self.exclude else Q()


@dataclass(frozen=True)
class RecordType:
    code: str
    label: str | Promise
    counts_from: str | Promise   # the event the period counts from, as shown to people
    due: Due
    actions: tuple[str, ...]     # RetentionAction values the type allows
    people: bool = False         # yields Person rows (erased with shred_person)
    per_office: bool = True
    anonymise: Act | None = None
    before_delete: Act | None = None  # e.g. destroy the row's own key and files


_types: dict[str, RecordType] = {}
_blockers: dict[str, tuple[str | Promise, Blocker]] = {}


def register(record_type: RecordType) -> None:
    _types[record_type.code] = record_type


def register_blocker(code: str, label: str | Promise, held: Blocker) -> None:
    """An app's reason never to erase a person (e.g. a pending appeal)."""
    _blockers[code] = (label, held)


def record_types() -> dict[str, RecordType]:
    return dict(_types)


def record_type_label(code: str) -> str:
    rt = _types.get(code)
    return str(rt.label) if rt else code


# --- Dates -------------------------------------------------------------------------------------

def cutoff(today: datetime.date, *, years: int = 0, months: int = 0, days: int = 0) -> datetime.date:
    """The last day whose records are due on `today`: an event on the cutoff is due, one the
    day after is not. Months that lack the day end on their last day (31 March - 1 month
    is 28 or 29 February)."""
    total = today.year * 12 + (today.month - 1) - years * 12 - months
    year, month = divmod(total, 12)
    month += 1
    day = min(today.day, calendar.monthrange(year, month)[1])
    return datetime.date(year, month, day) - datetime.timedelta(days=days)


def rule_cutoff(rule: RetentionRule, today: datetime.date) -> datetime.date:
    return cutoff(today, years=rule.years, months=rule.months, days=rule.days)


# --- What holds a person ------------------------------------------------------------------------

SKIP_LABELS: dict[str, str | Promise] = {
    "legal_hold": _("legal hold"),
    "open_case": _("an open case"),
    "open_request": _("an open data protection request"),
    "restricted": _("processing restricted"),
}


def skip_labels() -> dict[str, str | Promise]:
    return {**SKIP_LABELS, **{code: label for code, (label, _h) in _blockers.items()}}


def blockers(person: Person) -> list[str]:
    """Why `person` may not be erased now, in any office: [] when nothing holds them."""
    reasons = []
    if person.legal_hold:
        reasons.append("legal_hold")
    if person.restricted_at is not None:
        reasons.append("restricted")
    open_cases = Case.objects.filter(closed_at__isnull=True)
    if open_cases.filter(Q(principal=person) | Q(people=person)).exists():
        reasons.append("open_case")
    if SubjectRequest.objects.filter(person=person, status=RequestStatus.OPEN).exists():
        reasons.append("open_request")
    reasons += [code for code, (_label, held) in _blockers.items() if held(person)]
    return reasons


# --- The run ------------------------------------------------------------------------------------

@dataclass
class RuleReport:
    rule: RetentionRule
    due: int = 0
    erased: int = 0
    anonymised: int = 0
    deleted: int = 0
    failed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    # The same counts per office of the objects ("" for objects of no office: staff login
    # counters), so that each office's staff read only theirs (`scoped_rules`).
    offices: dict[str, dict[str, Any]] = field(default_factory=dict)

    COUNTS = ("due", "erased", "anonymised", "deleted", "failed")

    def mark(self) -> tuple[tuple[int, ...], Counter[str]]:
        return tuple(getattr(self, n) for n in self.COUNTS), Counter(self.skipped)

    def settle(self, office: str, mark: tuple[tuple[int, ...], Counter[str]]) -> None:
        """Add what changed since `mark` to the office's counts."""
        counts, skipped = mark
        mine = self.offices.setdefault(office, {**dict.fromkeys(self.COUNTS, 0), "skipped": {}})
        for name, before in zip(self.COUNTS, counts, strict=True):
            mine[name] += getattr(self, name) - before
        for reason, n in (self.skipped - skipped).items():
            mine["skipped"][reason] = mine["skipped"].get(reason, 0) + n

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule.pk, "record_type": self.rule.record_type,
                "office": self.rule.office_id, "action": self.rule.action,
                "acting": self.rule.destructive, "due": self.due, "erased": self.erased,
                "anonymised": self.anonymised, "deleted": self.deleted,
                "skipped": dict(sorted(self.skipped.items())), "failed": self.failed}


def _scope(rule: RetentionRule, rules: Iterable[RetentionRule]) -> OfficeScope:
    if rule.office_id is not None:
        return OfficeScope(only=rule.office_id)
    return OfficeScope(exclude=frozenset(r.office_id for r in rules
                                         if r.record_type == rule.record_type and r.office_id))


def _erase(pk: Any, report: RuleReport) -> bool:
    """One person, locked: True when erased now."""
    with transaction.atomic():
        person = Person.objects.select_for_update().filter(pk=pk, erased_at__isnull=True).first()
        if person is None:  # erased meanwhile (another run, a request)
            return False
        reasons = blockers(person)
        if reasons:
            report.skipped.update(reasons)
            return False
        services.shred_person(by=None, person=person, code=ErasureCode.RETENTION)
        return True


def _act(rt: RecordType, rule: RetentionRule, obj: Any, report: RuleReport) -> None:
    if rt.people:
        if _erase(obj.pk, report):
            report.erased += 1
        return
    with transaction.atomic():
        locked = type(obj).objects.select_for_update().filter(pk=obj.pk).first()
        if locked is None:
            return
        if rule.action == RetentionAction.ANONYMISE and rt.anonymise is not None:
            rt.anonymise(locked)
            report.anonymised += 1
        else:
            if rt.before_delete is not None:
                rt.before_delete(locked)
            locked.delete()
            report.deleted += 1


def _peek_person(pk: Any, report: RuleReport) -> None:
    """Report-only: what would hold the person, without touching them."""
    person = Person.objects.get(pk=pk)
    report.skipped.update(blockers(person))


def run(*, today: datetime.date | None = None, dry_run: bool = False, limit: int | None = None,
        by: User | None = None, via: str = "command") -> RetentionRun:
    """Apply every enabled rule as of `today`; at most `limit` records erased, anonymised or
    deleted. A failure is reported and the run goes on."""
    today = today or timezone.localdate()
    record = RetentionRun.objects.create(today=today, dry_run=dry_run, limit=limit,
                                         started_by=by, via=via)
    rules = list(RetentionRule.objects.filter(enabled=True).order_by("record_type", "office_id",
                                                                     "pk"))
    reports: list[RuleReport] = []
    errors: list[dict[str, Any]] = []
    done = failed = 0
    for rule in rules:
        rt = _types.get(rule.record_type)
        report = RuleReport(rule)
        reports.append(report)
        if rt is None or rule.action not in rt.actions:
            errors.append({"rule": rule.pk, "object": None, "error": "unknown record type or action"})
            report.failed += 1
            failed += 1
            continue
        if rule.office_id is not None and not rt.per_office:
            continue
        due = rt.due(rule_cutoff(rule, today), _scope(rule, rules)).order_by("pk")
        acting = rule.destructive and not dry_run
        last = None
        while True:
            page = due.filter(pk__gt=last) if last is not None else due
            batch = list(page[:BATCH])
            if not batch:
                break
            last = batch[-1].pk
            for obj in batch:
                office = str(getattr(obj, "office_id", None) or "")
                mark = report.mark()
                report.due += 1
                if not acting:
                    if rt.people:
                        _peek_person(obj.pk, report)
                elif limit is not None and done >= limit:
                    pass  # counted as due, left for the next run
                else:
                    try:
                        before = report.erased + report.anonymised + report.deleted
                        _act(rt, rule, obj, report)
                        done += report.erased + report.anonymised + report.deleted - before
                    except Exception as exc:  # one failure does not stop the run
                        log.exception("retention: %s %s failed", rule.record_type, obj.pk)
                        report.failed += 1
                        failed += 1
                        errors.append({"rule": rule.pk, "object": str(obj.pk),
                                       "error": type(exc).__name__, "office": office})
                report.settle(office, mark)
    record.done, record.failed = done, failed
    record.report = {"rules": [r.as_dict() for r in reports], "errors": errors,
                     "offices": {str(r.rule.pk): r.offices for r in reports}}
    record.finished_at = timezone.now()
    record.save(update_fields=["done", "failed", "report", "finished_at"])
    events.emit("retention.run", actor=by, obj=record, via=via, dry_run=dry_run, done=done,
                failed=failed, today=today.isoformat())
    return record


def as_json(record: RetentionRun) -> dict[str, Any]:
    """The contract of `apply_retention --json`."""
    return {"run": str(record.pk), "today": record.today.isoformat(), "dry_run": record.dry_run,
            "limit": record.limit, "done": record.done, "failed": record.failed,
            "rules": record.report.get("rules", []),
            "errors": [{k: v for k, v in e.items() if k != "office"}
                       for e in record.report.get("errors", [])]}


# --- Who may do what, and the changes they make --------------------------------------------------

VIEWERS = (Role.SUPERVISOR, Role.AUDITOR, Role.SYSTEM_ADMIN)


def may_view(user: User) -> bool:
    """The runs and rules: supervisors, auditors and system administrators."""
    return user.is_superuser or bool(offices_where(user, *VIEWERS))


def may_change_rules(user: User) -> bool:
    return user.is_superuser or bool(offices_where(user, Role.SYSTEM_ADMIN))


def sees_every_office(user: User) -> bool:
    """System administrators (and superusers) read whole runs; supervisors and auditors only
    what concerns the offices where they hold those roles."""
    return may_change_rules(user)


def scoped_report(user: User, record: RetentionRun) -> dict[str, Any]:
    """The run's report as `user` may read it: {"rules", "errors", "done", "failed"}.

    A supervisor or an auditor gets the rules of their offices and, of each global rule, the
    counts of their offices' objects only; failures of their offices' objects; done and
    failed summed from those. Runs recorded before counts were kept per office show them
    the rules of their offices only."""
    rules = record.report.get("rules", [])
    errors = record.report.get("errors", [])
    if sees_every_office(user):
        return {"rules": rules, "errors": errors, "done": record.done, "failed": record.failed}
    mine = {str(pk) for pk in offices_where(user, *VIEWERS)}
    per_office = record.report.get("offices")
    out = []
    for r in rules:
        if r["office"] is not None and str(r["office"]) not in mine:
            continue
        if per_office is None:
            if r["office"] is not None:
                out.append(r)
            continue
        parts = [c for office, c in per_office.get(str(r["rule"]), {}).items() if office in mine]
        rt = _types.get(r["record_type"])
        if r["office"] is None and not parts and (rt is None or not rt.per_office):
            continue  # a rule on records of no office (staff login counters)
        row = {**r, **dict.fromkeys(RuleReport.COUNTS, 0), "skipped": {}}
        for part in parts:
            for name in RuleReport.COUNTS:
                row[name] += part[name]
            for reason, n in part["skipped"].items():
                row["skipped"][reason] = row["skipped"].get(reason, 0) + n
        row["skipped"] = dict(sorted(row["skipped"].items()))
        out.append(row)
    return {"rules": out, "errors": [e for e in errors if e.get("office") in mine],
            "done": sum(r["erased"] + r["anonymised"] + r["deleted"] for r in out),
            "failed": sum(r["failed"] for r in out)}


@transaction.atomic
def change_rule(*, by: User, rule: RetentionRule, years: int, months: int, days: int,
                enabled: bool, destructive: bool, confirmed: bool = False) -> RetentionRule:
    """A system administrator changes a rule. Turning on a rule that erases or deletes needs
    `confirmed` (the page asks, and asks for a recent second factor)."""
    if not may_change_rules(by):
        raise PermissionDenied(gettext("Only a system administrator changes retention rules."))
    rule = RetentionRule.objects.select_for_update().get(pk=rule.pk)
    if years + months + days == 0:
        raise ValidationError({"years": gettext("Give a period longer than nothing.")})
    if destructive and not rule.destructive and not confirmed:
        raise ValidationError({"confirm": gettext(
            "Confirm that this rule may erase, anonymise or delete records for good.")})
    before = {"years": rule.years, "months": rule.months, "days": rule.days,
              "enabled": rule.enabled, "destructive": rule.destructive}
    changed = updates.model_update(rule, by=by, years=years, months=months, days=days,
                                   enabled=enabled, destructive=destructive, updated_by=by)
    if changed:
        events.emit("retention.rule_change", actor=by, obj=rule, record_type=rule.record_type,
                    office=rule.office_id, before=before,
                    after={k: getattr(rule, k) for k in before})
    return rule


def may_hold(user: User, person: Person) -> bool:
    return not person.erased_at and person.office_id in offices_where(user, Role.SUPERVISOR)


@transaction.atomic
def set_legal_hold(*, by: User, person: Person, reason: str) -> Person:
    """A supervisor of the person's office holds the record: no erasure while held. The
    reason is sealed with the person's key."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": gettext("Give the reasons.")})
    texts.ensure(reason, texts.SHORT, field="reason")
    person = Person.objects.select_for_update().get(pk=person.pk)
    if not may_hold(by, person):
        raise PermissionDenied(gettext("Only a supervisor of the person's office places a "
                                       "legal hold."))
    if person.legal_hold:
        raise ValidationError(gettext("This record is already under a legal hold."))
    updates.model_update(person, by=by, legal_hold=True, legal_hold_reason=reason)
    events.emit("person.legal_hold", actor=by, obj=person)
    return person


@transaction.atomic
def lift_legal_hold(*, by: User, person: Person, reason: str) -> Person:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": gettext("Give the reasons.")})
    texts.ensure(reason, texts.SHORT, field="reason")
    person = Person.objects.select_for_update().get(pk=person.pk)
    if not may_hold(by, person):
        raise PermissionDenied(gettext("Only a supervisor of the person's office lifts a "
                                       "legal hold."))
    if not person.legal_hold:
        raise ValidationError(gettext("This record is not under a legal hold."))
    updates.model_update(person, by=by, reason=reason, legal_hold=False, legal_hold_reason=None)
    events.emit("person.legal_hold_lift", actor=by, obj=person)
    return person


# --- The record types of `cases` ---------------------------------------------------------------

def _people_without_cases(cut: datetime.date, scope: OfficeScope) -> QuerySet[Person]:
    return (Person.objects.filter(scope.q("office_id"), erased_at__isnull=True,
                                  updated_at__date__lte=cut)
            .exclude(pk__in=Case.objects.values("principal_id"))
            .exclude(pk__in=Case.people.through.objects.values("person_id")))


def _shred_import(job: ImportJob) -> None:
    """An import job's report and upload are sealed with its own key: destroyed with it."""
    datakeys.destroy(subject_id=job.pk)
    if job.storage_name:
        name = job.storage_name
        transaction.on_commit(lambda: files.delete(name))


def _anonymise_request(request: SubjectRequest) -> None:
    SubjectRequest.objects.filter(pk=request.pk).update(details=None, answer=None)


register(RecordType(
    "person.no_case", _("Person without any case"), _("last change to the record"),
    _people_without_cases, (RetentionAction.ERASE,), people=True))
register(RecordType(
    "import.job", _("Import jobs and their reports"), _("end of the import"),
    lambda cut, s: ImportJob.objects.filter(s.q("office_id"), finished_at__date__lte=cut),
    (RetentionAction.DELETE,), before_delete=_shred_import))
register(RecordType(
    "notification", _("Notifications"), _("notification sent"),
    lambda cut, s: Notification.objects.filter(s.q("office_id"), created_at__date__lte=cut),
    (RetentionAction.DELETE,)))
register(RecordType(
    "login.counter", _("Counters of failed logins"), _("first failed login"),
    lambda cut, s: LoginCounter.objects.filter(started__date__lte=cut),
    (RetentionAction.DELETE,), per_office=False))
register(RecordType(
    "subject_request.closed", _("Answered data protection requests"), _("answer to the request"),
    lambda cut, s: SubjectRequest.objects.filter(s.q("office_id"), decided_at__date__lte=cut)
    .exclude(status=RequestStatus.OPEN),
    (RetentionAction.ANONYMISE, RetentionAction.DELETE), anonymise=_anonymise_request))
