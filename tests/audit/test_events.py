"""Every action the audit issue lists produces its event (actor, office, object, outcome),
events never hold personal values, and what cannot be recorded is not done."""

from __future__ import annotations

import contextlib
import datetime
import json
import unicodedata
from collections.abc import Iterator

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit import chain, verify
from audit.models import AuditEvent
from cases import importing, services
from cases.models import LoginCounter, Membership, Note, Role, Transfer, User
from tests.cases.importdata import people_rows, to_csv
from tests.conftest import PNG_BYTES

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-only"
# What the person fixture holds (tests/conftest.py), as typed and as normalised.
PERSONAL = ["María", "José", "Núñez", "Pérez", "maria", "nunez", "perez", "Majo",
            "majo@example.org", "6101234", "Calle 5", "Barrio Sur", "A123456",
            "1990-05-03", "19900503", "03/05/1990", "woman_at_risk"]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def all_events_text() -> str:
    return json.dumps(list(AuditEvent.objects.values()), default=str, ensure_ascii=False)


def assert_nothing_personal(*extra: str) -> None:
    """No event holds any of the person's values, in any spelling."""
    text = all_events_text()
    folded = _fold(text)
    for value in (*PERSONAL, *extra):
        assert value not in text, f"{value!r} is in the audit log"
        assert _fold(value) not in folded, f"{value!r} is in the audit log"


def last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("id")


def summary(event: AuditEvent) -> tuple:
    return (event.actor_id, event.office_id, event.object_type, event.object_id, event.outcome)


@pytest.fixture(autouse=True)
def _chain_still_verifies():
    """After each test, the events it wrote link into a chain that verifies."""
    yield
    chain.link_pending()
    report = verify.verify()
    assert report.ok, report.failure


@pytest.fixture
def document(caseworker, case, file_root):
    return services.add_document(by=caseworker, case=case, title="Pasaporte de María",
                                 filename="maria-nunez.png", data=PNG_BYTES)


# Logins and logouts


def test_login_success(client, caseworker):
    # When a caseworker logs in with the right password
    response = client.post("/login/", {"username": caseworker.username, "password": PASSWORD},
                           REMOTE_ADDR="10.0.0.7")
    # Then they are in, and the login is recorded with them as actor
    assert response.status_code == 302
    event = last("auth.login")
    assert (event.actor_id, event.actor_username, event.outcome, event.ip) == (
        caseworker.pk, caseworker.username, "ok", "10.0.0.7")
    assert PASSWORD not in all_events_text()


def test_login_failure_records_the_name_tried_never_the_password(client, caseworker):
    response = client.post("/login/", {"username": caseworker.username, "password": "wrong-Secret-9"})
    assert response.status_code == 200
    event = last("auth.login_failed")
    assert (event.actor_id, event.actor_username, event.outcome) == (
        None, caseworker.username, "denied")
    assert "wrong-Secret-9" not in all_events_text()
    assert not AuditEvent.objects.filter(action="auth.login").exists()


def test_lockout_after_the_allowed_failures_until_the_window_passes(client, caseworker, settings):
    settings.AMPARO_LOGIN_MAX_FAILURES = 3
    settings.AMPARO_LOGIN_LOCKOUT_MINUTES = 15
    # Given as many failed logins as allowed
    for _ in range(3):
        client.post("/login/", {"username": caseworker.username, "password": "wrong"})
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 3
    # When the right password is given next
    response = client.post("/login/", {"username": caseworker.username, "password": PASSWORD})
    # Then it is refused with the lockout message, and a lockout is recorded
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "this account is locked for 15 minutes" in response.content.decode()
    event = last("auth.lockout")
    assert (event.actor_id, event.actor_username, event.outcome) == (
        None, caseworker.username, "denied")
    assert not AuditEvent.objects.filter(action="auth.login").exists()
    # And other accounts are not affected
    other = User.objects.create_user("someone", password=PASSWORD)
    assert client.post("/login/", {"username": "someone", "password": PASSWORD}).status_code == 302
    client.logout()

    # When the window has passed since the first of those failures
    LoginCounter.objects.update(started=timezone.now() - datetime.timedelta(minutes=16))
    # Then the right password works again
    response = client.post("/login/", {"username": caseworker.username, "password": PASSWORD})
    assert response.status_code == 302
    assert last("auth.login").actor_id == caseworker.pk
    assert other.pk != caseworker.pk


def test_a_successful_login_clears_earlier_failures(client, caseworker, settings):
    settings.AMPARO_LOGIN_MAX_FAILURES = 3
    for _ in range(2):
        client.post("/login/", {"username": caseworker.username, "password": "wrong"})
    assert client.post("/login/", {"username": caseworker.username,
                                   "password": PASSWORD}).status_code == 302
    client.logout()
    # two more failures: four in the window, but only two since the last success
    for _ in range(2):
        client.post("/login/", {"username": caseworker.username, "password": "wrong"})

    response = client.post("/login/", {"username": caseworker.username, "password": PASSWORD})

    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="auth.lockout").exists()


@pytest.mark.parametrize("name,action", [
    ("note_add", "note.add"), ("case_assign", "case.assign"), ("case_take", "case.take"),
    ("document_upload", "document.add")])
def test_a_refused_change_to_a_case_is_recorded(client, other_caseworker, case, name, action):
    client.force_login(other_caseworker)

    response = client.post(reverse(name, args=[case.pk]), {})

    assert response.status_code == 404
    event = last(action)
    assert (event.actor_id, event.object_id, event.outcome) == (
        other_caseworker.pk, str(case.pk), "denied")


def test_lists_of_names_are_recorded_reads(client, caseworker, case):
    client.force_login(caseworker)

    client.get(reverse("dashboard"))
    client.get(reverse("case_list"))
    client.get(reverse("people_search"))

    shows = [e.details["show"] for e in AuditEvent.objects.filter(action="case.list").order_by("id")]
    assert shows == ["dashboard", "mine"]
    assert str(case.pk) in last("case.list").details["cases"]
    assert str(case.principal_id) in last("person.list").details["people"]


def test_logout(client, caseworker):
    client.force_login(caseworker)
    response = client.post("/logout/")
    assert response.status_code == 302
    event = last("auth.logout")
    assert (event.actor_id, event.outcome) == (caseworker.pk, "ok")


# Sensitive reads


def test_person_page_view(client, caseworker, person):
    client.force_login(caseworker)
    response = client.get(f"/people/{person.pk}/", HTTP_X_REQUEST_ID="r-person")
    assert response.status_code == 200
    event = last("person.view")
    assert summary(event) == (caseworker.pk, person.office_id, "cases.person", str(person.pk), "ok")
    assert event.request_id == "r-person"
    assert_nothing_personal()


def test_case_page_view(client, supervisor, case):
    client.force_login(supervisor)
    assert client.get(f"/cases/{case.pk}/").status_code == 200
    event = last("case.view")
    assert summary(event) == (supervisor.pk, case.office_id, "cases.case", str(case.pk), "ok")
    assert_nothing_personal()


@pytest.mark.parametrize(("url", "action", "object_type"), [
    ("/cases/{case}/", "case.view", "cases.case"),
    ("/people/{person}/", "person.view", "cases.person"),
])
def test_an_out_of_scope_view_is_recorded_as_refused(client, other_caseworker, case, url, action,
                                                     object_type):
    # Given a caseworker of another office
    client.force_login(other_caseworker)
    # When they ask for the page
    response = client.get(url.format(case=case.pk, person=case.principal_id))
    # Then they get a 404, and the attempt is recorded as refused
    assert response.status_code == 404
    object_id = str(case.pk if object_type == "cases.case" else case.principal_id)
    event = last(action)
    assert summary(event) == (other_caseworker.pk, None, object_type, object_id, "denied")
    assert not AuditEvent.objects.filter(action=action, outcome="ok").exists()


def test_the_person_edit_page_is_a_recorded_view(client, caseworker, person):
    # The edit form shows every value of the record: it is a view like the person page
    client.force_login(caseworker)
    response = client.get(f"/people/{person.pk}/edit/")
    assert response.status_code == 200
    assert "Núñez" in response.content.decode()
    event = last("person.view")
    assert summary(event) == (caseworker.pk, person.office_id, "cases.person", str(person.pk), "ok")


def test_an_out_of_scope_edit_page_is_recorded_as_refused(client, other_caseworker, person):
    client.force_login(other_caseworker)
    assert client.get(f"/people/{person.pk}/edit/").status_code == 404
    event = last("person.view")
    assert summary(event) == (other_caseworker.pk, None, "cases.person", str(person.pk), "denied")


def test_the_case_page_shown_again_after_an_invalid_form_is_a_recorded_view(client, caseworker, case):
    # An empty note sends the whole case page back with the error
    client.force_login(caseworker)
    response = client.post(f"/cases/{case.pk}/notes/", {"text": ""})
    assert response.status_code == 400
    assert case.reference in response.content.decode()
    event = last("case.view")
    assert summary(event) == (caseworker.pk, case.office_id, "cases.case", str(case.pk), "ok")


def test_document_download(client, caseworker, case, document):
    client.force_login(caseworker)
    response = client.get(f"/cases/{case.pk}/documents/{document.pk}/")
    assert response.status_code == 200
    assert response.content == PNG_BYTES
    event = last("document.download")
    assert summary(event) == (caseworker.pk, case.office_id, "cases.document", str(document.pk), "ok")
    assert event.details == {"case": str(case.pk)}
    assert_nothing_personal("maria-nunez.png", "Pasaporte")


def test_an_out_of_scope_download_is_recorded_as_refused(client, other_caseworker, case, document):
    client.force_login(other_caseworker)
    response = client.get(f"/cases/{case.pk}/documents/{document.pk}/")
    assert response.status_code == 404
    event = last("document.download")
    assert summary(event) == (other_caseworker.pk, None, "cases.document", str(document.pk), "denied")


@pytest.mark.parametrize(("form", "kinds"), [
    ({"name": "María Núñez"}, ["name"]),
    ({"document": "A123456"}, ["document"]),
    ({"date_of_birth": "1990-05-03", "name": "Maria"}, ["name", "date_of_birth"]),
])
def test_search_records_kinds_and_counts_never_the_terms(client, caseworker, person, form, kinds):
    client.force_login(caseworker)
    response = client.post("/people/", form)
    assert response.status_code == 200
    event = last("person.search")
    assert (event.actor_id, event.outcome) == (caseworker.pk, "ok")
    assert event.details["kinds"] == kinds
    assert event.details["results"] == 1
    assert event.details["people"] == [str(person.pk)]  # who was shown, by id
    assert_nothing_personal(*form.values())


def test_search_records_each_person_shown_and_only_them(client, caseworker, office, person,
                                                        person_data, other_caseworker,
                                                        other_office):
    shown = [services.register_person(by=caseworker, office=office,
                                      data=person_data(given_names=f"María {n}"))
             for n in ("Elena", "Luisa")]
    elsewhere = services.register_person(by=other_caseworker, office=other_office,
                                         data=person_data())  # same name, not in scope
    client.force_login(caseworker)

    response = client.post("/people/", {"name": "María"})

    event = last("person.search")
    assert sorted(event.details["people"]) == sorted(str(p.pk) for p in [person, *shown])
    assert event.details["results"] == 3 == len(response.context["result"].people)
    assert str(elsewhere.pk) not in event.details["people"]

    client.post("/people/", {"name": "Nadie Inexistente"})

    assert last("person.search").details["people"] == []


# Writes


def test_register_person(caseworker, office, person):
    event = last("person.register")
    assert summary(event) == (caseworker.pk, office.pk, "cases.person", str(person.pk), "ok")
    assert_nothing_personal()


def test_update_person_records_field_names_only(caseworker, person, person_data):
    services.update_person(by=caseworker, person=person, reason="New phone",
                           data=person_data(phone="+5016109876", address="Avenida 9, Norte"))
    event = last("person.update")
    assert summary(event) == (caseworker.pk, person.office_id, "cases.person", str(person.pk), "ok")
    assert event.details == {"fields": ["phone", "address"]}
    assert_nothing_personal("6109876", "Avenida 9", "New phone")


def test_add_identity_document(caseworker, person):
    services.add_identity_document(by=caseworker, person=person, item=services.IdentityDocumentData(
        "national_id", "HN-0801-1990", "HN"))
    event = last("person.add_document")
    assert summary(event) == (caseworker.pk, person.office_id, "cases.person", str(person.pk), "ok")
    assert_nothing_personal("0801-1990")


def test_erase_person(supervisor, person):
    services.erase_person(by=supervisor, person=person, code="request", note="Request 2024/17")
    event = last("person.erase")
    assert summary(event) == (supervisor.pk, person.office_id, "cases.person", str(person.pk), "ok")
    assert event.details == {"key": "destroyed", "code": "request"}
    assert_nothing_personal("2024/17")


def test_open_case(caseworker, person, case):
    event = last("case.open")
    assert summary(event) == (caseworker.pk, case.office_id, "cases.case", str(case.pk), "ok")
    assert event.details == {"kind": "asylum", "person": str(person.pk), "assigned": True}


def test_assign_case(supervisor, caseworker, caseworker2, case):
    services.assign_case(by=supervisor, case=case, assignee=caseworker2, reason="Workload")
    event = last("case.assign")
    assert summary(event) == (supervisor.pk, case.office_id, "cases.case", str(case.pk), "ok")
    assert event.details == {"previous": caseworker.pk, "assignee": caseworker2.pk}


def test_take_case(caseworker, caseworker2, person):
    case = services.open_case(by=caseworker, person=person, kind="asylum", assign_to_me=False)
    services.take_case(by=caseworker2, case=case)
    event = last("case.take")
    assert summary(event) == (caseworker2.pk, case.office_id, "cases.case", str(case.pk), "ok")


def test_add_note(caseworker, case):
    note = services.add_note(by=caseworker, case=case, text="She fears return to Tegucigalpa.")
    event = last("note.add")
    assert summary(event) == (caseworker.pk, case.office_id, "cases.case", str(case.pk), "ok")
    assert event.details == {"note": str(note.pk)}
    assert_nothing_personal("Tegucigalpa", "fears")


def test_add_document(caseworker, case, document):
    event = last("document.add")
    assert summary(event) == (caseworker.pk, case.office_id, "cases.case", str(case.pk), "ok")
    assert event.details == {"document": str(document.pk), "content_type": "image/png",
                             "size": len(PNG_BYTES)}
    assert_nothing_personal("maria-nunez.png", "Pasaporte")


def test_share_and_unshare(supervisor, other_caseworker, case):
    services.grant_case_access(by=supervisor, case=case, user=other_caseworker, reason="Joint interview")
    services.revoke_case_access(by=supervisor, case=case, user=other_caseworker, reason="Done")
    transfer = Transfer.objects.get(case=case)
    for action, details in (("case.share", {"user": other_caseworker.pk, "transfer": str(transfer.pk)}),
                            ("case.unshare", {"user": other_caseworker.pk})):
        event = last(action)
        assert summary(event) == (supervisor.pk, case.office_id, "cases.case", str(case.pk), "ok")
        assert event.details == details
    assert_nothing_personal("Joint interview")


def test_membership_grant_and_revoke(office_admin, office, make_user):
    user = make_user()
    membership = services.grant_membership(by=office_admin, user=user, office=office,
                                           role=Role.SUPERVISOR)
    membership_id = str(membership.pk)
    granted = last("membership.grant")
    assert summary(granted) == (office_admin.pk, office.pk, "cases.membership", membership_id, "ok")
    assert granted.details == {"user": user.pk, "role": Role.SUPERVISOR}
    services.revoke_membership(by=office_admin, membership=membership)
    assert not Membership.objects.filter(pk=membership.pk).exists()
    revoked = last("membership.revoke")
    assert summary(revoked) == (office_admin.pk, office.pk, "cases.membership", membership_id, "ok")
    assert revoked.details == {"user": user.pk, "role": Role.SUPERVISOR}


def test_staff_creation(office_admin, office):
    user, password = services.add_staff_member(
        by=office_admin, office=office, role=Role.CASEWORKER, username="new.worker",
        first_name="Ana", last_name="Quintero", email="ana@example.org")
    event = last("staff.create")
    assert summary(event) == (office_admin.pk, office.pk, "cases.user", str(user.pk), "ok")
    grant = last("membership.grant")
    assert grant.details == {"user": user.pk, "role": Role.CASEWORKER}
    assert password not in all_events_text()


def test_import(supervisor, office, file_root, django_capture_on_commit_callbacks):
    # Given a file of three people, queued by a supervisor (the task runs eagerly on commit)
    rows = people_rows(3)
    with django_capture_on_commit_callbacks(execute=True):
        job = importing.queue_import(by=supervisor, office=office, data=to_csv(rows),
                                     filename="Lista de Juana.csv")
    # Then the queueing and the result are recorded, and each person and case it wrote
    queued = last("import.queue")
    assert summary(queued) == (supervisor.pk, office.pk, "cases.importjob", str(job.pk), "ok")
    assert queued.details["file_type"] == "csv"
    finished = last("import.finish")
    assert summary(finished) == (supervisor.pk, office.pk, "cases.importjob", str(job.pk), "ok")
    assert (finished.details["created"], finished.details["rejected"]) == (3, 0)
    assert AuditEvent.objects.filter(action="person.register", actor=supervisor).count() == 3
    assert AuditEvent.objects.filter(action="case.open", actor=supervisor).count() == 3
    # And none of the file's values is in the log
    values = [row[c] for row in rows for c in ("given_names", "family_names", "date_of_birth",
                                               "document_number", "address") if row[c]]
    assert_nothing_personal("Juana", *values)


# When the event cannot be written, the action does not happen


# Requests run in autocommit in production; a test transaction around them would be poisoned
# by the failed insert on PostgreSQL, so these tests commit for real.
_LIKE_PRODUCTION = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def audit_unwritable() -> Iterator[None]:
    """Make inserting into the event table fail for real (undone afterwards)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("CREATE FUNCTION test_no_audit() RETURNS trigger AS $$ BEGIN "
                        "RAISE EXCEPTION 'audit disk full'; END; $$ LANGUAGE plpgsql", None)
            cur.execute("CREATE TRIGGER test_no_audit BEFORE INSERT ON audit_auditevent "
                        "FOR EACH ROW EXECUTE FUNCTION test_no_audit()")
        else:
            cur.execute("ALTER TABLE audit_auditevent RENAME TO audit_auditevent_away")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute("DROP TRIGGER test_no_audit ON audit_auditevent")
                cur.execute("DROP FUNCTION test_no_audit()")
            else:
                cur.execute("ALTER TABLE audit_auditevent_away RENAME TO audit_auditevent")


def _assert_unavailable_page(response) -> None:
    assert response.status_code == 503
    body = response.content.decode()
    assert "This could not be recorded, so it was not done" in body
    for value in ("María", "Núñez", "A123456", "majo@example.org"):
        assert value not in body


@_LIKE_PRODUCTION
def test_a_case_page_that_cannot_be_recorded_is_not_shown(client, caseworker, case):
    client.force_login(caseworker)
    before = AuditEvent.objects.count()
    with audit_unwritable():
        response = client.get(f"/cases/{case.pk}/")
    _assert_unavailable_page(response)
    assert case.reference not in response.content.decode()
    assert AuditEvent.objects.count() == before


@_LIKE_PRODUCTION
def test_a_person_page_that_cannot_be_recorded_is_not_shown(client, caseworker, person):
    client.force_login(caseworker)
    with audit_unwritable():
        response = client.get(f"/people/{person.pk}/")
    _assert_unavailable_page(response)


@_LIKE_PRODUCTION
def test_a_search_that_cannot_be_recorded_shows_no_result(client, caseworker, person):
    client.force_login(caseworker)
    with audit_unwritable():
        response = client.post("/people/", {"name": "María Núñez"})
    _assert_unavailable_page(response)


@_LIKE_PRODUCTION
def test_a_download_that_cannot_be_recorded_sends_nothing(client, caseworker, case, document):
    client.force_login(caseworker)
    with audit_unwritable():
        response = client.get(f"/cases/{case.pk}/documents/{document.pk}/")
    _assert_unavailable_page(response)
    assert PNG_BYTES not in response.content


@_LIKE_PRODUCTION
def test_a_note_that_cannot_be_recorded_is_not_written(client, caseworker, case):
    client.force_login(caseworker)
    before = AuditEvent.objects.count()
    with audit_unwritable():
        response = client.post(f"/cases/{case.pk}/notes/", {"text": "Written while the log is down"})
        with pytest.raises(chain.AuditUnavailable):
            services.add_note(by=caseworker, case=case, text="Through the service, too")
    _assert_unavailable_page(response)
    assert Note.objects.filter(case=case).count() == 0
    assert AuditEvent.objects.count() == before


def test_a_proxy_request_id_is_kept_only_as_plain_characters(client, caseworker, case):
    client.force_login(caseworker)

    response = client.get(reverse("case_detail", args=[case.pk]),
                          HTTP_X_REQUEST_ID="abc-123\n<script>")

    assert response["X-Request-ID"] == "abc-123script"
    assert last("case.view").request_id == "abc-123script"
