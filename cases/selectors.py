"""Every read that needs scoping goes through here (docs/architecture.md#access-and-scoping).

A caseworker sees the cases assigned to them and their offices' unassigned queue, a
supervisor every case of their offices; anyone sees a case explicitly granted to them
(guardian rows on the direct foreign-key models). Other roles see no case content.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Case as CaseWhen
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from cases import workflow
from cases.access import (
    CASE_ROLES,
    can_edit_case,
    granted_case_ids,
    granted_case_queries,
    grants_known,
    has_role,
    offices_where,
)
from cases.crypto import blind, datakeys
from cases.models import (
    Case,
    CaseDeadline,
    CaseParticipant,
    Document,
    ImportJob,
    Membership,
    Note,
    Notification,
    Office,
    Person,
    PersonIndex,
    Role,
    User,
)

# A count a page shows stops here and reads "100+": counting further reads a row per case
# (docs/architecture.md#speed).
COUNT_LIMIT = 100


class Bounded(int):
    """A count read no further than a limit; `more`: there are more. Compares and counts
    (plurals) as the number, reads "100+" on a page."""

    more: bool

    def __new__(cls, n: int, more: bool = False) -> Bounded:
        obj = super().__new__(cls, n)
        obj.more = more
        return obj

    def __str__(self) -> str:
        return f"{int(self)}+" if self.more else int.__str__(self)


def bounded(n: int, limit: int | None = None) -> Bounded:
    limit = COUNT_LIMIT if limit is None else limit
    return Bounded(min(n, limit), n > limit)


def bounded_count(qs: QuerySet[Any, Any], limit: int | None = None) -> Bounded:
    """COUNT(*) over the first limit + 1 rows of `qs`: its cost does not grow past them."""
    limit = COUNT_LIMIT if limit is None else limit
    return bounded(qs.order_by().values("pk")[: limit + 1].count(), limit)


class CountUpTo(Subquery):
    """A correlated count of a sliced queryset's rows, as bounded_count in one column."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) bounded)"
    output_field = IntegerField()


class CasesUpTo(CountUpTo):
    """The distinct cases among a sliced queryset's rows (of `.values("case_id")`)."""

    template = "(SELECT COUNT(DISTINCT bounded.case_id) FROM (%(subquery)s) bounded)"


def user_offices(user: User, *roles: str) -> QuerySet[Office]:
    return Office.objects.filter(pk__in=offices_where(user, *(roles or Role.values)))


def visible_cases(user: User, *, grants_in_query: bool = False) -> QuerySet[Case]:
    """The cases this user may see.

    The explicit grants are read first and inlined as a list (few, read once per request);
    `grants_in_query`: unless this request read them already, the statement reads them itself
    (a subquery), so that a lone count such as the navbar's bell is one statement."""
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    supervised = offices_where(user, Role.SUPERVISOR)
    worked = offices_where(user, Role.CASEWORKER) - supervised
    if grants_in_query and not grants_known(user):
        direct, via_group = granted_case_queries(user)
        scope = Q(pk__in=direct) | Q(pk__in=via_group)
    else:
        scope = Q(pk__in=list(granted_case_ids(user)))
    if supervised:
        scope |= Q(office__in=supervised)
    if worked:
        scope |= Q(office__in=worked) & (Q(assigned_to=user) | Q(assigned_to__isnull=True))
    # The principal is prefetched, not joined: a join made the planner read every person
    # before sorting a page of cases.
    return (
        Case.objects.filter(scope)
        .select_related("office", "assigned_to")
        .prefetch_related("principal")
    )


def my_cases(user: User) -> QuerySet[Case]:
    return visible_cases(user).filter(assigned_to=user)


DUE_SOON_DAYS = 7


def waiting_for(user: User, role: str) -> QuerySet[Case]:
    """Open cases the user sees, in offices where they hold `role`, at a step that role takes.

    Matched per procedure: two procedures may use one state name for different roles.
    """
    scope = Q(pk__in=[])
    for wf in workflow.registered():
        states = [s.name for s in wf.states.values() if s.waiting_for == role]
        if states:
            scope |= Q(procedure=wf.name, state__in=states)
            # Not yet in a procedure: the case will follow its kind's.
            scope |= Q(procedure="", kind=wf.kind, state__in=states)
    every_state = workflow.states_waiting_for(role)
    # The redundant state filter lets the (office, state) index narrow before the OR.
    return visible_cases(user).filter(
        scope, office__in=offices_where(user, role), closed_at__isnull=True, state__in=every_state
    )


def _open_deadlines(
    user: User, *, mine_only: bool, within_days: int, offices: set[int] | None
) -> QuerySet[CaseDeadline]:
    cases = my_cases(user) if mine_only else visible_cases(user)
    if offices is not None:
        cases = cases.filter(office__in=offices)
    limit = timezone.localdate() + datetime.timedelta(days=within_days)
    # The open-case condition inside the subquery: on the outer join it read every case.
    return CaseDeadline.objects.filter(
        met_at__isnull=True, due_on__lte=limit,
        case__in=cases.filter(closed_at__isnull=True).values("pk"),
    )


def due_deadlines(
    user: User,
    *,
    mine_only: bool = False,
    within_days: int = DUE_SOON_DAYS,
    offices: set[int] | None = None,
) -> QuerySet[CaseDeadline]:
    """Running deadlines of open cases the user sees, overdue or due within `within_days`.

    `mine_only`: only the cases assigned to the user; `offices`: only cases of these offices.
    Soonest first; the case, its office and assignee are joined, its principal prefetched.
    """
    return (
        _open_deadlines(user, mine_only=mine_only, within_days=within_days, offices=offices)
        .select_related("case", "case__office", "case__assigned_to")
        .prefetch_related("case__principal")
        .order_by("due_on", "pk")
    )


@dataclass
class OfficeDeadlines:
    office: Office
    overdue: Bounded  # cases with a running deadline already passed
    due_soon: Bounded  # cases with a running deadline due today or in the coming days
    waiting: Bounded  # cases at a step a supervisor takes


def supervised_deadlines(user: User, *, within_days: int = DUE_SOON_DAYS) -> list[OfficeDeadlines]:
    """Per office the user supervises: cases overdue, due soon, and waiting for a supervisor,
    in one query, each read no further than COUNT_LIMIT rows.

    A case with one deadline passed and another coming counts in both columns. The deadline
    columns read at most COUNT_LIMIT + 1 running deadlines and count their cases: past the
    limit they say "at least" ("87+": two of the deadlines read were one case's).
    """
    supervised = offices_where(user, Role.SUPERVISOR)
    today = timezone.localdate()
    limit = COUNT_LIMIT
    # A supervisor sees every case of the offices they supervise: no scoping subquery. Read
    # from the running deadlines, each case's office looked up by its key, so the scan stops
    # at the limit (a join hashed every open case of the office, for each column).
    office_of_case = (Case.objects.filter(pk=OuterRef("case_id"), closed_at__isnull=True)
                      .order_by().values("office_id"))
    # Unordered: an ORDER BY due_on made the planner read and sort every match first.
    running = (CaseDeadline.objects.filter(met_at__isnull=True)
               .annotate(case_office=Subquery(office_of_case[:1]))
               .filter(case_office=OuterRef("pk")).order_by())
    overdue = running.filter(due_on__lt=today).values("case_id")[: limit + 1]
    soon = running.filter(due_on__gte=today, due_on__lte=today + datetime.timedelta(days=within_days)
                          ).values("case_id")[: limit + 1]
    offices = Office.objects.filter(pk__in=supervised).order_by("code").annotate(
        overdue_rows=CountUpTo(overdue), overdue_cases=CasesUpTo(overdue),
        soon_rows=CountUpTo(soon), soon_cases=CasesUpTo(soon),
        waiting=CountUpTo(
            waiting_for(user, Role.SUPERVISOR).filter(office=OuterRef("pk")).order_by()
            .values("pk")[: limit + 1]),
    )
    return [
        OfficeDeadlines(office=o,
                        overdue=Bounded(min(o.overdue_cases, limit), o.overdue_rows > limit),
                        due_soon=Bounded(min(o.soon_cases, limit), o.soon_rows > limit),
                        waiting=bounded(o.waiting))
        for o in offices
    ]


def unassigned_queue(user: User) -> QuerySet[Case]:
    return visible_cases(user).filter(
        assigned_to__isnull=True, office__in=offices_where(user, *CASE_ROLES)
    )


LIST_PAGE = 50


@dataclass
class CasePage:
    cases: list[Case]
    next: str = ""  # the cursor of the next page; "" on the last


def _scope_parts(user: User) -> list[Q]:
    """What `visible_cases` sees, as parts that each walk one index in opened_at order: one
    per supervised office, the user's own and the unassigned cases per office they work in,
    and the cases granted to them. (An OR of them sorted a whole office's cases per page.)"""
    supervised = offices_where(user, Role.SUPERVISOR)
    worked = offices_where(user, Role.CASEWORKER) - supervised
    parts = [Q(office=o) for o in sorted(supervised)]
    for o in sorted(worked):
        parts += [Q(office=o, assigned_to=user), Q(office=o, assigned_to__isnull=True)]
    grants = granted_case_ids(user)
    if grants:
        parts.append(Q(pk__in=list(grants)))
    return parts


def _cursor(token: str) -> Q | None:
    try:
        at, pk = token.split("|")
        opened = datetime.datetime.fromisoformat(at)
        key = uuid.UUID(pk)
    except ValueError:
        return None
    if timezone.is_naive(opened):
        return None
    return Q(opened_at__lt=opened) | Q(opened_at=opened, pk__lt=key)


# What a list of cases shows (cases/_case_table.html) and what its state label needs: a
# lean read of the rows (docs/architecture.md#speed).
LIST_COLUMNS = ("id", "reference", "kind", "state", "procedure", "office_id", "office__country",
                "principal_id", "assigned_to_id", "assigned_to__username",
                "assigned_to__first_name", "assigned_to__last_name", "opened_at")
NAME_COLUMNS = ("id", "given_names", "family_names", "erased_at")


def as_listed(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Cases as a table lists them: the columns shown, the principals' names only."""
    return (cases.select_related("office", "assigned_to").only(*LIST_COLUMNS)
            .prefetch_related(None)
            .prefetch_related(Prefetch("principal", queryset=Person.objects.only(*NAME_COLUMNS))))


def case_by_reference(user: User, reference: str) -> Case | None:
    """The case with this reference if this user may see it (None says nothing more)."""
    reference = reference.strip().upper()
    if not reference:
        return None
    return visible_cases(user).filter(reference=reference).first()


def case_list(user: User, *, show: str = "all", after: str = "", limit: int = LIST_PAGE,
              kind: str = "") -> CasePage:
    """A page of the cases this user sees, newest first, after the cursor `after`; no count.

    `show`: "mine" (assigned to the user), "queue" (unassigned, in their offices) or "all".
    Each part of the scope is read from the cursor for one page at most and the parts are
    merged: the cost follows the page, not the size of the offices."""
    if not user.is_authenticated or not user.is_active:
        return CasePage([])
    narrow = {"mine": Q(assigned_to=user),
              "queue": Q(assigned_to__isnull=True, office__in=offices_where(user, *CASE_ROLES)),
              }.get(show, Q())
    if kind:
        narrow &= Q(kind=kind)
    start = _cursor(after) if after else None
    found: dict[uuid.UUID, Case] = {}
    for part in _scope_parts(user):
        qs = Case.objects.filter(part, narrow)
        if start is not None:
            qs = qs.filter(start)
        for case in (qs.select_related("office", "assigned_to").only(*LIST_COLUMNS)
                     .order_by("-opened_at", "-pk")[:limit + 1]):
            found[case.pk] = case
    ordered = sorted(found.values(), key=lambda c: (c.opened_at, c.pk), reverse=True)
    page = ordered[:limit]
    prefetch_related_objects(page, Prefetch("principal", queryset=Person.objects.only(*NAME_COLUMNS)))
    last = page[-1] if page and len(ordered) > limit else None
    return CasePage(page, f"{last.opened_at.isoformat()}|{last.pk}" if last else "")


def get_case(user: User, case_id: uuid.UUID | str) -> Case:
    """The case if this user may see it; 404 otherwise (never reveal that it exists)."""
    try:
        return visible_cases(user).get(pk=case_id)
    except (Case.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such case.") from None


def visible_people(user: User) -> QuerySet[Person]:
    if not user.is_authenticated or not user.is_active:
        return Person.objects.none()
    # Correlated EXISTS: cost follows the people looked at, not the size of every table.
    in_cases = Exists(CaseParticipant.objects.filter(
        person=OuterRef("pk"), case__in=visible_cases(user).values("pk")))
    scope = Q(in_cases)
    offices = offices_where(user, *CASE_ROLES)
    if offices:
        # Registered here and not yet in any case: the office's intake.
        scope |= Q(office__in=offices) & Q(~Exists(
            CaseParticipant.objects.filter(person=OuterRef("pk"))))
    return Person.objects.filter(scope).select_related("office")


def get_person(user: User, person_id: uuid.UUID | str) -> Person:
    try:
        return visible_people(user).get(pk=person_id)
    except (Person.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such person.") from None


def can_register(user: User, office: Office) -> bool:
    return office.pk in offices_where(user, *CASE_ROLES) and office.is_active





def can_edit_person(user: User, person: Person) -> bool:
    if person.erased_at:
        return False
    if person.office_id in offices_where(user, Role.SUPERVISOR):
        return True
    cases = list(Case.objects.filter(participants__person=person))  # a person's few cases
    if not cases:
        return person.office_id in offices_where(user, Role.CASEWORKER)
    return any(can_edit_case(user, c) for c in cases)


def can_erase_person(user: User, person: Person) -> bool:
    return not person.erased_at and (
        user.is_superuser or person.office_id in offices_where(user, Role.SUPERVISOR)
    )


def assignable_staff(case: Case) -> QuerySet[User]:
    return (
        User.objects.filter(
            is_active=True, memberships__office=case.office, memberships__role__in=CASE_ROLES
        )
        .distinct()
        .order_by("first_name", "last_name")
    )


def case_people(case: Case) -> list[CaseParticipant]:
    parts = list(case.participants.select_related("person").order_by("role", "pk"))
    datakeys.preload([p.person_id for p in parts])
    return parts


def case_notes(case: Case) -> QuerySet[Note]:
    return case.notes.select_related("author")


def case_documents(case: Case) -> QuerySet[Document]:
    return case.documents.select_related("uploaded_by")


def get_document(user: User, case_id: uuid.UUID | str, document_id: uuid.UUID | str) -> Document:
    case = get_case(user, case_id)
    try:
        return case.documents.get(pk=document_id)
    except (Document.DoesNotExist, ValidationError, ValueError):
        raise Http404("No such document.") from None


# A search counts the hits in scope up to SEARCH_CAP; above it, only the newest
# ABOVE_CAP_PAGE are decrypted and shown and the page asks for a second criterion.
SEARCH_CAP = 50
ABOVE_CAP_PAGE = 20


@dataclass
class SearchResult:
    people: list[Person]  # confirmed after decryption, newest first
    candidates: int  # index hits in the user's scope, counted up to cap + 1
    truncated: bool  # more than `cap` hits: only the newest are shown
    cap: int = SEARCH_CAP


class _Identity(Protocol):
    given_names: str
    family_names: str
    date_of_birth: datetime.date | None

    @property
    def documents(self) -> Sequence[Any]: ...


def possible_duplicates(user: User, data: _Identity) -> list[Person]:
    """People this user may see who share a document number, or full name and birth date."""
    found: dict[uuid.UUID, Person] = {}
    for doc in data.documents:
        for p in search_people(user, document=doc.number, limit=10).people:
            found[p.pk] = p
    if data.date_of_birth:
        name = f"{data.given_names} {data.family_names}"
        for p in search_people(user, name=name, date_of_birth=data.date_of_birth, limit=10).people:
            found[p.pk] = p
    return list(found.values())


def _criteria(tokens: set[str], *, sounds_like: bool, doc: str,
              date_of_birth: datetime.date | None) -> list[tuple[str, int]]:
    """(kind, value) index entries a person must have; the likely most selective first."""
    out = []
    if doc:
        out.append(("doc", blind.bidx("doc", doc)))
    if date_of_birth:
        out.append(("dob", blind.bidx("dob", date_of_birth.isoformat())))
    if sounds_like:
        out += sorted({("phonetic", blind.bidx("phonetic", blind.phonetic(t))) for t in tokens})
    else:
        out += sorted({("name", blind.bidx("name", t)) for t in tokens})
    return out


def _hits(user: User, criteria: list[tuple[str, int]], *, birth_year: int | None, sex: str,
          limit: int) -> list[QuerySet[PersonIndex, uuid.UUID]]:
    """Ids of people in the user's scope with every entry in `criteria`, newest first, at most
    `limit` per query: each walks the index range of one of the user's offices from its newest
    hit and stops at the limit (docs/architecture.md#search). One query where the database
    takes a LIMIT inside a UNION (PostgreSQL), else one per part to be merged."""
    supervised = offices_where(user, Role.SUPERVISOR)
    worked = offices_where(user, Role.CASEWORKER) - supervised
    grants = list(granted_case_ids(user))
    (kind, value), *others = criteria

    def part(*scope: Q | Exists, **where: Any) -> QuerySet[PersonIndex, uuid.UUID]:
        qs = PersonIndex.objects.filter(*scope, kind=kind, value=value, **where)
        for k, v in others:
            # Entries carry their person's office and registration time: with them equal too,
            # PostgreSQL merges the two index ranges in order instead of probing per row.
            qs = qs.filter(Exists(PersonIndex.objects.filter(
                person_id=OuterRef("person_id"), office_id=OuterRef("office_id"),
                created_at=OuterRef("created_at"), kind=k, value=v)))
        if birth_year:
            qs = qs.filter(person__birth_year=birth_year)
        if sex:
            qs = qs.filter(person__sex=sex)
        return qs.values_list("person_id", flat=True)

    # A person's cases are all of the person's office (cases open in the person's office,
    # relatives are registered in the case's), so every person of a supervised office is in
    # scope. A caseworker's are those in one of their own or an unassigned case (or a granted
    # one), or in no case yet, as in visible_people. That is asked per row walked, as one
    # scalar subquery: an EXISTS under OR let PostgreSQL hash every participant instead.
    parts = [part(office_id=o) for o in sorted(supervised)]
    for o in sorted(worked):
        theirs = Q(case__office_id=o) & (Q(case__assigned_to=user) | Q(case__assigned_to__isnull=True))
        if grants:
            theirs |= Q(case_id__in=grants)
        sees = (CaseParticipant.objects.filter(person_id=OuterRef("person_id"))
                .order_by().values("person_id")
                .annotate(sees=Max(CaseWhen(When(theirs, then=Value(1)), default=Value(0))))
                .values("sees"))
        # No participation at all: no row, NULL, the office's intake.
        parts.append(part(office_id=o).alias(sees=Coalesce(Subquery(sees), Value(1)))
                     .filter(sees=1))
    if grants:
        # Few people: read first, then looked up by (person, kind, value).
        shared = set(CaseParticipant.objects.filter(case_id__in=grants)
                     .values_list("person_id", flat=True))
        parts.append(part(person_id__in=shared).exclude(office_id__in=supervised | worked))
    # Ordered by the index's own order only: a tie-break on the person made PostgreSQL sort the
    # whole range (people registered together keep the index's order among themselves).
    parts = [p.order_by("-created_at")[:limit] for p in parts]
    if len(parts) > 1 and connection.features.supports_slicing_ordering_in_compound:
        return [parts[0].union(*parts[1:], all=True)]
    return parts


def search_people(
    user: User,
    *,
    name: str = "",
    document: str = "",
    date_of_birth: datetime.date | None = None,
    sounds_like: bool = False,
    birth_year: int | None = None,
    sex: str = "",
    limit: int | None = None,
) -> SearchResult:
    """Find people by blind index, newest first, then confirm the rows shown after decryption.

    The hits in scope are counted up to `limit` (default SEARCH_CAP) + 1 before anything is
    decrypted. Above `limit`, only the newest ABOVE_CAP_PAGE are decrypted and shown
    (`truncated`): the page asks for a second criterion. Year of birth and sex are kept in
    clear: they narrow in SQL."""
    cap = SEARCH_CAP if limit is None else limit
    tokens = blind.name_tokens(name)
    doc = blind.normalize_document(document)
    if not (tokens or doc or date_of_birth):
        return SearchResult([], 0, False, cap)
    criteria = _criteria(tokens, sounds_like=sounds_like, doc=doc, date_of_birth=date_of_birth)
    walks = _hits(user, criteria, birth_year=birth_year, sex=sex, limit=cap + 1)
    if not walks:
        return SearchResult([], 0, False, cap)
    # The people are read with the walk in one statement (scoped again through visible_people:
    # the walk only chose which rows to look at); only those shown are decrypted.
    hits = visible_people(user).filter(erased_at__isnull=True)
    if len(walks) == 1:
        found = list(hits.filter(pk__in=walks[0]))
    else:
        found = list(hits.filter(pk__in=[pk for walk in walks for pk in walk]))
    found.sort(key=lambda p: (p.created_at, p.pk), reverse=True)
    found = found[:cap + 1]
    truncated = len(found) > cap
    candidates = found[:min(cap, ABOVE_CAP_PAGE)] if truncated else found
    if doc:
        prefetch_related_objects(candidates, "documents")
    datakeys.preload([p.pk for p in candidates])
    wanted = {blind.phonetic(t) for t in tokens} if sounds_like else tokens
    confirmed = []
    for person in candidates:
        have = blind.name_tokens(person.given_names or "", person.family_names or "", *(person.aliases or []))
        if sounds_like:
            have = {blind.phonetic(t) for t in have}
        if not wanted <= have:
            continue
        if doc and doc not in {blind.normalize_document(d.number or "") for d in person.documents.all()}:
            continue
        if date_of_birth and person.date_of_birth != date_of_birth:
            continue
        confirmed.append(person)
    return SearchResult(confirmed, len(found), truncated, cap)


def visible_import_jobs(user: User) -> QuerySet[ImportJob]:
    """Import jobs of the offices this user supervises."""
    offices = offices_where(user, Role.SUPERVISOR)
    return ImportJob.objects.filter(office__in=offices).select_related("office", "created_by")


def get_import_job(user: User, job_id: uuid.UUID | str) -> ImportJob:
    try:
        return visible_import_jobs(user).get(pk=job_id)
    except (ImportJob.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such import.") from None


def administered_memberships(user: User) -> QuerySet[Membership]:
    """Memberships of the offices this user administers."""
    return (
        Membership.objects.filter(office__in=offices_where(user, Role.OFFICE_ADMIN))
        .select_related("user", "office")
        .order_by("office__code", "role", "user__username")
    )


def get_administered_user(user: User, user_id: int | str) -> User:
    """A staff member who holds a role in an office this user administers."""
    try:
        return User.objects.filter(
            memberships__office__in=offices_where(user, Role.OFFICE_ADMIN)).distinct().get(pk=user_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404("No such staff member.") from None


def get_administered_membership(user: User, membership_id: int | str) -> Membership:
    try:
        return administered_memberships(user).get(pk=membership_id)
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404("No such membership.") from None


def offices_overview(user: User) -> QuerySet[Office]:
    """Every office with its staff count, for system administrators only."""
    if not has_role(user, Role.SYSTEM_ADMIN) and not user.is_superuser:
        return Office.objects.none()
    return Office.objects.annotate(n_staff=Count("memberships__user", distinct=True))


def supervised_workload(user: User) -> list[dict[str, Any]]:
    """Cases per assignee in the offices this user supervises (staff with a case role there,
    and the queue), each counted up to COUNT_LIMIT; most first."""
    supervised = offices_where(user, Role.SUPERVISOR)
    if not supervised:
        return []
    limit = COUNT_LIMIT
    cases = Case.objects.filter(office__in=supervised).order_by()
    staff = (User.objects.filter(memberships__office__in=supervised,
                                 memberships__role__in=CASE_ROLES).distinct()
             .annotate(n=CountUpTo(cases.filter(assigned_to=OuterRef("pk")).values("pk")[: limit + 1]))
             .values("username", "first_name", "last_name", "n"))
    rows = [{"assigned_to__username": u["username"], "assigned_to__first_name": u["first_name"],
             "assigned_to__last_name": u["last_name"], "n": bounded(u["n"], limit)}
            for u in staff if u["n"]]
    queue = bounded_count(cases.filter(assigned_to__isnull=True), limit)
    if queue:
        rows.append({"assigned_to__username": None, "assigned_to__first_name": "",
                     "assigned_to__last_name": "", "n": queue})
    return sorted(rows, key=lambda r: (-r["n"], r["assigned_to__username"] or ""))


# The navbar's bell counts unread notifications up to here, and reads "9+" past it.
BELL_LIMIT = 9


def visible_notifications(user: User) -> QuerySet[Notification]:
    """The user's own notifications about cases they may still see: a case reassigned, or a
    role or grant withdrawn, hides its notifications, reference and all."""
    if not user.is_authenticated or not user.is_active:
        return Notification.objects.none()
    return Notification.objects.filter(
        recipient=user, case__in=visible_cases(user, grants_in_query=True).values("pk"))


def unread_notifications(user: User) -> Bounded:
    """How many of them are unread, up to BELL_LIMIT: the ids of at most BELL_LIMIT + 1, one
    statement on the (recipient, read_at, created_at) index once the user's roles are read."""
    unread = (visible_notifications(user).filter(read_at__isnull=True).order_by()
              .values_list("pk", flat=True)[:BELL_LIMIT + 1])
    return bounded(len(list(unread)), BELL_LIMIT)


def get_notification(user: User, notification_id: int | str) -> Notification:
    """One of the user's visible notifications; 404 for anyone else's or a hidden one."""
    try:
        return visible_notifications(user).get(pk=notification_id)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise Http404("No such notification.") from None
