"""The asylum lists (rsd/views_lists.py) and the asylum part of the dashboard: who sees which
cases, in what order, and that every list of names is a recorded read.

Cases are brought into their states through the services (the driver in conftest.py).
Belize (BZ-BMP) is the user's office, Costa Rica (CR-SJO) the other one.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from cases.models import Role
from rsd import selectors as rsd_selectors
from rsd import services
from rsd.models import CoiSource, Interview, InterviewStatus
from tests.conftest import PNG_BYTES, pdf_bytes
from tests.rsd.conftest import ago, at_local, fresh, today

pytestmark = pytest.mark.django_db

DAYS = datetime.timedelta


def last_list(show: str) -> AuditEvent:
    return AuditEvent.objects.filter(action="case.list", details__show=show).latest("id")


def row_ids(html: str, attribute: str) -> list[str]:
    return re.findall(rf'<tr[^>]*data-{attribute}="([^"]+)"', html)


def section(html: str, element_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{element_id}".*?</section>', html, re.S)
    return match.group(0) if match else ""


# --- The review queue ----------------------------------------------------------------------

WAITING_FOR_A_SUPERVISOR = ("under_review", "committee", "minister", "appeal_lodged",
                            "abandonment_proposed")
NOT_WAITING = ("registered", "interviewed", "decided", "appeal_period", "withdrawn")


@pytest.fixture
def queue_world(bz, cr):
    """Belize cases at every step a supervisor takes and at others; two Costa Rican ones."""
    waiting = {state: bz.at(state) for state in WAITING_FOR_A_SUPERVISOR}
    others = {state: bz.at(state) for state in NOT_WAITING}
    foreign = {state: cr.at(state) for state in ("under_review", "commission")}
    return waiting, others, foreign


def test_the_queue_holds_exactly_the_cases_waiting_for_a_supervisor_of_the_office(
        client, queue_world, supervisor):
    waiting, _others, _foreign = queue_world
    client.force_login(supervisor)

    response = client.get("/asylum/review/")

    assert response.status_code == 200
    shown = row_ids(response.content.decode(), "case")
    assert sorted(shown) == sorted(str(c.pk) for c in waiting.values())
    assert set(rsd_selectors.review_queue(supervisor)) == set(waiting.values())


def test_the_other_office_s_supervisor_sees_only_theirs(client, queue_world, other_supervisor):
    _waiting, _others, foreign = queue_world
    client.force_login(other_supervisor)

    shown = row_ids(client.get("/asylum/review/").content.decode(), "case")

    assert sorted(shown) == sorted(str(c.pk) for c in foreign.values())


def test_priority_cases_come_first_then_the_longest_waiting(client, bz, supervisor):
    # Given two ordinary cases and a priority one (a woman at risk), the priority one last
    waited_less = bz.at("under_review", case=bz.open(specific_needs=[]))
    waited_more = bz.at("appeal_period", case=bz.open(specific_needs=[]))
    bz.appeal(waited_more, lodged_on=ago(3))
    priority = bz.at("under_review")
    client.force_login(supervisor)

    html = client.get("/asylum/review/").content.decode()

    assert row_ids(html, "case") == [str(priority.pk), str(waited_more.pk), str(waited_less.pk)]
    row = re.search(rf'data-case="{waited_more.pk}".*?</tr>', html, re.S).group(0)
    assert "3 days" in row


def test_each_row_shows_the_assessment_and_the_running_deadline(client, bz, supervisor):
    reviewed = bz.at("under_review", "rejected")
    abandoned = bz.at("abandonment_proposed")
    client.force_login(supervisor)

    html = client.get("/asylum/review/").content.decode()

    row = re.search(rf'data-case="{reviewed.pk}".*?</tr>', html, re.S).group(0)
    assert "Reject" in row
    assert bz.staff.caseworker.get_full_name() in row
    assert "Assessment under review" in row
    assert fresh(reviewed).principal.family_names in row
    row = re.search(rf'data-case="{abandoned.pk}".*?</tr>', html, re.S).group(0)
    # The contact period ended with the proposal (it no longer shows as overdue); the
    # interview target still runs.
    assert "Contact after a missed interview" not in row
    assert "Interview (target)" in row


def test_the_queue_is_paginated_and_each_page_is_a_recorded_read(client, bz, supervisor, monkeypatch):
    from rsd import views_lists

    monkeypatch.setattr(views_lists, "PAGE_SIZE", 2)
    cases = [bz.at("under_review") for _ in range(3)]
    client.force_login(supervisor)

    first = row_ids(client.get("/asylum/review/").content.decode(), "case")
    first_event = last_list("review_queue")
    second = row_ids(client.get("/asylum/review/?page=2").content.decode(), "case")
    second_event = last_list("review_queue")

    assert len(first) == 2 and len(second) == 1
    assert sorted(first + second) == sorted(str(c.pk) for c in cases)
    assert first_event.details["cases"] == first
    assert (second_event.details["cases"], second_event.details["page"]) == (second, 2)
    assert second_event.actor_id == supervisor.pk


def test_the_queue_takes_a_fixed_number_of_queries(client, bz, supervisor, django_assert_max_num_queries):
    bz.at("under_review")
    client.force_login(supervisor)
    client.get("/asylum/review/")
    with django_assert_max_num_queries(30) as few:
        client.get("/asylum/review/")
    bz.at("committee"), bz.at("abandonment_proposed"), bz.at("appeal_lodged")

    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get("/asylum/review/").content.decode()
    assert len(row_ids(html, "case")) == 4


@pytest.mark.parametrize("who", ["caseworker", "auditor", "office_admin"])
def test_only_supervisors_have_a_review_queue(client, request, who):
    client.force_login(request.getfixturevalue(who))

    assert client.get("/asylum/review/").status_code == 403


# --- Interviews of the week ------------------------------------------------------------------

@pytest.fixture
def week(bz, supervisor):
    """Interviews around the week two weeks from now (all in the future, as they must be)."""
    monday = rsd_selectors.week_of(today() + DAYS(14))[0]

    def interview(when: datetime.datetime, interviewer=None) -> Interview:
        case = bz.at("registered")
        return services.schedule_interview(
            by=bz.staff.caseworker, case=fresh(case), when=when, place="Sala de entrevistas 2",
            interviewer=interviewer or bz.staff.caseworker, interpreter_language="es")

    return monday, {
        "monday_8": interview(at_local(monday, 8)),
        "sunday_21": interview(at_local(monday + DAYS(6), 21)),
        "next_monday_0": interview(at_local(monday + DAYS(7), 0)),
        "sunday_before_23": interview(at_local(monday - DAYS(1), 23)),
        "supervisor_s": interview(at_local(monday + DAYS(2), 10), interviewer=supervisor),
    }


def test_the_week_runs_from_monday_to_sunday(client, week, caseworker):
    monday, interviews = week
    client.force_login(caseworker)
    wednesday = monday + DAYS(2)

    response = client.get(f"/asylum/interviews/?week={wednesday.isoformat()}")

    assert response.status_code == 200
    html = response.content.decode()
    assert row_ids(html, "interview") == [str(interviews["monday_8"].pk),
                                          str(interviews["sunday_21"].pk)]
    assert f"?week={(monday - DAYS(7)).isoformat()}" in html
    assert f"?week={(monday + DAYS(7)).isoformat()}" in html
    row = re.search(rf'data-interview="{interviews["monday_8"].pk}".*?</tr>', html, re.S).group(0)
    case = interviews["monday_8"].case
    assert "08:00" in row and "Sala de entrevistas 2" in row and case.reference in row
    assert fresh(case).principal.given_names in row
    assert "Spanish" in row


def test_the_next_week_starts_on_monday_at_midnight(client, week, caseworker):
    monday, interviews = week
    client.force_login(caseworker)

    html = client.get(f"/asylum/interviews/?week={(monday + DAYS(7)).isoformat()}").content.decode()

    assert row_ids(html, "interview") == [str(interviews["next_monday_0"].pk)]


def test_the_week_takes_a_fixed_number_of_queries(client, week, caseworker, bz,
                                                 django_assert_max_num_queries):
    monday, _interviews = week
    url = f"/asylum/interviews/?week={monday.isoformat()}"
    client.force_login(caseworker)
    client.get(url)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for hour in (11, 12, 13):
        services.schedule_interview(by=caseworker, case=fresh(bz.at("registered")),
                                    when=at_local(monday + DAYS(1), hour), place="Sala 3",
                                    interviewer=caseworker)

    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(url).content.decode()
    assert len(row_ids(html, "interview")) == 5


def test_another_interviewer_s_interviews_are_not_listed(client, week, supervisor):
    monday, interviews = week
    client.force_login(supervisor)

    html = client.get(f"/asylum/interviews/?week={monday.isoformat()}").content.decode()

    assert row_ids(html, "interview") == [str(interviews["supervisor_s"].pk)]


def test_a_rescheduled_interview_leaves_the_week(client, week, caseworker, bz):
    monday, interviews = week
    moved = interviews["monday_8"]
    services.schedule_interview(by=caseworker, case=fresh(moved.case), when=at_local(monday + DAYS(21)),
                                place="Sala 1", interviewer=caseworker)
    client.force_login(caseworker)

    html = client.get(f"/asylum/interviews/?week={monday.isoformat()}").content.decode()

    assert Interview.objects.get(pk=moved.pk).status == InterviewStatus.RESCHEDULED
    assert str(moved.pk) not in row_ids(html, "interview")


def test_the_interviews_shown_are_a_recorded_read(client, week, caseworker):
    monday, interviews = week
    client.force_login(caseworker)

    client.get(f"/asylum/interviews/?week={monday.isoformat()}")

    event = last_list("interviews")
    assert event.actor_id == caseworker.pk
    assert event.details["cases"] == [str(interviews["monday_8"].case_id),
                                      str(interviews["sunday_21"].case_id)]
    assert event.details["week"] == monday.isoformat()


@pytest.mark.parametrize("week_param", ["soon", "2026-02-30", "16/03/2026", "0001-01-01",
                                        "9999-12-31", "2026-03-16T10:00"])
def test_a_week_that_is_not_a_date_shows_this_week_with_a_message(client, caseworker, week_param):
    client.force_login(caseworker)

    response = client.get("/asylum/interviews/", {"week": week_param})

    assert response.status_code == 200
    html = response.content.decode()
    assert "this week is shown" in html
    this_monday = rsd_selectors.week_of(today())[0]
    assert f"?week={(this_monday + DAYS(7)).isoformat()}" in html


@pytest.mark.parametrize("week_param", ["2026-03-18", "2026-W12", "2026-03-22"])
def test_any_day_or_iso_week_names_its_week(client, caseworker, week_param):
    client.force_login(caseworker)

    html = client.get("/asylum/interviews/", {"week": week_param}).content.decode()

    assert "2026-03-16 to 2026-03-22" in html
    assert "?week=2026-03-09" in html and "?week=2026-03-23" in html
    assert "this week is shown" not in html


@pytest.mark.parametrize("who", ["auditor", "office_admin", "system_admin"])
def test_interviews_are_for_case_staff(client, request, who):
    client.force_login(request.getfixturevalue(who))

    assert client.get("/asylum/interviews/").status_code == 403


# --- The dashboard: deadlines and priority cases ------------------------------------------------

@pytest.fixture
def clocks(bz, cr):
    """Interview targets (183 days after the application): passed, close, far; one abroad."""
    def registered(driver, applied: datetime.date, **person):
        case = driver.open(**person)
        driver.register(case, application_date=applied, arrival_date=applied - DAYS(2))
        return fresh(case)

    return {
        "overdue": registered(bz, ago(200)),   # due 17 days ago
        "soon": registered(bz, ago(180)),      # due in 3 days
        "far": registered(bz, ago(120)),       # due in 63 days
        "foreign": registered(cr, ago(200)),
    }


def test_the_caseworker_sees_their_cases_overdue_and_due_soon(client, clocks, caseworker):
    client.force_login(caseworker)

    mine = section(client.get("/").content.decode(), "my-deadlines")

    assert clocks["overdue"].reference in mine and clocks["soon"].reference in mine
    assert clocks["far"].reference not in mine and clocks["foreign"].reference not in mine
    assert "Interview (target)" in mine
    assert "overdue by 17 days" in mine
    assert (ago(200) + DAYS(183)).isoformat() in mine
    assert f'href="/cases/{clocks["overdue"].pk}/"' in mine


def test_a_colleague_and_the_other_office_do_not(client, clocks, caseworker2, other_supervisor):
    client.force_login(caseworker2)
    mine = section(client.get("/").content.decode(), "my-deadlines")
    client.force_login(other_supervisor)
    theirs = section(client.get("/").content.decode(), "office-deadlines")

    assert clocks["overdue"].reference not in mine
    assert clocks["overdue"].reference not in theirs
    assert clocks["foreign"].reference in theirs


def test_the_supervisor_sees_their_office_s_counts_and_cases(client, clocks, supervisor, bz):
    bz.at("under_review")  # one case waiting for a supervisor
    client.force_login(supervisor)

    html = section(client.get("/").content.decode(), "office-deadlines")

    row = re.search(r'<tr data-office="BZ-BMP">.*?</tr>', html, re.S).group(0)
    assert re.search(r'class="overdue">.*?>1<', row)
    assert 'class="due-soon">1<' in row
    assert 'class="waiting">1<' in row
    assert clocks["overdue"].reference in html and clocks["soon"].reference in html
    assert "CR-SJO" not in html and clocks["foreign"].reference not in html


def test_a_deadline_met_leaves_the_dashboard(client, clocks, caseworker, bz):
    bz.schedule(clocks["overdue"])
    bz.hold_interview(clocks["overdue"], on=ago(1))
    client.force_login(caseworker)

    mine = section(client.get("/").content.decode(), "my-deadlines")

    assert clocks["overdue"].reference not in mine
    assert clocks["soon"].reference in mine


@pytest.fixture
def priority(bz, cr):
    def registered(driver, **person):
        case = driver.open(**person)
        driver.register(case)
        return fresh(case)

    interviewed = bz.at("interviewed")
    return {
        "at_risk": registered(bz),  # the default person is a woman at risk
        "child": registered(bz, specific_needs=[], date_of_birth=ago(365 * 9)),
        "ordinary": registered(bz, specific_needs=[]),
        "interviewed": interviewed,
        "foreign": registered(cr),
    }


@pytest.mark.parametrize("who", ["caseworker", "supervisor"])
def test_priority_cases_not_yet_interviewed_are_on_the_dashboard(client, priority, request, who):
    client.force_login(request.getfixturevalue(who))

    html = section(client.get("/").content.decode(), "asylum")

    assert priority["at_risk"].reference in html and priority["child"].reference in html
    for name in ("ordinary", "interviewed", "foreign"):
        assert priority[name].reference not in html, name
    event = last_list("dashboard")
    assert {str(priority["at_risk"].pk), str(priority["child"].pk)} <= set(event.details["cases"])


def test_the_other_office_sees_its_own_priority_cases(client, priority, other_supervisor):
    client.force_login(other_supervisor)

    html = section(client.get("/").content.decode(), "asylum")

    assert priority["foreign"].reference in html
    assert priority["at_risk"].reference not in html


def test_the_supervisor_dashboard_links_to_the_review_queue(client, bz, supervisor, caseworker):
    bz.at("committee")
    bz.at("under_review")
    client.force_login(supervisor)
    html = client.get("/").content.decode()
    client.force_login(caseworker)
    caseworker_html = client.get("/").content.decode()

    assert re.search(r'href="/asylum/review/">Review queue</a>:\s*2 cases wait for a supervisor', html)
    assert 'id="review-count"' not in caseworker_html


def test_nav_links_by_role(client, caseworker, supervisor, auditor):
    client.force_login(caseworker)
    html = client.get("/").content.decode()
    assert 'href="/asylum/interviews/"' in html and 'href="/asylum/coi/"' in html
    assert 'href="/asylum/review/"' not in html
    client.force_login(supervisor)
    assert 'href="/asylum/review/"' in client.get("/").content.decode()
    client.force_login(auditor)
    html = client.get("/").content.decode()
    assert "/asylum/" not in html


# --- The Country-of-Origin Information library --------------------------------------------------

def coi_post(office, **changes) -> dict:
    data = {"office": office.pk, "title": "Honduras: violencia de pandillas",
            "publisher": "ACNUR", "published_on": "2025-03-10", "country": "HN", "url": ""}
    data.update(changes)
    return data


def stored_files(file_root: Path) -> list[Path]:
    return [p for p in (file_root / "coi").rglob("*") if p.is_file()] if (file_root / "coi").exists() else []


def test_a_caseworker_adds_a_source_with_a_link(client, caseworker, office, file_root):
    client.force_login(caseworker)

    response = client.post("/asylum/coi/", coi_post(office, url="https://coi.example.org/hn/2025"))

    assert response.status_code == 302
    source = CoiSource.objects.get()
    assert (source.office, source.added_by, source.country, source.document.name) == (
        office, caseworker, "HN", "")
    html = client.get("/asylum/coi/").content.decode()
    assert "Honduras: violencia de pandillas" in html and "https://coi.example.org/hn/2025" in html
    assert "Honduras" in html  # the country covered, by name
    event = AuditEvent.objects.filter(action="rsd.coi.add").latest("id")
    assert (event.actor_id, event.office_id, event.object_id) == (caseworker.pk, office.pk, str(source.pk))


def test_a_pdf_is_stored_and_downloaded_by_the_office_only(client, caseworker2, other_caseworker,
                                                           auditor, office, file_root):
    client.force_login(caseworker2)
    document = SimpleUploadedFile("informe país.pdf", pdf_bytes("Informe"), "application/pdf")

    assert client.post("/asylum/coi/", coi_post(office, document=document)).status_code == 302

    source = CoiSource.objects.get()
    assert "informe" not in source.document.name  # stored under a name of our own
    assert stored_files(file_root) != []
    response = client.get(f"/asylum/coi/{source.pk}/document/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf_bytes("Informe")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="coi-{source.pk}.pdf"'
    assert response["Content-Security-Policy"].startswith("sandbox;")
    assert response["X-Content-Type-Options"] == "nosniff"
    client.force_login(other_caseworker)
    assert client.get(f"/asylum/coi/{source.pk}/document/").status_code == 404
    assert "violencia de pandillas" not in client.get("/asylum/coi/").content.decode()
    client.force_login(auditor)
    assert client.get(f"/asylum/coi/{source.pk}/document/").status_code == 403


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({}, "url", "Give a link or attach the document."),
    ({"document": lambda: SimpleUploadedFile("foto.pdf", PNG_BYTES, "application/pdf")},
     "document", "Attach the document as a PDF file."),
    ({"document": lambda: SimpleUploadedFile("texto.pdf", b"%PDX not really", "application/pdf")},
     "document", "Attach the document as a PDF file."),
    ({"url": "javascript:alert(1)"}, "url", "Enter a valid URL."),
    ({"title": "  ", "url": "https://coi.example.org/x"}, "title", "This field is required."),
    ({"published_on": "2999-01-01", "url": "https://coi.example.org/x"}, "published_on",
     "This date is in the future."),
    ({"country": "XX", "url": "https://coi.example.org/x"}, "country", "Select a valid choice."),
])
def test_a_bad_source_is_refused_with_a_clear_message_and_nothing_written(
        client, caseworker, office, file_root, changes, field, message):
    client.force_login(caseworker)
    changes = {k: v() if callable(v) else v for k, v in changes.items()}

    response = client.post("/asylum/coi/", coi_post(office, **changes))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert "Nothing was saved" in response.content.decode()
    assert CoiSource.objects.count() == 0
    assert stored_files(file_root) == []


def test_a_document_over_the_limit_is_refused(client, caseworker, office, file_root, settings):
    settings.AMPARO_UPLOAD_MAX_BYTES = 1024 * 1024
    client.force_login(caseworker)
    big = pdf_bytes("x" * (1024 * 1024))

    response = client.post("/asylum/coi/", coi_post(
        office, document=SimpleUploadedFile("big.pdf", big, "application/pdf")))

    assert response.status_code == 400
    assert response.context["form"].errors["document"] == ["The file is larger than 1 MB."]
    assert CoiSource.objects.count() == 0 and stored_files(file_root) == []


def test_a_request_too_large_to_keep_its_file_says_so(client, caseworker, office, file_root, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 2000  # the file is dropped, not kept anywhere
    client.force_login(caseworker)

    response = client.post("/asylum/coi/", coi_post(
        office, document=SimpleUploadedFile("big.pdf", pdf_bytes("x" * 5000), "application/pdf")))

    assert response.status_code == 400
    assert response.context["form"].errors["document"] == ["The file is larger than 20 MB."]
    assert CoiSource.objects.count() == 0


def test_the_service_checks_the_document_too(caseworker, office, file_root):
    with pytest.raises(ValidationError) as refused:
        services.add_coi_source(by=caseworker, office=office, title="T", publisher="P",
                                published_on=ago(1), document=PNG_BYTES)

    assert "document" in refused.value.message_dict
    assert CoiSource.objects.count() == 0


def test_another_office_s_library_is_not_theirs(client, other_caseworker, office, other_office):
    client.force_login(other_caseworker)

    response = client.post("/asylum/coi/", coi_post(office, url="https://coi.example.org/x"))

    assert response.status_code == 400
    assert "office" in response.context["form"].errors
    assert CoiSource.objects.count() == 0
    with pytest.raises(PermissionDenied):
        services.add_coi_source(by=other_caseworker, office=office, title="T", publisher="P",
                                published_on=ago(1), url="https://coi.example.org/x")


def test_a_user_of_two_offices_picks_the_library(client, make_user, office, other_office):
    both = make_user(Role.CASEWORKER, office)
    from cases import services as case_services

    case_services.grant_membership(by=None, user=both, office=other_office, role=Role.SUPERVISOR)
    client.force_login(both)

    form = client.get("/asylum/coi/").context["form"]
    assert {o.code for o in form.fields["office"].queryset} == {"BZ-BMP", "CR-SJO"}
    response = client.post("/asylum/coi/", coi_post(other_office, url="https://coi.example.org/x"))

    assert response.status_code == 302
    assert CoiSource.objects.get().office == other_office
    html = client.get("/asylum/coi/").content.decode()
    assert "CR-SJO" in html  # the office column, with several libraries


@pytest.fixture
def source(supervisor, office, file_root) -> CoiSource:
    return services.add_coi_source(by=supervisor, office=office, title="El Salvador: informe",
                                   publisher="ACNUR", published_on=ago(30), country="SV",
                                   url="https://coi.example.org/sv")


def test_a_caseworker_cannot_retire_a_source(client, caseworker, source):
    client.force_login(caseworker)

    response = client.post(f"/asylum/coi/{source.pk}/retire/")

    assert response.status_code == 403
    assert CoiSource.objects.get(pk=source.pk).is_active
    assert f'/asylum/coi/{source.pk}/retire/' not in client.get("/asylum/coi/").content.decode()


def test_a_supervisor_retires_a_source(client, supervisor, source):
    client.force_login(supervisor)
    assert f'/asylum/coi/{source.pk}/retire/' in client.get("/asylum/coi/").content.decode()

    response = client.post(f"/asylum/coi/{source.pk}/retire/")

    assert response.status_code == 302
    assert not CoiSource.objects.get(pk=source.pk).is_active
    assert "El Salvador: informe" not in client.get("/asylum/coi/").content.decode()
    event = AuditEvent.objects.filter(action="rsd.coi.retire").latest("id")
    assert (event.actor_id, event.object_id) == (supervisor.pk, str(source.pk))


def test_the_other_office_s_supervisor_gets_404(client, other_supervisor, source):
    client.force_login(other_supervisor)

    assert client.post(f"/asylum/coi/{source.pk}/retire/").status_code == 404
    assert client.get(f"/asylum/coi/{source.pk}/document/").status_code == 404
    assert CoiSource.objects.get(pk=source.pk).is_active


def test_a_source_without_a_document_has_nothing_to_download(client, caseworker, source):
    client.force_login(caseworker)

    assert client.get(f"/asylum/coi/{source.pk}/document/").status_code == 404


@pytest.mark.parametrize("url", ["/asylum/coi/99999999999999999999999999/document/",
                                 "/asylum/coi/0/document/"])
def test_an_id_out_of_range_is_not_found(client, caseworker, url):
    client.force_login(caseworker)

    assert client.get(url).status_code == 404
