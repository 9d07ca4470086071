from io import StringIO

import pytest
from django.core.management import call_command

from cases import selectors
from cases.intake import parse_phone
from cases.management.demo import OFFICES
from cases.models import Case, Membership, Note, Office, Person, Role, SubjectRequest, User

pytestmark = pytest.mark.django_db


def seed(people: int = 40) -> str:
    out = StringIO()
    call_command("seed_demo", people=people, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (Office, User, Membership, Person, Case, Note, SubjectRequest)}


def test_seeding_twice_adds_nothing_the_second_time():
    first = seed()
    after_first = counts()
    second = seed()

    assert "Added" in first
    assert after_first["Person"] == 40
    assert after_first["Case"] > 0
    assert counts() == after_first
    assert "Nothing added" in second
    assert "DEMO ONLY" in second


def test_more_people_adds_only_the_difference():
    seed(20)
    seed(30)
    assert Person.objects.count() == 30


def test_changed_names_do_not_double_the_demo():
    # A new Faker release gives other names, hence other fingerprints.
    seed(20)
    Person.objects.update(fingerprint="")
    seed(20)
    assert Person.objects.count() == 20


def test_every_role_exists_in_every_office():
    seed(8)
    codes = {o.code for o in OFFICES}
    assert set(Office.objects.values_list("code", flat=True)) == codes
    for code in codes:
        held = set(Membership.objects.filter(office__code=code).values_list("role", flat=True))
        assert held == set(Role.values), code
    assert User.objects.filter(username="bz-bmp-caseworker1").exists()


def test_a_seeded_caseworker_sees_their_cases_and_their_queue_only():
    seed(60)
    caseworker = User.objects.get(username="mx-tap-caseworker1")
    mine = selectors.my_cases(caseworker)

    assert mine.exists()
    assert set(mine.values_list("assigned_to", flat=True)) == {caseworker.pk}
    assert set(selectors.visible_cases(caseworker).values_list("office__code", flat=True)) == {
        "MX-TAP"
    }
    assert selectors.unassigned_queue(caseworker).exists()


def test_seeded_people_have_phone_numbers_of_their_office_country():
    seed(30)
    people = list(Person.objects.select_related("office"))
    with_phone = [p for p in people if p.phone]
    assert with_phone
    for p in with_phone:
        assert parse_phone(p.phone, p.office.country.code) == p.phone
    assert sum(1 for p in people if p.documents.exists()) > len(people) // 2
