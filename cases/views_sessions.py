"""Your sessions: where the account is logged in, and ending those sessions
(docs/architecture.md#sessions)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from cases import events, sessions
from cases.http import AuthedRequest


@login_required
@require_GET
def session_list(request: AuthedRequest) -> HttpResponse:
    return render(request, "cases/sessions.html", {
        "sessions": sessions.open_sessions(request), "cap": settings.AMPARO_MAX_SESSIONS,
    })


@login_required
@require_POST
def session_end(request: AuthedRequest, session_id: str) -> HttpResponse:
    """End one other session of one's own; another account's, or none, is a 404."""
    if not sessions.end_session(request, session_id=session_id):
        events.record_refusal("session.end", actor=request.user, object_type="cases.staffsession",
                              reason=sessions.BY_USER)
        raise Http404("No such session.")
    messages.success(request, _("The session was ended."))
    return redirect("session_list")


@login_required
@require_POST
def session_end_others(request: AuthedRequest) -> HttpResponse:
    ended = sessions.end_other_sessions(request)
    if ended:
        messages.success(request, ngettext("%(n)s other session was ended.",
                                           "%(n)s other sessions were ended.", ended) % {"n": ended})
    else:
        messages.info(request, _("You had no other session open."))
    return redirect("session_list")
