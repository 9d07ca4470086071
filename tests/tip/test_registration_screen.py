"""The trafficking risk screen at asylum registration (tip/registration.py): a few HTCDS
indicators that may suggest a referral to the anti-trafficking office; the referral needs the
person's consent to referral and opens a trafficking case for the same person, whose access
rules are its own. rsd knows nothing of it: the card reaches the asylum case page through
a cases.sections section."""

from __future__ import annotations

import ast
import json
import pathlib
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import consent, selectors, subject_requests
from cases import services as case_services
from cases.models import Case, CaseKind, Consent, ConsentPurpose
from tests.tip.conftest import fresh, today
from tip import registration
from tip.models import RegistrationScreen
from tip.registration import ScreenData

SIGNS = {"WithholdsDocuments", "DebtBondage"}


def _screen(by, case, **overrides) -> RegistrationScreen:
    values = dict(present=set(SIGNS), screened_on=today())
    values.update(overrides)
    return registration.screen(by=by, case=fresh(case), data=ScreenData(**values))


def _trafficking_cases(person) -> list[Case]:
    return list(Case.objects.filter(principal=person, kind=CaseKind.TRAFFICKING))


def test_no_sign_is_recorded_without_a_suggestion_and_the_answers_are_sealed(case, caseworker):
    clear = _screen(caseworker, case, present=set())
    assert clear.suggested is False and clear.referred_case is None
    signs = _screen(caseworker, case)
    assert signs.suggested is True
    assert registration.latest(case) == signs
    assert RegistrationScreen.objects.get(pk=signs.pk).present == sorted(SIGNS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT present FROM tip_registrationscreen WHERE id = %s", [signs.pk.hex])
        raw = bytes(cursor.fetchone()[0])
    assert b"DebtBondage" not in raw
    assert _trafficking_cases(case.principal) == []


def test_a_referral_without_consent_is_refused_and_nothing_is_written(case, caseworker):
    with pytest.raises(ValidationError) as exc:
        _screen(caseworker, case, refer=True)
    assert "consent" in exc.value.message_dict
    assert not RegistrationScreen.objects.exists()
    assert _trafficking_cases(case.principal) == []
    refused = AuditEvent.objects.filter(action="tip.registration_screen", outcome="refused")
    assert refused.count() == 1


def test_a_refusal_asked_on_the_form_is_kept_and_the_referral_refused(case, caseworker):
    with pytest.raises(ValidationError):
        _screen(caseworker, case, refer=True, consent="no", language="es")
    answer = Consent.objects.get(person=case.principal, purpose=ConsentPurpose.REFERRAL)
    assert answer.given is False and answer.explained_by == caseworker and answer.language == "es"
    assert _trafficking_cases(case.principal) == []


def test_an_answer_needs_the_language_it_was_explained_in(case, caseworker):
    with pytest.raises(ValidationError) as exc:
        _screen(caseworker, case, refer=True, consent="yes")
    assert "language" in exc.value.message_dict
    assert not Consent.objects.filter(person=case.principal).exists()


def test_with_consent_the_referral_opens_a_trafficking_case_for_the_same_person(case, caseworker):
    screen = _screen(caseworker, case, refer=True, consent="yes", language="es")
    [tip_case] = _trafficking_cases(case.principal)
    assert screen.referred_case == tip_case
    assert tip_case.principal_id == case.principal_id and tip_case.office_id == case.office_id
    assert tip_case.state == "open" and tip_case.assigned_to is None and tip_case.closed_at is None
    assert consent.allows(case.principal, ConsentPurpose.REFERRAL)
    assert fresh(case).kind == CaseKind.ASYLUM and fresh(case).state == case.state
    event = AuditEvent.objects.get(action="tip.registration_screen", outcome="ok")
    assert event.details["referred"] is True and event.details["trafficking_case"] == str(tip_case.pk)
    # A second referral finds the case open: one person, one trafficking case.
    again = _screen(caseworker, case, refer=True)
    assert again.referred_case == tip_case and len(_trafficking_cases(case.principal)) == 1


def test_a_withdrawal_recorded_first_refuses_the_next_referral(case, caseworker):
    consent.record(by=caseworker, person=case.principal, purpose=ConsentPurpose.REFERRAL, given=True,
                   language="es")
    consent.record(by=caseworker, person=case.principal, purpose=ConsentPurpose.REFERRAL, given=False,
                   language="es")
    with pytest.raises(ValidationError):
        _screen(caseworker, case, refer=True)
    assert _trafficking_cases(case.principal) == []


def test_the_two_cases_keep_their_own_access_rules(case, caseworker, caseworker2, supervisor,
                                                    other_caseworker):
    case_services.grant_case_access(by=supervisor, case=case, user=other_caseworker,
                                    reason="Apoyo de la otra oficina.")
    tip_case = _screen(caseworker, case, refer=True, consent="yes", language="es").referred_case
    # A grant on the asylum case opens nothing of the trafficking case.
    assert selectors.get_case(other_caseworker, case.pk) == case
    with pytest.raises(Http404):
        selectors.get_case(other_caseworker, tip_case.pk)
    # Once the anti-trafficking caseworker holds it, the asylum caseworker no longer sees it.
    case_services.assign_case(by=supervisor, case=tip_case, assignee=caseworker2)
    with pytest.raises(Http404):
        selectors.get_case(caseworker, tip_case.pk)
    assert selectors.get_case(caseworker2, tip_case.pk) == tip_case
    html = _card(caseworker, fresh(case))
    assert "screen-referred" in html and tip_case.reference not in html
    assert tip_case.reference in _card(supervisor, fresh(case))


def _card(user, case) -> str:
    template, context = registration.card(user, case)
    return render_to_string(template, context)


def test_only_who_works_on_an_open_asylum_case_screens_it(case, caseworker, caseworker2, tip):
    case_services.assign_case(by=tip.supervisor, case=case, assignee=caseworker)
    with pytest.raises(PermissionDenied):
        _screen(caseworker2, case)
    with pytest.raises(ValidationError):
        _screen(caseworker, tip.open())
    assert not RegistrationScreen.objects.exists()
    assert registration.card(caseworker, fresh(tip.open())) is None


def test_the_case_page_offers_the_screen_and_shows_the_referral(client, case, caseworker):
    client.force_login(caseworker)
    page = client.get(reverse("case_detail", args=[case.pk]))
    assert b'id="screen-not-done"' in page.content and b"registration-screen-link" in page.content
    url = reverse("tip:registration_screen", args=[case.pk])
    assert client.get(url).status_code == 200
    data = {"present": sorted(SIGNS), "screened_on": today().isoformat(), "refer": "on"}
    refused = client.post(url, data)
    assert refused.status_code == 400 and b"consent" in refused.content
    # The ticks come back with the message: nothing the user entered is lost.
    assert re.search(r'value="DebtBondage"[^>]*checked', refused.content.decode())
    done = client.post(url, {**data, "consent": "yes", "language": "es"})
    assert done.status_code == 302
    [tip_case] = _trafficking_cases(case.principal)
    page = client.get(reverse("case_detail", args=[case.pk]))
    assert b'id="screen-referred"' in page.content and tip_case.reference.encode() in page.content


def test_the_screen_page_is_for_asylum_cases_the_user_may_change(client, case, caseworker2, tip,
                                                                 other_caseworker, supervisor):
    case_services.assign_case(by=supervisor, case=case, assignee=tip.caseworker)
    url = reverse("tip:registration_screen", args=[case.pk])
    client.force_login(other_caseworker)
    assert client.get(url).status_code == 404
    client.force_login(caseworker2)  # sees the office's queue, not this case (assigned)
    assert client.get(url).status_code == 404
    client.force_login(tip.caseworker)
    assert client.get(reverse("tip:registration_screen", args=[tip.open().pk])).status_code == 404
    client.force_login(supervisor)
    assert client.post(url, {"screened_on": today().isoformat()}).status_code == 302


def test_rsd_never_imports_tip():
    root = pathlib.Path(__file__).resolve().parents[2] / "rsd"
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "tip" or n.startswith("tip.") for n in names), path


def test_the_person_s_copy_holds_what_they_said_and_where_it_led_only_internally(client, case,
                                                                                 caseworker, supervisor):
    tip_case = _screen(caseworker, case, refer=True, consent="yes", language="es").referred_case
    asked = subject_requests.record_request(by=caseworker, person=case.principal, kind="access",
                                            channel="writing", received_on=timezone.localdate())

    def copy(user, **params):
        client.force_login(user)
        response = client.post(reverse("subject_request_export", args=[asked.pk]),
                              {"format": "json", "language": "en", **params})
        assert response.status_code == 200
        return {s["key"]: s for s in json.loads(response.content)["sections"]}

    [row] = copy(caseworker)["tip.registration_screens"]["records"]
    assert row["suggested"] is True and "referred_case" not in row
    assert sorted(row["present"]) == ["Owes a debt for the journey or the work that they cannot pay off",
                                      "Someone else keeps their identity or travel documents"]
    [row] = copy(supervisor, internal="1")["tip.registration_screens"]["records"]
    assert row["referred_case"] == tip_case.reference
