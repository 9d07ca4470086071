"""The auditor's case timeline reads every history table registered for a case (the asylum
procedure's too), names the steps taken, and hides content without a grant."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from cases import history
from cases import services as case_services
from rsd import services
from rsd.models import Application, Interview
from tests.rsd.conftest import Asylum, _staff, application_data, fresh

EN = {"accept-language": "en"}
PLACE = "Paso de Benque Viejo"
REASON = "Corrección del lugar de entrada"


@pytest.fixture
def asylum(make_user, office, caseworker, caseworker2, supervisor, auditor, office_admin,
           person_data) -> Asylum:
    staff = _staff(make_user, office, "rsd.bz", caseworker=caseworker, caseworker2=caseworker2,
                   supervisor=supervisor, auditor=auditor, office_admin=office_admin)
    return Asylum(staff, person_data)


@pytest.fixture
def scheduled(asylum):
    """An asylum case registered, with its interview scheduled and its application corrected."""
    case = asylum.at("interview_scheduled")
    services.update_application(by=asylum.staff.caseworker, case=fresh(case),
                                data=application_data(place_of_entry=PLACE), reason=REASON)
    return fresh(case)


def _timeline(client, case):
    response = client.get(reverse("audit_case_timeline", kwargs={"reference": case.reference}),
                          headers=EN)
    assert response.status_code == 200
    return response


def test_every_app_registers_its_history_tables(db):
    registered = {s.model._meta.label_lower for s in history.sources()}

    assert {"cases.case", "cases.note", "cases.document", "cases.person",
            "cases.identitydocument", "cases.caseparticipant",
            "cases.caseuserobjectpermission"} <= registered
    assert {"rsd.application", "rsd.familymember", "rsd.interview",
            "rsd.eligibilityassessment", "rsd.decision", "rsd.appeal"} <= registered


def test_the_audit_app_imports_no_procedure_app():
    root = Path(settings.BASE_DIR) / "audit"
    imported = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}

    assert "rsd" not in imported
    assert "cases" in imported


def test_the_asylum_records_are_in_the_timeline_without_their_content(client, auditor,
                                                                       scheduled):
    interview = Interview.objects.get(case=scheduled)
    client.force_login(auditor)

    response = _timeline(client, scheduled)
    html = response.content.decode()

    whats = [e.what for e in response.context["entries"] if e.kind == "change"]
    assert "application · created" in whats
    assert "application · changed" in whats
    assert "interview · created" in whats
    assert "<code>place_of_entry</code>" in html
    assert PLACE not in html
    assert "Paso fronterizo" not in html
    assert REASON not in html
    assert interview.interpreter not in html
    assert Application.objects.get(case=scheduled).narrative not in html


def test_with_a_grant_the_asylum_records_show_their_values(client, auditor, supervisor,
                                                           scheduled):
    case_services.grant_case_access(by=supervisor, case=scheduled, user=auditor,
                                    reason="Revisión de auditoría")
    client.force_login(auditor)

    html = _timeline(client, scheduled).content.decode()

    assert PLACE in html
    assert "Paso fronterizo" in html
    assert REASON in html


def test_a_step_taken_is_named_by_its_label(client, auditor, scheduled):
    client.force_login(auditor)

    response = _timeline(client, scheduled)
    html = response.content.decode()

    whats = [e.what for e in response.context["entries"] if e.kind == "change"]
    assert "case · step taken: Record the application" in whats
    assert "case · step taken: Schedule the interview" in whats
    steps = [e for e in response.context["entries"] if "step taken" in e.what]
    assert all(c.name not in ("state", "step_no") for e in steps for c in e.changes)
    assert "<code>step_no</code>" not in html


def test_the_step_label_follows_the_language(client, auditor, scheduled):
    client.force_login(auditor)

    response = client.get(reverse("audit_case_timeline", kwargs={"reference": scheduled.reference}),
                          headers={"accept-language": "es"})

    whats = [e.what for e in response.context["entries"]]
    assert "caso · paso registrado: Registrar la solicitud" in whats


def test_access_events_show_their_label_and_the_case_reference(client, auditor, scheduled):
    client.force_login(auditor)

    response = _timeline(client, scheduled)
    html = response.content.decode()

    opened = next(e for e in response.context["entries"] if e.action == "case.open")
    assert opened.what == "Case opened"
    assert opened.object_id == scheduled.reference
    assert f"cases.case:{scheduled.pk}" not in html
    assert "Times are in the America/Mexico_City time zone." in html


# --- Pages --------------------------------------------------------------------------------

def _summary(entries):
    return [(e.at, e.kind, e.what, e.object_id, [(c.name, c.old, c.new) for c in e.changes],
             e.has_reason, e.reason) for e in entries]


@pytest.mark.parametrize("granted", [False, True])
def test_the_timeline_read_page_by_page_is_the_whole_timeline(asylum, auditor, scheduled, granted):
    from audit import selectors

    if granted:
        case_services.grant_case_access(by=asylum.staff.supervisor, case=scheduled, user=auditor,
                                        reason="Revisión de auditoría")
    whole = selectors.case_timeline(auditor, scheduled, limit=10_000)
    assert whole.next == "" and len(whole.entries) > 12

    pages, after = [], ""
    while True:
        page = selectors.case_timeline(auditor, scheduled, after=after, limit=5)
        assert len(page.entries) <= 5
        pages.append(page)
        if not page.next:
            break
        after = page.next
    walked = [e for p in pages for e in p.entries]

    # Same entries, same order, same changes (the version before a page's first row of a
    # record is looked up, not lost at the page boundary), values only with the grant.
    assert _summary(walked) == _summary(whole.entries)
    assert any(e.changes for e in walked[5:])
    assert all(p.values is granted for p in pages)


def test_the_page_links_to_the_later_entries(client, auditor, scheduled, monkeypatch):
    from audit import selectors

    monkeypatch.setattr(selectors, "TIMELINE_PAGE", 4)
    client.force_login(auditor)

    first = _timeline(client, scheduled)
    assert len(first.context["entries"]) == 4
    link = first.context["next"]
    assert link and 'id="timeline-next"' in first.content.decode()

    second = client.get(reverse("audit_case_timeline", kwargs={"reference": scheduled.reference}),
                        {"after": link}, headers=EN)
    assert second.status_code == 200
    assert second.context["entries"][0].at >= first.context["entries"][-1].at
    assert "From the beginning" in second.content.decode()


def test_a_bad_cursor_starts_from_the_beginning(client, auditor, scheduled):
    client.force_login(auditor)

    response = client.get(reverse("audit_case_timeline", kwargs={"reference": scheduled.reference}),
                          {"after": "yesterday|x|y"}, headers=EN)

    assert response.status_code == 200
    assert response.context["entries"][0].what.startswith("person")
