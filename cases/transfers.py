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
    SharingAgreement,
    SubjectRequest,
    Transfer,
    TransferChannel,
    User,
)

# The categories an automatic entry of a share names (clear, for the register).
SHARED_CASE = "case file"
# What an access copy's entry names: the data, with the working papers when included, and
# the legal basis (the person's right of access, answered through their request).
ACCESS_COPY = "copy of the personal data held"
ACCESS_COPY_INTERNAL = "copy of the personal data held, with the office's working papers"
ACCESS_BASIS = "right of access of the person concerned"


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
                    corrects: Transfer | None = None,
                    sharing_agreement: SharingAgreement | None = None) -> Transfer:
    """A transfer outside the system, entered by a supervisor of the sending office.

    Under a managed agreement (`sharing_agreement`): the agreement must be the office's,
    with the recipient organisation (the partner when no recipient is chosen), and in force
    on the day of the transfer; its reference is copied to `agreement`."""
    if not records(by, office):
        raise PermissionDenied(_("Only a supervisor of the office records its transfers."))
    categories, purpose = categories.strip(), purpose.strip()
    agreement, legal_basis = agreement.strip(), legal_basis.strip()
    errors: dict[str, str] = {}
    if sharing_agreement is not None:
        agreement = sharing_agreement.reference
        if to_office is None and to_organisation is None:
            to_organisation = sharing_agreement.partner
        _check_agreement(errors, sharing_agreement, office=office, to_office=to_office,
                         to_organisation=to_organisation, transferred_on=transferred_on)
    if (to_office is None) == (to_organisation is None):
        errors["to_office"] = _("Choose one recipient: an office or an organisation.")
    elif to_office is not None and to_office.pk == office.pk:
        errors["to_office"] = _("A transfer goes to another office.")
    if to_organisation is not None and not (agreement or legal_basis):
        errors["sharing_agreement"] = _("Choose the agreement, or name the legal basis or "
                                        "consent, under which the data went to a partner.")
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
        sharing_agreement=sharing_agreement, recorded_by=by)
    events.emit("transfer.record", actor=by, obj=entry, office=office.pk,
                corrects=str(corrects.pk) if corrects else "")
    return entry


def _check_agreement(errors: dict[str, str], agreement: SharingAgreement, *, office: Office,
                     to_office: Office | None, to_organisation: Organisation | None,
                     transferred_on: datetime.date) -> None:
    if agreement.office_id != office.pk:
        errors["sharing_agreement"] = _("This agreement is not the office's.")
    elif to_office is not None or (to_organisation is not None
                                   and to_organisation.pk != agreement.partner_id):
        errors["sharing_agreement"] = _("This agreement is with %(partner)s: the data must go "
                                        "to them.") % {"partner": agreement.partner.name}
    elif not agreement.in_force_on(transferred_on):
        until = agreement.ends_on.isoformat() if agreement.ends_on else "—"
        if agreement.ends_on is not None and agreement.ends_on < transferred_on:
            errors["sharing_agreement"] = _(
                "The agreement %(ref)s ended on %(until)s: no data may go under it after "
                "that day. Renew it, or name another legal basis.") % {
                    "ref": agreement.reference, "until": until}
        else:
            errors["sharing_agreement"] = _(
                "The agreement %(ref)s is in force only from %(since)s.") % {
                    "ref": agreement.reference, "since": agreement.starts_on.isoformat()}


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


def record_access_copy(*, by: User, request: SubjectRequest, fmt: str, language: str,
                       internal: bool) -> Transfer | None:
    """The copy of their data answering an access request went to the person themself.
    Called inside subject_requests.mark_exported's transaction, the request's row locked:
    one entry per request, written when the copy is first produced (None afterwards)."""
    if Transfer.objects.filter(subject_request=request).exists():
        return None
    entry = Transfer.objects.create(
        office_id=request.office_id, transferred_on=timezone.localdate(),
        channel=TransferChannel.ACCESS, legal_basis=ACCESS_BASIS,
        categories=ACCESS_COPY_INTERNAL if internal else ACCESS_COPY,
        person_id=request.person_id, people_count=1, subject_request=request,
        office_key=keystore.ensure_office_key(request.office_id),
        purpose=f"Access request received on {request.received_on.isoformat()}: "
                f"{fmt.upper()}, {language}",
        recorded_by=by)
    events.emit("transfer.record", actor=by, obj=entry, office=request.office_id, corrects="")
    return entry
