"""What the dashboard tells someone who holds no role."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_superuser_without_roles_is_pointed_to_the_administration_site(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root-admin", "root@example.invalid", "x" * 16)
    client.force_login(admin)
    page = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="superuser-note"' in page and f'href="{reverse("admin:index")}"' in page
    assert "Ask your office administrator" not in page
    assert client.get(reverse("admin:index")).status_code == 200


def test_staff_without_roles_are_told_to_ask_for_one(client, make_user):
    client.force_login(make_user())
    page = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Ask your office administrator for one." in page
    assert 'id="superuser-note"' not in page and reverse("admin:index") not in page


def test_a_caseworkers_cards_count_open_cases_overdue_deadlines_and_the_queue(
        client, caseworker, office, person_data):
    from django.utils import timezone

    from cases import services
    from tests.cases.test_dashboard_deadlines import DAY, deadline

    def open_case(assign_to_me):
        person = services.register_person(by=caseworker, office=office, data=person_data())
        return services.open_case(by=caseworker, person=person, kind="asylum", assign_to_me=assign_to_me)

    mine = [open_case(True), open_case(True)]
    open_case(False)
    today = timezone.localdate()
    deadline(mine[0], today - 2 * DAY)
    deadline(mine[1], today + 3 * DAY)
    client.force_login(caseworker)

    page = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    def card(name):
        body = page.split(f'id="card-{name}"', 1)[1].split('class="fs-3', 1)[1]
        return body.split(">", 1)[1].split("<", 1)[0]

    assert (card("open"), card("overdue"), card("due"), card("queue")) == ("2", "1", "2", "1")
    assert 'id="empty-next"' not in page


def test_a_caseworker_with_no_case_is_told_where_to_start(client, caseworker, office, person_data):
    from cases import services

    person = services.register_person(by=caseworker, office=office, data=person_data())
    services.open_case(by=caseworker, person=person, kind="asylum", assign_to_me=False)
    client.force_login(caseworker)

    page = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'id="empty-next"' in page and "take one from the unassigned queue" in page
