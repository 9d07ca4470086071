"""A differencing attack on the downloads: two exports that differ by one filter, every
shown count of one subtracted from the same count of the other, and every table checked for
a hidden count its total would give back. Nothing below the threshold may come out."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from cases.models import Office
from stats import unhcr
from tests.stats.build import D, asylum

THRESHOLD = 5


def _cells(client, report="stats:export", **params) -> dict[tuple[str, str], str]:
    response = client.get(reverse(report), {"year": 2026, "format": "csv", **params})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))[1:]
    return {(r[0], r[1]): r[2] for r in rows if r[1] not in ("formula", "note") and r[0] != "note"}


def _differences(wide: dict, narrow: dict) -> list:
    """Counts shown in both whose difference is a small cell."""
    out = []
    for key, v in narrow.items():
        w = wide.get(key)
        if w is not None and v.isdigit() and w.isdigit() and 0 < int(w) - int(v) < THRESHOLD:
            out.append((key, w, v))
    return out


def _recoverable(cells: dict) -> list:
    """Tables with a total shown and exactly one hidden part: the part is the total minus
    the others."""
    out = []
    for indicator in {k[0] for k in cells}:
        rows = {cat: v for (ind, cat), v in cells.items() if ind == indicator}
        if rows.get("Total", "*") == "*":
            continue
        hidden = [cat for cat, v in rows.items() if v == "*"]
        if len(hidden) == 1:
            out.append((indicator, hidden[0]))
    return out


@pytest.fixture
def spread(caseworker, office):
    """Honduras: 10 women and 2 men in the first quarter (4 of the women decided, 2 of
    them in a second office of the same country below); El Salvador: 20 women in the
    second quarter; one man from El Salvador in the second quarter."""
    for i in range(12):
        b = asylum(caseworker, office, nationality="HN", applied=D(2026, 1, 5 + i),
                   sex="female" if i < 10 else "male", born=D(1990 + i % 3, 1, 1))
        if i < 4 or i == 10:
            b.decide("first_instance", "recognized" if i % 2 else "rejected", D(2026, 3, 20))
    for i in range(20):
        asylum(caseworker, office, nationality="SV", applied=D(2026, 4, 1 + i), sex="female",
               modality="accelerated" if i < 8 else "regular")
    asylum(caseworker, office, nationality="SV", applied=D(2026, 5, 1), sex="male")
    return office


@pytest.mark.usefixtures("spread")
@pytest.mark.parametrize(("wide", "narrow"), [
    ({}, {"sex": "female"}),
    ({}, {"sex": "male"}),
    ({}, {"nationality": "HN"}),
    ({"nationality": "HN"}, {"nationality": "HN", "sex": "female"}),
    ({"nationality": "SV"}, {"nationality": "SV", "sex": "female"}),
    ({}, {"part": "Q2"}),
    ({"part": "H1"}, {"part": "Q1"}),
    ({}, {"age_band": "18-59"}),
])
def test_two_exports_that_differ_by_one_filter_reveal_no_small_count(client, supervisor,
                                                                      settings, wide, narrow):
    settings.AMPARO_STATS_THRESHOLD = THRESHOLD
    client.force_login(supervisor)
    a, b = _cells(client, **wide), _cells(client, **narrow)
    assert _differences(a, b) == []
    assert _recoverable(a) == [] and _recoverable(b) == []


@pytest.mark.usefixtures("spread")
def test_the_attack_finds_what_the_threshold_alone_would_leave(client, supervisor, settings):
    """The check above can fail: without the difference rule (threshold 0 for both, every
    count shown) 12 women-and-men minus 10 women gives the 2 men."""
    settings.AMPARO_STATS_THRESHOLD = 0
    client.force_login(supervisor)
    a, b = _cells(client, nationality="HN"), _cells(client, nationality="HN", sex="female")
    assert (("Asylum applications received, by processing modality", "Total"), "12", "10") in \
        _differences(a, b)


@pytest.mark.usefixtures("spread")
def test_processing_time_counts_are_protected_against_the_sex_filter(client, supervisor,
                                                                      settings):
    # Five first-instance decisions from Honduras, four of women: 5 - 4 = 1 man.
    settings.AMPARO_STATS_THRESHOLD = THRESHOLD
    client.force_login(supervisor)
    women = _cells(client, nationality="HN", sex="female")
    everyone = _cells(client, nationality="HN")
    key = ("Processing time to the first-instance decision", "decisions counted")
    assert everyone[key] == "5"
    assert women[key] == "*"
    assert women[("Processing time to the first-instance decision", "median (days)")] == "*"


@pytest.fixture
def two_offices_of_one_country(caseworker, office, make_user):
    """Six applications from Honduras in the office, two in a second office of Belize."""
    second = Office.objects.create(code="BZ-BEL", name="Belize City", country=office.country)
    other = make_user("caseworker", second)
    for i in range(6):
        asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1 + i))
    for i in range(2):
        asylum(other, second, nationality="HN", applied=D(2026, 2, 1 + i))
    return office, second


def test_unhcr_tables_of_one_office_against_the_whole_installation(two_offices_of_one_country):
    office, _second = two_offices_of_one_country
    whole = unhcr.compute(2026, threshold=THRESHOLD)
    one = unhcr.compute(2026, offices=Office.objects.filter(pk=office.pk), threshold=THRESHOLD)
    key = (2026, "HND", "BLZ", "G", "N", "FI", "C")
    assert whole.applications.shown((key, "applied")) == 8
    # 8 - 6 would be the other office's 2 applications.
    assert one.applications.shown((key, "applied")) == "*"
    assert one.applications.hidden[(key, "applied")] == "difference"
    assert any("differ from the whole installation" in n for n in one.notes())


def test_the_command_with_and_without_office(two_offices_of_one_country, tmp_path):
    call_command("unhcr_tables", "--year", "2026", "--out", str(tmp_path / "all"),
                 "--threshold", str(THRESHOLD))
    call_command("unhcr_tables", "--year", "2026", "--out", str(tmp_path / "one"),
                 "--threshold", str(THRESHOLD), "--office", "BZ-BMP")

    def applied(folder):
        with open(tmp_path / folder / "asylum_applications.csv", encoding="utf-8") as f:
            return {tuple(r[:7]): r[7] for r in csv.reader(f) if r[0] != "year"}

    wide, narrow = applied("all"), applied("one")
    assert wide[("2026", "HND", "BLZ", "G", "N", "FI", "C")] == "8"
    for key, v in narrow.items():
        if v.isdigit() and wide.get(key, "*").isdigit():
            assert not 0 < int(wide[key]) - int(v) < THRESHOLD, key
