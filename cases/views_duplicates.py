"""The supervisors' queue of records that may be one person (docs/architecture.md#duplicates)."""

from __future__ import annotations

import uuid
from collections import defaultdict

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from cases import events, sections, selectors, services
from cases.crypto import datakeys
from cases.http import AuthedRequest
from cases.models import CaseParticipant, Role
from cases.steps import role_required

PAGE = 20

supervisor_required = role_required(
    Role.SUPERVISOR, message=gettext_lazy("Only supervisors review possible duplicates."))


@require_GET
@supervisor_required
def duplicate_queue(request: AuthedRequest) -> HttpResponse:
    queue = selectors.duplicate_queue(request.user)
    total = selectors.bounded_count(queue)
    pairs = list(queue[:PAGE])
    people = [p for pair in pairs for p in (pair.person, pair.other)]
    # A pair may join a record of another office (fingerprints): shown only through a grant.
    seen = set(selectors.visible_people(request.user)
               .filter(pk__in=[p.pk for p in people]).values_list("pk", flat=True))
    for p in people:
        p.may_see = p.pk in seen  # type: ignore[attr-defined]
    people = [p for p in people if p.pk in seen]
    prefetch_related_objects(people, "documents")
    datakeys.preload([p.pk for p in people])
    cases: dict[uuid.UUID, list[CaseParticipant]] = defaultdict(list)
    for part in (CaseParticipant.objects.filter(person__in=people,
                                                case__in=selectors.visible_cases(request.user))
                 .select_related("case").order_by("case__opened_at")):
        cases[part.person_id].append(part)
    for p in people:
        p.listed_cases = [part.case for part in cases[p.pk]]  # type: ignore[attr-defined]
    for pair in pairs:
        pair.sections = sections.render(request, "duplicate", pair)  # type: ignore[attr-defined]
    events.emit("duplicate.list", actor=request.user,
                people=sorted({str(p.pk) for p in people}))
    return render(request, "cases/duplicates.html", {"pairs": pairs, "total": total})


@require_POST
@supervisor_required
def duplicate_review(request: AuthedRequest, pair_id: uuid.UUID) -> HttpResponse:
    pair = selectors.get_duplicate(request.user, pair_id)
    decision = request.POST.get("decision")
    if decision not in ("link", "dismiss"):
        messages.error(request, _("Choose whether the two records are the same person."))
        return redirect("duplicate_queue")
    try:
        services.review_duplicate(by=request.user, pair=pair, same_person=decision == "link")
    except ValidationError as exc:
        messages.warning(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The two records are linked as the same person.") if decision == "link"
                         else _("The pair is dismissed: two different people."))
    return redirect("duplicate_queue")
