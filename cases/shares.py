"""Shares and referrals of a case to a named staff member, of this office or another: chosen
parts, until a date, with the person's consent when the case leaves its office
(docs/architecture.md#shares-and-referrals).

A share is a set of django-guardian object permissions on the case (`view_case` and one per
part, see `access.PARTS`), each row carrying the share's end. Reads stop at the end at once
(`access.unexpired`); `expire()` removes what has ended and records it.

A share with an office is an `OfficeShare`: its caseworkers and supervisors, of the day and
those who join later, each hold the same rows pointing to it (`follow_offices` runs when a
role is given or taken away); ending it, or its expiry, removes them all.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import access, consent, events, notifications, texts, transfers, updates
from cases.models import (
    Case,
    CaseGroupObjectPermission,
    CaseUserObjectPermission,
    ConsentPurpose,
    Membership,
    Office,
    OfficeShare,
    Role,
    User,
)

SHARE_CODENAMES = ("view_case", *access.PARTS.values())
# What each part opens, as the share form and the case page say it.
PART_LABELS = {
    "procedure": gettext_lazy("Procedure: where the case stands, its steps and decisions"),
    "records": gettext_lazy("Claim narrative, interview records and assessments"),
    "notes": gettext_lazy("Notes"),
    "documents": gettext_lazy("Documents"),
}


def max_days() -> int:
    """How long a share may last at most (AMPARO_SHARE_MAX_DAYS, a year by default)."""
    return int(getattr(settings, "AMPARO_SHARE_MAX_DAYS", 365))


@dataclass
class Share:
    """Who a case is shared with, which parts and until when (None: no end)."""

    user: User
    parts: set[str] = field(default_factory=set)
    expires_at: datetime.datetime | None = None

    @property
    def offices(self) -> list[str]:
        return sorted({m.office.name for m in self.user.memberships.all()})

    @property
    def part_labels(self) -> list[str]:
        return [str(label) for part, label in PART_LABELS.items() if part in self.parts]

    @property
    def last_day(self) -> datetime.date | None:
        """The last day of the share, in the office's time zone."""
        return last_day_of(self.expires_at) if self.expires_at is not None else None


def current(case: Case) -> list[Share]:
    """The shares of `case` with named staff members that have not ended, by user (the
    grants of a share with an office are listed as the office's, `office_shares`)."""
    by_user: dict[int, Share] = {}
    codename_part = {codename: part for part, codename in access.PARTS.items()}
    rows = (CaseUserObjectPermission.objects.filter(access.unexpired(), content_object=case,
                                                    permission__codename__in=SHARE_CODENAMES,
                                                    office_share__isnull=True)
            .select_related("user", "permission").order_by("user__username"))
    for row in rows:
        share = by_user.setdefault(row.user_id, Share(user=row.user))
        if row.permission.codename == "view_case":
            share.expires_at = row.expires_at
        else:
            share.parts.add(codename_part[row.permission.codename])
    shared = [s for s in by_user.values() if s.user.is_active]
    users = {s.user.pk: s.user for s in shared}
    for user in User.objects.filter(pk__in=users).prefetch_related("memberships__office"):
        next(s for s in shared if s.user.pk == user.pk).user = user
    return shared


def mine(user: User, case: Case) -> Share | None:
    """The share of `case` with `user`, if one is in force (for the banner on the case page)."""
    ends = list(CaseUserObjectPermission.objects.filter(
        access.unexpired(), content_object=case, user=user, permission__codename="view_case"
    ).values_list("expires_at", flat=True)[:1])
    if not ends:
        return None
    return Share(user=user, parts=set(access.shared_parts(user, case)), expires_at=ends[0])


def recipients(case: Case) -> list[Membership]:
    """Whom a case may be shared with: caseworkers and supervisors of active offices, except
    who sees all of it already. A fixed number of queries, however many staff there are."""
    candidates = (Membership.objects.filter(user__is_active=True, office__is_active=True,
                                            role__in=access.CASE_ROLES)
                  .select_related("user", "office").order_by("office__name", "user__last_name",
                                                             "user__first_name", "role"))
    whole = _sees_whole(case, candidates.order_by().values("user_id"))
    return [m for m in candidates if m.user_id not in whole]


def _sees_whole(case: Case, user_ids: Collection[int] | QuerySet[Any, Any],
                besides: Office | None = None) -> set[int]:
    """Which of `user_ids` see every part of `case` already, as `access.case_parts` answers
    for each (its office's supervisors, its caseworker or, unassigned, the office's, every
    part shared), in three queries. Grants of the share with `besides` do not count."""
    whole: set[int] = set()
    for user_id, role in Membership.objects.filter(
        user_id__in=user_ids, office_id=case.office_id, office__is_active=True,
        role__in=access.CASE_ROLES,
    ).values_list("user_id", "role"):
        if role == Role.SUPERVISOR or case.assigned_to_id in (None, user_id):
            whole.add(user_id)
    held: dict[int, set[str]] = defaultdict(set)
    direct = CaseUserObjectPermission.objects.filter(
        access.unexpired(), content_object_id=case.pk, user_id__in=user_ids,
        permission__codename__in=access.PARTS.values())
    if besides is not None:
        direct = direct.filter(Q(office_share__isnull=True) | ~Q(office_share__office=besides))
    via_group = CaseGroupObjectPermission.objects.filter(
        content_object_id=case.pk, group__user__in=user_ids,
        permission__codename__in=access.PARTS.values()).exclude(group__name__in=Role.values)
    for user_id, codename in [*direct.values_list("user_id", "permission__codename"),
                              *via_group.values_list("group__user", "permission__codename")]:
        held[user_id].add(codename)
    whole |= {u for u, codenames in held.items() if len(codenames) == len(access.PARTS)}
    return whole


def _ends(until: datetime.date) -> datetime.datetime:
    """The end of the day `until`, in the office's time zone."""
    return timezone.make_aware(datetime.datetime.combine(
        until + datetime.timedelta(days=1), datetime.time.min))


def _terms(*, by: User, case: Case, parts: Collection[str], until: datetime.date,
           reason: str, override: str, outside: bool, errors: dict[str, str]) -> tuple[str, str]:
    """Check what every share needs (a supervisor of the case's office, known parts, an end
    within `max_days`, a reason, the person's consent or a reason to share without it when
    the case leaves its office), besides the `errors` found already. Returns the reason to
    record and the consent: "not needed", "given" or "overridden"."""
    if not access.can_assign(by, case):
        raise PermissionDenied(_("Only a supervisor of this office can share its cases."))
    unknown = set(parts) - set(access.PARTS)
    if unknown:
        errors["parts"] = _("Choose among the parts of a case.")
    today = timezone.localdate()
    if until <= today:
        errors["until"] = _("The share must end after today.")
    elif until > today + datetime.timedelta(days=max_days()):
        errors["until"] = _("A share may last at most %(days)d days.") % {"days": max_days()}
    if not reason.strip():
        errors["reason"] = _("Say why this case is shared.")
    given = consent.allows(case.principal, ConsentPurpose.SHARING)
    if (outside and not given and not override.strip()
            and not errors.keys() & {"recipient", "office"}):
        errors["override"] = _(
            "The person has not consented to sharing their data with another office. Record "
            "their consent on their page, or give the reason to share without it.")
    if errors:
        raise ValidationError(errors)
    texts.ensure(reason, texts.SHORT, field="reason")
    texts.ensure(override, texts.SHORT, field="override")
    why = reason.strip()
    if outside and not given:
        without = _("Shared without the person's consent: %(reason)s") % {"reason": override.strip()}
        why = f"{why}\n{without}"
    return why, "not needed" if not outside else "given" if given else "overridden"


def _permissions() -> dict[str, Permission]:
    return {p.codename: p for p in Permission.objects.filter(
        content_type__app_label="cases", codename__in=SHARE_CODENAMES)}


@transaction.atomic
def share(*, by: User, case: Case, user: User, parts: Collection[str], until: datetime.date,
          reason: str, override: str = "") -> Share:
    """Open `parts` of `case` to `user` until the end of `until`; sharing again replaces
    the parts and the end (and what a share with their office gave them). Outside the case's
    office the person's consent to sharing is needed, or a supervisor's written reason to
    share without it (`override`)."""
    errors: dict[str, str] = {}
    if not user.is_active or not access.has_role(user, *access.CASE_ROLES):
        errors["recipient"] = _("Share with a caseworker or supervisor.")
    elif access.case_parts(user, case) == access.ALL_PARTS:
        errors["recipient"] = _("This staff member sees the whole case already.")
    outside = not access.roles_in(user, case.office_id)
    why, consented = _terms(by=by, case=case, parts=parts, until=until, reason=reason,
                            override=override, outside=outside, errors=errors)
    expires_at = _ends(until)
    wanted = {"view_case", *(access.PARTS[p] for p in parts)}
    permissions = _permissions()
    held = {g.permission.codename: g for g in CaseUserObjectPermission.objects.select_for_update()
            .filter(content_object=case, user=user, permission__codename__in=SHARE_CODENAMES)
            .select_related("permission")}
    new = "view_case" not in held or not _in_force(held["view_case"])
    for codename, grant in held.items():
        if codename not in wanted:
            updates.stamp(grant, by=by, reason=why)
            grant.delete()
    for codename in wanted:
        grant = held.get(codename) or CaseUserObjectPermission(
            content_object=case, user=user, permission=permissions[codename])
        grant.expires_at = expires_at
        grant.office_share = None  # a named share replaces what came with the office
        updates.stamp(grant, by=by, reason=why)
        grant.save()
    entry = transfers.record_share(by=by, case=case, user=user, reason=why) if new else None
    access.forget(user)
    events.emit("case.share", actor=by, obj=case, user=user.pk, parts=sorted(parts),
                until=until.isoformat(), consent=consented,
                transfer=str(entry.pk) if entry else "")
    if new:  # told once, not each time the parts or the end change
        notifications.shared(case, [user], by=by, until=until)
    return Share(user=user, parts=set(parts), expires_at=expires_at)


def _office_staff(office: Office) -> QuerySet[User]:
    return User.objects.filter(is_active=True, memberships__office=office,
                               memberships__office__is_active=True,
                               memberships__role__in=access.CASE_ROLES).distinct()


def office_recipients(case: Case, office: Office) -> list[User]:
    """The staff of `office` a share with the office reaches now: its active caseworkers and
    supervisors who do not see the whole case already (the share with the office itself
    aside). Four queries, however many staff the office has."""
    users = list(_office_staff(office).order_by("username"))
    whole = _sees_whole(case, [u.pk for u in users], besides=office)
    return [u for u in users if u.pk not in whole]


@dataclass
class OfficeEntry:
    """A share with an office, as the share page lists it."""

    share: OfficeShare
    members: int

    @property
    def office(self) -> Office:
        return self.share.office

    @property
    def part_labels(self) -> list[str]:
        return [str(label) for part, label in PART_LABELS.items() if part in self.share.parts]

    @property
    def last_day(self) -> datetime.date:
        return last_day_of(self.share.expires_at)


def office_shares(case: Case) -> list[OfficeEntry]:
    """The shares of `case` with offices that have not ended, with how many staff hold them."""
    rows = (OfficeShare.objects.filter(case=case, expires_at__gt=timezone.now())
            .select_related("office").order_by("office__name")
            .annotate(members=Count("grants", filter=Q(grants__permission__codename="view_case"))))
    return [OfficeEntry(share=row, members=row.members) for row in rows]


@transaction.atomic
def share_with_office(*, by: User, case: Case, office: Office, parts: Collection[str],
                      until: datetime.date, reason: str, override: str = "") -> OfficeShare:
    """Open `parts` of `case` to `office` until the end of `until`: to each of its
    caseworkers and supervisors who does not see the case already, and to those who take
    such a role there later, while the share lasts. Sharing with the office again replaces
    the parts and the end. Consent as for `share`, when the office is not the case's."""
    errors: dict[str, str] = {}
    if not office.is_active:
        errors["office"] = _("This office is closed.")
    why, consented = _terms(by=by, case=case, parts=parts, until=until, reason=reason,
                            override=override, outside=office.pk != case.office_id,
                            errors=errors)
    office_share = (OfficeShare.objects.select_for_update().filter(case=case, office=office)
                    .first() or OfficeShare(case=case, office=office))
    office_share.parts = sorted(set(parts))
    office_share.expires_at = _ends(until)
    office_share.consent = consented
    office_share.shared_by = by
    updates.stamp(office_share, by=by, reason=why)
    office_share.save()
    newly: list[User] = []
    reached = _apply(office_share, office_recipients(case, office), by=by, reason=why,
                     everyone=True, newly=newly)
    notifications.shared(case, newly, by=by, until=until, office=office)
    events.emit("case.office_share", actor=by, obj=case, office=office.pk,
                parts=office_share.parts, until=until.isoformat(), consent=consented,
                members=reached)
    return office_share


def _apply(office_share: OfficeShare, users: Iterable[User], *, by: User | None, reason: str,
           everyone: bool, newly: list[User] | None = None) -> int:
    """Give `users` the grants of `office_share`, or bring theirs to its parts and end;
    returns how many hold it afterwards (who did not hold it before is added to `newly`).
    Who holds other grants on the case (a named share, another office's) or sees all of it
    is left out. With `everyone`, `users` are all who
    should hold it: the others' grants from it go."""
    case = office_share.case
    users = list(users)
    ids = {u.pk for u in users}
    wanted = {"view_case", *(access.PARTS[p] for p in office_share.parts)}
    who = Q(user_id__in=ids)
    if everyone:
        who |= Q(office_share=office_share)
    rows = (CaseUserObjectPermission.objects.select_for_update(of=("self",))
            .filter(content_object=case, permission__codename__in=SHARE_CODENAMES).filter(who)
            .select_related("permission", "user"))
    ours: dict[int, dict[str, CaseUserObjectPermission]] = defaultdict(dict)
    others: set[int] = set()
    for row in rows:
        if row.office_share_id == office_share.pk:
            ours[row.user_id][row.permission.codename] = row
        else:
            others.add(row.user_id)
    whole = _sees_whole(case, ids, besides=office_share.office)
    for user_id, held in ours.items():
        if (everyone and user_id not in ids) or user_id in others or user_id in whole:
            _withdraw(case, list(held.values()), by=by, reason=reason, action="case.unshare")
    permissions = _permissions()
    reached = 0
    for user in users:
        if user.pk in others or user.pk in whole:
            continue
        held = ours.get(user.pk, {})
        for codename, grant in held.items():
            if codename not in wanted:
                updates.stamp(grant, by=by, reason=reason)
                grant.delete()
        for codename in wanted:
            grant = held.get(codename) or CaseUserObjectPermission(
                content_object=case, user=user, permission=permissions[codename],
                office_share=office_share)
            if grant.pk is not None and grant.expires_at == office_share.expires_at:
                continue
            grant.expires_at = office_share.expires_at
            updates.stamp(grant, by=by, reason=reason)
            grant.save()
        if "view_case" not in held:
            if newly is not None:
                newly.append(user)
            # The register names who decided that the data leaves: who shared with the office.
            recorder = office_share.shared_by or by
            entry = (transfers.record_share(by=recorder, case=case, user=user, reason=reason)
                     if recorder else None)
            events.emit("case.share", actor=by, obj=case, user=user.pk,
                        office=office_share.office_id, parts=office_share.parts,
                        until=timezone.localtime(office_share.expires_at).date().isoformat(),
                        consent=office_share.consent, transfer=str(entry.pk) if entry else "")
        access.forget(user)
        reached += 1
    return reached


def _withdraw(case: Case, grants: list[CaseUserObjectPermission], *, by: User | None,
              reason: str, action: str) -> None:
    """Remove one user's grants on `case`, recorded in their history and, once, as `action`."""
    if not grants:
        return
    for grant in grants:
        updates.stamp(grant, by=by, reason=reason)
        grant.delete()
    user = grants[0].user
    details: dict[str, Any] = {"user": user.pk}
    if grants[0].office_share is not None:
        details["office"] = grants[0].office_share.office_id
    events.emit(action, actor=by, obj=case, **details)
    access.forget(user)


@transaction.atomic
def follow_offices(user: User, *, by: User | None) -> None:
    """After `user`'s roles or account changed: give them the shares in force with the
    offices where they are now a caseworker or supervisor, and take back the grants of shares
    with offices where they no longer are (recorded with `by` as who did it, None: Amparo)."""
    access.forget(user)
    due: list[OfficeShare] = []
    if user.is_active:
        due = list(OfficeShare.objects.filter(
            expires_at__gt=timezone.now(), office__is_active=True,
            office__memberships__user=user, office__memberships__role__in=access.CASE_ROLES,
        ).distinct().select_related("case", "office").order_by("created_at"))
    keep = {s.pk for s in due}
    gone: dict[Any, list[CaseUserObjectPermission]] = defaultdict(list)
    for grant in (CaseUserObjectPermission.objects.select_for_update(of=("self",))
                  .filter(user=user, office_share__isnull=False)
                  .select_related("office_share", "user", "content_object")):
        if grant.office_share_id not in keep:
            gone[grant.office_share_id].append(grant)
    for grants in gone.values():
        _withdraw(grants[0].content_object, grants, by=by, reason="", action="case.unshare")
    for office_share in due:
        reason = _("A caseworker or supervisor of %(office)s, with which the case is shared.") % {
            "office": office_share.office.name}
        _apply(office_share, [user], by=by, reason=reason, everyone=False)
    access.forget(user)


@transaction.atomic
def revoke_office(*, by: User, case: Case, office_share_id: Any, reason: str = "") -> OfficeShare | None:
    """End the share of `case` with an office now, for every staff member holding it;
    None if there is no such share."""
    if not access.can_assign(by, case):
        raise PermissionDenied(_("Only a supervisor of this office can share its cases."))
    texts.ensure(reason, texts.SHORT, field="reason")
    office_share = (OfficeShare.objects.select_for_update(of=("self",))
                    .filter(pk=office_share_id, case=case)
                    .select_related("office").first())
    if office_share is None:
        return None
    _end(office_share, by=by, reason=reason, action="case.unshare")
    events.emit("case.office_unshare", actor=by, obj=case, office=office_share.office_id)
    notifications.shares_ended([_ended(office_share, case)], by=by, by_office=case.office.code)
    return office_share


def _ended(office_share: OfficeShare, case: Case) -> notifications.Ended:
    return notifications.Ended(case_id=case.pk, case_office_id=case.office_id,
                               reference=case.reference, until=last_day_of(office_share.expires_at),
                               office_id=office_share.office_id, office=office_share.office.code)


def last_day_of(expires_at: datetime.datetime) -> datetime.date:
    """The last day a share with this end lasts, in the office's time zone."""
    return timezone.localtime(expires_at).date() - datetime.timedelta(days=1)


@transaction.atomic
def office_closed(office: Office, *, by: User | None) -> int:
    """`office` was closed: the shares of cases with it end now, as `revoke_office` ends one
    (each member's grants withdrawn and recorded); returns how many ended. Reopening the
    office brings none back: a supervisor shares again."""
    ended = 0
    reason = str(_("The office was closed."))
    for office_share in (OfficeShare.objects.select_for_update(of=("self",))
                         .filter(office=office).select_related("case", "office")
                         .order_by("created_at")):
        case = office_share.case
        _end(office_share, by=by, reason=reason, action="case.unshare")
        events.emit("case.office_unshare", actor=by, obj=case, office=office.pk, closed=True)
        ended += 1
    return ended


def _end(office_share: OfficeShare, *, by: User | None, reason: str, action: str) -> None:
    """Remove the grants of `office_share` and the share; those who held it may hold another
    office's share of the case now."""
    by_user: dict[int, list[CaseUserObjectPermission]] = defaultdict(list)
    for grant in office_share.grants.select_related("user", "office_share"):
        by_user[grant.user_id].append(grant)
    case = office_share.case
    for grants in by_user.values():
        _withdraw(case, grants, by=by, reason=reason, action=action)
    updates.stamp(office_share, by=by, reason=reason)
    office_share.delete()
    for grants in by_user.values():
        follow_offices(grants[0].user, by=by)


def _in_force(grant: CaseUserObjectPermission) -> bool:
    return grant.expires_at is None or grant.expires_at > timezone.now()


@transaction.atomic
def revoke(*, by: User, case: Case, user: User, reason: str = "") -> int:
    """End the share of `case` with `user` by name now; returns how many permissions went.
    What a share with their office gave them stays (`revoke_office` ends it); if the named
    share stood in its way, they receive it now."""
    if not access.can_assign(by, case):
        raise PermissionDenied(_("Only a supervisor of this office can share its cases."))
    texts.ensure(reason, texts.SHORT, field="reason")
    removed = 0
    ended: list[notifications.Ended] = []
    for grant in CaseUserObjectPermission.objects.filter(
        content_object=case, user=user, permission__codename__in=SHARE_CODENAMES,
        office_share__isnull=True,
    ).select_related("permission"):
        updates.stamp(grant, by=by, reason=reason)
        grant.delete()
        removed += 1
        if grant.permission.codename == "view_case":
            ended.append(notifications.Ended(
                case_id=case.pk, case_office_id=case.office_id, reference=case.reference,
                until=last_day_of(grant.expires_at) if grant.expires_at else None,
                user_id=user.pk))
    if removed:
        events.emit("case.unshare", actor=by, obj=case, user=user.pk)
        follow_offices(user, by=by)
        notifications.shares_ended(ended, by=by, by_office=case.office.code)
    access.forget(user)
    return removed


def expire(*, now: datetime.datetime | None = None, batch: int = 500) -> int:
    """Remove the shares that have ended, each recorded as withdrawn by Amparo; returns how
    many shares (case and user) went. Periodic (cases.expire_shares). A share with an office
    goes with all its grants, each member's recorded like a named share's."""
    now = now or timezone.now()
    done = 0
    while True:
        with transaction.atomic():
            ended_offices = list(OfficeShare.objects.select_for_update(skip_locked=True, of=("self",))
                                 .filter(expires_at__lte=now).select_related("case", "office")
                                 .order_by("expires_at", "pk")[:batch])
            if not ended_offices:
                break
            for office_share in ended_offices:
                done += office_share.grants.filter(permission__codename="view_case").count()
                _end(office_share, by=None, reason="", action="case.share_expire")
                events.emit("case.office_share_expire", obj=office_share.case,
                            office=office_share.office_id,
                            ended=office_share.expires_at.isoformat())
            # The receiving offices' supervisors are told, the batch at once.
            notifications.shares_ended([_ended(s, s.case) for s in ended_offices])
    while True:
        with transaction.atomic():
            ended = list(CaseUserObjectPermission.objects.select_for_update(skip_locked=True)
                         .filter(expires_at__lte=now).select_related("permission")
                         .order_by("expires_at", "pk")[:batch])
            if not ended:
                return done
            cases = {pk: (office_id, reference) for pk, office_id, reference in Case.objects.filter(
                pk__in={g.content_object_id for g in ended}).values_list("pk", "office_id",
                                                                         "reference")}
            told: list[notifications.Ended] = []
            for grant in ended:
                updates.stamp(grant, by=None, reason="")
                grant.delete()
                if grant.permission.codename == "view_case":
                    office_id, reference = cases[grant.content_object_id]
                    events.emit("case.share_expire", object_type="cases.case",
                                object_id=str(grant.content_object_id), office_id=office_id,
                                user=grant.user_id, ended=grant.expires_at.isoformat()
                                if grant.expires_at else "")
                    done += 1
                    if grant.office_share_id is None and grant.expires_at is not None:
                        told.append(notifications.Ended(
                            case_id=grant.content_object_id, case_office_id=office_id,
                            reference=reference, until=last_day_of(grant.expires_at),
                            user_id=grant.user_id))
            notifications.shares_ended(told)
