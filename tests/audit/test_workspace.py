"""The auditor's workspace: who reaches it, what it shows, the CSV export, and that it
changes nothing."""

from __future__ import annotations

import csv
import datetime
import io
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import get_resolver, reverse
from django.utils import timezone

from audit import services as audit_services
from audit.models import AuditEvent
from cases import events, services
from cases.models import Case, Document, Note, Person, Role
from cases.spreadsheets import safe_text as safe_cell
from tests.conftest import pdf_bytes

pytestmark = pytest.mark.usefixtures("file_root")
EN = {"accept-language": "en"}


@pytest.fixture
def reviewed_case(case, caseworker, caseworker2, supervisor, person, person_data):
    """A case with a changed person (sealed phone) and a reassignment, both with reasons."""
    services.update_person(by=caseworker, person=person,
                           data=person_data(phone="+5016109999"), reason="Nuevo teléfono de Rosa")
    services.assign_case(by=supervisor, case=case, assignee=caseworker2,
                         reason="Carga de trabajo")
    return case


@pytest.fixture
def foreign_auditor(make_user, other_office):
    return make_user(Role.AUDITOR, other_office)


def _search(client, **params):
    response = client.get(reverse("audit_events"), params, headers=EN)
    assert response.status_code == 200
    return response.context["page"]


# Who reaches the workspace


@pytest.mark.parametrize("name", ["audit_events", "audit_export", "audit_case_timeline"])
@pytest.mark.parametrize("role", ["caseworker", "supervisor", "office_admin", "system_admin"])
def test_other_roles_are_refused(request, client, reviewed_case, name, role):
    client.force_login(request.getfixturevalue(role))
    kwargs = {"reference": reviewed_case.reference} if name == "audit_case_timeline" else {}

    response = client.get(reverse(name, kwargs=kwargs))

    assert response.status_code == 403


@pytest.mark.parametrize("name", ["audit_events", "audit_export", "audit_case_timeline"])
def test_anonymous_goes_to_the_login_page(client, reviewed_case, name):
    kwargs = {"reference": reviewed_case.reference} if name == "audit_case_timeline" else {}

    response = client.get(reverse(name, kwargs=kwargs))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_auditor_sees_the_events_of_their_office(client, auditor, reviewed_case):
    client.force_login(auditor)

    page = _search(client)

    actions = {e.action for e in page.object_list}
    assert {"case.open", "case.assign", "person.update"} <= actions
    assert {e.office_id for e in page.object_list} == {reviewed_case.office_id}


def test_the_nav_links_the_workspace_for_auditors_only(client, auditor, caseworker):
    url = reverse("audit_events").encode()
    client.force_login(auditor)
    assert url in client.get(reverse("dashboard")).content
    client.force_login(caseworker)
    assert url not in client.get(reverse("dashboard")).content


def test_an_auditor_of_another_office_sees_nothing_of_this_one(client, foreign_auditor,
                                                              reviewed_case):
    client.force_login(foreign_auditor)

    page = _search(client)
    by_reference = _search(client, subject=reviewed_case.reference)
    timeline = client.get(reverse("audit_case_timeline",
                                  kwargs={"reference": reviewed_case.reference}))

    assert all(e.office_id != reviewed_case.office_id for e in page.object_list)
    assert by_reference.paginator.count == 0
    assert timeline.status_code == 404
    refused = AuditEvent.objects.get(action="audit.timeline", actor=foreign_auditor)
    assert refused.outcome == "denied"


# What the list shows


def test_the_list_shows_labels_and_readable_objects(client, auditor, caseworker2, reviewed_case,
                                                    person):
    document = services.add_document(by=caseworker2, case=reviewed_case, title="Acta de María",
                                      filename="acta.pdf", data=pdf_bytes("acta"))
    events.emit("document.download", actor=caseworker2, obj=document,
                office_id=reviewed_case.office_id, case=str(reviewed_case.pk))
    client.force_login(auditor)

    response = client.get(reverse("audit_events"), headers=EN)
    html = response.content.decode()

    rows = {r.event.action: r for r in response.context["rows"]}
    assert rows["case.open"].action == "Case opened"
    assert rows["case.open"].object == reviewed_case.reference
    assert rows["document.download"].object == f"document of case {reviewed_case.reference}"
    assert rows["person.update"].object == f"person {person.pk}"
    assert "Case opened" in html and reviewed_case.reference in html
    assert f"cases.case:{reviewed_case.pk}" not in html
    for name in ("María", "Núñez", "Acta"):
        assert name not in html


def test_the_list_gives_times_in_the_configured_zone(client, auditor, reviewed_case):
    client.force_login(auditor)
    zone = ZoneInfo(settings.TIME_ZONE)

    response = client.get(reverse("audit_events"), headers=EN)
    html = response.content.decode()

    event = response.context["rows"][0].event
    assert event.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") in html
    assert event.at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S") not in html
    assert f"Times are in the {settings.TIME_ZONE} time zone." in html


def test_the_action_filter_offers_labels(client, auditor, reviewed_case):
    client.force_login(auditor)

    response = client.get(reverse("audit_events"), headers=EN)

    choices = dict(response.context["form"].fields["action"].choices)
    assert choices["case.assign"] == "Case assigned"


# Filters


def test_filters_narrow_the_events(client, auditor, supervisor, reviewed_case, person):
    client.force_login(auditor)

    by_action = _search(client, action="case.assign")
    by_actor = _search(client, actor=supervisor.username)
    by_reference = _search(client, subject=reviewed_case.reference.lower())
    by_person = _search(client, subject=str(person.pk))
    by_outcome = _search(client, outcome="denied")
    today = timezone.localdate()
    in_period = _search(client, date_from=today.isoformat(), date_to=today.isoformat())
    before = _search(client, date_to=(today - datetime.timedelta(days=1)).isoformat())

    assert [e.action for e in by_action.object_list] == ["case.assign"]
    assert {e.actor_id for e in by_actor.object_list} == {supervisor.pk}
    assert by_reference.paginator.count >= 3
    assert {(e.object_type, e.object_id) for e in by_reference.object_list} <= {
        ("cases.case", str(reviewed_case.pk)), ("cases.person", str(person.pk))}
    assert {"case.open", "person.update"} <= {e.action for e in by_person.object_list}
    assert by_outcome.paginator.count == 0
    assert in_period.paginator.count > 0
    assert before.paginator.count == 0


def test_a_search_is_recorded_with_filter_names_not_values(client, auditor, reviewed_case):
    client.force_login(auditor)

    page = _search(client, subject=reviewed_case.reference, action="case.open")

    event = AuditEvent.objects.filter(action="audit.search").latest("id")
    assert event.actor == auditor
    assert event.office_id == reviewed_case.office_id
    assert event.details == {"filters": ["subject", "action"], "results": page.paginator.count}
    assert reviewed_case.reference not in str(event.details)


@pytest.mark.parametrize(("date_from", "date_to", "everything"), [
    ("", "9999-12-31", True), ("0001-01-01", "", True), ("0001-01-01", "9999-12-31", True),
    ("9999-12-31", "", False), ("9999-12-31", "9999-12-31", False), ("", "0001-01-01", False),
])
def test_the_ends_of_the_calendar_are_periods_like_any_other(client, auditor, reviewed_case,
                                                            date_from, date_to, everything):
    client.force_login(auditor)
    every = _search(client).paginator.count
    params = {k: v for k, v in (("date_from", date_from), ("date_to", date_to)) if v}

    page = _search(client, **params)
    export = client.get(reverse("audit_export"), params)

    assert page.paginator.count == (every + 1 if everything else 0)  # + the first search
    assert export.status_code == 200
    assert len(list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))) == (
        page.paginator.count + 3 if everything else 1)  # the search, the export, the header


@pytest.mark.parametrize("reference", ["\x00", "BZ-BMP-2025-00000\x00", "x" * 5000, "' OR 1=1 --"])
def test_a_timeline_of_something_that_is_no_reference_is_not_found(client, auditor, reviewed_case,
                                                                  reference):
    client.force_login(auditor)

    response = client.get(reverse("audit_case_timeline", kwargs={"reference": reference}))

    assert response.status_code == 404
    event = AuditEvent.objects.filter(action="audit.timeline").latest("id")
    assert (event.outcome, event.details) == ("denied", {"reference": ""})


def test_a_timeline_of_a_reference_not_in_scope_records_the_reference(client, auditor):
    client.force_login(auditor)

    response = client.get(reverse("audit_case_timeline",
                                  kwargs={"reference": "CR-SJO-2025-000001"}))

    assert response.status_code == 404
    event = AuditEvent.objects.filter(action="audit.timeline").latest("id")
    assert event.details == {"reference": "CR-SJO-2025-000001"}


def test_an_action_never_seen_is_refused_by_the_form(client, auditor, reviewed_case):
    client.force_login(auditor)

    page = _search(client, action="drop.tables")

    assert page.paginator.count == 0


# Case timeline


def _timeline(client, case):
    response = client.get(reverse("audit_case_timeline", kwargs={"reference": case.reference}),
                          headers=EN)
    assert response.status_code == 200
    return response


def test_timeline_shows_field_names_but_no_values_without_a_grant(client, auditor,
                                                                 reviewed_case, caseworker2):
    client.force_login(auditor)

    response = _timeline(client, reviewed_case)
    html = response.content.decode()

    assert "<code>assigned_to</code>" in html
    assert "<code>phone</code>" in html
    assert "+5016109999" not in html
    assert "+5016101234" not in html
    assert "Carga de trabajo" not in html
    assert "Nuevo teléfono" not in html
    assert "reason recorded" in html
    assert "case.open" in html and "person.update" in html  # the access events
    assert response.context["values"] is False
    event = AuditEvent.objects.get(action="audit.timeline", actor=auditor)
    assert (event.object_type, event.object_id) == ("cases.case", str(reviewed_case.pk))
    assert event.office_id == reviewed_case.office_id


def test_timeline_shows_values_with_a_grant(client, auditor, supervisor, reviewed_case):
    services.grant_case_access(by=supervisor, case=reviewed_case, user=auditor,
                               reason="Revisión de auditoría")
    client.force_login(auditor)

    html = _timeline(client, reviewed_case).content.decode()

    assert "<code>phone</code>" in html
    assert "+5016109999" in html
    assert "Carga de trabajo" in html
    assert "Nuevo teléfono de Rosa" in html
    assert "Revisión de auditoría" in html  # the grant itself is part of the timeline


def test_timeline_merges_notes_and_documents(client, auditor, caseworker2, reviewed_case):
    services.add_note(by=caseworker2, case=reviewed_case, text="Entrevista pendiente")
    client.force_login(auditor)

    html = _timeline(client, reviewed_case).content.decode()

    assert "note · created" in html
    assert "Entrevista pendiente" not in html


# Export


def test_the_export_escapes_formulas_and_is_recorded_first(client, auditor, office,
                                                           reviewed_case):
    for name in ("=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"):
        events.emit("auth.login_failed", office_id=office.pk, outcome="denied", username=name)
    client.force_login(auditor)

    response = client.get(reverse("audit_export"), {"action": "auth.login_failed"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    recorded = AuditEvent.objects.get(action="audit.export")  # before a byte was read
    assert recorded.details == {"rows": 6, "filters": ["action"]}
    body = b"".join(response.streaming_content)
    for cell in (b"'=HYPERLINK(\"\"http://x\"\")", b"'+1+1", b"'-2+3", b"'@SUM(A1)",
                 b"'\tcmd", b"'\rcmd"):
        assert cell in body
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0][:4] == ["time", "actor", "office", "action"]
    assert len(rows) == 7
    assert all(r[1][0] not in "=+-@\t\r" for r in rows[1:])


def test_the_export_keeps_its_columns_and_adds_zone_label_and_object(client, auditor,
                                                                     reviewed_case):
    client.force_login(auditor)
    zone = ZoneInfo(settings.TIME_ZONE)

    response = client.get(reverse("audit_export"), {"action": "case.open"}, headers=EN)

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["time", "actor", "office", "action", "object_type", "object_id", "outcome",
                       "request_id", "ip", "time_zone", "action_label", "object"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    event = AuditEvent.objects.get(action="case.open")
    assert (row["action"], row["object_type"], row["object_id"]) == (
        "case.open", "cases.case", str(reviewed_case.pk))
    assert (row["time_zone"], row["action_label"], row["object"]) == (
        settings.TIME_ZONE, "Case opened", reviewed_case.reference)
    at = datetime.datetime.fromisoformat(row["time"])
    assert at == event.at
    assert at.utcoffset() == event.at.astimezone(zone).utcoffset() != datetime.timedelta(0)


def test_the_export_labels_follow_the_language_of_the_request(client, auditor, reviewed_case):
    client.force_login(auditor)

    response = client.get(reverse("audit_export"), {"action": "case.open"},
                          headers={"accept-language": "es"})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][10] == "Caso abierto"


def test_safe_cell_leaves_ordinary_text_alone():
    assert safe_cell("case.view") == "case.view"
    assert safe_cell(None) == ""
    assert safe_cell("-1") == "'-1"


# Auditors change nothing


def _counts() -> tuple[int, ...]:
    return (Person.objects.count(), Case.objects.count(), Note.objects.count(),
            Document.objects.count(), Person.history.count(), Case.history.count())


def test_every_post_to_case_and_person_urls_is_refused(client, auditor, reviewed_case,
                                                       person, caseworker2):
    document = services.add_document(by=caseworker2, case=reviewed_case, title="Acta",
                                      filename="acta.pdf", data=pdf_bytes("acta"))
    ids = {"person_id": person.pk, "case_id": reviewed_case.pk, "document_id": document.pk,
           "share_user_id": caseworker2.pk, "office_share_id": uuid.uuid4()}
    names = [n for n in get_resolver().reverse_dict if isinstance(n, str)
             and n.split("_")[0] in ("person", "people", "case", "note", "document", "identity")]
    assert len(names) >= 12
    before = _counts()
    client.force_login(auditor)

    refused = {}
    for name in names:
        kwargs = {k: ids[k] for k in get_resolver().reverse_dict.getlist(name)[0][0][0][1]}
        refused[name] = client.post(reverse(name, kwargs=kwargs), {
            "text": "x", "reason": "x", "confirm": "on", "kind": "asylum",
            "given_names": "X", "family_names": "Y", "sex": "female"}).status_code

    assert {n: s for n, s in refused.items() if s not in (403, 404)} == {}
    assert _counts() == before


# The verify panel


def test_the_panel_shows_the_chain_and_the_latest_checkpoint(client, auditor, reviewed_case):
    signed = audit_services.sign_checkpoint()
    client.force_login(auditor)

    response = client.get(reverse("audit_events"), headers=EN)

    state = response.context["chain"]
    assert signed is not None
    assert state.length == signed.position > 0
    assert state.checkpoint.position == signed.position
    html = response.content.decode()
    assert 'id="verify-panel"' in html
    assert signed.key_id in html
    assert "verify_audit" in html


def test_safe_cells_drop_nul_and_leave_numbers_alone():
    from cases.spreadsheets import safe_cell as cell

    assert cell("a\x00b") == "ab"
    assert cell("\x00=1+1") == "'=1+1"
    assert cell(7) == 7 and cell(None) is None
