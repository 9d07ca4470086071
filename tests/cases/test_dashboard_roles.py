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
