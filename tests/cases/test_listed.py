"""Cases read for a table in one written-out statement (cases.listed) are the cases the ORM
reads, with the same values, names and labels, on both engines."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import listed, selectors, services
from cases.models import Case
from cases.templatetags.case_tables import case_rows


@pytest.fixture
def cases(caseworker, supervisor, office, other_office, other_caseworker, person_data):
    made = []
    for n, (by, where) in enumerate([(caseworker, office)] * 4 + [(other_caseworker, other_office)]):
        person = services.register_person(by=by, office=where,
                                          data=person_data(given_names=f"Lucía {n}", documents=[]))
        made.append(services.open_case(by=by, person=person, kind="asylum"))
    base = timezone.now() - datetime.timedelta(days=3)
    for n, case in enumerate(made):
        Case.objects.filter(pk=case.pk).update(
            opened_at=base + datetime.timedelta(hours=n % 3), reference=f"REF-{5 - n}",
            assigned_to=caseworker if n == 1 else None)
    services.erase_person(by=supervisor, person=made[2].principal, code="request")
    return made


def orm(ids, *order):
    return list(selectors.as_listed(Case.objects.filter(pk__in=ids), "updated_at").order_by(*order))


def shown(case):
    return (case.pk, case.reference, case.kind, case.state, case.procedure, case.office_id,
            case.office.code, case.office.country, case.principal_id, str(case.principal),
            case.assigned_to_id, str(case.assigned_to) if case.assigned_to_id else None,
            case.opened_at, case.updated_at, case.state_label)


@pytest.mark.parametrize("order", [("-opened_at", "-pk"), ("opened_at", "pk"), ("reference", "pk"),
                                   ("-updated_at", "-pk")])
def test_the_rows_are_the_orms(cases, order):
    ids = [c.pk for c in cases]
    got = listed.listed_cases(ids, order=order, columns=["updated_at"])
    assert [shown(c) for c in got] == [shown(c) for c in orm(ids, *order)]
    assert all(timezone.is_aware(c.opened_at) for c in got)
    assert str(got[[c.pk for c in got].index(cases[2].pk)].principal) == "(erased person)"
    assert "Lucía 1 Núñez Pérez" in {str(c.principal) for c in got}


def test_without_an_order_the_ids_order_holds_and_a_limit_cuts(cases):
    ids = [cases[3].pk, cases[0].pk, cases[3].pk, uuid.uuid4(), cases[1].pk]
    assert [c.pk for c in listed.listed_cases(ids)] == [cases[3].pk, cases[0].pk, cases[1].pk]
    assert [c.pk for c in listed.listed_cases(ids, order=["reference"], limit=2)] == \
        [cases[3].pk, cases[1].pk]


def test_a_table_of_them_reads_nothing_more(cases, django_assert_num_queries):
    got = listed.listed_cases([c.pk for c in cases], order=["-opened_at", "-pk"])
    with django_assert_num_queries(0):
        html = case_rows(got)
    assert html.count("<tr>") == len(cases) and "REF-4" in html


def test_no_ids_no_statement_and_what_it_cannot_read_is_refused(cases):
    with CaptureQueriesContext(connection) as ctx:
        assert listed.listed_cases([]) == []
    assert ctx.captured_queries == []
    with pytest.raises(ValueError, match="ordered by"):
        listed.listed_cases([cases[0].pk], order=["principal__family_names"])
    with pytest.raises(ValueError, match="do not read"):
        listed.listed_cases([cases[0].pk], columns=["details"])


def test_get_case_opens_exactly_what_visible_cases_holds(cases, caseworker, caseworker2, supervisor,
                                                         other_caseworker, other_supervisor, auditor):
    from django.http import Http404

    from cases import access
    from cases.models import User

    abroad = cases[4]
    services.grant_case_access(by=other_supervisor, case=abroad, user=caseworker2, reason="Joint")
    gone = User.objects.create_user("gone", password="x")
    inactive_supervisor = User.objects.get(pk=supervisor.pk)
    everyone = [caseworker, caseworker2, supervisor, other_caseworker, other_supervisor, auditor, gone]
    checked = 0
    for user in everyone:
        access.forget(user)
        visible = set(selectors.visible_cases(user).values_list("pk", flat=True))
        for case in cases:
            if case.pk in visible:
                got = selectors.get_case(user, str(case.pk))
                assert (got.pk, got.office.code, str(got.principal)) == \
                    (case.pk, case.office.code, str(Case.objects.get(pk=case.pk).principal))
                checked += 1
            else:
                with pytest.raises(Http404):
                    selectors.get_case(user, case.pk)
    assert checked >= 8  # both offices' staff saw some, the grantee the case abroad
    assert selectors.get_case(caseworker2, abroad.pk).pk == abroad.pk
    inactive_supervisor.is_active = False
    with pytest.raises(Http404):
        selectors.get_case(inactive_supervisor, cases[0].pk)
    for junk in ("not-a-uuid", "", None, 7, str(uuid.uuid4())):
        with pytest.raises(Http404):
            selectors.get_case(supervisor, junk)


def test_a_data_key_read_written_out_is_the_orms(cases):
    from cases import rows
    from cases.keystore import ModelKeyStore
    from cases.models import DataKey, Person

    subject = cases[0].principal_id
    got, want = ModelKeyStore().get(subject), DataKey.objects.get(subject_id=subject)
    fields = [f.attname for f in DataKey._meta.concrete_fields]
    assert [getattr(got, f) for f in fields] == [getattr(want, f) for f in fields]
    assert isinstance(got.subject_id, uuid.UUID) and bytes(got.wrapped) == bytes(want.wrapped)
    assert ModelKeyStore().get(uuid.uuid4()) is None
    with pytest.raises(ValueError, match="primary key first"):
        rows.shape(Person, "p", frozenset({"given_names"}))
