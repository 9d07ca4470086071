"""The case list read from a cursor (cases.selectors.case_list): the pages together are exactly
what the user sees, newest first, with no count and a cost that follows the page."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import selectors, services
from cases.models import Case, Role


@pytest.fixture
def many_cases(caseworker, caseworker2, supervisor, other_caseworker, office, other_office, person_data):
    """Eleven cases of the office (some the caseworker's, some a colleague's, some unassigned),
    three of another office, opened at distinct and at equal times."""
    made = []
    for n in range(11):
        person = services.register_person(by=caseworker, office=office,
                                          data=person_data(given_names=f"Ana {n}", documents=[]))
        case = services.open_case(by=caseworker, person=person, kind="asylum")
        made.append(case)
    for n in range(3):
        person = services.register_person(by=other_caseworker, office=other_office,
                                          data=person_data(given_names=f"Eva {n}", documents=[]))
        made.append(services.open_case(by=other_caseworker, person=person, kind="asylum"))
    base = timezone.now() - datetime.timedelta(days=30)
    for n, case in enumerate(made):
        # Four share one opening time: the cursor must order ties by id.
        Case.objects.filter(pk=case.pk).update(
            opened_at=base + datetime.timedelta(hours=n if n > 3 else 0),
            assigned_to=(caseworker if n % 3 == 0 else caseworker2 if n % 3 == 1 else None)
            if n < 11 else other_caseworker)
    return made


def walk(user, show, limit):
    cases, after, pages = [], "", 0
    while True:
        page = selectors.case_list(user, show=show, after=after, limit=limit)
        assert len(page.cases) <= limit
        cases += page.cases
        pages += 1
        if not page.next:
            return cases, pages
        after = page.next


def expected(qs):
    return list(qs.order_by("-opened_at", "-pk").values_list("pk", flat=True))


@pytest.mark.parametrize("limit", [1, 3, 50])
def test_pages_together_are_exactly_what_the_user_sees(many_cases, caseworker, supervisor, limit):
    for user, show, qs in (
        (supervisor, "all", selectors.visible_cases(supervisor)),
        (caseworker, "all", selectors.visible_cases(caseworker)),
        (caseworker, "mine", selectors.my_cases(caseworker)),
        (caseworker, "queue", selectors.unassigned_queue(caseworker)),
    ):
        cases, pages = walk(user, show, limit)
        assert [c.pk for c in cases] == expected(qs), (user, show)
        assert pages == max(1, -(-len(cases) // limit)), (user, show)


def test_a_case_shared_from_another_office_is_listed(many_cases, caseworker, other_caseworker,
                                                     make_user, other_office):
    other_supervisor = make_user(Role.SUPERVISOR, other_office)
    shared = many_cases[-1]
    services.grant_case_access(by=other_supervisor, case=shared, user=caseworker, reason="Referral")

    cases, _ = walk(caseworker, "all", 4)

    assert shared.pk in {c.pk for c in cases}
    assert [c.pk for c in cases] == expected(selectors.visible_cases(caseworker))


def test_the_list_page_counts_nothing_and_its_queries_do_not_grow_with_the_cases(
        client, many_cases, supervisor, caseworker, office, person_data):
    client.force_login(supervisor)
    with CaptureQueriesContext(connection) as before:
        assert client.get(reverse("case_list"), {"show": "all"}).status_code == 200
    assert not any("COUNT(" in q["sql"].upper() for q in before.captured_queries)

    for n in range(5):
        person = services.register_person(by=caseworker, office=office,
                                          data=person_data(given_names=f"Más {n}", documents=[]))
        services.open_case(by=caseworker, person=person, kind="asylum")
    with CaptureQueriesContext(connection) as after:
        assert client.get(reverse("case_list"), {"show": "all"}).status_code == 200
    assert len(after.captured_queries) == len(before.captured_queries)
    # A lean read: the principals' names, not the rest of their sealed record.
    sql = " ".join(q["sql"] for q in after.captured_queries)
    # The ORM's read or the written-out one (cases.listed, alias p).
    assert '"cases_person"."given_names"' in sql or 'p."given_names"' in sql
    assert '"cases_person"."address"' not in sql and 'p."address"' not in sql


def test_a_bad_cursor_starts_from_the_newest(client, many_cases, supervisor):
    client.force_login(supervisor)
    newest = selectors.case_list(supervisor, show="all", limit=5).cases

    for bad in ("yesterday|x", "2026-01-01T00:00:00|not-a-uuid", "2026-01-01T00:00:00|" + "0" * 32):
        response = client.get(reverse("case_list"), {"show": "all", "after": bad})
        assert response.status_code == 200
        assert [c.pk for c in response.context["cases"][:5]] == [c.pk for c in newest]


def test_other_roles_see_no_case(many_cases, make_user, office):
    auditor = make_user(Role.AUDITOR, office)
    assert selectors.case_list(auditor, show="all").cases == []


# --- Going to a reference; the kind of case -------------------------------------------------

@pytest.mark.django_db
def test_a_reference_opens_its_case_and_one_out_of_scope_says_nothing_more(
        client, caseworker, other_caseworker, office, other_office, person_data):
    from audit.models import AuditEvent

    mine = services.open_case(by=caseworker, person=services.register_person(
        by=caseworker, office=office, data=person_data()), kind="asylum")
    theirs = services.open_case(by=other_caseworker, person=services.register_person(
        by=other_caseworker, office=other_office, data=person_data()), kind="asylum")
    client.force_login(caseworker)

    response = client.get(reverse("case_list"), {"reference": f"  {mine.reference.lower()} "})
    assert response.status_code == 302 and response["Location"] == reverse("case_detail", args=[mine.pk])

    page = client.get(reverse("case_list"), {"reference": theirs.reference},
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"None of the cases you may see has the reference {theirs.reference}." in page
    assert reverse("case_detail", args=[theirs.pk]) not in page
    refused = AuditEvent.objects.filter(action="case.view", outcome="denied", actor=caseworker).get()
    assert refused.details["reference"] == theirs.reference


@pytest.mark.django_db
def test_the_list_shows_one_kind_of_case_and_keeps_it_from_page_to_page(
        client, supervisor, caseworker, office, person_data, settings):
    for kind in ("asylum", "trafficking", "trafficking", "trafficking"):
        services.open_case(by=caseworker, person=services.register_person(
            by=caseworker, office=office, data=person_data()), kind=kind)
    client.force_login(supervisor)
    page = selectors.case_list(supervisor, show="all", kind="trafficking", limit=2)
    assert [c.kind for c in page.cases] == ["trafficking", "trafficking"] and page.next

    html = client.get(reverse("case_list"), {"show": "all", "kind": "trafficking"}).content.decode()
    assert html.count('class="reference"') == 3
    assert 'value="trafficking" selected' in html
    assert 'href="?show=mine&amp;kind=trafficking"' in html


@pytest.mark.django_db
def test_what_is_not_a_reference_is_refused_and_never_recorded(client, caseworker):
    from audit.models import AuditEvent

    client.force_login(caseworker)
    page = client.get(reverse("case_list"), {"reference": "María Hernández"},
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "That is not a case reference" in page
    assert not AuditEvent.objects.filter(action="case.view", outcome="denied").exists()
    assert "Hernández" not in str(list(AuditEvent.objects.values_list("details", flat=True)))


def test_the_table_rows_show_each_cell_escaped_in_the_page_language(client, supervisor, caseworker,
                                                                     office, person_data):
    from django.template.loader import render_to_string
    from django.utils import translation

    person = services.register_person(by=caseworker, office=office, data=person_data(
        given_names="Siobhán", family_names="O'Brien & Ríos"))
    mine = services.open_case(by=caseworker, person=person, kind="asylum")
    queued = services.open_case(by=caseworker, person=person, kind="trafficking")
    Case.objects.filter(pk=queued.pk).update(assigned_to=None)
    cases = list(selectors.visible_cases(supervisor).order_by("reference"))
    for case in cases:
        case.next_due = datetime.date(2027, 1, 31) if case.pk == mine.pk else None

    with translation.override("es"):
        html = render_to_string("cases/_case_table.html", {"cases": cases, "due_column": True})
    rows = html.split("<tr>")[2:]
    assert len(rows) == 2
    first, second = rows if cases[0].pk == mine.pk else rows[::-1]
    assert f'<a href="/cases/{mine.pk}/">{mine.reference}</a>' in first
    assert "O&#x27;Brien &amp; Ríos" in first and "O'Brien" not in html
    assert "Asilo" in first and str(caseworker) in first
    assert '<td class="text-nowrap">2027-01-31</td>' in first
    assert timezone.localtime(mine.opened_at).strftime("%Y-%m-%d") in first
    assert "— en cola —" in second and '<td class="text-nowrap">—</td>' in second
    without = render_to_string("cases/_case_table.html", {"cases": cases})
    assert "text-nowrap" not in without and without.count("<tr>") == 3
