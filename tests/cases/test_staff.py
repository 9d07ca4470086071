"""Office administrators manage staff and roles; grants to see a case are recorded."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from guardian.shortcuts import assign_perm

from cases import access, selectors, services
from cases.models import CaseUserObjectPermission, Membership, Role, User


def shown_password(response) -> str:
    """The generated password on the page that shows it once."""
    assert response.status_code == 200, response.content[:300]
    return response.context["password"]


def test_an_office_admin_creates_an_account_that_can_log_in(client, office_admin, office):
    client.force_login(office_admin)

    response = client.post(reverse("staff"), {
        "office": office.pk, "role": "caseworker", "username": "lucia.caal",
        "first_name": "Lucía", "last_name": "Caal", "email": "",
        "password": "chosen-by-the-admin-ignored",
    })

    password = shown_password(response)
    assert f'id="temporary-password">{password}<' in response.content.decode()
    assert password != "chosen-by-the-admin-ignored"
    user = User.objects.get(username="lucia.caal")
    assert access.offices_where(user, Role.CASEWORKER) == {office.pk}
    assert user.groups.filter(name="caseworker").exists()
    assert user.history.latest().history_user == office_admin
    assert user.must_change_password and user.temporary_password_set_at is not None
    client.logout()
    assert not client.login(username="lucia.caal", password="chosen-by-the-admin-ignored")
    assert client.login(username="lucia.caal", password=password)


def test_a_half_filled_new_account_is_refused_field_by_field(client, office_admin, office):
    client.force_login(office_admin)

    response = client.post(reverse("staff"), {"office": office.pk, "role": "caseworker",
                                              "username": "sin.datos"})

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"first_name", "last_name"} <= set(errors)
    assert not User.objects.filter(username="sin.datos").exists()


def test_an_existing_user_gets_a_second_role(office_admin, caseworker, office):
    services.grant_membership(by=office_admin, user=caseworker, office=office, role=Role.AUDITOR)

    assert set(Membership.objects.filter(user=caseworker).values_list("role", flat=True)) == {
        "caseworker", "auditor"}


@pytest.mark.parametrize("who", ["caseworker", "supervisor", "auditor", "system_admin",
                                 "other_supervisor"])
def test_only_the_office_admin_changes_its_staff(request, who, caseworker2, office):
    with pytest.raises(PermissionDenied):
        services.grant_membership(by=request.getfixturevalue(who), user=caseworker2,
                                  office=office, role=Role.SUPERVISOR)
    assert not Membership.objects.filter(user=caseworker2, role=Role.SUPERVISOR).exists()


def test_an_office_admin_cannot_make_system_admins(office_admin, caseworker2, office):
    with pytest.raises(PermissionDenied):
        services.grant_membership(by=office_admin, user=caseworker2, office=office,
                                  role=Role.SYSTEM_ADMIN)


def test_revoking_a_role_closes_the_cases_at_once(office_admin, caseworker, case):
    membership = caseworker.memberships.get()

    services.revoke_membership(by=office_admin, membership=membership)

    fresh = User.objects.get(pk=caseworker.pk)
    assert not selectors.visible_cases(fresh).exists()
    assert not fresh.groups.filter(name="caseworker").exists()


def test_an_office_admin_keeps_their_own_admin_role(office_admin):
    with pytest.raises(ValidationError):
        services.revoke_membership(by=office_admin, membership=office_admin.memberships.get())


def test_grant_role_command_names_what_is_missing(office):
    with pytest.raises(Exception, match="No user 'nadie'"):
        call_command("grant_role", "nadie", office.code, "office_admin")


def test_a_share_is_recorded_with_who_and_why(supervisor, other_caseworker, case):
    services.grant_case_access(by=supervisor, case=case, user=other_caseworker,
                               reason="Referral REF-2026-17")
    assert selectors.visible_cases(other_caseworker).filter(pk=case.pk).exists()

    services.revoke_case_access(by=supervisor, case=case, user=other_caseworker, reason="Done")

    rows = list(CaseUserObjectPermission.history.filter(permission__codename="view_case")
                .order_by("history_date"))
    assert [(r.history_type, r.history_user, r.history_change_reason) for r in rows] == [
        ("+", supervisor, "Referral REF-2026-17"), ("-", supervisor, "Done")]
    fresh = User.objects.get(pk=other_caseworker.pk)
    assert not selectors.visible_cases(fresh).filter(pk=case.pk).exists()


def test_a_share_needs_a_reason(supervisor, other_caseworker, case):
    with pytest.raises(ValidationError):
        services.grant_case_access(by=supervisor, case=case, user=other_caseworker, reason=" ")


def test_a_grant_to_a_role_group_opens_nothing(other_caseworker, case):
    assign_perm("cases.view_case", Group.objects.get(name="caseworker"), case)

    assert not selectors.visible_cases(other_caseworker).filter(pk=case.pk).exists()


# --- The staff page: existing accounts, confirmations, passwords, deactivation ------------

PASSWORD = "pw-for-tests-only"


def test_an_existing_user_name_from_another_office_asks_first_and_shows_where_they_work(
        client, office_admin, office, other_caseworker, other_office):
    client.force_login(office_admin)
    form = {"office": office.pk, "role": "supervisor", "username": other_caseworker.username.upper()}

    page = client.post(reverse("staff"), form)

    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="existing-account"' in text and other_office.code in text
    assert not Membership.objects.filter(user=other_caseworker, office=office).exists()

    response = client.post(reverse("staff"), {**form, "confirm_existing": "True"})

    assert response.status_code == 302
    assert Membership.objects.filter(user=other_caseworker, office=office,
                                     role=Role.SUPERVISOR).exists()


def test_removing_a_role_asks_for_confirmation(client, office_admin, caseworker2):
    membership = caseworker2.memberships.get()
    client.force_login(office_admin)
    url = reverse("membership_revoke", args=[membership.pk])

    page = client.get(url)

    assert page.status_code == 200 and 'id="confirm-revoke"' in page.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert f'href="{url}"' in client.get(reverse("staff")).content.decode()
    assert client.post(url).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_a_new_account_must_choose_its_own_password_first(client, office_admin, office):
    client.force_login(office_admin)
    first = shown_password(client.post(reverse("staff"), {
        "office": office.pk, "role": "caseworker", "username": "nuevo.caso",
        "first_name": "Nuevo", "last_name": "Caso"}))
    client.logout()
    assert client.login(username="nuevo.caso", password=first)

    for name in ("dashboard", "case_list", "people_search"):
        response = client.get(reverse(name))
        assert (response.status_code, response["Location"]) == (302, reverse("password_change"))
    assert 'id="must-change"' in client.get(reverse("password_change")).content.decode()

    client.post(reverse("password_change"), {"old_password": first,
                                             "new_password1": "mi-propia-clave-secreta",
                                             "new_password2": "mi-propia-clave-secreta"})

    user = User.objects.get(username="nuevo.caso")
    assert not user.must_change_password and user.temporary_password_set_at is None
    assert client.get(reverse("dashboard")).status_code == 200


def test_an_office_admin_sets_a_temporary_password(client, office_admin, caseworker2):
    from django.test import Client

    theirs = Client()
    theirs.force_login(caseworker2)
    client.force_login(office_admin)

    response = client.post(reverse("staff_account", args=[caseworker2.pk]),
                           {"action": "password", "password": "temporal-para-lunes-2026"})

    password = shown_password(response)
    caseworker2.refresh_from_db()
    assert caseworker2.must_change_password and caseworker2.check_password(password)
    assert not caseworker2.check_password("temporal-para-lunes-2026")
    assert theirs.get(reverse("dashboard")).status_code == 302  # their session ended
    again = shown_password(client.post(reverse("staff_account", args=[caseworker2.pk]),
                                       {"action": "password"}))
    assert again != password  # each one new
    caseworker2.refresh_from_db()
    assert caseworker2.check_password(again) and not caseworker2.check_password(password)
    # Shown once: the account page afterwards does not hold it.
    assert again not in client.get(reverse("staff_account", args=[caseworker2.pk])).content.decode()


def test_an_account_that_also_works_elsewhere_is_not_the_office_admins_to_change(
        client, office_admin, caseworker2, other_office):
    services.grant_membership(by=None, user=caseworker2, office=other_office, role=Role.CASEWORKER)
    client.force_login(office_admin)

    refused = client.post(reverse("staff_account", args=[caseworker2.pk]), {"action": "password"})
    client.post(reverse("staff_account", args=[caseworker2.pk]),
                {"action": "deactivate", "reason": "Left the office"})

    assert "password" not in (refused.context or {})

    caseworker2.refresh_from_db()
    assert caseworker2.is_active and not caseworker2.must_change_password
    assert caseworker2.check_password(PASSWORD)
    with pytest.raises(ValidationError):
        services.reset_staff_password(by=office_admin, user=office_admin)


def test_staff_of_another_office_are_not_found(client, office_admin, other_caseworker):
    client.force_login(office_admin)
    assert client.get(reverse("staff_account", args=[other_caseworker.pk])).status_code == 404


def test_a_deactivated_account_is_logged_out_and_cannot_log_in(client, office_admin, caseworker2):
    from django.test import Client

    theirs = Client()
    theirs.force_login(caseworker2)
    assert theirs.get(reverse("dashboard")).status_code == 200
    client.force_login(office_admin)
    url = reverse("staff_account", args=[caseworker2.pk])

    assert client.post(url, {"action": "deactivate", "reason": " "}).status_code == 400
    assert client.post(url, {"action": "deactivate", "reason": "Left the office"}).status_code == 302

    caseworker2.refresh_from_db()
    assert not caseworker2.is_active
    assert theirs.get(reverse("dashboard")).status_code == 302  # the session ended
    assert not Client().login(username=caseworker2.username, password=PASSWORD)
    assert client.post(url, {"action": "reactivate"}).status_code == 302
    assert Client().login(username=caseworker2.username, password=PASSWORD)


def test_a_system_admin_configures_offices_in_the_admin_site_and_nothing_else(
        client, system_admin, office, office_admin):
    assert system_admin.is_staff
    services.grant_membership(by=None, user=system_admin, office=office, role=Role.OFFICE_ADMIN)
    client.force_login(system_admin)

    assert client.get(reverse("admin:index")).status_code == 200
    change = reverse("admin:cases_office_change", args=[office.pk])
    assert client.get(change).status_code == 200
    for url in (reverse("admin:cases_user_changelist"),
                reverse("admin:cases_user_change", args=[office_admin.pk])):
        assert client.get(url).status_code == 403, url
    page = client.get(reverse("dashboard")).content.decode()
    assert 'id="configure-offices"' in page and change in page


def test_losing_the_system_admin_role_closes_the_admin_site(system_admin):
    membership = system_admin.memberships.get(role=Role.SYSTEM_ADMIN)
    root = User.objects.create_superuser("root-for-test", "r@example.invalid", "x" * 20)
    services.revoke_membership(by=root, membership=membership)
    system_admin.refresh_from_db()
    assert not system_admin.is_staff
