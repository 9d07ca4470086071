"""Shares and referrals of a case to a named staff member, of this office or another: chosen
parts, until a date, with the person's consent when the case leaves its office
(docs/architecture.md#shares-and-referrals).

A share is a set of django-guardian object permissions on the case (`view_case` and one per
part, see `access.PARTS`), each row carrying the share's end. Reads stop at the end at once
(`access.unexpired`); `expire()` removes what has ended and records it.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import access, consent, events, texts, transfers, updates
from cases.models import (
    Case,
    CaseUserObjectPermission,
    ConsentPurpose,
    Membership,
    Office,
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
        if self.expires_at is None:
            return None
        return timezone.localtime(self.expires_at).date() - datetime.timedelta(days=1)


def current(case: Case) -> list[Share]:
    """The shares of `case` that have not ended, by user."""
    by_user: dict[int, Share] = {}
    codename_part = {codename: part for part, codename in access.PARTS.items()}
    rows = (CaseUserObjectPermission.objects.filter(access.unexpired(), content_object=case,
                                                    permission__codename__in=SHARE_CODENAMES)
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
    who sees all of it already."""
    candidates = (Membership.objects.filter(user__is_active=True, office__is_active=True,
                                            role__in=access.CASE_ROLES)
                  .select_related("user", "office").order_by("office__name", "user__last_name",
                                                             "user__first_name", "role"))
    return [m for m in candidates if access.case_parts(m.user, case) != access.ALL_PARTS]


def _ends(until: datetime.date) -> datetime.datetime:
    """The end of the day `until`, in the office's time zone."""
    return timezone.make_aware(datetime.datetime.combine(
        until + datetime.timedelta(days=1), datetime.time.min))


@transaction.atomic
def share(*, by: User, case: Case, user: User, parts: Collection[str], until: datetime.date,
          reason: str, override: str = "") -> Share:
    """Open `parts` of `case` to `user` until the end of `until`; sharing again replaces
    the parts and the end. Outside the case's office the person's consent to sharing is
    needed, or a supervisor's written reason to share without it (`override`)."""
    if not access.can_assign(by, case):
        raise PermissionDenied(_("Only a supervisor of this office can share its cases."))
    errors: dict[str, str] = {}
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
    if not user.is_active or not access.has_role(user, *access.CASE_ROLES):
        errors["recipient"] = _("Share with a caseworker or supervisor.")
    elif access.case_parts(user, case) == access.ALL_PARTS:
        errors["recipient"] = _("This staff member sees the whole case already.")
    outside = not access.roles_in(user, case.office_id)
    given = consent.allows(case.principal, ConsentPurpose.SHARING)
    if outside and not given and not override.strip() and "recipient" not in errors:
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
    expires_at = _ends(until)
    wanted = {"view_case", *(access.PARTS[p] for p in parts)}
    permissions = {p.codename: p for p in Permission.objects.filter(
        content_type__app_label="cases", codename__in=SHARE_CODENAMES)}
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
        updates.stamp(grant, by=by, reason=why)
        grant.save()
    entry = transfers.record_share(by=by, case=case, user=user, reason=why) if new else None
    access.forget(user)
    events.emit("case.share", actor=by, obj=case, user=user.pk, parts=sorted(parts),
                until=until.isoformat(),
                consent="not needed" if not outside else "given" if given else "overridden",
                transfer=str(entry.pk) if entry else "")
    return Share(user=user, parts=set(parts), expires_at=expires_at)


def office_recipients(case: Case, office: Office) -> list[User]:
    """The staff of `office` a share with the office reaches: its active caseworkers and
    supervisors who do not see the whole case already."""
    users = (User.objects.filter(is_active=True, memberships__office=office,
                                 memberships__office__is_active=True,
                                 memberships__role__in=access.CASE_ROLES)
             .distinct().order_by("username"))
    return [u for u in users if access.case_parts(u, case) != access.ALL_PARTS]


@transaction.atomic
def share_with_office(*, by: User, case: Case, office: Office, parts: Collection[str],
                      until: datetime.date, reason: str, override: str = "") -> list[Share]:
    """`share` with each caseworker and supervisor of `office`, all or none. Staff who join
    the office later are not included: share again to reach them."""
    users = office_recipients(case, office)
    if not users:
        raise ValidationError({"office": _(
            "Nobody in this office works on cases who does not see this one already.")})
    return [share(by=by, case=case, user=u, parts=parts, until=until, reason=reason,
                  override=override) for u in users]


def _in_force(grant: CaseUserObjectPermission) -> bool:
    return grant.expires_at is None or grant.expires_at > timezone.now()


@transaction.atomic
def revoke(*, by: User, case: Case, user: User, reason: str = "") -> int:
    """End every share of `case` with `user` now; returns how many permissions went."""
    if not access.can_assign(by, case):
        raise PermissionDenied(_("Only a supervisor of this office can share its cases."))
    texts.ensure(reason, texts.SHORT, field="reason")
    removed = 0
    for grant in CaseUserObjectPermission.objects.filter(
        content_object=case, user=user, permission__codename__in=SHARE_CODENAMES
    ):
        updates.stamp(grant, by=by, reason=reason)
        grant.delete()
        removed += 1
    if removed:
        events.emit("case.unshare", actor=by, obj=case, user=user.pk)
    access.forget(user)
    return removed


def expire(*, now: datetime.datetime | None = None, batch: int = 500) -> int:
    """Remove the shares that have ended, each recorded as withdrawn by Amparo; returns how
    many shares (case and user) went. Periodic (cases.expire_shares)."""
    now = now or timezone.now()
    done = 0
    while True:
        with transaction.atomic():
            ended = list(CaseUserObjectPermission.objects.select_for_update(skip_locked=True)
                         .filter(expires_at__lte=now).select_related("permission")
                         .order_by("expires_at", "pk")[:batch])
            if not ended:
                return done
            for grant in ended:
                updates.stamp(grant, by=None, reason="")
                grant.delete()
                if grant.permission.codename == "view_case":
                    events.emit("case.share_expire", object_type="cases.case",
                                object_id=str(grant.content_object_id),
                                office_id=Case.objects.filter(pk=grant.content_object_id)
                                .values_list("office_id", flat=True).first(),
                                user=grant.user_id, ended=grant.expires_at.isoformat()
                                if grant.expires_at else "")
                    done += 1
