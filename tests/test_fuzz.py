"""Nasty values in every query parameter, form field and text in a path, on every page, for
every role that reaches it: no answer is a server error.

The URLs, the roles that reach each and the objects come from the permission walk
(tests/cases/test_permission_walk.py). The parameters of a page are found in its view's
source: what it reads from request.GET and request.POST, and the fields of the forms it
builds (forms built from request.GET are query parameters), plus the walk's POST data.
The first role that reaches a page gets each parameter alone with each value; every other
role gets each value in every parameter at once (and so do the escaping probes in forms).
Each value is sent on the engines whose handling of it can differ (NASTY_ON).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from django import forms
from django.db import connection
from django.test import Client
from django.urls import get_resolver, reverse
from django.urls.converters import IntConverter, StringConverter, UUIDConverter

from tests.cases.test_permission_walk import (
    ACTORS,
    ANON,
    EXPECTED,
    REFERRED,
    _pattern_kwargs,
    _post_data,
    _relation,
    _rolled_back,
    expected,
    scenario_objects,  # noqa: F401  (a fixture)
    walked_urls,
)

pytestmark = pytest.mark.usefixtures("file_root")

# Each value with the engines it is sent on. Values that reach the database as sent are sent
# on the engines whose handling of them differs (integers out of range: SQLite's driver
# raises OverflowError, PostgreSQL a DataError; a NUL character is refused by PostgreSQL
# alone; a 100,000-character text passes SQLite but not a PostgreSQL index row). Values
# that Python parses or escapes before any query are sent once, on SQLite: the same code
# answers them on either engine, and the two suites share CI's time (.ci/run).
BOTH, SQLITE, POSTGRESQL = {"sqlite", "postgresql"}, {"sqlite"}, {"postgresql"}
NASTY_ON: list[tuple[Any, set[str]]] = [
    ("9999-12-31", SQLITE), ("0000-00-00", SQLITE), ("-1", BOTH), (str(10**30), BOTH),
    ("%00", POSTGRESQL), ("\x00", POSTGRESQL), ("x" * 100_000, POSTGRESQL),
    ("\u202egpj.exe", POSTGRESQL), ("<script>alert(1)</script>", SQLITE), ("' OR 1=1 --", BOTH),
    (["1", "' OR 1=1 --"], SQLITE),  # the parameter repeated
]
# Probes of escaping, not of parsing: in a form they go into every field at once (for every
# role), not into each field alone (the forms' fields are many; this keeps the time down).
ESCAPING = {"<script>alert(1)</script>", "' OR 1=1 --"}
# Texts in a path (<str:...>): a value with "/" would be another URL.
NASTY_IN_PATH = ["\x00", "%00", "x" * 5_000, "\u202egpj.exe", "<script>", "' OR 1=1 --", "-1"]
REFUSED = {403, 404, 405}
# What the discovery cannot see: a step page's fields come from the procedure's registry.
EXTRA_FIELDS = {"rsd:step": ["version", "expected_step", "assessment", "recommendation"]}

_READS = re.compile(r"request\.(GET|POST)\.(?:get|getlist)\(\s*[\"'](\w+)[\"']")
_CALLS = re.compile(r"\b(\w+)\(")
_FROM_QUERY = re.compile(r"\b(\w+)\(\s*request\.GET\b")
_FORMS = re.compile(r"\b(?:(\w+)\.)?([A-Z]\w*Form)\b")  # SearchForm, forms.SearchForm


def _functions(view: Callable[..., Any]) -> Iterator[tuple[str, ModuleType]]:
    """The source of the view and of the functions of its module that it calls, and so on."""
    todo: list[Any] = [inspect.unwrap(view)]
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        todo = [view_class]
    seen: set[Any] = set()
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        module = inspect.getmodule(item)
        try:
            source = inspect.getsource(item)
        except (OSError, TypeError):
            continue
        assert module is not None
        yield source, module
        for name in _CALLS.findall(source):
            found = vars(module).get(name)
            if inspect.isfunction(found) and found.__module__ == module.__name__:
                todo.append(found)


def _form_fields(value: Any) -> list[str]:
    if inspect.isclass(value) and issubclass(value, forms.BaseForm):
        return list(getattr(value, "base_fields", {}))
    return []


def parameters(name: str) -> tuple[list[str], list[str]]:
    """(query parameters, form fields) of the page named `name`."""
    samples = {k: _SAMPLE.get(type(c), "register") for k, c in _converters(name).items()}
    view = get_resolver().resolve(reverse(name, kwargs=samples)).func
    query: set[str] = set()
    fields: set[str] = set()
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        for attribute in ("form_class", "authentication_form"):
            fields.update(_form_fields(getattr(view_class, attribute, None)))
        query.add("next")
    from_query: set[str] = set()
    found: dict[str, list[str]] = {}
    for source, module in _functions(view):
        for method, key in _READS.findall(source):
            (query if method == "GET" else fields).add(key)
        from_query.update(_FROM_QUERY.findall(source))
        for prefix, word in _FORMS.findall(source):
            holder = vars(module).get(prefix) if prefix else module
            found[word] = _form_fields(getattr(holder, word, None))
    for word, names in found.items():
        (query if word in from_query else fields).update(names)
    return sorted(query), sorted(fields)


# Path values good enough to find a page's view (the walk's fixture has the real objects).
_SAMPLE = {UUIDConverter: "00000000-0000-0000-0000-000000000000", IntConverter: 1}


def _converters(name: str) -> dict[str, Any]:
    """The converter of each keyword argument of a named URL."""
    resolver = get_resolver()
    *namespaces, short = name.split(":")
    for namespace in namespaces:
        resolver = resolver.namespace_dict[namespace][1]
    converters = resolver.reverse_dict.getlist(short)[0][3]
    return {k: converters.get(k) for k in _pattern_kwargs(name)}


def _text_path_kwargs(name: str) -> list[str]:
    """The keyword arguments of the URL that take any text (the <str:...> converter)."""
    return [k for k, c in _converters(name).items() if type(c) is StringConverter]


def _reaching(name: str, method: str) -> list[str]:
    """The actors the walk expects to get a real answer (not a refusal, not the login page)."""
    out = []
    for actor in ACTORS:
        if actor == REFERRED:  # the other office's caseworker, plus what a share opens
            continue
        relation = _relation(actor, "assigned")
        want = expected(name, method, actor, "assigned")
        if want in REFUSED or (relation == ANON and want == 302
                               and name not in ("login", "logout", "set_language")):
            continue
        out.append(actor)
    return out


URLS = sorted({name for name, _module in walked_urls()})


def _problem(response) -> str:
    if response.status_code >= 500:
        return f"{response.status_code}"
    streaming = getattr(response, "streaming", False)
    body = b"".join(response.streaming_content) if streaming else response.content
    return "a traceback" if b"Traceback (most recent call last)" in body else ""


# The pages in groups, each group walked with one set of the walk's objects (making them
# costs more than fuzzing most pages); every request is rolled back, so each page sees them
# as made.
GROUPS = 16
URL_GROUPS = [URLS[i::GROUPS] for i in range(GROUPS)]


@pytest.mark.parametrize("scenario_objects", ["assigned"], indirect=True)
@pytest.mark.parametrize("names", URL_GROUPS, ids=[f"{g[0]}+{len(g) - 1}" for g in URL_GROUPS])
def test_nasty_values_never_cause_a_server_error(request, names, scenario_objects,  # noqa: F811
                                                 office, caseworker, caseworker2):
    _scenario, objects = scenario_objects
    client = Client(raise_request_exception=False)
    failures: list[str] = []
    nasty = [value for value, engines in NASTY_ON if connection.vendor in engines]
    session = {"actor": ""}

    def send(name: str, actor: str, method: str, url: str, data: Any) -> None:
        if session["actor"] != actor:  # a login, kept while no request can have ended it
            client.logout()
            if actor != "anonymous":
                client.force_login(request.getfixturevalue(actor))
            session["actor"] = actor
        if method == "POST" and name in ("login", "logout", "set_language"):
            session["actor"] = ""
        with _rolled_back():
            response = (client.get(url, data) if method == "GET" else client.post(url, data))
            problem = _problem(response)
        if problem:
            shown = {k: (v if len(str(v)) < 40 else f"{str(v)[:20]}...({len(str(v))})")
                     for k, v in data.items()}
            failures.append(f"{actor} {method} {url[:80]} {shown}: {problem}")

    for name in names:
        query, fields = parameters(name)
        kwargs = {k: objects[k] for k in _pattern_kwargs(name)}
        url = reverse(name, kwargs=kwargs)
        methods = [m for (n, m) in EXPECTED if n == name]
        for method in methods:
            actors = _reaching(name, method)
            if not actors:
                continue
            base = {} if method == "GET" else _post_data(name, office, caseworker2, caseworker)
            keys = sorted(set(query if method == "GET"
                              else [*fields, *query, *base, *EXTRA_FIELDS.get(name, [])]))
            for value in nasty:
                alone = method == "GET" or not (isinstance(value, str) and value in ESCAPING)
                for key in keys if alone else []:  # each alone, for the first role reaching it
                    send(name, actors[0], method, url, {**base, key: value})
                others = actors[1:] if alone else actors
                for actor in others if keys else []:  # every parameter at once
                    send(name, actor, method, url, {**base, **dict.fromkeys(keys, value)})
            for key in _text_path_kwargs(name):
                for value in NASTY_IN_PATH:
                    nasty_url = reverse(name, kwargs={**kwargs, key: value})
                    for actor in actors:
                        send(name, actor, method, nasty_url, base)

    assert failures == [], "\n".join(failures)


def test_every_page_is_in_a_group():
    assert sorted(name for group in URL_GROUPS for name in group) == URLS


def test_the_parameters_of_the_pages_are_found():
    """The discovery above finds what the pages read (else the test above would send nothing)."""
    assert set(parameters("audit_events")[0]) >= {"subject", "actor", "office", "action",
                                                  "outcome", "date_from", "date_to", "page"}
    assert set(parameters("case_list")[0]) >= {"reference", "show", "after", "kind", "state",
                                               "flag"}
    assert {"name", "document", "date_of_birth"} <= set(parameters("people_search")[1])
    assert {"username", "password"} <= set(parameters("login")[1])
    assert {"action", "identity_check", "reason"} <= set(parameters("staff_account")[1])
    assert "week" in parameters("rsd:interviews")[0]
    assert "lang" in parameters("rsd:letter")[0]
    assert "after" in parameters("audit_case_timeline")[0]
    assert _text_path_kwargs("audit_case_timeline") == ["reference"]
    assert _text_path_kwargs("case_detail") == []
