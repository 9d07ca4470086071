"""Person search: scope, the cap and what is decrypted (docs/architecture.md#search)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import handovers, selectors, services
from cases.crypto import blind, keyring
from cases.crypto.datakeys import key_scope
from cases.models import CaseParticipant, Membership, Office, Person, PersonIndex


@pytest.fixture
def register(person_data):
    def make(by, office, given, family="Zapata Ruiz", **kw):
        kw.setdefault("documents", [])
        return services.register_person(by=by, office=office, data=person_data(
            given_names=given, family_names=family, **kw))

    return make


def found(user, **kw) -> set[str]:
    return {p.given_names for p in selectors.search_people(user, **kw).people}


def test_the_same_person_in_another_office_is_not_found(
        register, caseworker, supervisor, other_caseworker, other_supervisor, office, other_office):
    dob = datetime.date(1988, 7, 14)
    doc = [services.IdentityDocumentData("passport", "P998877", "SV")]
    register(caseworker, office, "Aurora", date_of_birth=dob, documents=doc)
    register(other_caseworker, other_office, "Aurora", date_of_birth=dob, documents=doc)

    for user in (caseworker, supervisor, other_caseworker, other_supervisor):
        for kw in ({"name": "Aurora Zapata"}, {"document": "P998877"}, {"date_of_birth": dob},
                   {"name": "Awrora Sapata", "sounds_like": True}):
            people = selectors.search_people(user, **kw).people
            assert [p.office_id for p in people] == [user.memberships.get().office_id], kw


def test_a_person_of_a_case_granted_from_another_office_is_found(
        register, caseworker, supervisor, other_caseworker, office, other_office):
    shared = register(caseworker, office, "Beatriz")
    case = services.open_case(by=caseworker, person=shared, kind="asylum")
    register(caseworker, office, "Bruna")  # same surname, same office, not shared
    register(other_caseworker, other_office, "Blanca")

    assert found(other_caseworker, name="Zapata") == {"Blanca"}
    services.grant_case_access(by=supervisor, case=case, user=other_caseworker,
                               reason="Referral between offices")
    other_caseworker = type(other_caseworker).objects.get(pk=other_caseworker.pk)

    assert found(other_caseworker, name="Zapata") == {"Beatriz", "Blanca"}
    assert found(other_caseworker, name="Beatriz Zapata Ruiz") == {"Beatriz"}
    assert found(other_caseworker, name="Bruna") == set()


def test_a_caseworker_does_not_find_the_people_of_a_colleagues_case(
        register, caseworker, caseworker2, supervisor, office):
    person = register(caseworker2, office, "Celia")
    assert found(caseworker, name="Celia") == {"Celia"}  # the office's intake

    case = services.open_case(by=caseworker2, person=person, kind="asylum")
    assert found(caseworker, name="Celia") == set()
    assert selectors.search_people(caseworker, name="Celia").candidates == 0  # not even counted
    assert found(caseworker, name="Zapata", sex="female") == set()
    assert found(supervisor, name="Celia") == {"Celia"}

    services.assign_case(by=supervisor, case=case, assignee=None)  # back to the queue
    assert found(caseworker, name="Celia") == {"Celia"}


def test_the_count_of_hits_stops_past_the_cap(register, supervisor, office):
    for name in ("Dora", "Diana", "Delia", "Dulce"):
        register(supervisor, office, name)

    assert selectors.search_people(supervisor, name="Zapata", limit=10).candidates == 4
    capped = selectors.search_people(supervisor, name="Zapata", limit=2)
    assert capped.candidates == 3 and capped.truncated and capped.cap == 2


def test_above_the_cap_only_the_newest_page_is_decrypted(
        register, supervisor, office, monkeypatch):
    given = ["Elsa", "Emma", "Eva", "Edith", "Elvira", "Estela"]
    people = [register(supervisor, office, name) for name in given]
    monkeypatch.setattr(selectors, "ABOVE_CAP_PAGE", 2)
    unwrapped = []
    prov = keyring.provider()
    real = prov.unwrap
    monkeypatch.setattr(prov, "unwrap", lambda **kw: unwrapped.append(kw["kek_id"]) or real(**kw))

    with key_scope():
        result = selectors.search_people(supervisor, name="Zapata", limit=4)
        names = [p.given_names for p in result.people]

    assert result.truncated and result.candidates == 5
    assert names == ["Estela", "Elvira"]  # newest first
    assert len(unwrapped) == 2
    with key_scope():
        narrowed = selectors.search_people(supervisor, name="Emma Zapata", limit=4)
    assert not narrowed.truncated and narrowed.people == [people[1]]


def test_the_page_asks_for_a_second_criterion_above_the_cap(
        client, register, caseworker, office, monkeypatch):
    for name in ("Fela", "Fina", "Flor", "Frida"):
        register(caseworker, office, name)
    monkeypatch.setattr(selectors, "SEARCH_CAP", 3)
    client.force_login(caseworker)

    page = client.post(reverse("people_search"), {"name": "Zapata"}).content.decode()
    assert "More than 3 people match" in page
    assert "add a second criterion" in page

    page = client.post(reverse("people_search"), {"name": "Flor Zapata"}).content.decode()
    assert "More than" not in page and "Flor Zapata" in page


def test_an_erased_person_is_never_found_even_with_index_entries_left(
        register, supervisor, office):
    person = register(supervisor, office, "Gala", date_of_birth=datetime.date(1991, 2, 3))
    entries = list(PersonIndex.objects.filter(person=person).values(
        "kind", "value", "office_id", "created_at"))
    services.erase_person(by=supervisor, person=person, code="request", note="Request 2024-17")
    assert not PersonIndex.objects.filter(person=person).exists()
    # Entries restored from an old backup, say: the person still stays out of results.
    PersonIndex.objects.bulk_create([PersonIndex(person=person, **e) for e in entries])

    with key_scope():
        assert selectors.search_people(supervisor, name="Gala").people == []
        assert selectors.search_people(supervisor, date_of_birth=datetime.date(1991, 2, 3)).people == []


def _queries(user, **kw) -> int:
    fresh = type(user).objects.get(pk=user.pk)  # roles and grants read again, as per request
    with key_scope(), CaptureQueriesContext(connection) as ctx:
        selectors.search_people(fresh, **kw)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("criteria", [{"name": "Zapata"}, {"name": "Zapata Ruiz", "sex": "female"},
                                      {"document": "Z-1"}, {"name": "Hada", "birth_year": 1990}])
def test_the_statements_of_a_search_do_not_grow_with_the_hits(
        register, caseworker, supervisor, other_caseworker, office, other_office, criteria):
    def add(n):
        for i in range(n):
            p = register(caseworker, office, "Hada", documents=[
                services.IdentityDocumentData("passport", "Z-1", "SV")])
            if i % 2:
                services.open_case(by=caseworker, person=p, kind="asylum")
    shared = register(supervisor, office, "Hada")
    case = services.open_case(by=supervisor, person=shared, kind="asylum", assign_to_me=False)
    services.grant_case_access(by=supervisor, case=case, user=other_caseworker, reason="Referral")

    add(2)
    small = [_queries(u, **criteria) for u in (caseworker, supervisor, other_caseworker)]
    add(12)
    large = [_queries(u, **criteria) for u in (caseworker, supervisor, other_caseworker)]

    assert large == small
    # Roles, grants (2), the granted cases' people, the walk with the people (one statement
    # per part on SQLite, then the people), their data keys. On PostgreSQL the walk sets how
    # it is planned in a transaction of its own (here a savepoint and its release).
    assert max(large) <= (11 if connection.vendor == "postgresql" else 8)
    assert selectors.search_people(supervisor, **criteria, limit=5).truncated


def test_a_search_finds_exactly_the_matching_people_visible_people_holds(
        register, make_user, caseworker, caseworker2, supervisor, auditor, other_caseworker,
        other_supervisor, office, other_office):
    """The walk (hand-written SQL) and the scope check after it (_seen) are held to
    visible_people for every kind of reach: intake, own, a colleague's and the queue's cases,
    a grant, a case handed to a third office with its relative, two offices at once."""
    third = Office.objects.create(code="BZ-ORW", name="Orange Walk", country="BZ", city="Orange Walk")
    third_supervisor, third_caseworker = make_user("supervisor", third), make_user("caseworker", third)
    both = make_user("supervisor", office)
    Membership.objects.create(user=both, office=other_office, role="supervisor")
    late = datetime.date(1985, 1, 1)

    def person(by, where, given, case_by=None, assign=True, **kw):
        p = register(by, where, given, "Quiroga", **kw)
        if case_by is not None:
            return p, services.open_case(by=case_by, person=p, kind="asylum", assign_to_me=assign)
        return p, None

    person(caseworker, office, "Ana")                                          # intake
    person(caseworker, office, "Berta", case_by=caseworker)                    # own case
    person(caseworker2, office, "Carla", case_by=caseworker2)                  # a colleague's
    person(caseworker, office, "Delia", case_by=supervisor, assign=False)      # the queue
    _, granted = person(caseworker2, office, "Elena", case_by=caseworker2)
    services.grant_case_access(by=supervisor, case=granted, user=other_caseworker, reason="Referral")
    person(other_caseworker, other_office, "Fátima", date_of_birth=late)       # intake there
    _, moved = person(caseworker, office, "Gloria", case_by=caseworker, date_of_birth=late)
    relative, _ = person(caseworker, office, "Hilda")
    CaseParticipant.objects.create(case=moved, person=relative, role="family_member")
    offer = handovers.offer(by=supervisor, case=moved, to_office=third, reason="Se mudó")
    handovers.accept(by=third_supervisor, handover=offer)

    users = [caseworker, caseworker2, supervisor, auditor, other_caseworker, other_supervisor,
             third_supervisor, third_caseworker, both]
    for user in users:
        for criteria in ({"name": "Quiroga"}, {"name": "Zapata Quiroga", "sex": "female"},
                         {"date_of_birth": late}, {"name": "Quiroga", "birth_year": 1985}):
            user = type(user).objects.get(pk=user.pk)  # roles and grants as a new request reads them
            with key_scope():
                got = {p.given_names for p in selectors.search_people(user, **criteria).people}
                expected = {p.given_names for p in selectors.visible_people(user)
                            if selectors._matches(p, blind.name_tokens(criteria.get("name", "")),
                                                  date_of_birth=criteria.get("date_of_birth"))
                            and criteria.get("sex", p.sex) == p.sex
                            and criteria.get("birth_year", p.birth_year) == p.birth_year}
            assert got == expected, (user.username, criteria)
    with key_scope():
        assert found(third_caseworker, name="Quiroga") == {"Gloria", "Hilda"}  # the new queue's
        assert found(caseworker, name="Gloria Quiroga") == set()  # gone with the case
        assert found(auditor, name="Quiroga") == set()
        assert found(both, name="Quiroga") == {"Ana", "Berta", "Carla", "Delia", "Elena", "Fátima"}


def test_a_handed_over_case_moves_its_people_index_entries_with_them(
        register, caseworker, supervisor, make_user, office):
    third = Office.objects.create(code="BZ-ORW", name="Orange Walk", country="BZ", city="Orange Walk")
    principal = register(caseworker, office, "Irene")
    stays = register(caseworker, office, "Julia")
    case = services.open_case(by=caseworker, person=principal, kind="asylum")
    other = services.open_case(by=caseworker, person=stays, kind="asylum")
    CaseParticipant.objects.create(case=case, person=stays, role="family_member")
    offer = handovers.offer(by=supervisor, case=case, to_office=third, reason="Se mudó")
    handovers.accept(by=make_user("supervisor", third), handover=offer)

    assert set(PersonIndex.objects.filter(person=principal).values_list("office_id", flat=True)) == {third.pk}
    # Still in a case of the old office: the relative stays there, entries and all.
    assert other.office_id == office.pk
    assert set(PersonIndex.objects.filter(person=stays).values_list("office_id", flat=True)) == {office.pk}
    assert Person.objects.get(pk=stays.pk).office_id == office.pk


def _migrate(target):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target or executor.loader.graph.leaf_nodes())


def test_the_migration_gives_entries_left_behind_their_persons_office(
        transactional_db, register, caseworker, office, other_office):
    moved = register(caseworker, office, "Karla")
    try:
        _migrate([("cases", "0048_staff_sessions")])
        Person.objects.filter(pk=moved.pk).update(office=other_office)  # as transfers left it
        _migrate([("cases", "0049_index_office_follows_person")])
    finally:
        _migrate(None)

    offices = set(PersonIndex.objects.filter(person=moved).values_list("office_id", flat=True))
    assert offices == {other_office.pk}


def test_the_walk_is_planned_for_each_value_never_once_for_all(postgres, register, caseworker, office):
    """A prepared statement settles on one plan for every value after a few runs; the walk's
    plan depends on how many entries a value has (a rare name, the commonest surname), so it is
    planned for its values on every run (docs/architecture.md#speed)."""
    register(caseworker, office, "Dolores")
    for name in ["Dolores", "Zapata", "Ruiz", "Nadie"] * 3:
        selectors.search_people(caseworker, name=name)
    with postgres.cursor() as cursor:
        cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                       " WHERE statement LIKE %s", ["%ORDER BY i.created_at DESC LIMIT%"])
        plans = cursor.fetchall()
    assert plans, "the walk was not prepared"
    assert all(generic == 0 and custom >= 5 for generic, custom in plans), plans
