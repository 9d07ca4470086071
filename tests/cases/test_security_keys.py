"""Security keys and passkeys (WebAuthn) on the server: adding a key, using it at login and
for a step-up, removing it, and every refusal: no or an old challenge, an answer sent again,
changed client data, a foreign origin, another account's key, a copied key. The key is a
software authenticator with a real key pair (tests/cases/authenticator.py); the browser's
side is tests/browser/test_security_keys.py."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from webauthn.helpers import bytes_to_base64url

from audit.models import AuditEvent
from cases import security_keys, services, two_factor
from cases.checks import check_webauthn
from cases.models import Role, User, WebAuthnDevice
from tests.cases.authenticator import Authenticator, tamper_client_data
from tests.cases.test_two_factor import PASSWORD, age_verification, enrol, login
from tests.test_csp import INLINE

SESSION_AUTHENTICATE = "_amparo_webauthn_authenticate"


def add_key(client: Client, key: Authenticator, name: str = "Llave azul") -> object:
    page = client.get(reverse("two_factor_key_add"))
    assert page.status_code == 200
    return client.post(reverse("two_factor_key_add"),
                       {"name": name, "credential": key.create(page.context["options"]),
                        "password": PASSWORD})


@pytest.fixture
def key() -> Authenticator:
    return Authenticator()


@pytest.fixture
def keyed(client: Client, caseworker: User, key: Authenticator) -> User:
    """A caseworker who added a key, logged in again: asked for the key."""
    login(client, caseworker)
    assert add_key(client, key).status_code == 302
    client.logout()
    login(client, caseworker)
    return caseworker


def options(client: Client, next_url: str = "") -> str:
    url = reverse("two_factor_verify") + (f"?next={next_url}" if next_url else "")
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["key_options"], "the code page offers the key"
    return str(page.context["key_options"])


def use_key(client: Client, answer: str, next_url: str = "/") -> object:
    return client.post(reverse("two_factor_key_verify"), {"credential": answer, "next": next_url})


def verified(client: Client) -> bool:
    return client.get(reverse("two_factor_manage")).status_code == 200


def refusals(user: User) -> list[str]:
    return list(AuditEvent.objects.filter(action="two_factor.key_fail", actor=user)
                .order_by("pk").values_list("details__reason", flat=True))


# Adding a key ---------------------------------------------------------------------------------

def test_a_caseworker_adds_a_key_and_sees_it_listed(client, caseworker, key):
    login(client, caseworker)

    response = add_key(client, key)

    assert response.status_code == 302 and response.url == reverse("two_factor_manage")
    device = WebAuthnDevice.objects.get(user=caseworker)
    assert (device.name, bytes(device.credential_id), device.transports) == (
        "Llave azul", key.credential_id, ["usb"])
    assert device.aaguid == "00010203-0405-0607-0809-0a0b0c0d0e0f"
    event = AuditEvent.objects.get(action="two_factor.key_enrol")
    assert event.actor == caseworker and event.details["key"] == device.pk
    listing = client.get(reverse("two_factor_manage")).content.decode()
    assert 'id="security-keys"' in listing and "Llave azul" in listing


def test_the_same_key_cannot_be_added_twice_and_is_excluded_from_the_options(client, caseworker, key):
    login(client, caseworker)
    add_key(client, key)  # which verifies the session, as a new app does

    page = client.get(reverse("two_factor_key_add"))
    assert bytes_to_base64url(key.credential_id) in page.context["options"]
    response = client.post(reverse("two_factor_key_add"),
                           {"name": "Otra", "credential": key.create(page.context["options"]),
                            "password": PASSWORD})

    assert response.status_code == 400
    assert WebAuthnDevice.objects.filter(user=caseworker).count() == 1
    assert refusals(caseworker) == ["already_enrolled"]


def test_a_key_answer_from_another_origin_is_not_added(client, caseworker, key):
    login(client, caseworker)
    page = client.get(reverse("two_factor_key_add"))

    response = client.post(reverse("two_factor_key_add"), {
        "name": "Phished", "credential": key.create(page.context["options"], origin="https://amparo.evil.example"),
        "password": PASSWORD})

    assert response.status_code == 400
    assert not WebAuthnDevice.objects.exists()
    assert refusals(caseworker) == ["invalid"]


def test_adding_a_key_without_the_pages_challenge_is_refused(client, caseworker, key):
    login(client, caseworker)
    page = client.get(reverse("two_factor_key_add"))
    answer = key.create(page.context["options"])
    session = client.session
    del session["_amparo_webauthn_register"]
    session.save()

    response = client.post(reverse("two_factor_key_add"),
                           {"name": "Late", "credential": answer, "password": PASSWORD})

    assert response.status_code == 400
    assert not WebAuthnDevice.objects.exists()
    assert refusals(caseworker) == ["no_challenge"]


def test_a_half_filled_add_form_keeps_nothing(client, caseworker, key):
    login(client, caseworker)
    page = client.get(reverse("two_factor_key_add"))

    no_name = client.post(reverse("two_factor_key_add"), {"credential": key.create(page.context["options"])})
    no_answer = client.post(reverse("two_factor_key_add"), {"name": "Sin tocar"})

    assert (no_name.status_code, no_answer.status_code) == (400, 400)
    assert not WebAuthnDevice.objects.exists()


def test_adding_a_second_key_needs_a_recent_code(client, keyed, key):
    use_key(client, key.get(options(client)))
    age_verification(client, minutes=11)

    response = client.get(reverse("two_factor_key_add"))

    assert response.status_code == 302
    assert response.url == reverse("two_factor") + "?next=%2Ftwo-factor%2Fkeys%2Fadd%2F"


# Using a key ----------------------------------------------------------------------------------

def test_a_key_verifies_the_login_and_moves_its_counter(client, keyed, key):
    assert client.get(reverse("dashboard")).status_code == 302  # asked for the key first

    response = use_key(client, key.get(options(client, "/cases/")), next_url="/cases/")

    assert response.status_code == 302 and response.url == "/cases/"
    assert client.get(reverse("dashboard")).status_code == 200
    device = WebAuthnDevice.objects.get(user=keyed)
    assert device.sign_count == key.sign_count == 1 and device.last_used_at is not None
    event = AuditEvent.objects.get(action="two_factor.verify")
    assert event.details == {"method": "security_key", "step_up": False, "key": device.pk}


def test_a_key_gives_the_step_up_before_the_audit_export(client, make_user, office, key):
    auditor = make_user(Role.AUDITOR, office)
    login(client, auditor)
    add_key(client, key)
    client.logout()
    login(client, auditor)
    use_key(client, key.get(options(client)))
    age_verification(client, minutes=11)
    url = reverse("audit_export") + "?outcome=denied"
    assert client.get(url).status_code == 302

    back = use_key(client, key.get(options(client, url)), next_url=url)

    assert back.url == url
    assert client.get(url).status_code == 200
    assert AuditEvent.objects.filter(action="two_factor.verify", details__step_up=True).exists()


def test_an_answer_without_a_challenge_is_refused(client, keyed, key):
    answer = key.get('{"challenge": "bm8tY2hhbGxlbmdl"}')

    response = use_key(client, answer)

    assert response.status_code == 302 and response.url.startswith(reverse("two_factor"))
    assert not verified(client)
    assert refusals(keyed) == ["no_challenge"]


def test_an_answer_after_the_challenge_expired_is_refused(client, keyed, key):
    answer = key.get(options(client))
    session = client.session
    session[SESSION_AUTHENTICATE]["at"] -= security_keys.CHALLENGE_SECONDS + 1
    session.save()

    use_key(client, answer)

    assert not verified(client)
    assert refusals(keyed) == ["no_challenge"]


def test_an_answer_sent_again_is_refused(client, keyed, key):
    answer = key.get(options(client))
    assert use_key(client, answer).status_code == 302
    client.logout()
    login(client, keyed)

    use_key(client, answer)  # no challenge now: the first use spent it
    options(client)  # a new challenge, which the old answer did not sign
    use_key(client, answer)

    assert not verified(client)
    assert refusals(keyed) == ["no_challenge", "invalid"]


@pytest.mark.parametrize("changes", [
    {"challenge": "b3RoZXItY2hhbGxlbmdl"},
    {"origin": "https://amparo.evil.example"},
    {"type": "webauthn.create"},
])
def test_client_data_changed_after_signing_is_refused(client, keyed, key, changes):
    challenge = options(client)

    use_key(client, tamper_client_data(key.get(challenge), **changes))

    assert not verified(client)
    assert refusals(keyed) == ["invalid"]
    assert WebAuthnDevice.objects.get(user=keyed).sign_count == 0


def test_an_answer_signed_for_another_origin_is_refused(client, keyed, key):
    use_key(client, key.get(options(client), origin="https://amparo.evil.example"))

    assert not verified(client)
    assert refusals(keyed) == ["invalid"]


def test_only_the_configured_origins_are_accepted(client, settings, keyed, key):
    settings.AMPARO_WEBAUTHN_ORIGINS = ["https://amparo.example.org"]

    use_key(client, key.get(options(client)))  # signed on http://testserver

    assert not verified(client)
    settings.AMPARO_WEBAUTHN_ORIGINS = ["https://amparo.example.org", "http://testserver"]
    use_key(client, key.get(options(client)))
    assert verified(client)


def test_another_accounts_key_is_refused(client, keyed, key, caseworker2):
    other = Client()
    login(other, caseworker2)
    theirs = Authenticator()
    add_key(other, theirs)

    use_key(client, theirs.get(options(client)))  # caseworker2's key in the caseworker's login

    assert not verified(client)
    assert refusals(keyed) == ["unknown_key"]


def test_a_copied_key_whose_counter_went_back_is_refused(client, keyed, key):
    copy = key.copy()
    use_key(client, key.get(options(client)))
    age_verification(client, minutes=5)
    use_key(client, key.get(options(client)))  # the original moves on to 2
    client.logout()
    login(client, keyed)

    response = use_key(client, copy.get(options(client)))  # the copy says 1

    assert not verified(client)
    cloned = AuditEvent.objects.get(action="two_factor.key_cloned")
    assert cloned.outcome == "denied"
    assert (cloned.details["sign_count"], cloned.details["known_sign_count"]) == (1, 2)
    page = client.get(response.url, follow=True).content.decode()
    assert "its counter went back" in page


def test_the_code_page_of_a_key_only_account_shows_no_code_form(client, keyed):
    page = client.get(reverse("two_factor_verify")).content.decode()

    assert 'id="use-key"' in page and 'id="verify-form"' not in page
    assert "webauthn.js" in page
    for pattern in INLINE:
        assert not pattern.search(page), pattern.pattern


def test_the_code_page_offers_the_key_beside_the_app(client, keyed, key):
    use_key(client, key.get(options(client)))
    enrol(keyed)
    client.logout()
    login(client, keyed)

    page = client.get(reverse("two_factor_verify")).content.decode()

    assert 'id="use-key"' in page and 'id="verify-form"' in page


def test_a_second_click_after_the_key_was_accepted_goes_on(client, keyed, key):
    answer = key.get(options(client))
    use_key(client, answer, next_url="/cases/")

    again = use_key(client, answer, next_url="/cases/")

    assert again.status_code == 302 and again.url == "/cases/"
    assert refusals(keyed) == []
    assert AuditEvent.objects.filter(action="two_factor.verify").count() == 1


def test_a_numeric_host_is_told_to_use_a_name(client, caseworker):
    login(client, caseworker)

    page = client.get(reverse("two_factor_key_add"), HTTP_HOST="127.0.0.1:8000").content.decode()
    named = client.get(reverse("two_factor_key_add"), HTTP_HOST="localhost:8000")

    assert 'id="key-ip-host"' in page
    assert 'href="http://localhost:8000/two-factor/keys/add/"' in page
    elsewhere = client.get(reverse("two_factor_key_add"), HTTP_HOST="10.0.0.5").content.decode()
    assert 'id="key-ip-host"' in elsewhere and "localhost" not in elsewhere
    assert 'id="key-ip-host"' not in named.content.decode()
    assert '"id": "localhost"' in named.context["options"]


def test_the_relying_party_can_be_set(client, settings, caseworker):
    settings.AMPARO_WEBAUTHN_RP_ID = "amparo.example.org"
    login(client, caseworker)

    page = client.get(reverse("two_factor_key_add"))

    assert '"id": "amparo.example.org"' in page.context["options"]


# Removing a key -------------------------------------------------------------------------------

def test_removing_a_key_needs_a_recent_code(client, keyed, key):
    use_key(client, key.get(options(client)))
    device = WebAuthnDevice.objects.get(user=keyed)
    age_verification(client, minutes=11)

    response = client.post(reverse("two_factor_key_remove", args=[device.pk]), {"password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("two_factor") + "?next=%2Ftwo-factor%2Fmanage%2F"
    assert WebAuthnDevice.objects.filter(pk=device.pk).exists()
    assert not AuditEvent.objects.filter(action="two_factor.key_remove").exists()


def test_a_removed_key_no_longer_works(client, keyed, key):
    use_key(client, key.get(options(client)))
    device = WebAuthnDevice.objects.get(user=keyed)

    response = client.post(reverse("two_factor_key_remove", args=[device.pk]), {"password": PASSWORD})

    assert response.status_code == 302 and response.url == reverse("two_factor_manage")
    assert not WebAuthnDevice.objects.filter(pk=device.pk).exists()
    assert AuditEvent.objects.get(action="two_factor.key_remove").details["key"] == device.pk
    client.logout()
    login(client, keyed)
    assert client.get(reverse("dashboard")).status_code == 200  # no factor left: not asked
    assert client.get(reverse("two_factor_verify")).status_code == 302


def test_another_accounts_key_cannot_be_removed(client, keyed, key, caseworker2):
    other = Client()
    login(other, caseworker2)
    add_key(other, Authenticator())
    theirs = WebAuthnDevice.objects.get(user=caseworker2)
    use_key(client, key.get(options(client)))

    response = client.post(reverse("two_factor_key_remove", args=[theirs.pk]), {"password": PASSWORD})

    assert response.status_code == 404
    assert WebAuthnDevice.objects.filter(pk=theirs.pk).exists()


def test_the_administrators_reset_removes_keys_too(client, keyed, make_user, office):
    admin = make_user(Role.OFFICE_ADMIN, office)

    assert services.reset_two_factor(by=admin, user=keyed, identity_check="in_person")

    assert not WebAuthnDevice.objects.filter(user=keyed).exists()
    assert not two_factor.has_factor(keyed)


def test_removing_the_key_of_this_session_keeps_it_verified_on_the_other_key(client, keyed, key):
    use_key(client, key.get(options(client)))
    spare = Authenticator()
    add_key(client, spare, name="Llave de repuesto")
    used = WebAuthnDevice.objects.get(user=keyed, name="Llave azul")
    use_key(client, key.get(options(client)))  # this session now rests on the first key

    client.post(reverse("two_factor_key_remove", args=[used.pk]), {"password": PASSWORD})

    assert verified(client)
    client.logout()
    login(client, keyed)
    use_key(client, key.get(options(client)))  # the removed key is refused ...
    assert not verified(client)
    assert refusals(keyed) == ["unknown_key"]
    use_key(client, spare.get(options(client)))  # ... the other one works
    assert verified(client)


def test_removing_the_last_key_leaves_nothing_to_ask_for(client, keyed, key):
    use_key(client, key.get(options(client)))

    client.post(reverse("two_factor_key_remove", args=[WebAuthnDevice.objects.get(user=keyed).pk]),
                {"password": PASSWORD})

    assert client.get(reverse("two_factor_manage")).status_code == 200
    assert client.get(reverse("dashboard")).status_code == 200


GARBAGE = ["", "null", "[]", "{}", '{"id": 1}', "\x00", "{" * 200, '{"rawId": "!!", "response": []}',
           '{"id": "AA", "rawId": "AA", "type": "public-key", "response": {"clientDataJSON": "%%%"}}',
           '{"id": "AA", "rawId": "AA", "type": "public-key", "response": '
           '{"clientDataJSON": "e30", "attestationObject": "oA", "authenticatorData": "AA", '
           '"signature": "AA"}}']


@pytest.mark.parametrize("answer", GARBAGE)
def test_a_malformed_answer_is_refused_without_an_error(client, keyed, key, answer):
    options(client)
    assert use_key(client, answer).status_code == 302
    use_key(client, key.get(options(client)))
    page = client.get(reverse("two_factor_key_add"))
    assert page.status_code == 200

    response = client.post(reverse("two_factor_key_add"),
                           {"name": "Basura", "credential": answer, "password": PASSWORD})

    assert response.status_code == 400
    assert WebAuthnDevice.objects.filter(user=keyed).count() == 1


@pytest.mark.parametrize(("rp_id", "origins", "ids"), [
    ("", [], []),
    ("amparo.example.org", ["https://amparo.example.org", "https://sjo.amparo.example.org:8443"], []),
    ("localhost", ["http://localhost:8000"], []),
    ("10.0.0.5", [], ["amparo.E050"]),
    ("amparo.example.org", ["https://amparo.example.org/login/"], ["amparo.E051"]),
    ("amparo.example.org", ["https://evil-amparo.example.org"], ["amparo.E051"]),
    ("amparo.example.org", ["http://amparo.example.org"], ["amparo.E051"]),
    ("", ["amparo.example.org"], ["amparo.E051"]),
])
def test_the_relying_party_settings_are_checked_at_start(settings, rp_id, origins, ids):
    settings.AMPARO_WEBAUTHN_RP_ID = rp_id
    settings.AMPARO_WEBAUTHN_ORIGINS = origins

    assert [m.id for m in check_webauthn(None)] == ids


def test_setting_up_an_app_beside_a_key_needs_the_key_first(client, keyed, key):
    assert client.get(reverse("two_factor_enrol")).status_code == 302  # not verified yet
    use_key(client, key.get(options(client)))
    age_verification(client, minutes=11)

    response = client.get(reverse("two_factor_enrol"))

    assert response.status_code == 302
    assert response.url == reverse("two_factor") + "?next=%2Ftwo-factor%2Fenrol%2F"
    use_key(client, key.get(options(client, "/two-factor/enrol/")), next_url="/two-factor/enrol/")
    assert client.get(reverse("two_factor_enrol")).status_code == 200
