"""What the core's pages show of the biometrics (cases.sections): the person page's
Fingerprints section, the case page's identity checks, a fingerprint pair's evidence on the
possible-duplicates page. Only what the user may see: images are links to pages that check
again."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from biometrics import services
from biometrics.models import FacePhoto, Finger, FingerprintCapture, MatchEvidence, Verification
from cases import access, selectors
from cases.models import Case, DuplicateSource, Person, PossibleDuplicate, User

VERIFICATIONS_SHOWN = 5


def person_section(user: User, person: Person) -> tuple[str, dict[str, Any]] | None:
    if person.erased_at:
        return None
    return "biometrics/_person_section.html", {
        "person": person,
        "captures": services.current_captures(person),
        "photo": services.current_photo(person),
        "may_capture": services.may_capture(user, person),
        "may_search": services.may_search(user),
    }


def case_section(user: User, case: Case) -> tuple[str, dict[str, Any]] | None:
    principal = case.principal
    if principal is None or principal.erased_at or not access.sees_part(user, case, "procedure"):
        return None  # the checks are part of the procedure: a share without it shows none
    # Whether a finger is enrolled, not the templates: the card shows none.
    enrolled = FingerprintCapture.objects.filter(person_id=principal.pk,
                                                 replaced_at__isnull=True).exists()
    return "biometrics/_case_section.html", {
        "case": case,
        "enrolled": enrolled,
        "may_verify": enrolled and services.may_verify(user, case),
        "verifications": list(Verification.objects.filter(case=case).select_related("by")
                              .order_by("-at")[:VERIFICATIONS_SHOWN]),
    }


def duplicate_section(user: User, pair: PossibleDuplicate) -> tuple[str, dict[str, Any]] | None:
    if pair.source != DuplicateSource.BIOMETRIC:
        return None
    evidence = MatchEvidence.objects.filter(pair=pair).first()
    seen = set(selectors.visible_people(user).filter(pk__in=[pair.other_id, pair.person_id])
               .values_list("pk", flat=True))
    fingers = evidence.fingers if evidence else []
    sides = []
    for person in (pair.other, pair.person):
        if person.pk in seen and not person.erased_at:
            prints = [c for c in services.current_captures(person)
                      if c.finger in fingers and c.image_name]
            sides.append({"person": person, "may_see": True, "photo": services.current_photo(person),
                          "prints": prints})
        else:
            sides.append({"person": person, "may_see": False})
    return "biometrics/_duplicate_section.html", {
        "pair": pair, "evidence": evidence, "sides": sides,
        "finger_labels": [Finger(f).label for f in fingers if f in Finger.values],
    }


# The decisions of a 1:N search (services.decision), as the search page shows them.
DECISIONS = {"match": _("Match"), "possible": _("Possible match"), "no match": _("No match")}


def search_rows(user: User, found: services.Search | None) -> list[dict[str, Any]]:
    """The search page's candidates, best first: the person (a link where `user` may open
    the person page), the decision's words, and whether a face photo is there to show (its
    image page checks again)."""
    if found is None:
        return []
    ids = [r.person_id for r in found.candidates]
    people = selectors.visible_people(user).in_bulk(ids)
    with_photo = set(FacePhoto.objects.filter(person_id__in=list(people), replaced_at__isnull=True)
                     .exclude(storage_name="").values_list("person_id", flat=True))
    return [{"row": r, "person": people.get(r.person_id), "photo": r.person_id in with_photo,
             "decision": DECISIONS[r.decision]} for r in found.candidates]


def summary(found: services.Search) -> str:
    """How large the gallery was, how many were compared exactly, and how long it took."""
    return gettext("%(people)d people enrolled; %(rescored)d compared exactly in "
                   "%(seconds).2f s.") % {"people": found.gallery_people,
                                          "rescored": found.rescored, "seconds": found.seconds}
