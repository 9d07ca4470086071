"""Who sees what (docs/architecture.md#access-and-scoping) and search through blind indexes."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.http import Http404
from guardian.shortcuts import assign_perm

from cases import access, selectors, services
from cases.crypto import blind
from cases.models import Role


@pytest.fixture
def world(caseworker, caseworker2, supervisor, other_caseworker, other_supervisor, office,
          other_office, person_data):
    """Cases in both offices: assigned to each caseworker, and one in each queue."""

    def register(by, office, **kw):
        return services.register_person(by=by, office=office, data=person_data(**kw))

    def open_for(by, person, assign_to_me=True):
        return services.open_case(by=by, person=person, kind="asylum", assign_to_me=assign_to_me)

    mine = open_for(caseworker, register(caseworker, office, given_names="Ana"))
    peers = open_for(caseworker2, register(caseworker2, office, given_names="Berta"))
    queue = open_for(supervisor, register(supervisor, office, given_names="Carmen"), False)
    foreign = open_for(other_caseworker, register(other_caseworker, other_office,
                                                  given_names="Dolores"))
    foreign_queue = open_for(other_supervisor, register(other_supervisor, other_office,
                                                        given_names="Elena"), False)
    intake = register(caseworker2, office, given_names="Fabiola")  # no case yet
    foreign_intake = register(other_caseworker, other_office, given_names="Gloria")
    return {
        "mine": mine, "peers": peers, "queue": queue, "foreign": foreign,
        "foreign_queue": foreign_queue, "intake": intake, "foreign_intake": foreign_intake,
    }


def names(cases) -> set[str]:
    return {c.principal.given_names for c in cases}


# Cases by role


def test_a_caseworker_sees_their_cases_and_their_offices_queue(caseworker, world):
    assert names(selectors.visible_cases(caseworker)) == {"Ana", "Carmen"}
    assert names(selectors.my_cases(caseworker)) == {"Ana"}
    assert names(selectors.unassigned_queue(caseworker)) == {"Carmen"}


def test_a_caseworker_does_not_see_a_colleagues_assigned_case(caseworker, world):
    with pytest.raises(Http404):
        selectors.get_case(caseworker, world["peers"].pk)
    with pytest.raises(Http404):
        selectors.get_case(caseworker, world["foreign"].pk)
    with pytest.raises(Http404):
        selectors.get_case(caseworker, world["foreign_queue"].pk)


def test_a_supervisor_sees_every_case_of_their_office_only(supervisor, world):
    assert names(selectors.visible_cases(supervisor)) == {"Ana", "Berta", "Carmen"}
    assert names(selectors.unassigned_queue(supervisor)) == {"Carmen"}


def test_a_supervisor_of_two_offices_sees_both(supervisor, other_office, world):
    services.grant_membership(by=None, user=supervisor, office=other_office, role=Role.SUPERVISOR)
    supervisor = type(supervisor).objects.get(pk=supervisor.pk)  # roles are cached per object

    assert names(selectors.visible_cases(supervisor)) == {
        "Ana", "Berta", "Carmen", "Dolores", "Elena"}


def test_roles_apply_per_office(make_user, office, other_office, world):
    # Caseworker here, supervisor there: the queue here, everything there.
    user = make_user(Role.CASEWORKER, office)
    services.grant_membership(by=None, user=user, office=other_office, role=Role.SUPERVISOR)

    assert names(selectors.visible_cases(user)) == {"Carmen", "Dolores", "Elena"}


@pytest.mark.parametrize("who", ["auditor", "office_admin", "system_admin"])
def test_other_roles_see_no_case_content(request, who, world):
    user = request.getfixturevalue(who)

    assert not selectors.visible_cases(user).exists()
    assert not selectors.visible_people(user).exists()
    assert selectors.search_people(user, name="Núñez").people == []
    with pytest.raises(Http404):
        selectors.get_case(user, world["queue"].pk)
    with pytest.raises(Http404):
        selectors.get_person(user, world["intake"].pk)


def test_an_inactive_user_or_office_sees_nothing(caseworker, office, world):
    caseworker.is_active = False
    assert not selectors.visible_cases(caseworker).exists()

    caseworker.is_active = True
    office.is_active = False
    office.save()
    fresh = type(caseworker).objects.get(pk=caseworker.pk)
    assert not selectors.visible_cases(fresh).exists()


def test_anonymous_sees_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    assert not selectors.visible_cases(AnonymousUser()).exists()
    assert not selectors.visible_people(AnonymousUser()).exists()


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "00000000-0000-0000-0000-000000000000"])
def test_get_case_answers_404_for_bad_or_unknown_ids(supervisor, world, bad):
    with pytest.raises(Http404):
        selectors.get_case(supervisor, bad)


# Explicit grants


def test_a_grant_opens_exactly_that_case(supervisor, other_caseworker, world):
    shared = world["queue"]

    services.grant_case_access(by=supervisor, case=shared, user=other_caseworker,
                               reason="Referral to the CR-SJO office")

    # Their own case and their office's queue, plus the shared one.
    assert names(selectors.visible_cases(other_caseworker)) == {"Dolores", "Elena", "Carmen"}
    assert selectors.get_case(other_caseworker, shared.pk) == shared
    assert selectors.get_person(other_caseworker, shared.principal_id) == shared.principal
    assert not access.can_edit_case(other_caseworker, shared)
    with pytest.raises(Http404):
        selectors.get_case(other_caseworker, world["mine"].pk)
    with pytest.raises(Http404):
        selectors.get_person(other_caseworker, world["intake"].pk)


def test_a_revoked_grant_closes_the_case_again(supervisor, other_caseworker, world):
    services.grant_case_access(by=supervisor, case=world["mine"], user=other_caseworker,
                               reason="Joint interview")
    services.revoke_case_access(by=supervisor, case=world["mine"], user=other_caseworker)

    with pytest.raises(Http404):
        selectors.get_case(other_caseworker, world["mine"].pk)


def test_a_grant_to_a_group_opens_the_case_to_its_members(make_user, world):
    group = Group.objects.create(name="referral partners")
    partner = make_user()
    partner.groups.add(group)

    assign_perm("cases.view_case", group, world["peers"])

    assert names(selectors.visible_cases(partner)) == {"Berta"}


def test_a_global_view_case_permission_does_not_open_every_case(make_user, auditor, world):
    services.ensure_role_groups()
    holder = make_user()
    holder.user_permissions.add(Permission.objects.get(codename="view_case"))
    holder = type(holder).objects.get(pk=holder.pk)
    assert holder.has_perm("cases.view_case")  # the permission itself is in force

    assert not selectors.visible_cases(holder).exists()
    assert not selectors.visible_people(holder).exists()
    assert selectors.search_people(holder, name="Núñez").people == []
    # Role groups carry view_case as a model permission too; it opens nothing by itself.
    auditor.groups.add(Group.objects.get(name=Role.CASEWORKER))
    assert not selectors.visible_cases(type(auditor).objects.get(pk=auditor.pk)).exists()


def test_a_global_permission_plus_a_membership_still_follows_the_office_rules(
    caseworker, world
):
    caseworker.user_permissions.add(Permission.objects.get(codename="view_case"))
    caseworker = type(caseworker).objects.get(pk=caseworker.pk)

    assert names(selectors.visible_cases(caseworker)) == {"Ana", "Carmen"}



def test_the_grants_a_request_reads_are_the_grant_queries_answer(
        make_user, supervisor, other_caseworker, world):
    """access.granted_case_ids is granted_case_queries written out: both give the same cases
    for grants direct, ended, through a group and through a role group (which open nothing)."""
    services.ensure_role_groups()
    services.grant_case_access(by=supervisor, case=world["mine"], user=other_caseworker,
                               reason="Joint interview")
    services.grant_case_access(by=supervisor, case=world["queue"], user=other_caseworker,
                               reason="Referral")
    access.CaseUserObjectPermission.objects.filter(  # a share that ended
        user=other_caseworker, content_object=world["queue"]).update(
        expires_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    partners = Group.objects.create(name="referral partners")
    other_caseworker.groups.add(partners, Group.objects.get(name=Role.CASEWORKER))
    assign_perm("cases.view_case", partners, world["peers"])
    assign_perm("cases.view_case", Group.objects.get(name=Role.CASEWORKER), world["foreign"])

    for user in (other_caseworker, supervisor, make_user()):
        user = type(user).objects.get(pk=user.pk)
        direct, via_group = access.granted_case_queries(user)
        assert access.granted_case_ids(user) == set(direct.union(via_group))
    user = type(other_caseworker).objects.get(pk=other_caseworker.pk)
    assert access.granted_case_ids(user) == {world["mine"].pk, world["peers"].pk}


# People


def test_people_visible_through_cases_and_the_offices_intake(caseworker, supervisor,
                                                             other_supervisor, world):
    def given(user):
        return {p.given_names for p in selectors.visible_people(user)}

    assert given(caseworker) == {"Ana", "Carmen", "Fabiola"}
    assert given(supervisor) == {"Ana", "Berta", "Carmen", "Fabiola"}
    assert given(other_supervisor) == {"Dolores", "Elena", "Gloria"}


# Search


@pytest.fixture
def found(supervisor):
    def search(**kw):
        return {p.given_names for p in selectors.search_people(supervisor, **kw).people}

    return search


def test_search_by_name_ignores_case_accents_and_order(found, world):
    assert found(name="núñez") == {"Ana", "Berta", "Carmen", "Fabiola"}
    assert found(name="PEREZ nunez ana") == {"Ana"}
    assert found(name="Ana Rosa") == set()  # every word must match


def test_search_by_document_number_ignores_formatting(found, caseworker, office, person_data):
    services.register_person(by=caseworker, office=office, data=person_data(
        given_names="Hilda", documents=[services.IdentityDocumentData("national_id",
                                                                      "0801-1990-12345")]))

    assert found(document="0801199012345") == {"Hilda"}
    assert found(document="0801 1990 12345") == {"Hilda"}
    assert found(document="08011990-1234") == set()


def test_search_by_date_of_birth(found, caseworker, office, person_data):
    services.register_person(by=caseworker, office=office, data=person_data(
        given_names="Irma", date_of_birth=datetime.date(2001, 12, 31)))

    assert found(date_of_birth=datetime.date(2001, 12, 31)) == {"Irma"}
    assert found(date_of_birth=datetime.date(2001, 12, 30)) == set()
    assert found(name="Irma", date_of_birth=datetime.date(1990, 5, 3)) == set()


def test_search_by_sound(found, caseworker, office, person_data):
    services.register_person(by=caseworker, office=office, data=person_data(
        given_names="Yolanda", family_names="Ximénez González"))

    assert found(name="Llolanda Jimenes", sounds_like=True) == {"Yolanda"}
    assert found(name="Gonsales", sounds_like=True) == {"Yolanda"}
    assert found(name="Gonsales") == set()  # exact search stays exact
    assert found(name="Martinez", sounds_like=True) == set()


def test_search_finds_aliases(found, world):
    assert found(name="majo") == {"Ana", "Berta", "Carmen", "Fabiola"}


def test_search_never_returns_people_out_of_scope(caseworker, other_supervisor, world):
    mine = {p.given_names for p in selectors.search_people(caseworker, name="Núñez").people}
    theirs = {p.given_names
              for p in selectors.search_people(other_supervisor, document="A123456").people}

    assert mine == {"Ana", "Carmen", "Fabiola"}  # not Berta (a colleague's case), no CR-SJO
    assert theirs == {"Dolores", "Elena", "Gloria"}


def test_search_with_nothing_to_look_for_finds_nothing(supervisor, world):
    assert selectors.search_people(supervisor, name="  ", document="--").people == []


def test_search_confirms_index_candidates_after_decryption(supervisor, office, person_data):
    # Dates of birth get 16-bit indexes: find two dates in the same bucket.
    seen: dict[int, datetime.date] = {}
    day = datetime.date(1950, 1, 1)
    while True:
        bucket = blind.bidx("dob", day.isoformat())
        if bucket in seen:
            first, second = seen[bucket], day
            break
        seen[bucket] = day
        day += datetime.timedelta(days=1)
    for name, dob in [("Julia", first), ("Karla", second)]:
        services.register_person(by=supervisor, office=office,
                                 data=person_data(given_names=name, date_of_birth=dob))

    result = selectors.search_people(supervisor, date_of_birth=first)

    assert result.candidates == 2
    assert [p.given_names for p in result.people] == ["Julia"]


@pytest.mark.parametrize("bad", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_get_person_answers_404_for_bad_or_unknown_ids(supervisor, world, bad):
    with pytest.raises(Http404):
        selectors.get_person(supervisor, bad)


def test_a_document_is_only_found_through_its_own_case(file_root, caseworker, world):
    from tests.conftest import pdf_bytes

    doc = services.add_document(by=caseworker, case=world["mine"], title="t", filename="t.pdf",
                                data=pdf_bytes("t"))

    assert selectors.get_document(caseworker, world["mine"].pk, doc.pk) == doc
    with pytest.raises(Http404):  # a case the user sees, but not the document's case
        selectors.get_document(caseworker, world["queue"].pk, doc.pk)
    with pytest.raises(Http404):
        selectors.get_document(caseworker, world["mine"].pk, "nope")


def test_year_of_birth_and_sex_narrow_a_common_name(caseworker, office, person_data):
    older = services.register_person(by=caseworker, office=office, data=person_data(
        given_names="José", family_names="García", sex="male",
        date_of_birth=datetime.date(1970, 1, 2), documents=[]))
    younger = services.register_person(by=caseworker, office=office, data=person_data(
        given_names="Josefa", family_names="García", sex="female",
        date_of_birth=datetime.date(2001, 3, 4), documents=[]))

    assert set(selectors.search_people(caseworker, name="García").people) == {older, younger}
    assert selectors.search_people(caseworker, name="García", birth_year=2001).people == [younger]
    assert selectors.search_people(caseworker, name="García", sex="male").people == [older]
    narrowed = selectors.search_people(caseworker, name="García", birth_year=2001, sex="male")
    assert narrowed.people == [] and narrowed.candidates == 0
