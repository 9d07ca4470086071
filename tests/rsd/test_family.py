"""A family member meets the same person rules as anyone registered (cases.intake)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases.models import Person
from rsd import services
from rsd.forms import FamilyMemberForm
from rsd.models import FamilyMember
from tests.rsd.conftest import fresh


@pytest.mark.parametrize(("born", "message"), [
    (datetime.date(1850, 1, 1), "Check the year of birth."),
    (timezone.localdate() + datetime.timedelta(days=1), "The date of birth is in the future."),
])
def test_the_service_refuses_an_implausible_birth_date(bz, person_data, born, message):
    case = bz.register(bz.open())
    people = Person.objects.count()

    with pytest.raises(ValidationError) as refused:
        services.add_family_member(by=bz.staff.caseworker, case=fresh(case.case),
                                   data=person_data(given_names="Mateo", date_of_birth=born),
                                   relationship="child", accompanying=True, derivative=True)

    assert refused.value.message_dict == {"date_of_birth": [message]}
    assert Person.objects.count() == people
    assert not FamilyMember.objects.exists()


def test_the_form_shows_the_same_rules():
    form = FamilyMemberForm({"given_names": "Mateo", "family_names": " ", "sex": "male",
                             "date_of_birth": "1850-01-01", "relationship": "child"})

    assert not form.is_valid()
    assert form.errors["date_of_birth"] == ["Check the year of birth."]
    assert form.errors["family_names"] == ["This field is required."]


def test_a_good_family_member_is_added(bz):
    case = bz.register(bz.open()).case
    form = FamilyMemberForm({"given_names": " Mateo ", "family_names": "Ríos", "sex": "male",
                             "date_of_birth": "2015-04-01", "relationship": "child"})
    assert form.is_valid(), form.errors

    member = services.add_family_member(by=bz.staff.caseworker, case=fresh(case),
                                        data=form.person_data(), relationship="child",
                                        accompanying=True, derivative=True)

    assert member.person.given_names == "Mateo"
    assert member.person.date_of_birth == datetime.date(2015, 4, 1)
