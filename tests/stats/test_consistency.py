"""Decision consistency on hand-built decisions, with the expected numbers worked out here:
the Wilson interval, the two-proportion test, Holm's adjustment, and who sees which rows."""

from __future__ import annotations

import math

import pytest
from django.urls import reverse

from cases.models import Role
from stats import consistency
from stats.consistency import NAMED, NUMBERED, OFFICE, OWN, UNATTRIBUTED, Query
from stats.indicators import Period
from tests.stats.build import D, assess, asylum


def test_wilson_interval_against_worked_values():
    # 0 of 10: centre = (0 + z²/20) / (1 + z²/10), half the same: [0, z²/10 / (1 + z²/10)].
    z2 = consistency.Z95 ** 2
    low, high = consistency.wilson(0, 10)
    assert low == 0.0
    assert high == pytest.approx((z2 / 10) / (1 + z2 / 10))
    assert high == pytest.approx(0.2775, abs=1e-4)
    # 27 of 30, by the formula written out.
    p, n = 0.9, 30
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = math.sqrt(z2) / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    assert consistency.wilson(27, 30) == pytest.approx((centre - half, centre + half))
    assert consistency.wilson(27, 30) == pytest.approx((0.7438, 0.9654), abs=1e-4)


def test_holm_adjustment():
    # Sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04 -> 0.06
    # (never below the one before).
    assert consistency.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert consistency.holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])
    assert consistency.holm([]) == []


def test_the_test_is_not_run_on_too_few_decisions():
    # Pooled 6/20 = 0.3: expected recognitions in the first group 10 x 0.3 = 3 < 5.
    assert consistency.two_proportion_p(3, 10, 3, 10) is None
    assert consistency.two_proportion_p(0, 0, 5, 10) is None
    # Equal rates: z = 0, p = 1.
    assert consistency.two_proportion_p(10, 20, 20, 40) == pytest.approx(1.0)


@pytest.fixture
def staff(make_user, office):
    return {"A": make_user(Role.CASEWORKER, office, first_name="Alba"),
            "B": make_user(Role.CASEWORKER, office, first_name="Bruno"),
            "C": make_user(Role.CASEWORKER, office, first_name="Celia"),
            "R1": make_user(Role.SUPERVISOR, office, first_name="Ramona"),
            "R2": make_user(Role.SUPERVISOR, office, first_name="Rigo")}


@pytest.fixture
def decided(staff, caseworker, office, other_office, make_user):
    """First-instance decisions of 2026 in the office:
    - officer A (reviewed by R1): 30 from Honduras, 27 recognized;
    - officer B (reviewed by R2): 30 from Honduras, 12 recognized, 3 of them complementary
      protection and 15 rejected;
    - officer C (reviewed by R1): 20 from El Salvador, 13 recognized;
    - without an approved assessment: 2 from Honduras, 1 recognized;
    - not counted: a decision of 2025, a withdrawal, another office's decision."""
    def decide(author, reviewer, outcome, nationality, on=None):
        b = asylum(caseworker, office, nationality=nationality, applied=D(2026, 1, 10))
        if author:
            assess(b, author=author, reviewer=reviewer)
        b.decide("first_instance", outcome, on or D(2026, 5, 1))
        return b

    a, b, c, r1, r2 = (staff[k] for k in ("A", "B", "C", "R1", "R2"))
    for i in range(30):
        decide(a, r1, "recognized" if i < 27 else "rejected", "HN")
    for i in range(30):
        decide(b, r2, "recognized" if i < 12 else "complementary" if i < 15 else "rejected", "HN")
    for i in range(20):
        decide(c, r1, "recognized" if i < 13 else "rejected", "SV")
    decide(None, None, "recognized", "HN")
    decide(a, None, "rejected", "HN")  # submitted, never approved: unattributed
    decide(a, r1, "recognized", "HN", on=D(2025, 12, 31))
    asylum(caseworker, office, nationality="HN", applied=D(2026, 1, 10)).close("withdrawn",
                                                                               D(2026, 3, 1))
    other = make_user(Role.CASEWORKER, other_office)
    b2 = asylum(other, other_office, nationality="HN", applied=D(2026, 1, 10))
    assess(b2, author=a, reviewer=r1)
    b2.decide("first_instance", "rejected", D(2026, 5, 1))
    return office


def _by_staff(table):
    return {ln.staff: ln for ln in table.lines}


def _z_p(k1, n1, k2, n2):
    pooled = (k1 + k2) / (n1 + n2)
    z = (k1 / n1 - k2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return math.erfc(abs(z) / math.sqrt(2))


def test_rates_per_officer_against_the_rest_of_the_office(decided, staff):
    table = consistency.compute(Query(office_id=decided.pk, period=Period(2026)))
    lines = _by_staff(table)
    a, b, c = (lines[staff[k].pk] for k in "ABC")

    # The office: 30 + 30 + 20 + 2 = 82 decisions, 27 + 12 + 13 + 1 = 53 recognized.
    assert (lines[OFFICE].decided, lines[OFFICE].recognized) == (82, 53)
    assert (lines[UNATTRIBUTED].decided, lines[UNATTRIBUTED].recognized) == (2, 1)
    assert (a.decided, a.recognized, a.rest_decided, a.rest_recognized) == (30, 27, 52, 26)
    assert (b.decided, b.recognized, b.rest_decided, b.rest_recognized) == (30, 12, 52, 41)
    assert (c.decided, c.recognized, c.rest_decided, c.rest_recognized) == (20, 13, 62, 40)

    # A: 90 % against 50 %; pooled 53/82, z = 0.4 / sqrt(0.6463 x 0.3537 x (1/30 + 1/52)) = 3.649.
    assert a.p == pytest.approx(_z_p(27, 30, 26, 52))
    assert a.p == pytest.approx(2.63e-4, rel=0.01)
    # B: 40 % against 78.8 %: z = -3.544; C: 65 % against 64.5 %: z = 0.04.
    assert b.p == pytest.approx(3.94e-4, rel=0.01)
    assert c.p == pytest.approx(0.9686, abs=1e-3)
    # Holm over three: A 3 x 0.000263 = 0.00079; B 2 x 0.000394 = 0.00079; C 0.9686.
    assert a.adjusted == pytest.approx(3 * a.p)
    assert b.adjusted == pytest.approx(max(3 * a.p, 2 * b.p))
    assert c.adjusted == pytest.approx(c.p)
    assert (a.flagged, b.flagged, c.flagged) == (True, True, False)
    assert (a.direction, b.direction) == ("higher", "lower")
    assert (table.tested, table.flagged) == (3, 2)
    assert a.cells["rate"] == "90.0 %" and a.cells["interval"] == "74.4 to 96.5 %"


def test_a_few_extreme_officers_are_not_flagged_by_chance_alone_after_correction():
    # Ten officers of 20 decisions each, one with p = 0.02 unadjusted: 10 x 0.02 = 0.2.
    adjusted = consistency.holm([0.02] + [0.5] * 9)
    assert adjusted[0] == pytest.approx(0.2)
    assert adjusted[0] > consistency.ALPHA


def test_rates_per_reviewer(decided, staff):
    lines = _by_staff(consistency.compute(Query(office_id=decided.pk, period=Period(2026),
                                                role="reviewer")))
    # R1 approved A's and C's: 50 decisions, 40 recognized; R2 B's: 30, 12.
    assert (lines[staff["R1"].pk].decided, lines[staff["R1"].pk].recognized) == (50, 40)
    assert (lines[staff["R2"].pk].decided, lines[staff["R2"].pk].recognized) == (30, 12)
    assert lines[staff["R1"].pk].p == pytest.approx(_z_p(40, 50, 13, 32))


def test_by_nationality_and_period(decided, staff):
    table = consistency.compute(Query(office_id=decided.pk, period=Period(2026), split=True))
    lines = {(ln.staff, ln.nationality): ln for ln in table.lines}
    # Honduras: A, B and the two unattributed: 62 decisions, 40 recognized.
    assert (lines[(OFFICE, "HN")].decided, lines[(OFFICE, "HN")].recognized) == (62, 40)
    # El Salvador: C alone; nobody to compare with, so no test.
    assert (lines[(OFFICE, "SV")].decided, lines[(OFFICE, "SV")].recognized) == (20, 13)
    assert lines[(staff["C"].pk, "SV")].p is None
    assert table.tested == 2

    only_sv = consistency.compute(Query(office_id=decided.pk, period=Period(2026),
                                        nationality="SV"))
    assert [(ln.staff, ln.decided) for ln in only_sv.lines] == [(OFFICE, 20), (staff["C"].pk, 20)]
    # 2025: the one decision of 31 December.
    y2025 = consistency.compute(Query(office_id=decided.pk, period=Period(2025)))
    assert [(ln.staff, ln.decided) for ln in y2025.lines] == [(OFFICE, 1), (staff["A"].pk, 1)]
    q1 = consistency.compute(Query(office_id=decided.pk, period=Period(2026, "Q1")))
    assert q1.lines == []


def test_what_each_viewer_sees(decided, staff):
    table = consistency.compute(Query(office_id=decided.pk, period=Period(2026)))
    named = consistency.for_viewer(table, NAMED, viewer=staff["R1"], threshold=5)
    assert {ln.label for ln in named.lines} == {
        "Whole office", "No approved assessment", *(staff[k].get_full_name() for k in "ABC")}

    own = consistency.for_viewer(table, OWN, viewer=staff["B"], threshold=5)
    assert [ln.staff for ln in own.lines] == [OFFICE, staff["B"].pk]
    assert own.lines[1].flagged  # the flag is the same as the supervisor's: one family

    numbered = consistency.for_viewer(table, NUMBERED, viewer=staff["R1"], threshold=5)
    labels = [ln.label for ln in numbered.lines]
    assert not {staff[k].get_full_name() for k in "ABC"} & set(labels)
    # Numbered by decisions: A and B 30 each (then by id), C 20.
    assert labels[:4] == ["Whole office", "Eligibility officer 1", "Eligibility officer 2",
                          "Eligibility officer 3"]
    # The 2 unattributed decisions are a small cell; the office total less A, B and C would
    # give them back, so the smallest staff count (C's 20) is hidden as well.
    lines = _by_staff(numbered)
    assert lines[UNATTRIBUTED].cells["decided"] == "*"
    assert lines[staff["C"].pk].cells["decided"] == "*"
    assert lines[staff["C"].pk].cells["rate"] == "*"
    assert lines[staff["A"].pk].cells["decided"] == "30"


# --- The screen ---------------------------------------------------------------------------

def _get(client, user, **params):
    client.force_login(user)
    return client.get(reverse("stats:consistency"), {"year": 2026, **params})


def _names(staff, keys):
    return [staff[k].get_full_name() for k in keys]


def test_the_supervisor_sees_every_officer_by_name_and_the_flags(client, decided, staff):
    html = _get(client, staff["R1"]).content.decode()
    assert all(name in html for name in _names(staff, "ABC"))
    assert html.count('data-flagged="yes"') == 2
    assert "higher: unlikely to be chance" in html and "lower: unlikely to be chance" in html
    assert "Holm" in html  # the method is explained on the screen


def test_a_caseworker_sees_their_own_rates_and_the_offices(client, decided, staff):
    response = _get(client, staff["C"])
    html = response.content.decode()
    assert response.status_code == 200
    a, b, c = _names(staff, "ABC")
    assert c in html
    assert a not in html and b not in html
    assert 'id="consistency-own"' in html


def test_an_analyst_sees_numbers_and_no_staff_names(client, decided, analyst, staff):
    html = _get(client, analyst).content.decode()
    assert "Eligibility officer 1" in html
    assert not any(name in html for name in _names(staff, "ABC"))
    assert 'id="consistency-numbered"' in html


def test_the_other_offices_supervisor_cannot_choose_this_office(client, decided, staff,
                                                               other_supervisor):
    response = _get(client, other_supervisor, office=decided.pk)
    assert response.status_code == 400
    assert not any(name in response.content.decode() for name in _names(staff, "ABC"))


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.OFFICE_ADMIN, Role.SYSTEM_ADMIN])
def test_other_roles_are_refused(client, make_user, office, role):
    client.force_login(make_user(role, office))
    assert client.get(reverse("stats:consistency")).status_code == 403


def test_the_dashboard_links_it_for_caseworkers(client, caseworker):
    client.force_login(caseworker)
    html = client.get(reverse("dashboard")).content.decode()
    assert 'id="consistency-link"' in html and 'id="statistics-link"' not in html
