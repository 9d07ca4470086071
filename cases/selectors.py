"""Every read that needs scoping goes through here (docs/architecture.md#access-and-scoping).

A caseworker sees the cases assigned to them and their offices' unassigned queue, a
supervisor every case of their offices; anyone sees a case explicitly granted to them
(guardian rows on the direct foreign-key models). Other roles see no case content.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import listed, listing, workflow
from cases.access import (
    CASE_ROLES,
    as_uuid,
    can_edit_case,
    granted_case_ids,
    granted_case_queries,
    grants_known,
    has_role,
    offices_where,
    sees_case,
    sees_handover,
    sees_part,
)
from cases.crypto import blind, datakeys, keyring
from cases.models import (
    Case,
    CaseDeadline,
    CaseKind,
    CaseParticipant,
    Document,
    DuplicateReason,
    DuplicateStatus,
    Handover,
    ImportJob,
    Membership,
    Note,
    Notification,
    NotificationKind,
    Office,
    Person,
    PersonIndex,
    PossibleDuplicate,
    Role,
    User,
)
from cases.workflow.definitions import STATE_FALLBACK

# Case references as services._next_reference writes them: office code, year, number.
CASE_REFERENCE = re.compile(r"[A-Z]{2}-[A-Z0-9]{2,8}-\d{4}-\d{6}")

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
        # Two arms, each an index condition: the planner ORs their bitmaps instead of reading
        # the offices' every case and filtering.
        scope |= Q(office__in=worked, assigned_to=user) | Q(office__in=worked, assigned_to__isnull=True)
    # The principal is prefetched, not joined: a join made the planner read every person
    # before sorting a page of cases.
    return (
        Case.objects.filter(scope)
        .select_related("office", "assigned_to")
        .prefetch_related("principal")
    )


def my_cases(user: User) -> QuerySet[Case]:
    return visible_cases(user).filter(assigned_to=user)


DUE_SOON_DAYS = listing.DUE_SOON_DAYS


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
    limit = timezone.localdate() + datetime.timedelta(days=within_days)
    running = CaseDeadline.objects.filter(met_at__isnull=True, due_on__lte=limit)
    if not user.is_authenticated or not user.is_active:
        return running.none()
    # One assignee's or whole supervised offices' deadlines are walked on the copies of the
    # case's assignee and office, by due date, and the walk stops after a page (the scope
    # of visible_cases, without reading the cases first).
    if mine_only:
        scope = Q(office__in=offices_where(user, *CASE_ROLES))
        grants = granted_case_ids(user)
        if grants:
            scope |= Q(case_id__in=list(grants))
        running = running.filter(scope, assigned_to=user)
        if offices is not None:
            running = running.filter(office__in=offices)
        return running.filter(case__closed_at__isnull=True)
    if offices is not None and offices <= offices_where(user, Role.SUPERVISOR):
        return running.filter(office__in=offices, case__closed_at__isnull=True)
    cases = visible_cases(user)
    if offices is not None:
        cases = cases.filter(office__in=offices)
    # The open-case condition inside the subquery: on the outer join it read every case.
    return running.filter(case__in=cases.filter(closed_at__isnull=True).values("pk"))


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
    # from the office's running deadlines (their copy of the case's office), so the scan
    # stops at the limit (a join hashed every open case of the office, for each column).
    # Unordered: an ORDER BY due_on made the planner read and sort every match first.
    running = CaseDeadline.objects.filter(met_at__isnull=True, office=OuterRef("pk"),
                                          case__closed_at__isnull=True).order_by()
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


def _scope_parts(user: User, office: int | None = None) -> list[Q]:
    """What `visible_cases` sees, as parts that each walk one index in the list's order: one
    per supervised office, the user's own and the unassigned cases per office they work in,
    and the cases granted to them. (An OR of them sorted a whole office's cases per page.)
    `office`: only the parts that can hold cases of that office."""
    supervised = offices_where(user, Role.SUPERVISOR)
    worked = offices_where(user, Role.CASEWORKER) - supervised
    if office is not None:
        supervised, worked = supervised & {office}, worked & {office}
    parts = [Q(office=o) for o in sorted(supervised)]
    for o in sorted(worked):
        parts += [Q(office=o, assigned_to=user), Q(office=o, assigned_to__isnull=True)]
    grants = granted_case_ids(user)
    if grants:
        parts.append(Q(pk__in=list(grants)))
    return parts


# The column each sort orders by, and whether the largest comes first; the id breaks ties in
# the same direction. The deadline sort is read in two phases (_by_deadline).
_SORT_KEYS: dict[str, tuple[str, bool]] = {
    listing.NEWEST: ("opened_at", True), listing.OLDEST: ("opened_at", False),
    listing.REFERENCE: ("reference", False), listing.CHANGED: ("updated_at", True),
}
_DUE, _NONE = "due", "none"  # the deadline sort's phases


@dataclass(frozen=True)
class _Cursor:
    """Where the previous page ended: the sort key of its last case, and that case's id."""

    value: Any  # datetime, date or reference
    pk: uuid.UUID
    phase: str = ""  # the deadline sort: _DUE (a running deadline) or _NONE


def _encode(sort: str, case: Case) -> str:
    if sort == listing.DEADLINE:
        due = getattr(case, "next_due", None)
        value = f"{_DUE}:{due.isoformat()}" if due else f"{_NONE}:{case.opened_at.isoformat()}"
    else:
        key = getattr(case, _SORT_KEYS[sort][0])
        value = key if isinstance(key, str) else key.isoformat()
    return f"{sort}|{value}|{case.pk}"


def _aware(value: str) -> datetime.datetime:
    at = datetime.datetime.fromisoformat(value)
    if timezone.is_naive(at):
        raise ValueError("a cursor's time has its offset")
    return at


def _decode(sort: str, token: str) -> _Cursor | None:
    """The cursor `sort|key|id` the previous page ended at; None if it is not one of this sort's
    (the list then starts from the top)."""
    try:
        name, value, pk = token.split("|")
        key = uuid.UUID(pk)
        if name != sort:
            return None
        if sort == listing.DEADLINE:
            phase, _sep, raw = value.partition(":")
            if phase == _DUE:
                return _Cursor(datetime.date.fromisoformat(raw), key, _DUE)
            return _Cursor(_aware(raw), key, _NONE) if phase == _NONE else None
        if sort == listing.REFERENCE:
            return _Cursor(value, key) if 0 < len(value) <= 32 else None
        return _Cursor(_aware(value), key)
    except ValueError:
        return None


def _after(key: str, desc: bool, cursor: _Cursor) -> Q:
    op = "lt" if desc else "gt"
    return Q(**{f"{key}__{op}": cursor.value}) | Q(**{key: cursor.value, f"pk__{op}": cursor.pk})


def _ids(walks: list[QuerySet[Any, Any]]) -> list[Any]:
    """The values of several ordered, sliced walks: one query where the database takes a LIMIT
    inside a UNION (PostgreSQL), else one per walk."""
    if len(walks) > 1 and connection.features.supports_slicing_ordering_in_compound:
        return list(walks[0].union(*walks[1:], all=True))
    return [v for walk in walks for v in walk]


def _first(parts: list[QuerySet[Case]], order: tuple[str, ...], n: int, *columns: str) -> list[Case]:
    """The first `n` cases of the parts together, in `order`, read as the list shows them. Each
    part walks its own index for `n` ids at most; the database orders the ids found (so a
    reference sorts as the database collates it)."""
    ids = _ids([p.order_by(*order).values_list("pk", flat=True)[:n] for p in parts])
    return listed.listed_cases(ids, order=order, limit=n, columns=columns)


def _by_deadline(parts: list[Q], cursor: _Cursor | None, n: int, *, running_too: bool = True
                 ) -> list[Case]:
    """The first `n` cases by their next running deadline, soonest first (ties: the larger id
    first), then the cases with none running, newest first.

    The first phase walks the running deadlines (the open_deadline_due index) rather than the
    cases: only each case's soonest deadline counts, so a case is listed once. Not
    `running_too`: the filters leave no case with a running deadline; only the second phase."""
    running = CaseDeadline.objects.filter(listing.running_deadlines())
    found: list[Case] = []
    if running_too and (cursor is None or cursor.phase == _DUE):
        sooner = running.filter(Q(due_on__lt=OuterRef("due_on"))
                                | Q(due_on=OuterRef("due_on"), pk__lt=OuterRef("pk")),
                                case_id=OuterRef("case_id"))
        soonest = running.filter(~Exists(sooner))
        if cursor is not None:
            soonest = soonest.filter(Q(due_on__gt=cursor.value)
                                     | Q(due_on=cursor.value, case_id__lt=cursor.pk))
        ids = _ids([soonest.filter(case__in=Case.objects.filter(p).values("pk"))
                    .order_by("due_on", "-case_id").values_list("case_id", flat=True)[:n]
                    for p in parts])
        next_due = running.filter(case=OuterRef("pk")).order_by("due_on").values("due_on")[:1]
        found = list(as_listed(Case.objects.filter(pk__in=ids))
                     .annotate(next_due=Subquery(next_due)).order_by("next_due", "-pk")[:n])
        if len(found) == n:
            return found
    none = ~Q(Exists(running.filter(case=OuterRef("pk"))))
    if cursor is not None and cursor.phase == _NONE:
        none &= _after("opened_at", True, cursor)
    return found + _first([Case.objects.filter(p, none) for p in parts], ("-opened_at", "-pk"),
                          n - len(found))


# What a list of cases shows (cases/_case_table.html) and what its state label needs: a
# lean read of the rows (docs/architecture.md#speed).
LIST_COLUMNS = ("id", "reference", "kind", "state", "procedure", "office_id", "office__country",
                "principal_id", "assigned_to_id", "assigned_to__username",
                "assigned_to__first_name", "assigned_to__last_name", "opened_at")
NAME_COLUMNS = ("id", "given_names", "family_names", "erased_at")


def as_listed(cases: QuerySet[Case], *columns: str) -> QuerySet[Case]:
    """Cases as a table lists them: the columns shown (and `columns`), the principals' names
    only."""
    return (cases.select_related("office", "assigned_to").only(*LIST_COLUMNS, *columns)
            .prefetch_related(None)
            .prefetch_related(Prefetch("principal", queryset=Person.objects.only(*NAME_COLUMNS))))


def case_by_reference(user: User, reference: str) -> Case | None:
    """The case with this reference if this user may see it (None says nothing more)."""
    reference = reference.strip().upper()
    if not reference:
        return None
    return visible_cases(user).filter(reference=reference).first()


def case_list(user: User, *, show: str = "all", after: str = "", limit: int = LIST_PAGE,
              kind: str = "", filters: listing.CaseFilters | None = None,
              sort: str = listing.NEWEST) -> CasePage:
    """A page of the cases this user sees, in the order `sort` (listing.SORTS), after the cursor
    `after`; no count.

    `show`: "mine" (assigned to the user), "queue" (unassigned, in their offices) or "all";
    `filters` narrow further. Each part of the scope is read from the cursor for one page at
    most, with the filters inside it, and the parts are merged: the cost follows the page,
    not the size of the offices, and no filter reaches past the scope."""
    if not user.is_authenticated or not user.is_active:
        return CasePage([])
    filters = filters or listing.CaseFilters()
    if kind:
        filters = dataclasses.replace(filters, kind=kind)
    if sort not in listing.SORTS:
        sort = listing.NEWEST
    narrow = {"mine": Q(assigned_to=user),
              "queue": Q(assigned_to__isnull=True, office__in=offices_where(user, *CASE_ROLES)),
              }.get(show, Q())
    narrow &= filters.condition(timezone.localdate())
    parts = [part & narrow for part in _scope_parts(user, office=filters.office)]
    if not parts:
        return CasePage([])
    cursor = _decode(sort, after) if after else None
    if sort == listing.DEADLINE:
        found = _by_deadline(parts, cursor, limit + 1,
                             running_too=filters.deadline != listing.NO_DEADLINE)
    else:
        key, desc = _SORT_KEYS[sort]
        start = _after(key, desc, cursor) if cursor else Q()
        order = (f"-{key}", "-pk") if desc else (key, "pk")
        found = _first([Case.objects.filter(p, start) for p in parts], order, limit + 1, key)
    page = found[:limit]
    return CasePage(page, _encode(sort, page[-1]) if len(found) > limit else "")


def case_list_choices(user: User) -> listing.ListChoices:
    """What this user may filter the case list by: their offices, the procedures those offices
    use and these procedures' states, and for supervisors the staff of their offices."""
    offices = list(user_offices(user, *CASE_ROLES).order_by("code").only("id", "code", "name", "country"))
    procedures: dict[str, workflow.Workflow] = {}
    without = False  # a kind of case some office has no procedure for
    for office in offices:
        for kind in CaseKind.values:
            wf = workflow.for_kind(kind, office.country.code)
            if wf is None:
                without = True
            else:
                procedures.setdefault(wf.name, wf)
    labels: dict[str, list[str]] = {}
    closed: dict[str, bool] = {}
    states = [s for wf in procedures.values() for s in wf.states.values()]
    if without:
        states += [workflow.State("open", STATE_FALLBACK["open"]),
                   workflow.State("closed", STATE_FALLBACK["closed"], closed=True)]
    for state in states:
        label = str(state.label)
        if label not in labels.setdefault(state.name, []):
            labels[state.name].append(label)
        closed[state.name] = closed.get(state.name, False) or state.closed
    # One name may carry another label in another procedure: both are shown.
    named = [(name, " / ".join(texts)) for name, texts in labels.items()]
    supervised = offices_where(user, Role.SUPERVISOR)
    staff: list[tuple[int, str]] = []
    if supervised:
        staff = [(u.pk, str(u) if u.is_active else _("%(name)s (inactive)") % {"name": u})
                 for u in User.objects.filter(memberships__office__in=supervised,
                                              memberships__role__in=CASE_ROLES).distinct()
                 .order_by("first_name", "last_name", "username")
                 .only("id", "username", "first_name", "last_name", "is_active")]
    return listing.ListChoices(
        offices=[(o.pk, o.code, str(o)) for o in offices],
        procedures=[(wf.name, str(wf.label)) for wf in procedures.values()],
        open_states=[(n, label) for n, label in named if not closed[n]],
        closed_states=[(n, label) for n, label in named if closed[n]],
        staff=staff, supervises=bool(supervised),
        flags=[(f.code, str(f.label)) for f in listing.flags()],
    )


def get_case(user: User, case_id: uuid.UUID | str) -> Case:
    """The case if this user may see it; 404 otherwise (never reveal that it exists).

    Read by its id with its office, assignee and principal in one written-out statement and
    judged by `access.sees_case`, the rule of `visible_cases` for a row already read: every
    case page and step asks, and building the scoped query cost more than the database took
    to answer it (docs/architecture.md#speed). A test holds it to `visible_cases`."""
    if not user.is_authenticated or not user.is_active:
        raise Http404("No such case.")
    try:
        key = case_id if isinstance(case_id, uuid.UUID) else uuid.UUID(str(case_id))
    except (ValueError, TypeError, AttributeError):
        raise Http404("No such case.") from None
    case = listed.whole_case(key)
    if case is None or not sees_case(user, case.pk, case.office_id, case.assigned_to_id):
        raise Http404("No such case.")
    return case


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


def can_read_erasure_note(user: User, person: Person) -> bool:
    """The note on an erasure is the office's record: its supervisors and auditors read it."""
    return user.is_superuser or person.office_id in offices_where(user, Role.SUPERVISOR,
                                                                  Role.AUDITOR)


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


def case_notes(user: User, case: Case) -> QuerySet[Note]:
    """The case's notes, if `user` sees that part of the case (a share may not open it)."""
    if not sees_part(user, case, "notes"):
        return Note.objects.none()
    return case.notes.select_related("author")


def case_documents(user: User, case: Case) -> QuerySet[Document]:
    if not sees_part(user, case, "documents"):
        return Document.objects.none()
    return case.documents.select_related("uploaded_by")


def get_document(user: User, case_id: uuid.UUID | str, document_id: uuid.UUID | str) -> Document:
    case = get_case(user, case_id)
    if not sees_part(user, case, "documents"):
        raise Http404("No such document.")
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
              date_of_birth: datetime.date | None, generation: int) -> list[tuple[str, int]]:
    """(kind, value) index entries a person must have; the likely most selective first."""
    out = []
    g = generation
    if doc:
        out.append(("doc", blind.bidx("doc", doc, g)))
    if date_of_birth:
        out.append(("dob", blind.bidx("dob", date_of_birth.isoformat(), g)))
    if sounds_like:
        out += sorted({("phonetic", blind.bidx("phonetic", blind.phonetic(t), g)) for t in tokens})
    else:
        out += sorted({("name", blind.bidx("name", t, g)) for t in tokens})
    return out


def _having_all(qs: QuerySet[PersonIndex], entries: list[tuple[str, int]]) -> QuerySet[PersonIndex]:
    """Index rows of `qs` whose person also has every entry in `entries` (same generation)."""
    for k, v in entries:
        # Entries carry their person's office and registration time: with them equal too,
        # PostgreSQL merges the two index ranges in order instead of probing per row.
        qs = qs.filter(Exists(PersonIndex.objects.filter(
            person_id=OuterRef("person_id"), office_id=OuterRef("office_id"),
            created_at=OuterRef("created_at"), generation=OuterRef("generation"), kind=k, value=v)))
    return qs


def _hits(user: User, criteria: list[tuple[str, int]], *, birth_year: int | None, sex: str,
          limit: int, generation: int) -> list[uuid.UUID]:
    """Ids of people in the user's scope with every entry in `criteria`, newest first, at most
    `limit` per part: each part walks the index range of one of the user's offices from its
    newest hit and stops at the limit (docs/architecture.md#search).

    Every search runs this, so it is one statement written out here rather than built by the
    ORM each time (building it cost several times what PostgreSQL takes to run it); the
    tests hold it to the scope of visible_people."""
    supervised = offices_where(user, Role.SUPERVISOR)
    worked = offices_where(user, Role.CASEWORKER) - supervised
    grants = sorted(granted_case_ids(user))
    shared: list[uuid.UUID] = []
    if grants:
        # Few people: read first, then looked up by (person, kind, value).
        shared = sorted(set(CaseParticipant.objects.filter(case_id__in=grants)
                            .values_list("person_id", flat=True)))
    if not (supervised or worked or shared):
        return []
    index, person, participant, case = (m._meta.db_table for m in
                                        (PersonIndex, Person, CaseParticipant, Case))
    uid = Person._meta.pk.get_db_prep_value  # a UUID as the database takes it

    def marks(values: Sequence[Any]) -> str:
        return ", ".join(["%s"] * len(values))

    (kind, value), *others = criteria
    # Entries carry their person's office and registration time: with them equal too,
    # PostgreSQL merges the two index ranges in order instead of probing per row.
    also = (f" AND EXISTS (SELECT 1 FROM {index} o WHERE o.person_id = i.person_id"  # noqa: S608 - names from models
            " AND o.office_id = i.office_id AND o.created_at = i.created_at"
            " AND o.generation = i.generation AND o.kind = %s AND o.value = %s)")
    common = "i.generation = %s AND i.kind = %s AND i.value = %s" + also * len(others)
    common_params: list[Any] = [generation, kind, value]
    for k, v in others:
        common_params += [k, v]
    join = f" JOIN {person} p ON p.id = i.person_id" if birth_year or sex else ""
    if birth_year:
        common += " AND p.birth_year = %s"
        common_params.append(birth_year)
    if sex:
        common += " AND p.sex = %s"
        common_params.append(sex)

    parts: list[tuple[str, list[Any]]] = [("i.office_id = %s", [o]) for o in sorted(supervised)]
    # A person's cases are all of the person's office (cases open in the person's office,
    # relatives are registered in the case's), so every person of a supervised office is in
    # scope. A caseworker's are those in one of their own or an unassigned case (or a granted
    # one), or in no case yet, as in visible_people. That is asked per row walked, as one
    # scalar subquery (no participation at all: NULL, the office's intake): an EXISTS under
    # OR let PostgreSQL hash every participant instead.
    granted = f" OR cp.case_id IN ({marks(grants)})" if grants else ""
    for o in sorted(worked):
        sees = ("i.office_id = %s AND COALESCE((SELECT MAX(CASE WHEN (c.office_id = %s"  # noqa: S608 - names from models
                f" AND (c.assigned_to_id = %s OR c.assigned_to_id IS NULL)){granted}"
                f" THEN 1 ELSE 0 END) FROM {participant} cp JOIN {case} c ON c.id = cp.case_id"
                " WHERE cp.person_id = i.person_id), 1) = 1")
        parts.append((sees, [o, o, user.pk, *(uid(g, connection) for g in grants)]))
    if shared:
        elsewhere = sorted(supervised | worked)
        parts.append((
            f"i.person_id IN ({marks(shared)})"
            + (f" AND i.office_id NOT IN ({marks(elsewhere)})" if elsewhere else ""),
            [*(uid(pk, connection) for pk in shared), *elsewhere]))
    # Ordered by the index's own order only: a tie-break on the person made PostgreSQL sort
    # the whole range (people registered together keep the index's order among themselves).
    sql = " UNION ALL ".join(
        f"SELECT person_id FROM (SELECT i.person_id FROM {index} i{join} WHERE {scope} AND "  # noqa: S608 - names from models
        f"{common} ORDER BY i.created_at DESC LIMIT %s) w{n}"
        for n, (scope, _params) in enumerate(parts))
    params: list[Any] = []
    for _scope, scope_params in parts:
        params += [*scope_params, *common_params, limit]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [as_uuid(pk) for (pk,) in cursor.fetchall()]
    # Planned for its values on every run: how many entries a value has decides the plan, and
    # the one plan a prepared statement settles on for every value walked the commonest
    # surname's entries 2-3 times slower for a caseworker (docs/architecture.md#speed).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        cursor.execute(sql, params)
        return [as_uuid(pk) for (pk,) in cursor.fetchall()]


def _seen(user: User, people: list[Person]) -> list[Person]:
    """Those of `people` that visible_people(user) holds, decided in Python on one read of
    their cases: in a case the user sees (access.sees_case), or in no case and registered in
    one of the user's offices."""
    cases: dict[uuid.UUID, list[tuple[uuid.UUID, int, int | None]]] = {}
    for person_id, case_id, office_id, assigned_to_id in CaseParticipant.objects.filter(
            person_id__in=[p.pk for p in people]).values_list(
            "person_id", "case_id", "case__office_id", "case__assigned_to_id"):
        cases.setdefault(person_id, []).append((case_id, office_id, assigned_to_id))
    intake = offices_where(user, *CASE_ROLES)
    return [p for p in people
            if (any(sees_case(user, *c) for c in cases[p.pk]) if p.pk in cases
                else p.office_id in intake)]


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
    # During a re-index every generation the key file holds is walked: a person is indexed
    # in one of them (docs/architecture.md#index-key-generations).
    ids: set[uuid.UUID] = set()
    for generation in keyring.provider().index_generations():
        criteria = _criteria(tokens, sounds_like=sounds_like, doc=doc,
                             date_of_birth=date_of_birth, generation=generation)
        ids.update(_hits(user, criteria, birth_year=birth_year, sex=sex, limit=cap + 1,
                         generation=generation))
    if not ids:
        return SearchResult([], 0, False, cap)
    # The walk chose which rows to look at; the people are scoped again by the rule of
    # visible_people, decided apart (_seen), and only those shown are decrypted.
    found = _seen(user, list(Person.objects.filter(pk__in=ids, erased_at__isnull=True)
                             .select_related("office")))
    found.sort(key=lambda p: (p.created_at, p.pk), reverse=True)
    found = found[:cap + 1]
    truncated = len(found) > cap
    candidates = found[:min(cap, ABOVE_CAP_PAGE)] if truncated else found
    if doc:
        prefetch_related_objects(candidates, "documents")
    datakeys.preload([p.pk for p in candidates])
    confirmed = [p for p in candidates
                 if _matches(p, tokens, sounds_like=sounds_like, doc=doc, date_of_birth=date_of_birth)]
    return SearchResult(confirmed, len(found), truncated, cap)


def _matches(person: Person, tokens: set[str], *, sounds_like: bool = False, doc: str = "",
             date_of_birth: datetime.date | None = None) -> bool:
    """Whether the decrypted record has every name token, the document and the birth date
    asked for: a blind-index hit is only a candidate (its entries are short on purpose)."""
    wanted = {blind.phonetic(t) for t in tokens} if sounds_like else tokens
    have = blind.name_tokens(person.given_names or "", person.family_names or "", *(person.aliases or []))
    if sounds_like:
        have = {blind.phonetic(t) for t in have}
    if not wanted <= have:
        return False
    if doc and doc not in {blind.normalize_document(d.number or "") for d in person.documents.all()}:
        return False
    return not (date_of_birth and person.date_of_birth != date_of_birth)


# Candidates read per criterion by the office-wide duplicate check.
DUPLICATE_CANDIDATES = 20


def office_matches(office: Office, data: _Identity, *, exclude: uuid.UUID | None = None
                   ) -> dict[uuid.UUID, list[str]]:
    """People of `office` who share a document number, or every name and the date of birth,
    with `data`, whoever may see them: {person id: DuplicateReason codes}.

    For the duplicate check at registration only (docs/architecture.md#duplicates): a user
    is told of a match they may not see, never shown it."""
    tokens = blind.name_tokens(data.given_names, data.family_names)
    asked: list[tuple[str, int, list[tuple[str, int]], dict[str, Any]]] = []
    for g in keyring.provider().index_generations():
        for d in data.documents:
            if number := blind.normalize_document(d.number):
                asked.append((DuplicateReason.DOCUMENT, g, [("doc", blind.bidx("doc", number, g))],
                              {"doc": number}))
        if tokens and data.date_of_birth:
            asked.append((DuplicateReason.NAME_AND_BIRTH, g,
                          _criteria(tokens, sounds_like=False, doc="",
                                    date_of_birth=data.date_of_birth, generation=g),
                          {"tokens": tokens, "date_of_birth": data.date_of_birth}))
    found: dict[uuid.UUID, list[str]] = {}
    for reason, g, criteria, wanted in asked:
        (kind, value), *others = criteria
        hits = _having_all(PersonIndex.objects.filter(
            office=office, generation=g, kind=kind, value=value), others)
        if exclude is not None:
            hits = hits.exclude(person_id=exclude)
        ids = hits.order_by("-created_at").values_list("person_id", flat=True)[:DUPLICATE_CANDIDATES]
        people = list(Person.objects.filter(pk__in=list(ids), erased_at__isnull=True))
        if "doc" in wanted:
            prefetch_related_objects(people, "documents")
        datakeys.preload([p.pk for p in people])
        for p in people:
            if _matches(p, wanted.get("tokens", set()), doc=wanted.get("doc", ""),
                        date_of_birth=wanted.get("date_of_birth")):
                found.setdefault(p.pk, []).append(reason)
    return found


def _pairs_supervised(user: User) -> Q:
    """Pairs of an office this user supervises: the pair's own (the newer record's), or the
    office of its older record (a fingerprint match across offices is both offices' to
    review; each sees the other's record only through a grant)."""
    supervised = offices_where(user, Role.SUPERVISOR)
    return Q(office__in=supervised) | Q(other__office__in=supervised)


def duplicate_queue(user: User) -> QuerySet[PossibleDuplicate]:
    """Pairs to review in the offices this user supervises, oldest first."""
    return (PossibleDuplicate.objects
            .filter(_pairs_supervised(user), status=DuplicateStatus.OPEN)
            .select_related("office", "person__office", "other__office", "flagged_by")
            .order_by("created_at", "pk"))


def get_duplicate(user: User, pk: uuid.UUID | str) -> PossibleDuplicate:
    """A pair of an office this user supervises, reviewed or not."""
    try:
        return (PossibleDuplicate.objects
                .filter(_pairs_supervised(user))
                .select_related("office", "person", "other").get(pk=pk))
    except (PossibleDuplicate.DoesNotExist, ValidationError, ValueError):
        raise Http404("No such pair.") from None


def flagged_unseen(person: Person) -> bool:
    """Whether registering `person` queued a pair its registrar was not shown."""
    return PossibleDuplicate.objects.filter(person=person, confirmed_distinct=False).exists()


def linked_people(user: User, person: Person) -> list[Person]:
    """Other records a supervisor linked to this one as the same person, that this user may see."""
    pairs = PossibleDuplicate.objects.filter(Q(person=person) | Q(other=person),
                                             status=DuplicateStatus.LINKED)
    ids = {pk for pair in pairs.values_list("person_id", "other_id") for pk in pair} - {person.pk}
    if not ids:
        return []
    return list(visible_people(user).filter(pk__in=ids).select_related("office").order_by("created_at"))


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


# Shown to their recipient whatever they may see now: a share's end, a notice about one's account.
ACCOUNT_NOTICES = (NotificationKind.SHARE_ENDED, NotificationKind.NEW_LOGIN_PLACE)


def visible_notifications(user: User) -> QuerySet[Notification]:
    """The user's own notifications about cases they may still see: a case reassigned, or a
    role or grant withdrawn, hides its notifications, reference and all. One about a transfer
    between offices shows while the user supervises one of its offices (what the transfers
    page shows them), whether or not they see the case. One telling that a share ended shows
    for good: the case is no longer theirs to see, its reference was. So does one about the
    user's own account (a login from a new browser or place)."""
    if not user.is_authenticated or not user.is_active:
        return Notification.objects.none()
    supervised = sorted(offices_where(user, Role.SUPERVISOR))
    about_case = Q(handover__isnull=True,
                   case__in=visible_cases(user, grants_in_query=True).values("pk"))
    about_case |= Q(kind__in=ACCOUNT_NOTICES)
    if not supervised:
        return Notification.objects.filter(about_case, recipient=user)
    about_transfer = Q(handover__from_office__in=supervised) | Q(handover__to_office__in=supervised)
    about_account = Q(kind=NotificationKind.RATE_LIMITED, office__in=supervised)
    return Notification.objects.filter(about_case | about_transfer | about_account, recipient=user)


# The bell reads this many of the newest unread notifications and counts those about cases the
# user still sees; past it (a backlog of hidden ones) it asks the database with the full scope.
BELL_SCAN = 100


def _bell_sees(user: User, kind: str, case_id: Any, office_id: int | None,
               assigned_to_id: int | None, handover_id: Any, from_office_id: int | None,
               to_office_id: int | None) -> bool:
    if kind in ACCOUNT_NOTICES:
        return True
    if kind == NotificationKind.RATE_LIMITED:
        return office_id in offices_where(user, Role.SUPERVISOR)
    if handover_id is not None:
        return sees_handover(user, from_office_id or 0, to_office_id or 0)
    return sees_case(user, case_id, office_id or 0, assigned_to_id)


def unread_notifications(user: User) -> Bounded:
    """How many of the user's visible notifications are unread, up to BELL_LIMIT. The navbar
    asks on every page, so the usual answer is one plain statement on the (recipient,
    read_at, created_at) index, with each row's case office and assignee, judged by
    `sees_case` (the rule of `visible_cases`), or its transfer's offices, judged by
    `sees_handover`, instead of the scope's subqueries (a share's end always counts)."""
    if not user.is_authenticated or not user.is_active:
        return Bounded(0)
    q = connection.ops.quote_name
    notification, case, handover = (q(m._meta.db_table) for m in (Notification, Case, Handover))
    # Written out: every page runs it, and the ORM took longer to build it than to run it.
    sql = (f"SELECT n.kind, n.case_id, COALESCE(c.office_id, n.office_id), c.assigned_to_id,"  # noqa: S608 - names from models
           f" n.handover_id, h.from_office_id, h.to_office_id FROM {notification} n"
           f" LEFT JOIN {case} c ON c.id = n.case_id LEFT JOIN {handover} h ON h.id = n.handover_id"
           " WHERE n.recipient_id = %s AND n.read_at IS NULL ORDER BY n.created_at DESC LIMIT %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, BELL_SCAN])
        rows = cursor.fetchall()
    seen = sum(1 for kind, case_id, *rest in rows
               if _bell_sees(user, kind, as_uuid(case_id), *rest))
    if len(rows) == BELL_SCAN and seen <= BELL_LIMIT:  # hidden ones crowd the newest: ask SQL
        unread = (visible_notifications(user).filter(read_at__isnull=True).order_by()
                  .values_list("pk", flat=True)[:BELL_LIMIT + 1])
        seen = len(list(unread))
    return bounded(seen, BELL_LIMIT)


def get_notification(user: User, notification_id: int | str) -> Notification:
    """One of the user's visible notifications; 404 for anyone else's or a hidden one."""
    try:
        return visible_notifications(user).get(pk=notification_id)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise Http404("No such notification.") from None
