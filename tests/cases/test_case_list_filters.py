"""The case list's filters and sorts (cases/listing.py, selectors.case_list, /cases/): each
filter narrows inside the user's scope and never past it, every sort pages from a cursor with
no case twice and none left out, bad parameters fall back to the defaults, and the page's
queries grow neither with the cases nor with the filters."""

from __future__ import annotations

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import listing, selectors, services
from cases.listing import CaseFilters
from cases.models import Case, CaseDeadline, CaseStep, Role
from rsd import services as rsd_services

EN = {"accept-language": "en"}
DAY = datetime.timedelta(days=1)
SORTS = list(listing.SORTS)


def today() -> datetime.date:
    return timezone.localdate()


def deadline(case: Case, due_on: datetime.date, *, met: bool = False) -> CaseDeadline:
    number = CaseStep.objects.filter(case=case).count() + 1
    step = CaseStep.objects.create(case=case, number=number, transition="start", source="open",
                                   target="open", effective_on=due_on - 30 * DAY,
                                   person_id=case.principal_id)
    return CaseDeadline.objects.create(case=case, clock="interview", starts_on=due_on - 30 * DAY,
                                       due_on=due_on, started_by_step=step,
                                       office_id=case.office_id, assigned_to_id=case.assigned_to_id,
                                       met_at=timezone.now() if met else None)


@pytest.fixture
def world(caseworker, caseworker2, supervisor, other_caseworker, office, other_office,
          person_data):
    """Fourteen cases of the office and four of the other, with assignees, states, times and
    deadlines chosen so that every filter and every sort tells them apart."""
    def open_case(by, where, n, kind="asylum"):
        person = services.register_person(by=by, office=where, data=person_data(
            given_names=f"Ana {n}", documents=[], specific_needs=[]))
        return services.open_case(by=by, person=person, kind=kind)

    here = [open_case(caseworker, office, n, "trafficking" if n in (3, 9) else "asylum")
            for n in range(14)]
    there = [open_case(other_caseworker, other_office, 20 + n) for n in range(4)]
    base = timezone.now() - 60 * DAY
    states = ["open", "registered", "interview_scheduled", "open", "interviewed", "recognized",
              "interview_scheduled", "registered", "under_review", "open", "withdrawn",
              "interview_scheduled", "registered", "open"]
    for n, case in enumerate(here):
        closed = states[n] in ("recognized", "withdrawn")
        Case.objects.filter(pk=case.pk).update(
            # Opened in another order than numbered (so that a reference sort differs), four at
            # one time and three changed at one time (ties go by id).
            opened_at=base + datetime.timedelta(hours=(n * 5) % 14 if n > 3 else 0),
            updated_at=base + datetime.timedelta(hours=(n * 3) % 14 if n < 11 else 20),
            assigned_to=(caseworker, caseworker2, None)[n % 3],
            state=states[n], procedure="rsd.bz" if states[n] != "open" and n not in (3, 9) else "",
            closed_at=base if closed else None)
    for n, case in enumerate(there):
        Case.objects.filter(pk=case.pk).update(
            opened_at=base + n * DAY, state="interview_scheduled", procedure="rsd.cr",
            assigned_to=other_caseworker if n % 2 else None)
    # Running deadlines: two overdue (one of them also due soon), three due soon (two on one
    # day), one later; a met one that no longer counts; one in the other office.
    deadline(here[0], today() - 2 * DAY)
    deadline(here[0], today() + 3 * DAY)
    deadline(here[1], today() - 1 * DAY)
    deadline(here[2], today() + 3 * DAY)
    deadline(here[4], today() + 3 * DAY)
    deadline(here[6], today() + 7 * DAY)
    deadline(here[7], today() + 40 * DAY)
    deadline(here[8], today() - 5 * DAY, met=True)
    deadline(there[0], today() - 3 * DAY)
    return {"here": [Case.objects.get(pk=c.pk) for c in here],
            "there": [Case.objects.get(pk=c.pk) for c in there]}


def walk(user, *, limit, sort="newest", show="all", filters=None):
    """Every page of the list, following the cursors."""
    cases, after, pages = [], "", 0
    while True:
        page = selectors.case_list(user, show=show, after=after, limit=limit,
                                   filters=filters or CaseFilters(), sort=sort)
        assert len(page.cases) <= limit
        assert page.cases or not after, "a cursor led to an empty page"
        cases += page.cases
        pages += 1
        assert pages < 100, "the cursor does not advance"
        if not page.next:
            return [c.pk for c in cases]
        after = page.next


def running_due() -> dict:
    due: dict = {}
    for d in CaseDeadline.objects.filter(met_at__isnull=True):
        due[d.case_id] = min(due.get(d.case_id, d.due_on), d.due_on)
    return due


def in_order(qs, sort) -> list:
    """The cases of `qs` in the order `sort` promises, computed without selectors.case_list."""
    cases = list(qs)
    if sort == "newest":
        cases.sort(key=lambda c: (c.opened_at, c.pk), reverse=True)
    elif sort == "oldest":
        cases.sort(key=lambda c: (c.opened_at, c.pk))
    elif sort == "changed":
        cases.sort(key=lambda c: (c.updated_at, c.pk), reverse=True)
    elif sort == "reference":  # as the database collates
        return list(qs.order_by("reference", "pk").values_list("pk", flat=True))
    elif sort == "deadline":
        due = running_due()
        first = sorted((c for c in cases if c.pk in due), key=lambda c: (due[c.pk], -c.pk.int))
        rest = sorted((c for c in cases if c.pk not in due), key=lambda c: (c.opened_at, c.pk),
                      reverse=True)
        cases = first + rest
    return [c.pk for c in cases]


# --- Every sort pages through the whole list ---------------------------------------------

@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("limit", [1, 2, 5])
def test_every_sort_pages_through_everything_once_in_its_order(world, supervisor, caseworker,
                                                               make_user, office, other_office,
                                                               sort, limit):
    # Several parts of a scope merged: a caseworker's own cases, the queue and a shared case;
    # a supervisor of one office who works in another.
    services.grant_case_access(by=make_user(Role.SUPERVISOR, other_office), case=world["there"][1],
                               user=caseworker, reason="Referral")
    both = make_user(Role.SUPERVISOR, office)
    services.grant_membership(by=None, user=both, office=other_office, role=Role.CASEWORKER)
    for user, show in ((supervisor, "all"), (caseworker, "all"), (caseworker, "mine"),
                       (both, "all"), (both, "queue")):
        seen = walk(user, limit=limit, sort=sort, show=show)
        assert len(seen) == len(set(seen)), (user, show, "a case twice")
        scope = {"all": selectors.visible_cases(user), "mine": selectors.my_cases(user),
                 "queue": selectors.unassigned_queue(user)}[show]
        assert seen == in_order(scope, sort), (user, show)


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_pages_with_filters_on(world, supervisor, sort):
    filters = CaseFilters(state=listing.ANY_OPEN, kind="asylum")
    seen = walk(supervisor, limit=2, sort=sort, filters=filters)
    assert seen == in_order(selectors.visible_cases(supervisor).filter(
        closed_at__isnull=True, kind="asylum"), sort)
    assert len(seen) == 10

    # No deadline running: the deadline sort skips straight to the cases without one.
    seen = walk(supervisor, limit=3, sort=sort, filters=CaseFilters(deadline=listing.NO_DEADLINE))
    assert seen == in_order(selectors.visible_cases(supervisor).exclude(
        pk__in=running_due()), sort)
    assert len(seen) == 8


def test_the_deadline_sort_puts_the_soonest_first_and_a_case_once(world, supervisor):
    here = world["here"]
    seen = walk(supervisor, limit=3, sort="deadline")
    # here[0]: overdue by two days and due in three; the overdue one places it.
    assert seen[:6] == [here[0].pk, here[1].pk,
                        *sorted([here[2].pk, here[4].pk], key=lambda pk: pk.int, reverse=True),
                        here[6].pk, here[7].pk]
    assert here[8].pk in seen[6:]  # its only deadline was met


def test_a_cursor_of_another_sort_starts_the_list_from_the_top(world, supervisor):
    by_reference = selectors.case_list(supervisor, limit=3, sort="reference")
    newest = selectors.case_list(supervisor, limit=3, sort="newest")
    again = selectors.case_list(supervisor, limit=3, sort="newest", after=by_reference.next)
    assert [c.pk for c in again.cases] == [c.pk for c in newest.cases]


# --- Each filter --------------------------------------------------------------------------

def pks(user, **filters):
    return set(walk(user, limit=50, filters=CaseFilters(**filters)))


def test_state_filters(world, supervisor):
    here = world["here"]
    assert pks(supervisor, state="interview_scheduled") == {here[2].pk, here[6].pk, here[11].pk}
    assert pks(supervisor, state=listing.ANY_CLOSED) == {here[5].pk, here[10].pk}
    assert pks(supervisor, state=listing.ANY_OPEN) == {c.pk for c in here} - {here[5].pk, here[10].pk}


def test_procedure_filter_takes_the_cases_not_yet_in_it(world, make_user, office, other_office):
    both = make_user(Role.SUPERVISOR, office)
    services.grant_membership(by=None, user=both, office=other_office, role=Role.SUPERVISOR)
    here, there = world["here"], world["there"]
    asylum_here = {c.pk for c in here if c.kind == "asylum"}
    assert pks(both, procedure="rsd.bz") == asylum_here
    assert pks(both, procedure="rsd.cr") == {c.pk for c in there}
    assert pks(both, procedure="rsd.mx") == set()


def test_assignee_filter_and_the_queue(world, supervisor, caseworker2):
    here = world["here"]
    assert pks(supervisor, assignee=caseworker2.pk) == {c.pk for c in here[1::3]}
    queue = set(walk(supervisor, limit=50, show="queue"))
    assert queue == {c.pk for c in here[2::3]}


def test_deadline_filters(world, supervisor, caseworker):
    here = world["here"]
    assert pks(supervisor, deadline=listing.OVERDUE) == {here[0].pk, here[1].pk}
    assert pks(supervisor, deadline=listing.DUE_SOON) == {here[0].pk, here[2].pk, here[4].pk, here[6].pk}
    assert pks(supervisor, deadline=listing.NO_DEADLINE) == (
        {c.pk for c in here} - {here[n].pk for n in (0, 1, 2, 4, 6, 7)})
    # The caseworker: the same filter inside their own scope.
    assert pks(caseworker, deadline=listing.OVERDUE) == {here[0].pk}


def test_office_filter_for_staff_of_several_offices(world, make_user, office, other_office):
    both = make_user(Role.SUPERVISOR, office)
    services.grant_membership(by=None, user=both, office=other_office, role=Role.CASEWORKER)
    here, there = world["here"], world["there"]
    assert pks(both, office=other_office.pk) == {c.pk for c in there if c.assigned_to_id is None}
    assert pks(both, office=office.pk) == {c.pk for c in here}


def test_kind_filter(world, supervisor):
    here = world["here"]
    assert pks(supervisor, kind="trafficking") == {here[3].pk, here[9].pk}


def test_priority_comes_from_the_asylum_procedure_through_its_flag(
        caseworker, supervisor, office, person_data):
    def application(needs):
        person = services.register_person(by=caseworker, office=office, data=person_data(
            documents=[], specific_needs=needs, date_of_birth=datetime.date(1980, 1, 1)))
        case = services.open_case(by=caseworker, person=person, kind="asylum")
        rsd_services.record_application(by=caseworker, case=case, data=rsd_services.ApplicationData(
            application_date=today(), arrival_date=today() - 2 * DAY, channel="office",
            claim_summary="Threatened by a gang."))
        return case

    urgent, ordinary = application(["woman_at_risk"]), application([])
    assert "priority" in {f.code for f in listing.flags()}
    assert pks(supervisor, flags=("priority",)) == {urgent.pk}
    assert pks(supervisor) == {urgent.pk, ordinary.pk}
    assert pks(supervisor, flags=("no-such-flag",)) == set()


def test_filters_combine(world, supervisor, caseworker):
    here = world["here"]
    got = pks(supervisor, state="interview_scheduled", assignee=caseworker.pk)
    assert got == {c.pk for c in here if c.state == "interview_scheduled"
                   and c.assigned_to_id == caseworker.pk}
    assert got == {here[6].pk}
    assert pks(supervisor, state="interview_scheduled", deadline=listing.DUE_SOON,
               kind="asylum") == {here[2].pk, here[6].pk}


# --- Scope: wrong role, other office --------------------------------------------------------

def test_no_filter_reaches_past_the_scope(world, caseworker, caseworker2, other_supervisor,
                                          office, other_office):
    here, there = world["here"], world["there"]
    # The other office's supervisor, filtering by this office's staff or office: nothing.
    assert pks(other_supervisor, assignee=caseworker.pk) == set()
    assert pks(other_supervisor, office=office.pk) == set()
    assert pks(other_supervisor, state="interview_scheduled") == {c.pk for c in there}
    # A caseworker filtering by a colleague: none of the colleague's cases (not theirs to see).
    assert pks(caseworker, assignee=caseworker2.pk) == set()
    assert pks(caseworker, state="registered") == {here[12].pk}  # not here[1] or here[7]


def test_the_page_applies_the_scope_to_bad_assignees_and_offices(client, world, caseworker,
                                                                 caseworker2, other_supervisor,
                                                                 office):
    client.force_login(other_supervisor)
    page = client.get(reverse("case_list"), {"assignee": caseworker.pk, "show": "all"}, headers=EN)
    assert page.status_code == 200 and page.context["cases"] == []
    assert "No case matches these filters." in page.content.decode()
    # An office that is not theirs is not a choice: ignored, their own cases only.
    page = client.get(reverse("case_list"), {"office": office.code, "show": "all"})
    assert {c.pk for c in page.context["cases"]} == {c.pk for c in world["there"]}

    # A caseworker picks only "me", "unassigned" or anyone: a colleague's id is ignored.
    client.force_login(caseworker)
    page = client.get(reverse("case_list"), {"assignee": caseworker2.pk}, headers=EN)
    assert page.context["show"] == "mine"
    assert {c.assigned_to_id for c in page.context["cases"]} == {caseworker.pk}
    html = page.content.decode()
    assert f'value="{caseworker2.pk}"' not in html


def test_other_roles_get_no_list(client, world, make_user, office):
    auditor = make_user(Role.AUDITOR, office)
    assert selectors.case_list(auditor, filters=CaseFilters(state="open")).cases == []
    client.force_login(auditor)
    assert client.get(reverse("case_list"), {"state": "open"}).status_code == 403


# --- The page -----------------------------------------------------------------------------

def test_garbage_is_ignored_and_never_recorded(client, world, supervisor):
    client.force_login(supervisor)
    default = client.get(reverse("case_list"), {"show": "all"})
    garbage = {"show": "all", "state": "<script>alert(1)</script>", "procedure": "rsd.nope",
               "kind": "cars", "assignee": "1 OR 1=1", "deadline": "yesterday", "office": "ZZ-ZZZ",
               "flag": ["priority'--", "x"], "sort": "-pk", "after": "newest|not-a-date|x" * 3}
    page = client.get(reverse("case_list"), garbage)
    assert page.status_code == 200
    assert [c.pk for c in page.context["cases"]] == [c.pk for c in default.context["cases"]]
    event = AuditEvent.objects.filter(action="case.list").latest("id")
    assert event.details["filters"] == {} and event.details["sort"] == "newest"
    assert "script" not in str(event.details) and "OR" not in str(event.details)
    # Mixed: the valid filter stays, the bad one alone is dropped.
    page = client.get(reverse("case_list"), {"show": "all", "state": "registered", "sort": "x"})
    assert {c.state for c in page.context["cases"]} == {"registered"}
    for bad in ("reference|BZ|nope", "deadline|due:2026-13-01|" + "0" * 32, "changed|2026-01-01T00:00:00|"
                + "0" * 32, "deadline|soon:2026-01-01|" + "0" * 32, "|||"):
        sort = bad.split("|")[0] or "newest"
        response = client.get(reverse("case_list"), {"show": "all", "sort": sort, "after": bad})
        assert response.status_code == 200


def test_the_event_records_the_validated_filters(client, world, supervisor, caseworker, office):
    client.force_login(supervisor)
    client.get(reverse("case_list"), {"state": "interview_scheduled", "assignee": caseworker.pk,
                                      "deadline": "soon", "kind": "asylum", "flag": "priority",
                                      "sort": "deadline", "reference": ""})
    event = AuditEvent.objects.filter(action="case.list").latest("id")
    assert event.details["filters"] == {"state": "interview_scheduled", "assignee": caseworker.pk,
                                        "deadline": "soon", "kind": "asylum", "flags": ["priority"]}
    assert event.details["sort"] == "deadline" and event.details["show"] == "all"
    assert event.details["cases"] == []  # here[6] is due soon but not a priority case


def test_the_form_keeps_its_values_and_the_links_carry_the_filters(client, world, supervisor,
                                                                   caseworker, monkeypatch):
    monkeypatch.setattr(selectors, "LIST_PAGE", 2)
    client.force_login(supervisor)
    wanted = {"state": listing.ANY_OPEN, "kind": "asylum", "sort": "reference",
              "assignee": str(caseworker.pk)}
    page = client.get(reverse("case_list"), wanted, headers=EN)
    html = page.content.decode()
    assert f'<option value="{listing.ANY_OPEN}" selected>' in html
    assert '<option value="reference" selected>' in html
    assert f'<option value="{caseworker.pk}" selected>' in html
    assert 'id="clear-filters" href="?show=all&amp;sort=reference"' in html
    # A reference not found comes back to the same list.
    assert '<input type="hidden" name="state" value="any-open">' in html
    assert f'<input type="hidden" name="assignee" value="{caseworker.pk}">' in html
    # Labels, not codes, grouped by open and closed states.
    assert '<option value="interview_scheduled">Interview scheduled</option>' in html
    assert re.search(r'<optgroup label="Closed">.*?<option value="recognized">Recognized</option>',
                     html, re.S)

    # Following "Next" to the end: the filters stay, and together the pages are the list.
    seen, url = [], reverse("case_list") + "?" + page.context["query"]
    while True:
        response = client.get(url, headers=EN)
        seen += [c.pk for c in response.context["cases"]]
        links = dict(re.findall(r'<a class="page-link" href="([^"]*)">([^<]+)</a>',
                                response.content.decode()))
        nxt = next((href for href, text in links.items() if text == "Next"), None)
        if nxt is None:
            break
        query = parse_qs(urlsplit(nxt.replace("&amp;", "&")).query)
        assert {k: v[0] for k, v in query.items() if k != "after"} == {**wanted, "show": "all"}
        url = reverse("case_list") + nxt.replace("&amp;", "&")
    expected = selectors.visible_cases(supervisor).filter(
        closed_at__isnull=True, kind="asylum", assigned_to=caseworker)
    assert seen == in_order(expected, "reference") and len(seen) > 2


def test_the_tabs_keep_the_filters_and_the_assignee_choice_is_the_tab(client, world, supervisor):
    client.force_login(supervisor)
    html = client.get(reverse("case_list"), {"show": "queue", "deadline": "overdue"}).content.decode()
    assert 'href="?show=mine&amp;deadline=overdue"' in html
    assert '<option value="none" selected>' in html  # the queue tab is "unassigned"
    page = client.get(reverse("case_list"), {"assignee": "me", "state": "registered"})
    assert page.context["show"] == "mine"


def test_an_empty_result_says_so_and_offers_to_clear(client, world, supervisor):
    client.force_login(supervisor)
    html = client.get(reverse("case_list"), {"show": "all", "state": "minister", "kind": "trafficking"},
                      headers=EN).content.decode()
    assert "No case matches these filters." in html
    assert '<a href="?show=all">Clear filters</a>' in html
    # Without filters, the plain message.
    html = client.get(reverse("case_list"), {"show": "queue", "office": "nope"},
                      headers=EN).content.decode()
    assert "No case matches" not in html


def test_the_choices_are_the_users(client, world, supervisor, caseworker, caseworker2,
                                   other_caseworker, make_user, office, other_office):
    client.force_login(supervisor)
    form = client.get(reverse("case_list")).context["form"]
    staff = {v for v, _ in form.fields["assignee"].widget.choices[-1][1]}
    assert {str(caseworker.pk), str(caseworker2.pk), str(supervisor.pk)} <= staff
    assert str(other_caseworker.pk) not in staff
    assert form.choices.offices == [(office.pk, office.code, str(office))]
    # Belize: its asylum procedure, and the trafficking procedure every country follows.
    assert [name for name, _ in form.choices.procedures] == ["rsd.bz", "tip"]

    client.force_login(caseworker)
    form = client.get(reverse("case_list")).context["form"]
    assert [v for v, _ in form.fields["assignee"].widget.choices] == ["", "me", "none"]

    both = make_user(Role.CASEWORKER, office)
    services.grant_membership(by=None, user=both, office=other_office, role=Role.CASEWORKER)
    client.force_login(both)
    html = client.get(reverse("case_list"), headers=EN).content.decode()
    assert 'id="id_office"' in html and 'id="id_procedure"' in html
    assert f'<option value="{other_office.code}">' in html


# --- Queries ------------------------------------------------------------------------------

def queries(client, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("case_list"), params).status_code == 200
    assert not any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("sort", SORTS)
def test_the_queries_grow_neither_with_the_cases_nor_with_the_filters(
        client, world, supervisor, caseworker, office, person_data, make_user, other_office, sort):
    every = {"state": listing.ANY_OPEN, "kind": "asylum", "deadline": "soon", "flag": "priority",
             "procedure": "rsd.bz", "assignee": caseworker.pk, "office": office.code}
    both = make_user(Role.SUPERVISOR, office)
    services.grant_membership(by=None, user=both, office=other_office, role=Role.CASEWORKER)
    for user in (supervisor, caseworker, both):
        client.force_login(user)
        plain = queries(client, {"show": "all", "sort": sort})
        filtered = queries(client, {"show": "all", "sort": sort, **every})
        assert filtered <= plain, user
        for n in range(6):
            person = services.register_person(by=caseworker, office=office, data=person_data(
                given_names=f"Más {n}", documents=[]))
            deadline(services.open_case(by=caseworker, person=person, kind="asylum"), today() + DAY)
        assert queries(client, {"show": "all", "sort": sort}) <= plain, user
        assert queries(client, {"show": "all", "sort": sort, **every}) <= filtered, user


def test_a_page_reads_the_names_only(client, world, supervisor):
    client.force_login(supervisor)
    for sort in SORTS:
        with CaptureQueriesContext(connection) as ctx:
            client.get(reverse("case_list"), {"show": "all", "sort": sort})
        sql = " ".join(q["sql"] for q in ctx.captured_queries)
        # The ORM's read or the written-out one (cases.listed, alias p).
        assert '"cases_person"."given_names"' in sql or 'p."given_names"' in sql
        assert '"cases_person"."address"' not in sql and 'p."address"' not in sql
