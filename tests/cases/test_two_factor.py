"""Two-factor authentication: who must enter a code, setting up an app, codes from the app and
backup codes, throttling, step-up before erasure, the audit export and staff changes, the
office administrator's reset. Codes are computed from the device's key, as an app does."""

from __future__ import annotations

import base64
import datetime
import os
import re
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import hotp, totp

from audit.models import AuditEvent
from cases import services, subject_requests, two_factor, two_factor_secrets
from cases.models import AuthenticatorApp, BackupCode, BackupCodeSet, DataKey, Person, Role, User
from tests.test_csp import INLINE

BASE_DIR = Path(__file__).resolve().parents[2]
BACKUP = ["aaaabbbb", "ccccdddd", "eeeeffff"]


@pytest.fixture
def required(settings):
    settings.AMPARO_REQUIRE_2FA = True


def code(device: AuthenticatorApp, steps: int = 0) -> str:
    """The code the app shows now (steps=-1: the code of the 30 seconds before), computed from
    the seed as the app does (the test opens the sealed seed with the deployment's keys)."""
    device = AuthenticatorApp.objects.get(pk=device.pk)
    now = int(time.time() // device.step)
    return f"{hotp(device.seed, now + steps, device.digits):06d}"


def next_code(device: AuthenticatorApp) -> str:
    """A new code, as 30 seconds later: the code accepted last is moved a step back instead of
    waiting for the clock (a code is accepted once, and never one from ahead)."""
    AuthenticatorApp.objects.filter(pk=device.pk, last_t__gte=0).update(last_t=F("last_t") - 1)
    return code(device)


def has_backup_code(user: User, value: str) -> bool:
    """Is `value` one of the user's backup codes? Only by hashing it: the table has no codes."""
    return any(two_factor_secrets.code_matches(value, hashed) for hashed in
               BackupCode.objects.filter(code_set__user=user).values_list("hashed", flat=True))


def code_from_secret(secret: str) -> str:
    """What an authenticator app computes from the key typed in by hand."""
    key = base64.b32decode(secret.replace(" ", ""))
    return f"{totp(key):06d}"


def enrol(user: User) -> AuthenticatorApp:
    """An app set up and confirmed (its seed sealed), with three backup codes (hashed)."""
    device = two_factor.pending_device(user)
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    backup = BackupCodeSet.objects.create(user=user, name="backup", confirmed=True)
    for token in BACKUP:
        backup.codes.create(hashed=two_factor_secrets.hash_code(token))
    return device


def login(client: Client, user: User, password: str = "pw-for-tests-only") -> None:  # noqa: S107
    """Through the login form, which also sets the user's language (English here)."""
    User.objects.filter(pk=user.pk).update(preferred_language="en")
    assert client.post(reverse("login"), {"username": user.username,
                                          "password": password}).status_code == 302


PASSWORD = "pw-for-tests-only"  # what make_user gives every account


def verify(client: Client, value: str, next_url: str = "") -> object:
    url = reverse("two_factor_verify") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"code": value})


def age_verification(client: Client, minutes: int) -> None:
    session = client.session
    session[two_factor.VERIFIED_AT] -= minutes * 60
    session.save()


def no_throttle(device) -> None:
    """As if the wait after the last wrong code had passed."""
    type(device).objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - datetime.timedelta(days=1))


# Who must enter a code


@pytest.mark.parametrize("who", ["supervisor", "auditor", "office_admin", "system_admin", "superuser"])
def test_required_roles_are_sent_to_set_up_then_reach_the_dashboard(request, client, required, who,
                                                                   make_user):
    user = (make_user(is_superuser=True, is_staff=True) if who == "superuser"
            else request.getfixturevalue(who))
    login(client, user)

    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url == reverse("two_factor") + "?next=%2F"
    assert client.get(response.url).url == reverse("two_factor_enrol") + "?next=%2F"
    assert client.get(reverse("people_search")).status_code == 302
    assert client.get("/admin/").status_code == 302

    device = enrol(user)
    assert client.get(reverse("two_factor") + "?next=/").url == reverse("two_factor_verify") + "?next=%2F"
    done = verify(client, code(device), next_url="/")
    assert done.status_code == 302 and done.url == "/"
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_caseworker_is_asked_only_where_the_office_says_so(client, required, caseworker, office,
                                                             other_office):
    client.force_login(caseworker)
    assert client.get(reverse("dashboard")).status_code == 200

    other_office.require_two_factor_for_caseworkers = True  # not the caseworker's office
    other_office.save()
    assert client.get(reverse("dashboard")).status_code == 200

    office.require_two_factor_for_caseworkers = True
    office.save()
    response = client.get(reverse("case_list"))
    assert response.status_code == 302 and response.url.startswith(reverse("two_factor"))


def test_without_the_setting_nobody_is_asked(client, supervisor, auditor):
    for user in (supervisor, auditor):
        client.force_login(user)
        assert client.get(reverse("dashboard")).status_code == 200


def test_who_set_up_an_app_is_asked_at_login_even_without_the_setting(client, supervisor):
    device = enrol(supervisor)
    login(client, supervisor)

    assert client.get(reverse("dashboard")).status_code == 302
    verify(client, code(device))
    assert client.get(reverse("dashboard")).status_code == 200


def test_logging_in_again_asks_for_a_new_code(client, supervisor):
    device = enrol(supervisor)
    login(client, supervisor)
    verify(client, code(device))
    assert client.get(reverse("dashboard")).status_code == 200

    client.force_login(supervisor)  # the same user, the same session

    assert client.get(reverse("dashboard")).status_code == 302


def test_htmx_requests_are_told_where_to_go(client, required, supervisor):
    client.force_login(supervisor)

    response = client.get(reverse("case_list"), headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("two_factor") + "?next=%2Fcases%2F"


def test_what_an_unverified_user_may_still_do(client, required, supervisor):
    client.force_login(supervisor)

    # Only the code stands between the password and the account: not even the password changes.
    assert client.get(reverse("password_change")).status_code == 302
    User.objects.filter(pk=supervisor.pk).update(must_change_password=True)
    assert client.get(reverse("password_change")).status_code == 200  # a temporary one, first
    User.objects.filter(pk=supervisor.pk).update(must_change_password=False)
    assert client.get(reverse("health_live")).status_code == 200
    assert client.post(reverse("set_language"), {"language": "es", "next": "/"}).status_code == 302
    page = client.get(reverse("two_factor_enrol"))
    assert page.status_code == 200
    assert reverse("case_list") not in page.content.decode()  # no menu before the code
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("dashboard")).url.startswith(reverse("login"))


def test_a_post_is_sent_to_the_code_page_without_coming_back_to_it(client, required, supervisor,
                                                                   case):
    client.force_login(supervisor)

    response = client.post(reverse("note_add", args=[case.pk]), {"text": "Nota"})

    assert response.status_code == 302 and response.url == reverse("two_factor")
    assert not case.notes.exists()


# Setting up an app


def test_setting_up_an_app_with_a_real_code_gives_ten_backup_codes_once(client, required,
                                                                        supervisor):
    login(client, supervisor)
    page = client.get(reverse("two_factor_enrol") + "?next=/cases/").content.decode()
    secret = re.search(r'id="secret">([A-Z2-7 ]+)<', page).group(1)
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert 'class="qr-code"' in svg and "style" not in svg
    for pattern in INLINE:
        assert not pattern.search(page), pattern.pattern
    assert client.get(reverse("two_factor_enrol")).content.decode().count(secret) == 1  # the same

    response = client.post(reverse("two_factor_enrol") + "?next=/cases/",
                           {"code": code_from_secret(secret), "password": PASSWORD})

    assert response.status_code == 200
    shown = re.findall(r"<li>([a-z2-7]{4}) ([a-z2-7]{4})</li>", response.content.decode())
    assert len(shown) == 10
    assert BackupCode.objects.filter(code_set__user=supervisor).count() == 10
    assert all(has_backup_code(supervisor, a + b) for a, b in shown)
    assert 'href="/cases/"' in response.content.decode()
    device = AuthenticatorApp.objects.get(user=supervisor)
    assert device.confirmed and base64.b32encode(device.seed).decode() == secret.replace(" ", "")
    assert client.get(reverse("dashboard")).status_code == 200  # the session is verified
    event = AuditEvent.objects.get(action="two_factor.enrol")
    assert event.actor_id == supervisor.pk and event.details == {"replaced": False}
    assert secret.replace(" ", "") not in str(list(AuditEvent.objects.values_list("details", flat=True)))
    # The codes are not shown again.
    assert shown[0][0] not in client.get(reverse("two_factor_manage")).content.decode()


def test_a_wrong_first_code_sets_nothing_up(client, required, supervisor):
    login(client, supervisor)
    client.get(reverse("two_factor_enrol"))
    device = AuthenticatorApp.objects.get(user=supervisor)
    wrong = f"{(int(code(device)) + 500000) % 1000000:06d}"

    response = client.post(reverse("two_factor_enrol"), {"code": wrong, "password": PASSWORD})

    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not BackupCodeSet.objects.filter(user=supervisor).exists()
    assert client.get(reverse("dashboard")).status_code == 302
    failed = AuditEvent.objects.get(action="two_factor.fail")
    assert failed.outcome == "denied" and failed.details["stage"] == "enrol"
    empty = client.post(reverse("two_factor_enrol"), {"code": "", "password": PASSWORD})  # a half-filled form
    assert empty.status_code == 400


def test_a_second_click_on_confirm_does_not_hide_the_codes_behind_an_error(client, supervisor):
    client.force_login(supervisor)
    client.get(reverse("two_factor_enrol"))
    value = code(AuthenticatorApp.objects.get(user=supervisor))
    assert client.post(reverse("two_factor_enrol"), {"code": value, "password": PASSWORD}).status_code == 200

    again = client.post(reverse("two_factor_enrol"), {"code": value, "password": PASSWORD})

    assert again.status_code == 302 and again.url == reverse("two_factor_manage")
    assert AuthenticatorApp.objects.filter(user=supervisor).count() == 1
    assert BackupCode.objects.filter(code_set__user=supervisor).count() == 10


def test_a_new_phone_replaces_the_app_after_a_code_from_the_old_one(client, supervisor):
    old = enrol(supervisor)
    login(client, supervisor)
    verify(client, code(old))
    age_verification(client, minutes=11)

    assert client.get(reverse("two_factor_enrol")).url.startswith(reverse("two_factor"))
    verify(client, next_code(old), next_url=reverse("two_factor_enrol"))
    page = client.get(reverse("two_factor_enrol"))
    assert b'id="replacing"' in page.content
    new = AuthenticatorApp.objects.get(user=supervisor, confirmed=False)
    assert client.post(reverse("two_factor_enrol"),
                       {"code": code(new), "password": PASSWORD}).status_code == 200

    assert list(AuthenticatorApp.objects.filter(user=supervisor)) == [new]
    assert AuditEvent.objects.get(action="two_factor.enrol").details == {"replaced": True}


# Codes


def test_a_wrong_code_is_refused_recorded_and_then_throttled(client, supervisor):
    device = enrol(supervisor)
    login(client, supervisor)
    right = code(device)
    wrong = f"{(int(right) + 500000) % 1000000:06d}"

    refused = verify(client, wrong)
    assert refused.status_code == 400
    assert "That code is not right" in refused.content.decode()

    throttled = verify(client, right)  # even the right code, straight after a wrong one
    assert throttled.status_code == 400
    assert "Too many wrong codes. Try again in" in throttled.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302
    reasons = list(AuditEvent.objects.filter(action="two_factor.fail", actor=supervisor)
                   .order_by("id").values_list("details__reason", flat=True))
    assert reasons == ["wrong_code", "throttled"]

    no_throttle(device)
    assert verify(client, right).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_the_wait_doubles_with_each_wrong_code(client, supervisor):
    device = enrol(supervisor)
    login(client, supervisor)
    for _ in range(4):
        no_throttle(device)
        verify(client, "000000" if code(device) != "000000" else "111111")
    device.refresh_from_db()
    assert device.throttling_failure_count == 4

    allowed, info = device.verify_is_allowed()
    assert not allowed
    assert (info["locked_until"] - device.throttling_failure_timestamp).total_seconds() == 8


def test_an_app_code_works_once(client, supervisor):
    device = enrol(supervisor)
    value = code(device)
    login(client, supervisor)
    assert verify(client, value).status_code == 302
    client.post(reverse("logout"))

    login(client, supervisor)
    no_throttle(device)
    assert verify(client, value).status_code == 400  # replayed
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_code_of_the_last_30_seconds_still_counts_but_none_older(client, supervisor):
    """The 30 seconds turned while the code was typed: accepted (AMPARO_TOTP_TOLERANCE = 1);
    the code of the 30 seconds before that is refused."""
    device = enrol(supervisor)
    login(client, supervisor)

    assert verify(client, code(device, steps=-2)).status_code == 400
    no_throttle(device)
    assert verify(client, code(device, steps=-1)).status_code == 302
    failed = AuditEvent.objects.get(action="two_factor.fail")
    assert failed.details["reason"] == "wrong_code"


def test_a_backup_code_works_once(client, supervisor):
    enrol(supervisor)
    login(client, supervisor)

    response = verify(client, "AAAA bbbb", next_url="/cases/")  # as printed, in any case
    assert response.status_code == 302 and response.url == "/cases/"
    assert client.get(reverse("dashboard")).status_code == 200
    assert not has_backup_code(supervisor, "aaaabbbb")
    event = AuditEvent.objects.get(action="two_factor.verify")
    assert event.details == {"method": "backup_code", "step_up": False, "backup_codes_left": 2}

    client.post(reverse("logout"))
    login(client, supervisor)
    assert verify(client, "aaaabbbb").status_code == 400
    assert client.get(reverse("dashboard")).status_code == 302


def test_few_backup_codes_left_are_announced(client, supervisor):
    enrol(supervisor)
    login(client, supervisor)

    verify(client, "ccccdddd")

    page = client.get(reverse("two_factor_manage")).content.decode()
    assert "You have 2 backup codes left" in page
    assert "2 backup codes left." in page


def test_next_never_leaves_the_site(client, supervisor):
    device = enrol(supervisor)
    login(client, supervisor)

    response = verify(client, code(device), next_url="https://evil.example/")

    assert response.url == reverse("dashboard")


def test_new_backup_codes_need_a_code_from_the_app(client, supervisor):
    device = enrol(supervisor)
    login(client, supervisor)
    verify(client, "eeeeffff")

    refused = client.post(reverse("two_factor_manage"),
                          {"code": "ccccdddd", "password": PASSWORD})  # a backup code
    assert refused.status_code == 400
    assert has_backup_code(supervisor, "ccccdddd")

    no_throttle(device)
    response = client.post(reverse("two_factor_manage"), {"code": code(device), "password": PASSWORD})
    assert response.status_code == 200
    shown = re.findall(r"<li>([a-z2-7]{4}) ([a-z2-7]{4})</li>", response.content.decode())
    assert len(shown) == 10
    assert not has_backup_code(supervisor, "ccccdddd")  # the old ones are gone
    assert BackupCode.objects.filter(code_set__user=supervisor).count() == 10
    assert AuditEvent.objects.get(action="two_factor.backup_codes").details == {"codes": 10}


def test_the_account_security_page_without_an_app(client, caseworker):
    client.force_login(caseworker)
    page = client.get(reverse("two_factor_manage"))
    assert page.status_code == 200
    assert b'id="enrol"' in page.content
    assert client.post(reverse("two_factor_manage"),
                       {"code": "123456", "password": PASSWORD}).status_code == 200
    assert b'id="account-security"' in client.get(reverse("password_change")).content


# Step-up


def _erasure_asked(caseworker, person):
    return subject_requests.record_request(
        by=caseworker, person=person, kind="erasure", channel="writing",
        received_on=timezone.localdate(), legal_basis="request")


def test_erasure_needs_a_recent_code(client, supervisor, caseworker, person):
    asked = _erasure_asked(caseworker, person)
    device = enrol(supervisor)
    login(client, supervisor)
    verify(client, code(device))
    age_verification(client, minutes=11)
    url = reverse("subject_request_answer", args=[asked.pk])
    page_url = reverse("subject_request_detail", args=[asked.pk])
    form = {"action": "erase", "confirm": "on"}

    response = client.post(url, form)

    assert response.status_code == 302
    assert response.url == reverse("two_factor") + "?next=" + page_url.replace("/", "%2F")
    assert Person.objects.get(pk=person.pk).erased_at is None
    assert client.post(url, form, headers={"HX-Request": "true"})["HX-Redirect"].startswith(
        reverse("two_factor"))
    page = client.get(reverse("two_factor_verify") + f"?next={page_url}")
    assert b'id="step-up"' in page.content

    back = verify(client, next_code(device), next_url=page_url)
    assert back.url == page_url
    assert AuditEvent.objects.filter(action="two_factor.verify").latest("id").details["step_up"]
    assert client.post(url, form).status_code == 302
    assert Person.objects.get(pk=person.pk).erased_at is not None
    assert DataKey.objects.get(subject_id=person.pk).destroyed_at is not None


def test_without_an_app_and_without_the_setting_erasure_needs_no_code(client, supervisor,
                                                                     caseworker, person):
    asked = _erasure_asked(caseworker, person)
    client.force_login(supervisor)

    response = client.post(reverse("subject_request_answer", args=[asked.pk]),
                           {"action": "erase", "confirm": "on"})

    assert response.url == reverse("subject_request_detail", args=[asked.pk])
    assert Person.objects.get(pk=person.pk).erased_at is not None


def test_with_the_setting_even_a_recent_login_without_an_app_must_set_one_up(client, required,
                                                                              supervisor,
                                                                              caseworker, person):
    asked = _erasure_asked(caseworker, person)
    client.force_login(supervisor)
    response = client.post(reverse("subject_request_answer", args=[asked.pk]),
                           {"action": "erase", "confirm": "on"})
    assert response.url.startswith(reverse("two_factor"))
    assert Person.objects.get(pk=person.pk).erased_at is None


def test_the_step_up_does_not_reveal_what_is_out_of_scope(client, other_supervisor, caseworker,
                                                          person):
    asked = _erasure_asked(caseworker, person)
    enrol(other_supervisor)
    client.force_login(other_supervisor)
    session = client.session
    session[two_factor.HAS_DEVICE] = False  # not asked at login here: the step-up is the test
    session.save()

    assert client.post(reverse("subject_request_answer", args=[asked.pk]),
                       {"action": "erase", "confirm": "on"}).status_code == 404


def test_the_audit_export_needs_a_recent_code(client, auditor):
    device = enrol(auditor)
    login(client, auditor)
    verify(client, code(device))
    age_verification(client, minutes=11)
    url = reverse("audit_export") + "?outcome=denied"

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == reverse("two_factor") + "?next=%2Faudit%2Fexport%2F%3Foutcome%3Ddenied"
    assert not AuditEvent.objects.filter(action="audit.export").exists()
    back = verify(client, next_code(device), next_url="/audit/export/?outcome=denied")
    assert back.url == url
    export = client.get(url)
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")


def test_the_step_up_lasts_the_configured_minutes(client, settings, auditor):
    settings.AMPARO_STEP_UP_MINUTES = 30
    device = enrol(auditor)
    login(client, auditor)
    verify(client, code(device))
    age_verification(client, minutes=11)

    assert client.get(reverse("audit_export")).status_code == 200


@pytest.mark.parametrize("form", [
    {"action": "password"},
    {"action": "deactivate", "reason": "Left the office"},
])
def test_staff_account_changes_need_a_recent_code(client, office_admin, caseworker2, form):
    device = enrol(office_admin)
    login(client, office_admin)
    verify(client, code(device))
    age_verification(client, minutes=11)
    url = reverse("staff_account", args=[caseworker2.pk])

    response = client.post(url, form)

    assert response.url == reverse("two_factor") + "?next=" + url.replace("/", "%2F")
    caseworker2.refresh_from_db()
    assert caseworker2.is_active and not caseworker2.must_change_password
    assert client.get(url).status_code == 200  # looking needs no code

    verify(client, next_code(device), next_url=url)
    done = client.post(url, form)
    assert done.status_code == (200 if form["action"] == "password" else 302)  # 200: shown once
    caseworker2.refresh_from_db()
    assert (not caseworker2.is_active) or caseworker2.must_change_password


def test_giving_or_removing_a_role_needs_a_recent_code(client, office, office_admin, caseworker2):
    device = enrol(office_admin)
    login(client, office_admin)
    verify(client, code(device))
    age_verification(client, minutes=11)
    new = {"office": office.pk, "role": "supervisor", "username": "nueva.supervisora",
           "first_name": "Nueva", "last_name": "Supervisora"}
    membership = caseworker2.memberships.get()
    revoke = reverse("membership_revoke", args=[membership.pk])

    assert client.post(reverse("staff"), new).url.startswith(reverse("two_factor"))
    assert client.post(revoke).url.startswith(reverse("two_factor"))
    assert not User.objects.filter(username="nueva.supervisora").exists()
    assert caseworker2.memberships.exists()

    verify(client, next_code(device))
    assert "password" in client.post(reverse("staff"), new).context  # the first one, shown once
    assert client.post(revoke).status_code == 302
    assert User.objects.get(username="nueva.supervisora").memberships.get().role == "supervisor"
    assert not caseworker2.memberships.exists()


# The office administrator's reset


def test_an_office_admin_resets_a_lost_phone(client, office_admin, caseworker2):
    member = Client()
    device = enrol(caseworker2)
    login(member, caseworker2)
    verify(member, code(device))
    assert member.get(reverse("dashboard")).status_code == 200
    client.force_login(office_admin)
    url = reverse("staff_account", args=[caseworker2.pk])
    assert b"Reset two-factor authentication" in client.get(url).content

    response = client.post(url, {"action": "reset_two_factor", "identity_check": "in_person"})

    temporary = response.context["password"]
    assert temporary in response.content.decode()
    assert not AuthenticatorApp.objects.filter(user=caseworker2).exists()
    assert not BackupCodeSet.objects.filter(user=caseworker2).exists()
    event = AuditEvent.objects.get(action="two_factor.reset")
    assert event.actor_id == office_admin.pk and event.object_id == str(caseworker2.pk)
    assert event.details == {"devices": 2, "identity_check": "in_person"}
    reset = AuditEvent.objects.get(action="staff.password_reset")
    assert reset.actor_id == office_admin.pk and reset.details["why"] == "two_factor_reset"
    assert temporary not in str(reset.details)
    assert b"Not set up." in client.get(url).content
    again = client.post(url, {"action": "reset_two_factor", "identity_check": "in_person"})  # a second click
    assert again.status_code == 302 and AuditEvent.objects.filter(action="two_factor.reset").count() == 1
    caseworker2.refresh_from_db()
    assert caseworker2.check_password(temporary)  # the second click changed nothing
    # The member's open session ended; the old password no longer logs in.
    assert member.get(reverse("dashboard")).url.startswith(reverse("login"))
    assert AuditEvent.objects.get(action="session.end").details == {"reason": "two_factor", "ended": 1}
    assert not Client().login(username=caseworker2.username, password="pw-for-tests-only")
    # Whoever has the temporary password must choose their own first.
    login(member, caseworker2, temporary)
    assert member.get(reverse("dashboard")).url == reverse("password_change")


def test_a_reset_says_how_the_person_was_recognised_or_does_nothing(client, office_admin,
                                                                    caseworker2):
    enrol(caseworker2)
    client.force_login(office_admin)
    url = reverse("staff_account", args=[caseworker2.pk])

    for sent in ({"action": "reset_two_factor"},
                 {"action": "reset_two_factor", "identity_check": "they-said-so-by-email"}):
        response = client.post(url, sent, follow=True)
        assert "Say how you made sure it is them" in response.content.decode()
    with pytest.raises(CommandError):
        call_command("reset_two_factor", caseworker2.username, stdout=StringIO(), stderr=StringIO())

    assert AuthenticatorApp.objects.filter(user=caseworker2).exists()
    assert caseworker2.check_password("pw-for-tests-only")
    assert not AuditEvent.objects.filter(action__in=["two_factor.reset", "staff.password_reset"]).exists()


def test_a_supervisor_reset_must_set_up_again_at_the_next_login(client, required, office_admin,
                                                                  make_user, office):
    supervisor = make_user(Role.SUPERVISOR, office)
    enrol(supervisor)
    temporary = services.reset_two_factor(by=office_admin, user=supervisor, identity_check="call_back")
    assert temporary is not None

    login(client, supervisor, temporary)
    # A new password first (allowed before the code: there is no factor left to ask for) ...
    assert client.get(reverse("dashboard")).url == reverse("password_change")
    assert client.post(reverse("password_change"), {
        "old_password": temporary, "new_password1": "mi-nueva-frase-muy-propia",
        "new_password2": "mi-nueva-frase-muy-propia"}).status_code == 302
    # ... then a new factor.
    assert client.get(reverse("dashboard")).status_code == 302
    assert client.get(reverse("two_factor")).url == reverse("two_factor_enrol")
    assert client.get(reverse("dashboard")).status_code == 302  # still: the role requires it


def test_only_the_whole_accounts_administrator_resets(client, office_admin, other_office,
                                                      caseworker, caseworker2):
    enrol(caseworker2)
    services.grant_membership(by=None, user=caseworker2, office=other_office, role=Role.CASEWORKER)
    client.force_login(office_admin)

    client.post(reverse("staff_account", args=[caseworker2.pk]),
                {"action": "reset_two_factor", "identity_check": "in_person"})
    assert AuthenticatorApp.objects.filter(user=caseworker2).exists()

    client.force_login(caseworker)  # not an office administrator
    response = client.post(reverse("staff_account", args=[caseworker2.pk]),
                           {"action": "reset_two_factor", "identity_check": "in_person"})
    assert response.status_code == 403
    assert AuthenticatorApp.objects.filter(user=caseworker2).exists()
    assert not AuditEvent.objects.filter(action="two_factor.reset").exists()


def test_an_office_admin_of_another_office_finds_no_such_account(client, make_user, other_office,
                                                                 caseworker2):
    enrol(caseworker2)
    client.force_login(make_user(Role.OFFICE_ADMIN, other_office))

    response = client.post(reverse("staff_account", args=[caseworker2.pk]),
                           {"action": "reset_two_factor", "identity_check": "in_person"})

    assert response.status_code == 404
    assert AuthenticatorApp.objects.filter(user=caseworker2).exists()


def test_an_operator_resets_from_the_command_line(make_user):
    admin = make_user(is_superuser=True, is_staff=True)
    enrol(admin)
    out = StringIO()

    call_command("reset_two_factor", admin.username, "--identity-check", "call_back", stdout=out)

    assert "reset" in out.getvalue()
    assert not AuthenticatorApp.objects.filter(user=admin).exists()
    assert AuditEvent.objects.get(action="two_factor.reset").details == {
        "devices": 2, "identity_check": "call_back", "via": "command"}
    printed = out.getvalue().splitlines()[1]
    admin.refresh_from_db()
    assert admin.check_password(printed) and admin.must_change_password
    assert not admin.check_password("pw-for-tests-only")
    assert AuditEvent.objects.get(action="staff.password_reset").actor_id is None
    # Run again: nothing left to reset, the password stays.
    call_command("reset_two_factor", admin.username, "--identity-check=in_person", stdout=StringIO())
    admin.refresh_from_db()
    assert admin.check_password(printed)


def test_the_devices_are_not_in_the_admin_site(client, make_user):
    admin = make_user(is_superuser=True, is_staff=True)
    client.force_login(admin)
    page = client.get("/admin/").content.decode()
    assert "TOTP" not in page and "otp_static" not in page


# Settings


def _settings_value(module: str, **env: str) -> str:
    environment = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    environment.update({"DJANGO_SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "amparo.example.org",
                        "DATABASE_URL": "sqlite:///:memory:", **env})
    result = subprocess.run(
        [sys.executable, "-c",
         f"import {module} as s; print(s.AMPARO_REQUIRE_2FA, s.AMPARO_STEP_UP_MINUTES)"],
        cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.strip()


def test_production_requires_two_factor_authentication_whatever_the_environment():
    assert _settings_value("settings.prod") == "True 10"
    assert _settings_value("settings.prod", AMPARO_REQUIRE_2FA="0").startswith("True")


def test_the_demo_requires_it_only_when_asked():
    assert _settings_value("settings.dev") == "False 10"
    assert _settings_value("settings.dev", AMPARO_REQUIRE_2FA="1",
                           AMPARO_STEP_UP_MINUTES="5") == "True 5"


def test_the_demo_says_how_to_set_it_up(db):
    out = StringIO()
    call_command("seed_demo", people=2, stdout=out)
    assert "/two-factor/" in out.getvalue() and "AMPARO_REQUIRE_2FA=1 make demo" in out.getvalue()

