"""The pagination includes (templates/pagination.html, keyset_pagination.html): their links
keep a list's filters."""

from __future__ import annotations

import re

import pytest
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.urls import reverse

from cases import services

EN = {"accept-language": "en"}


def links(html: str) -> dict[str, str]:
    """The previous / next links of the page: {"Previous": href, "Next": href}."""
    nav = re.search(r'<ul class="pagination">.*?</ul>', html, re.S)
    assert nav, "no pagination on the page"
    return {text: href for href, text in re.findall(r'<a class="page-link" href="([^"]*)">([^<]+)</a>',
                                                    nav.group(0))}


def test_the_include_keeps_the_query_in_both_links():
    page = Paginator(range(5), 2).page(2)

    html = render_to_string("pagination.html", {"page": page, "query": "show=all&actor=ana"})

    assert links(html) == {"Previous": "?show=all&amp;actor=ana&amp;page=1",
                           "Next": "?show=all&amp;actor=ana&amp;page=3"}
    assert "Page 2 of 3" in html


def test_the_include_without_a_query_links_the_page_alone_and_is_empty_for_one_page():
    html = render_to_string("pagination.html", {"page": Paginator(range(5), 2).page(3)})

    assert links(html) == {"Previous": "?page=2"}
    assert "pagination" not in render_to_string("pagination.html",
                                                {"page": Paginator(range(2), 2).page(1)})


@pytest.fixture
def three_cases(caseworker, office, person_data):
    return [services.open_case(by=caseworker, kind="asylum", person=services.register_person(
        by=caseworker, office=office, data=person_data(given_names=f"Ana {n}", documents=[])))
        for n in range(3)]


@pytest.mark.django_db
def test_the_case_list_pages_keep_the_list_shown(client, caseworker, three_cases, monkeypatch):
    from cases import selectors

    monkeypatch.setattr(selectors, "LIST_PAGE", 1)
    client.force_login(caseworker)

    first = client.get(reverse("case_list"), {"show": "all"}, headers=EN)
    (label, href), = links(first.content.decode()).items()
    assert label == "Next" and href.startswith("?show=all&amp;after=")

    second = client.get(reverse("case_list") + href.replace("&amp;", "&"), headers=EN)
    assert links(second.content.decode())["From the start"] == "?show=all"
    assert second.context["cases"] != first.context["cases"]


@pytest.mark.django_db
def test_the_event_search_pages_keep_the_filters(client, auditor, caseworker, three_cases,
                                                 monkeypatch):
    from audit import views

    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    client.force_login(auditor)

    response = client.get(reverse("audit_events"),
                          {"actor": caseworker.username, "action": "case.open", "page": 2},
                          headers=EN)

    assert response.context["page"].paginator.count == 3
    query = f"actor={caseworker.username}&amp;action=case.open"
    assert links(response.content.decode()) == {"Previous": f"?{query}&amp;page=1",
                                                "Next": f"?{query}&amp;page=3"}


@pytest.mark.django_db
def test_a_bounded_paginator_counts_a_few_pages_past_the_one_asked_for(office, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.models import Office
    from cases.paging import BoundedPaginator

    for n in range(30):
        Office.objects.create(code=f"T-{n:02}", name=f"Oficina {n}", country="MX")
    every = Office.objects.order_by("code")  # 31 offices: 16 pages of 2
    monkeypatch.setattr(BoundedPaginator, "ahead", 3)

    first = BoundedPaginator(every, 2).get_page(1)
    with CaptureQueriesContext(connection) as q:
        tenth = BoundedPaginator(every, 2).get_page(10)
    last = BoundedPaginator(every, 2).get_page(16)

    assert (first.paginator.num_pages, str(first.paginator.num_pages)) == (4, "4+")
    assert "Page 1 of 4+" in render_to_string("pagination.html", {"page": first})
    assert (tenth.number, str(tenth.paginator.num_pages), tenth.has_next()) == (10, "13+", True)
    assert [o.code for o in tenth] == ["T-17", "T-18"]
    assert all("LIMIT 27" in sql["sql"] for sql in q.captured_queries if "COUNT" in sql["sql"])
    assert (str(last.paginator.num_pages), last.has_next(), len(last)) == ("16", False, 1)
    assert BoundedPaginator(every, 2).get_page("x").number == 1
    assert BoundedPaginator(every, 2).get_page(99).number == 16  # past the end: the last page


@pytest.mark.django_db
@pytest.mark.parametrize("asked", [str(10**30), "-1", "99999999999999999999", "1e309"])
def test_a_bounded_paginator_takes_any_page_number(office, asked):
    from cases.models import Office
    from cases.paging import BoundedPaginator

    page = BoundedPaginator(Office.objects.order_by("code"), 2).get_page(asked)

    assert page.number == 1 and list(page) == [office]
