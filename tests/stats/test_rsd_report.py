"""The tables of UNHCR's RSD statistical report (mandate RSD) and the printable report, on
hand-built cases with the expected numbers worked out here."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from audit.models import AuditEvent
from stats import rsd_report
from stats.indicators import Filters, Period
from stats.suppression import MASK
from tests.stats.build import D, asylum

MANDATE = "rsd.unhcr"


@pytest.fixture
def mandate(caseworker, office):
    cw = caseworker

    def case(nationality, applied):
        return asylum(cw, office, nationality=nationality, applied=applied, procedure=MANDATE)

    # M1: interview after 30 days, recognized (Convention: political opinion and social
    # group) after 60, delivered after 70.
    m1 = case("HN", D(2026, 1, 5))
    m1.interview(D(2026, 2, 4))
    m1.decide("first_instance", "recognized", D(2026, 3, 6), grounds=(
        "political_opinion", "social_group"), delivered=D(2026, 3, 16))
    # M2: 60, 90, 110 days; Convention, social group.
    m2 = case("SV", D(2026, 1, 10))
    m2.interview(D(2026, 3, 11))
    m2.decide("first_instance", "recognized", D(2026, 4, 10), grounds=("social_group",),
              delivered=D(2026, 4, 30))
    # M3: missed the first interview, attended one 30 days after applying; Cartagena after
    # 90 days, not delivered yet.
    m3 = case("VE", D(2026, 2, 1))
    m3.interview(D(2026, 2, 20), status="no_show")
    m3.interview(D(2026, 3, 3))
    m3.decide("first_instance", "recognized", D(2026, 5, 2), basis="cartagena",
              grounds=("generalized_violence",))
    # M4: 10, 30, 40 days; complementary protection.
    m4 = case("NI", D(2026, 2, 1))
    m4.interview(D(2026, 2, 11))
    m4.decide("first_instance", "complementary", D(2026, 3, 3), delivered=D(2026, 3, 13))
    # M5: no interview recorded; rejected after 100 days; recognized on appeal (religion).
    m5 = case("HN", D(2026, 3, 1))
    m5.decide("first_instance", "rejected", D(2026, 6, 9))
    m5.appeal(D(2026, 6, 20))
    m5.decide("appeal", "recognized", D(2026, 9, 1), grounds=("religion",))
    # M6: withdrawn.
    case("HN", D(2026, 4, 1)).close("withdrawn", D(2026, 5, 1))
    # The state's procedure: not in this report.
    bz = asylum(cw, office, nationality="HN", applied=D(2026, 1, 5))
    bz.decide("first_instance", "recognized", D(2026, 3, 1), grounds=("race",))
    return office


def _f(office, **kw):
    return Filters(allowed=frozenset([office.pk]), period=kw.pop("period", Period(2026)), **kw)


def _compute(key, f, threshold=0):
    indicator = {i.key: i for i in rsd_report.INDICATORS}[key]
    result = indicator.compute(f, threshold)
    out = {r.key: r.shown for r in result.rows if r.shown not in ("0", "—")}
    if result.total is not None:
        out["total"] = result.total.shown
    return out


def test_decisions_by_legal_basis(mandate):
    assert _compute("rsd_decisions_by_basis", _f(mandate)) == {
        "fi_convention": "2", "fi_cartagena": "1", "fi_complementary": "1", "fi_none": "1",
        "fi_closed": "1", "ar_convention": "1", "total": "7"}
    # First half: M5's appeal (September) is not in it.
    assert _compute("rsd_decisions_by_basis", _f(mandate, period=Period(2026, "H1")))[
        "total"] == "6"


def test_convention_grounds_among_recognitions(mandate):
    # M1, M2 and M5's appeal: three recognitions; M1 names two grounds.
    assert _compute("rsd_convention_grounds", _f(mandate)) == {
        "recognitions": "3", "social_group": "2", "political_opinion": "1", "religion": "1"}


def test_processing_times(mandate):
    # To the interview: 30, 60, 30, 10 -> sorted 10 30 30 60: median 30, nearest rank
    # ceil(0.9 x 4) = 4 -> 60. To the decision: 60, 90, 90, 30, 100 -> median 90, rank 5 ->
    # 100. To the notification: 70, 110, 40 -> median 70, rank 3 -> 110.
    assert _compute("rsd_processing_times", _f(mandate)) == {
        "interview_n": "4", "interview_median": "30", "interview_p90": "60",
        "decision_n": "5", "decision_median": "90", "decision_p90": "100",
        "notification_n": "3", "notification_median": "70", "notification_p90": "110"}


def test_small_cells_are_hidden(mandate):
    times = _compute("rsd_processing_times", _f(mandate), threshold=5)
    assert times["decision_n"] == "5" and times["decision_median"] == "90"
    assert times["interview_n"] == MASK and times["interview_median"] == MASK
    assert times["notification_p90"] == MASK
    assert set(_compute("rsd_convention_grounds", _f(mandate), threshold=5).values()) == {MASK}
    by_basis = _compute("rsd_decisions_by_basis", _f(mandate), threshold=5)
    assert by_basis["total"] == "7"
    assert set(by_basis.values()) == {MASK, "7"}


def test_the_screen_and_the_download(client, supervisor, mandate, settings):
    settings.AMPARO_STATS_THRESHOLD = 0
    client.force_login(supervisor)
    html = client.get(reverse("stats:rsd"), {"year": 2026}).content.decode()
    assert 'id="chart-rsd_decisions_by_basis"' in html
    assert 'id="table-rsd_convention_grounds"' in html
    assert "Membership of a particular social group" in html

    response = client.get(reverse("stats:rsd_export"), {"year": 2026, "format": "csv"})
    assert response["Content-Disposition"].startswith('attachment; filename="rsd-report-2026-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["Mandate RSD: Convention grounds among recognitions",
            "Membership of a particular social group", "2", ""] in rows
    assert AuditEvent.objects.get(action="stats.export").object_type == "stats.rsd"


def test_the_rsd_screen_refuses_a_caseworker(client, caseworker):
    client.force_login(caseworker)
    assert client.get(reverse("stats:rsd")).status_code == 403
    assert client.get(reverse("stats:rsd_export")).status_code == 403


# --- The printable report -----------------------------------------------------------------

def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def applications(caseworker, office):
    """Seven applications of the first half of 2026 from Honduras, two from El Salvador."""
    for i in range(7):
        asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1 + i))
    for i in range(2):
        asylum(caseworker, office, nationality="SV", applied=D(2026, 3, 1 + i))


@pytest.mark.usefixtures("applications")
@pytest.mark.parametrize(("language", "heading"), [
    ("en", "Asylum applications received, by processing modality"),
    ("es", "Solicitudes de asilo recibidas, por modalidad de tramitación")])
def test_the_mid_year_report_in_english_and_spanish(client, analyst, settings, language, heading):
    settings.AMPARO_STATS_THRESHOLD = 0
    client.force_login(analyst)
    response = client.get(reverse("stats:report"), {"year": 2026, "language": language})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="statistics-report-2026-H1-{language}.pdf"')
    text = _pdf_text(response.content)
    assert heading in " ".join(text.split())
    assert "9" in text  # the total, in the table under the chart
    event = AuditEvent.objects.get(action="stats.export")
    assert event.details["format"] == "pdf" and event.details["language"] == language
    assert event.details["filters"]["period"] == "2026-H1"


@pytest.mark.usefixtures("applications")
def test_the_report_hides_small_counts(client, supervisor, settings):
    settings.AMPARO_STATS_THRESHOLD = 5
    client.force_login(supervisor)
    text = _pdf_text(client.get(reverse("stats:report"), {"year": 2026, "nationality": "SV"}
                                ).content)
    # Two from El Salvador: hidden, and so is the total (9 - 7 would give them back).
    lines = text.splitlines()
    totals = [lines[i + 1] for i, ln in enumerate(lines) if ln == "Total"]
    assert totals[:3] == [MASK, MASK, MASK]  # by procedure, by modality, by channel
    assert "Counts from 1 to 4" in text


def test_the_report_refuses_bad_input(client, supervisor):
    client.force_login(supervisor)
    assert client.get(reverse("stats:report"), {"year": 2026, "language": "fr"}).status_code == 400
    assert client.get(reverse("stats:report"), {"year": "x"}).status_code == 400
    assert not AuditEvent.objects.filter(action="stats.export").exists()

