"""A change to what authenticates an account (a new app, new backup codes, a key added or
removed) asks for the password as well as the current factor, and ends the account's other
sessions while keeping the one that made the change."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from cases import sessions
from cases.models import AuthenticatorApp, WebAuthnDevice
from tests.cases.authenticator import Authenticator
from tests.cases.test_security_keys import PASSWORD, add_key, options, use_key
from tests.cases.test_two_factor import code, enrol, has_backup_code, login, no_throttle, verify

WRONG = "not-the-password-1"


def signed_in(user, backup_code: str = "") -> Client:
    """A browser logged in, and verified with one of enrol()'s backup codes if given."""
    client = Client()
    login(client, user)
    if backup_code:
        assert verify(client, backup_code).status_code == 302
    return client


def works(client: Client) -> bool:
    return client.get(reverse("two_factor_manage")).status_code == 200


def logged_out(client: Client) -> bool:
    return client.get(reverse("dashboard")).url.startswith(reverse("login"))


def password_refusals(user) -> list[str]:
    return list(AuditEvent.objects.filter(action="two_factor.fail", actor=user,
                                          details__reason="wrong_password")
                .values_list("details__stage", flat=True))


def test_new_backup_codes_need_the_password_and_end_the_other_sessions(supervisor):
    device = enrol(supervisor)
    elsewhere = signed_in(supervisor, "aaaabbbb")
    here = signed_in(supervisor, "eeeeffff")

    refused = here.post(reverse("two_factor_manage"), {"code": code(device), "password": WRONG})

    assert refused.status_code == 400 and "That password is not right." in refused.content.decode()
    assert has_backup_code(supervisor, "ccccdddd")  # nothing changed
    assert works(elsewhere)
    assert password_refusals(supervisor) == ["backup_codes"]

    made = here.post(reverse("two_factor_manage"), {"code": code(device), "password": PASSWORD})

    assert made.status_code == 200 and not has_backup_code(supervisor, "ccccdddd")
    assert logged_out(elsewhere)
    assert works(here)
    event = AuditEvent.objects.get(action="session.end")
    assert event.details == {"reason": sessions.TWO_FACTOR, "ended": 1}


def test_a_new_app_needs_the_password_and_ends_the_other_sessions(supervisor):
    old = enrol(supervisor)
    elsewhere = signed_in(supervisor, "aaaabbbb")
    here = signed_in(supervisor, "eeeeffff")
    here.get(reverse("two_factor_enrol"))
    new = AuthenticatorApp.objects.get(user=supervisor, confirmed=False)

    refused = here.post(reverse("two_factor_enrol"), {"code": code(new), "password": WRONG})

    assert refused.status_code == 400
    assert AuthenticatorApp.objects.get(pk=new.pk).confirmed is False
    assert AuthenticatorApp.objects.filter(pk=old.pk).exists() and works(elsewhere)

    no_throttle(AuthenticatorApp.objects.get(pk=new.pk))
    assert here.post(reverse("two_factor_enrol"),
                     {"code": code(new), "password": PASSWORD}).status_code == 200

    assert not AuthenticatorApp.objects.filter(pk=old.pk).exists()
    assert logged_out(elsewhere)
    assert works(here)  # the session that made the change stays, verified


def test_a_first_app_also_needs_the_password(caseworker):
    here = signed_in(caseworker)
    here.get(reverse("two_factor_enrol"))
    pending = AuthenticatorApp.objects.get(user=caseworker, confirmed=False)

    missing = here.post(reverse("two_factor_enrol"), {"code": code(pending)})

    assert missing.status_code == 400
    assert not AuthenticatorApp.objects.filter(user=caseworker, confirmed=True).exists()


def test_adding_a_key_needs_the_password_and_ends_the_other_sessions(caseworker):
    elsewhere, here = signed_in(caseworker), signed_in(caseworker)
    key = Authenticator()
    page = here.get(reverse("two_factor_key_add"))

    refused = here.post(reverse("two_factor_key_add"), {
        "name": "Llave", "credential": key.create(page.context["options"]), "password": WRONG})

    assert refused.status_code == 400 and "That password is not right." in refused.content.decode()
    assert not WebAuthnDevice.objects.exists() and works(elsewhere)
    assert password_refusals(caseworker) == ["key_enrol"]

    assert add_key(here, key).status_code == 302

    assert logged_out(elsewhere)
    assert works(here)


def test_removing_a_key_needs_the_password_and_ends_the_other_sessions(caseworker):
    key = Authenticator()
    setup = signed_in(caseworker)
    add_key(setup, key)
    device = WebAuthnDevice.objects.get(user=caseworker)
    elsewhere, here = Client(), Client()
    for browser, answer_key in ((elsewhere, key), (here, key)):
        login(browser, caseworker)
        assert use_key(browser, answer_key.get(options(browser))).status_code == 302
    remove = reverse("two_factor_key_remove", args=[device.pk])

    refused = here.post(remove, {"password": WRONG})

    assert refused.status_code == 302
    assert WebAuthnDevice.objects.filter(pk=device.pk).exists() and works(elsewhere)

    here.post(remove, {"password": PASSWORD})

    assert not WebAuthnDevice.objects.filter(pk=device.pk).exists()
    assert logged_out(elsewhere) and logged_out(setup)
    assert here.get(reverse("dashboard")).status_code == 200


def test_wrong_passwords_on_these_forms_count_towards_the_login_lock(supervisor, settings):
    """A session left open is no way to guess the password without limit."""
    device = enrol(supervisor)
    here = signed_in(supervisor, "eeeeffff")
    for _ in range(settings.AMPARO_LOGIN_MAX_FAILURES):
        here.post(reverse("two_factor_manage"), {"code": "000000", "password": WRONG})

    no_throttle(AuthenticatorApp.objects.get(pk=device.pk))
    locked = here.post(reverse("two_factor_manage"), {"code": code(device), "password": PASSWORD})

    assert locked.status_code == 400  # the right password too, while the lock lasts
    assert has_backup_code(supervisor, "ccccdddd")
    assert AuditEvent.objects.filter(action="login.lock").exists()
