"""The register of transfers (docs/architecture.md#registers): what personal data went to
which office or partner, when, how, under which agreement, by whom and why.

Entries are written where data leaves: a case shared with someone of another office
(`record_share`, called by services.grant_case_access in its transaction), and by hand by a
supervisor for what left outside the system. Append-only: no entry is changed or deleted; a
correction is a new entry naming the one it corrects.
"""

from __future__ import annotations

import datetime
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import events, keystore, texts
from cases.access import offices_where
from cases.models import (
    Case,
    Membership,
    Office,
    Organisation,
    Role,
    Transfer,
    TransferChannel,
    User,
)

# The categories an automatic entry of a share names (clear, for the register).
SHARED_CASE = "case file"


def visible_transfers(user: User) -> QuerySet[Transfer]:
    """The entries of the offices where the user supervises or audits."""
    if not user.is_authenticated or not user.is_active:
        return Transfer.objects.none()
    offices = offices_where(user, Role.SUPERVISOR, Role.AUDITOR)
    return Transfer.objects.filter(office__in=offices).select_related(
        "office", "to_office", "to_organisation", "to_user", "recorded_by", "case")


def get_transfer(user: User, pk: uuid.UUID | str) -> Transfer:
    try:
        return visible_transfers(user).get(pk=pk)
    except (Transfer.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such entry.") from None


def records(user: User, office: Office) -> bool:
    return office.pk in offices_where(user, Role.SUPERVISOR)


@transaction.atomic
def record_transfer(*, by: User, office: Office, transferred_on: datetime.date, channel: str,
                    categories: str, purpose: str, to_office: Office | None = None,
                    to_organisation: Organisation | None = None, agreement: str = "",
                    legal_basis: str = "", case: Case | None = None, people_count: int = 1,
                    corrects: Transfer | None = None) -> Transfer:
    """A transfer outside the system, entered by a supervisor of the sending office."""
    if not records(by, office):
        raise PermissionDenied(_("Only a supervisor of the office records its transfers."))
    categories, purpose = categories.strip(), purpose.strip()
    agreement, legal_basis = agreement.strip(), legal_basis.strip()
    errors: dict[str, str] = {}
    if (to_office is None) == (to_organisation is None):
        errors["to_office"] = _("Choose one recipient: an office or an organisation.")
    elif to_office is not None and to_office.pk == office.pk:
        errors["to_office"] = _("A transfer goes to another office.")
    if to_organisation is not None and not (agreement or legal_basis):
        errors["agreement"] = _("Name the agreement, or the legal basis or consent, under "
                                "which the data went to a partner.")
    if channel not in TransferChannel.values:
        errors["channel"] = _("Choose how the data went.")
    if transferred_on > timezone.localdate():
        errors["transferred_on"] = _("This date is in the future.")
    if not categories:
        errors["categories"] = _("Say which data went.")
    if not purpose:
        errors["purpose"] = _("Say why the data went.")
    if case is not None and case.office_id != office.pk:
        errors["case"] = _("This case is not of the office.")
    if corrects is not None and corrects.office_id != office.pk:
        errors["corrects"] = _("Correct an entry of the same office.")
    if people_count < 1:
        errors["people_count"] = _("At least one person.")
    texts.check(errors, {"categories": (categories, texts.SHORT), "purpose": (purpose, texts.NOTE),
                         "agreement": (agreement, 200), "legal_basis": (legal_basis, 200)})
    if errors:
        raise ValidationError(errors)
    entry = Transfer.objects.create(
        office=office, transferred_on=transferred_on, to_office=to_office,
        to_organisation=to_organisation, channel=channel, agreement=agreement,
        legal_basis=legal_basis, categories=categories, case=case,
        person_id=case.principal_id if case is not None else None, people_count=people_count,
        office_key=keystore.ensure_office_key(office.pk), purpose=purpose, corrects=corrects,
        recorded_by=by)
    events.emit("transfer.record", actor=by, obj=entry, office=office.pk,
                corrects=str(corrects.pk) if corrects else "")
    return entry


def record_share(*, by: User, case: Case, user: User, reason: str) -> Transfer | None:
    """A case shared with someone holding no role in its office: the data leaves the office.
    Called inside services.grant_case_access's transaction."""
    theirs = (Membership.objects.filter(user=user).exclude(office_id=case.office_id)
              .order_by("office_id").values_list("office_id", flat=True))
    if Membership.objects.filter(user=user, office_id=case.office_id).exists() or not theirs:
        return None
    return Transfer.objects.create(
        office_id=case.office_id, transferred_on=timezone.localdate(), to_office_id=theirs[0],
        to_user=user, channel=TransferChannel.SHARE, categories=SHARED_CASE, case=case,
        person_id=case.principal_id, people_count=1,
        office_key=keystore.ensure_office_key(case.office_id), purpose=reason.strip(),
        recorded_by=by)
