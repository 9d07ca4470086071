"""Shares and referrals: chosen parts of a case, for a named staff member, until a date, with
the person's consent when the case leaves its office (cases/shares.py)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import access, consent, selectors, services, shares
from cases.models import CaseUserObjectPermission, Transfer, User
from tests.cases.rawsql import read_column
from tests.conftest import pdf_bytes

pytestmark = pytest.mark.usefixtures("file_root")

SOON = timezone.localdate() + datetime.timedelta(days=10)


def fresh(user: User) -> User:
    """The user as a new request reads them (nothing cached from before)."""
    return User.objects.get(pk=user.pk)


@pytest.fixture
def full_case(case, caseworker):
    services.add_note(by=caseworker, case=case, text="Teme a su expareja, que la buscó en Tegucigalpa")
    services.add_document(by=caseworker, case=case, title="Denuncia", filename="denuncia.pdf",
                          data=pdf_bytes("denuncia"))
    return case


def _consent(person, by, given=True):
    consent.record(by=by, person=person, purpose="sharing", given=given, language="es")


def test_a_share_of_some_parts_opens_only_those(client, full_case, supervisor, caseworker,
                                               other_caseworker):
    _consent(full_case.principal, caseworker)

    shares.share(by=supervisor, case=full_case, user=other_caseworker, parts=["procedure"],
                 until=SOON, reason="Acompañamiento legal")

    reader = fresh(other_caseworker)
    assert selectors.get_case(reader, full_case.pk) == full_case
    assert access.case_parts(reader, full_case) == {"procedure"}
    client.force_login(other_caseworker)
    page = client.get(reverse("case_detail", args=[full_case.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="my-share"' in html and SOON.isoformat() in html
    assert 'id="procedure"' in html
    assert 'id="notes"' not in html and "Tegucigalpa" not in html
    assert 'id="documents"' not in html
    document = full_case.documents.get()
    answer = client.get(reverse("document_download", args=[full_case.pk, document.pk]))
    assert answer.status_code == 404


def test_the_parts_chosen_again_replace_the_earlier_ones(full_case, supervisor, caseworker,
                                                        other_caseworker):
    _consent(full_case.principal, caseworker)
    shares.share(by=supervisor, case=full_case, user=other_caseworker, parts=["notes", "documents"],
                 until=SOON, reason="Primera remisión")

    shares.share(by=supervisor, case=full_case, user=other_caseworker, parts=["procedure"],
                 until=SOON + datetime.timedelta(days=5), reason="Solo el procedimiento")

    reader = fresh(other_caseworker)
    assert access.case_parts(reader, full_case) == {"procedure"}
    assert not selectors.case_notes(reader, full_case).exists()
    ends = set(CaseUserObjectPermission.objects.filter(content_object=full_case, user=reader)
               .values_list("expires_at", flat=True))
    assert len(ends) == 1 and timezone.localtime(ends.pop()).date() == SOON + datetime.timedelta(days=6)
    # One entry in the register of transfers: the second share changed the first.
    assert Transfer.objects.filter(case=full_case, to_user=reader).count() == 1


def test_outside_the_office_a_share_needs_consent_or_a_written_reason(full_case, supervisor,
                                                                     other_caseworker):
    with pytest.raises(ValidationError) as refused:
        shares.share(by=supervisor, case=full_case, user=other_caseworker, parts=["notes"],
                     until=SOON, reason="Remisión")
    assert "override" in refused.value.message_dict
    assert selectors.visible_cases(fresh(other_caseworker)).filter(pk=full_case.pk).count() == 0

    shares.share(by=supervisor, case=full_case, user=other_caseworker, parts=["notes"],
                 until=SOON, reason="Remisión", override="Riesgo inminente para su vida")

    event = AuditEvent.objects.filter(action="case.share", object_id=str(full_case.pk)).get()
    assert event.details["consent"] == "overridden"
    assert event.details["parts"] == ["notes"]
    assert "Riesgo" not in str(event.details)
    grant = CaseUserObjectPermission.objects.get(content_object=full_case, user=other_caseworker,
                                                 permission__codename="view_case")
    reason = grant.history.latest().history_change_reason
    assert "Riesgo inminente para su vida" in reason
    history_row = grant.history.latest()
    blob = read_column(type(history_row), history_row.pk, "history_change_reason")
    assert b"Riesgo" not in (blob or b"")  # sealed with the person's key


def test_a_withdrawn_consent_stops_the_next_share_at_once(full_case, supervisor, caseworker,
                                                          other_caseworker):
    _consent(full_case.principal, caseworker)
    _consent(full_case.principal, caseworker, given=False)

    with pytest.raises(ValidationError):
        shares.share(by=supervisor, case=full_case, user=other_caseworker, parts=[],
                     until=SOON, reason="Remisión")


def test_within_the_office_no_consent_is_asked(full_case, supervisor, caseworker2):
    shares.share(by=supervisor, case=full_case, user=caseworker2, parts=["records"], until=SOON,
                 reason="Segunda opinión")

    reader = fresh(caseworker2)
    assert access.case_parts(reader, full_case) == {"records"}
    assert access.reads_records(reader, full_case) is False  # a colleague of the office
    assert AuditEvent.objects.get(action="case.share").details["consent"] == "not needed"


@pytest.mark.parametrize("until, parts, reason, field", [
    (timezone.localdate(), ["notes"], "Hoy", "until"),
    (timezone.localdate() + datetime.timedelta(days=400), ["notes"], "Largo", "until"),
    (SOON, ["narrative"], "Parte rara", "parts"),
    (SOON, ["notes"], "  ", "reason"),
])
def test_a_share_badly_filled_is_refused_and_nothing_written(full_case, supervisor, caseworker,
                                                             other_caseworker, until, parts,
                                                             reason, field):
    _consent(full_case.principal, caseworker)

    with pytest.raises(ValidationError) as refused:
        shares.share(by=supervisor, case=full_case, user=other_caseworker, parts=parts,
                     until=until, reason=reason)

    assert field in refused.value.message_dict
    assert not CaseUserObjectPermission.objects.filter(content_object=full_case).exists()


def test_only_a_supervisor_of_the_case_office_shares_it(full_case, caseworker, other_supervisor,
                                                        other_caseworker):
    for who in (caseworker, other_supervisor):
        with pytest.raises(PermissionDenied):
            shares.share(by=who, case=full_case, user=other_caseworker, parts=["notes"],
                         until=SOON, reason="x", override="y")


def test_nobody_is_shared_what_they_see_already(full_case, supervisor, caseworker):
    with pytest.raises(ValidationError) as refused:
        shares.share(by=supervisor, case=full_case, user=caseworker, parts=["notes"],
                     until=SOON, reason="Ya es suyo")
    assert "recipient" in refused.value.message_dict


def test_a_share_ends_at_its_day_and_the_task_removes_it(full_case, supervisor, caseworker,
                                                         other_caseworker):
    _consent(full_case.principal, caseworker)
    shares.share(by=supervisor, case=full_case, user=other_caseworker, parts=["notes"],
                 until=SOON, reason="Remisión")
    grants = CaseUserObjectPermission.objects.filter(content_object=full_case, user=other_caseworker)
    ends = grants.first().expires_at

    assert shares.expire(now=ends - datetime.timedelta(seconds=1)) == 0
    grants.update(expires_at=timezone.now() - datetime.timedelta(minutes=1))  # the day passed

    reader = fresh(other_caseworker)
    with pytest.raises(Http404):  # at once, before the task runs
        selectors.get_case(reader, full_case.pk)
    assert access.case_parts(reader, full_case) == frozenset()
    assert shares.expire() == 1
    assert not grants.exists()
    event = AuditEvent.objects.get(action="case.share_expire")
    assert (event.object_id, event.office_id, event.details["user"]) == (
        str(full_case.pk), full_case.office_id, other_caseworker.pk)
    assert shares.expire() == 0


def test_ending_a_share_closes_the_case_at_once(client, full_case, supervisor, caseworker,
                                                other_caseworker):
    _consent(full_case.principal, caseworker)
    shares.share(by=supervisor, case=full_case, user=other_caseworker, parts=["notes"],
                 until=SOON, reason="Remisión")
    client.force_login(supervisor)

    answer = client.post(reverse("case_unshare", args=[full_case.pk, other_caseworker.pk]))

    assert answer.status_code == 302
    client.force_login(other_caseworker)
    assert client.get(reverse("case_detail", args=[full_case.pk])).status_code == 404
    assert AuditEvent.objects.filter(action="case.unshare").count() == 1
    client.force_login(supervisor)  # nothing left to end
    assert client.post(reverse("case_unshare", args=[full_case.pk, other_caseworker.pk])).status_code == 404


def test_the_share_page_shares_and_says_what_is_wrong(client, full_case, supervisor,
                                                       other_caseworker):
    client.force_login(supervisor)
    url = reverse("case_share", args=[full_case.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'id="share-no-consent"' in page.content.decode()
    membership = other_caseworker.memberships.get()

    half = client.post(url, {"recipient": membership.pk, "parts": ["notes"],
                             "until": SOON.isoformat(), "reason": ""})
    assert half.status_code == 400
    no_consent = client.post(url, {"recipient": membership.pk, "parts": ["notes"],
                                   "until": SOON.isoformat(), "reason": "Remisión"})
    assert no_consent.status_code == 400
    assert "has not consented" in no_consent.content.decode()
    assert not CaseUserObjectPermission.objects.filter(content_object=full_case).exists()

    done = client.post(url, {"recipient": membership.pk, "parts": ["notes", "documents"],
                             "until": SOON.isoformat(), "reason": "Remisión",
                             "override": "Orden judicial"})
    assert done.status_code == 302
    assert access.case_parts(fresh(other_caseworker), full_case) == {"notes", "documents"}
    listed = client.get(url).content.decode()
    assert other_caseworker.username in listed and SOON.isoformat() in listed


def test_a_full_share_made_elsewhere_opens_every_part(full_case, supervisor, other_caseworker):
    services.grant_case_access(by=supervisor, case=full_case, user=other_caseworker,
                               reason="Traslado")

    assert access.case_parts(fresh(other_caseworker), full_case) == access.ALL_PARTS
    services.revoke_case_access(by=supervisor, case=full_case, user=other_caseworker)
    assert not CaseUserObjectPermission.objects.filter(content_object=full_case).exists()


def test_a_share_ends_at_the_end_of_its_last_day_on_a_frozen_clock(
        monkeypatch, full_case, supervisor, caseworker, other_caseworker):
    """The clock itself is moved (Django's `timezone.now`, which reads and the task ask): one
    second before the end the share is read and kept, at the end it is neither."""
    _consent(full_case.principal, caseworker)
    last_day = timezone.localdate() + datetime.timedelta(days=2)
    shares.share(by=supervisor, case=full_case, user=other_caseworker, parts=["notes"],
                 until=last_day, reason="Remisión")
    end = timezone.make_aware(datetime.datetime.combine(
        last_day + datetime.timedelta(days=1), datetime.time.min))

    monkeypatch.setattr(timezone, "now", lambda: end - datetime.timedelta(seconds=1))
    reader = fresh(other_caseworker)
    assert selectors.get_case(reader, full_case.pk) == full_case
    assert access.case_parts(reader, full_case) == {"notes"}
    assert shares.expire() == 0

    monkeypatch.setattr(timezone, "now", lambda: end)
    reader = fresh(other_caseworker)
    with pytest.raises(Http404):
        selectors.get_case(reader, full_case.pk)
    assert access.case_parts(reader, full_case) == frozenset()
    assert shares.expire() == 1
    assert not CaseUserObjectPermission.objects.filter(user=other_caseworker).exists()
    assert AuditEvent.objects.filter(action="case.share_expire").count() == 1


def test_a_share_with_an_office_reaches_each_of_its_case_staff_or_nobody(
        full_case, supervisor, caseworker, other_office, other_caseworker, other_supervisor,
        make_user):
    auditor = make_user("auditor", other_office)
    left = make_user("caseworker", other_office)
    left.is_active = False
    left.save()
    # Without the person's consent or a written reason, nobody of the office gets anything.
    with pytest.raises(ValidationError) as refused:
        shares.share_with_office(by=supervisor, case=full_case, office=other_office,
                                 parts=["procedure"], until=SOON, reason="Remisión regional")
    assert "override" in refused.value.error_dict
    assert not CaseUserObjectPermission.objects.filter(content_object=full_case).exists()

    _consent(full_case.principal, caseworker)
    made = shares.share_with_office(by=supervisor, case=full_case, office=other_office,
                                    parts=["procedure"], until=SOON, reason="Remisión regional")

    assert {g.user for g in made.grants.filter(permission__codename="view_case")} == {
        other_caseworker, other_supervisor}
    for user in (other_caseworker, other_supervisor):
        assert access.case_parts(fresh(user), full_case) == {"procedure"}
    for user in (auditor, left):
        assert not selectors.visible_cases(fresh(user)).filter(pk=full_case.pk).exists()
    assert AuditEvent.objects.filter(action="case.share").count() == 2


def test_the_share_page_takes_one_staff_member_or_one_office(client, full_case, supervisor,
                                                              caseworker, other_office,
                                                              other_caseworker):
    _consent(full_case.principal, caseworker)
    client.force_login(supervisor)
    url = reverse("case_share", args=[full_case.pk])
    terms = {"parts": ["notes"], "until": SOON.isoformat(), "reason": "Remisión"}
    membership = other_caseworker.memberships.get()

    both = client.post(url, {**terms, "recipient": membership.pk, "office": other_office.pk})
    neither = client.post(url, terms)
    assert both.status_code == neither.status_code == 400
    assert "Choose one staff member or one office" in both.content.decode()
    assert not CaseUserObjectPermission.objects.filter(content_object=full_case).exists()

    done = client.post(url, {**terms, "office": other_office.pk})
    assert done.status_code == 302
    assert access.case_parts(fresh(other_caseworker), full_case) == {"notes"}


def test_the_person_s_copy_gives_a_share_s_purpose_not_the_supervisor_s_reason(
        full_case, supervisor, other_caseworker):
    from django.utils import translation

    from cases.subject_export import _given_purpose
    for language in ("en", "es"):
        with translation.override(language):
            shares.share(by=supervisor, case=full_case, user=other_caseworker, parts=["notes"],
                         until=SOON, reason=f"Remisión {language}",
                         override="La receptora la acoge hoy")
        entry = Transfer.objects.filter(case=full_case).latest("recorded_at")
        assert "La receptora la acoge hoy" in entry.purpose  # the register keeps it
        assert _given_purpose(entry.purpose) == f"Remisión {language}"
        shares.revoke(by=supervisor, case=full_case, user=other_caseworker, reason="Fin")
