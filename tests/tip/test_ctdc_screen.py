"""The CTDC export screen: supervisors only, their own offices' consenting victims; the
report of what was generalised or left out; the download; both recorded."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tests.tip.test_htcds_import import _csv, _people, _run

URL = "/trafficking/statistics/ctdc/"


@pytest.fixture
def victims(supervisor, office):
    """13 victims imported with their consent: 12 Guatemalan women, one Salvadoran man."""
    people = _people(13)
    for person in people:
        person.update(con_Consent=True, prs_Gender="Feminine", prs_Citizenship="GT",
                      prs_Birthdate="1990-01-15")
    people[12].update(prs_Gender="Masculine", prs_Citizenship="SV")
    result = _run(supervisor, office, _csv(people))
    assert result.created == 13
    return people


def test_url():
    assert reverse("tip:ctdc_export") == URL


def test_supervisor_checks_then_downloads_with_the_default_k(client, supervisor, victims):
    supervisor.preferred_language = "en"
    supervisor.save()
    client.force_login(supervisor)

    page = client.get(URL)
    assert page.status_code == 200 and b'value="11"' in page.content

    checked = client.post(URL, {"k": 11, "action": "check"})
    report = checked.context["report"]
    assert checked.status_code == 200
    assert (report.records_in, report.records_out) == (13, 12)
    assert report.records_suppressed == 1  # the one man of his nationality
    assert b'id="ctdc-suppressed">1<' in checked.content

    download = client.post(URL, {"k": 11, "action": "download"})
    assert download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"] and "k11" in download["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert len(rows) == 12 and {r["citizenship"] for r in rows} == {"GT"}
    assert {r["gender"] for r in rows} == {"Female"}

    recorded = AuditEvent.objects.filter(action="tip.export_ctdc").order_by("pk")
    assert [(e.details["via"], e.details["download"]) for e in recorded] == [
        ("page", False), ("page", True)]


def test_a_smaller_k_keeps_the_rare_record(client, supervisor, victims):
    client.force_login(supervisor)
    report = client.post(URL, {"k": 1 + 1, "action": "check"}).context["report"]
    # Alone in his group, he is generalised until he joins another group, or left out.
    assert report.records_in == 13 and report.records_out + report.records_suppressed == 13


def test_bad_k_is_refused_with_the_form(client, supervisor, victims):
    client.force_login(supervisor)
    for k in ("0", "1", "abc", ""):
        response = client.post(URL, {"k": k, "action": "download"})
        assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert not AuditEvent.objects.filter(action="tip.export_ctdc").exists()


def test_another_office_s_supervisor_sees_none_of_these_victims(client, other_supervisor, victims):
    client.force_login(other_supervisor)
    report = client.post(URL, {"k": 11, "action": "check"}).context["report"]
    assert report.records_in == 0


@pytest.mark.parametrize("who", ["caseworker", "auditor", "office_admin", "other_caseworker"])
def test_other_roles_are_refused(client, request, victims, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"k": 11, "action": "download"}).status_code == 403
    assert not AuditEvent.objects.filter(action="tip.export_ctdc").exists()


def test_anonymous_goes_to_the_login_page(client):
    assert client.get(URL).status_code == 302
