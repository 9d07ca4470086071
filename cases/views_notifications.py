"""The user's notifications (docs/architecture.md#notifications).

The list shows codes turned into text, never case content, so reading it is not an audited
view; opening one goes to the case page, which records its view as always, or, for a
transfer between offices, to the transfers page (the office asked may not see the case yet);
a share's end or a usage limit reached (about an account, not a case), back to the list.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases import notifications, selectors
from cases.http import AuthedRequest
from cases.models import NotificationKind
from cases.paging import BoundedPaginator

PAGE_SIZE = 25


@login_required
@require_GET
def notification_list(request: AuthedRequest) -> HttpResponse:
    rows = (selectors.visible_notifications(request.user)
            .only("id", "kind", "params", "created_at", "read_at", "case_id", "handover_id")
            .order_by("-created_at", "-pk"))
    page = BoundedPaginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "cases/notifications.html", {"page": page})


@login_required
@require_GET
def notification_open(request: AuthedRequest, notification_id: int) -> HttpResponse:
    """Mark it read and go to its case (which records its view) or its transfer; a share's
    end stays on the list (the case is no longer the reader's to see)."""
    notification = selectors.get_notification(request.user, notification_id)
    notifications.mark_read(by=request.user, notification=notification)
    if notification.kind in (NotificationKind.SHARE_ENDED, NotificationKind.RATE_LIMITED,
                             NotificationKind.NEW_LOGIN_PLACE):
        return redirect("notification_list")
    if notification.handover_id is not None:
        return redirect(f"{reverse('handover_list')}#handover-{notification.handover_id}")
    return redirect("case_detail", case_id=notification.case_id)


@login_required
@require_POST
def notifications_read(request: AuthedRequest) -> HttpResponse:
    if notifications.mark_all_read(by=request.user):
        messages.success(request, _("All your notifications are marked as read."))
    return redirect("notification_list")
