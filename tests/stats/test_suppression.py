"""Small-cell protection: primary, secondary (totals cannot reveal a hidden count) and the
differencing attack (two tables that differ by one filter)."""

from __future__ import annotations

import itertools

import pytest

from stats import suppression
from stats.suppression import DIFFERENCE, MASK, PRIMARY, SECONDARY, Sum, hide_differences, protect


def _solvable(values, sums, hidden) -> set:
    """Cells an attacker can work out: the only hidden member of a sum whose other members
    (and total) are shown, repeated while that uncovers more."""
    known = {k for k in values if k not in hidden}
    changed = True
    while changed:
        changed = False
        for s in sums:
            members = [*s.parts, *([s.total] if s.total is not None else [])]
            unknown = [m for m in members if m not in known]
            if len(unknown) == 1:
                known.add(unknown[0])
                changed = True
    return known & set(hidden)


def test_counts_below_the_threshold_are_hidden_zeros_are_not():
    out = protect({"a": 0, "b": 1, "c": 4, "d": 5, "e": 30}, threshold=5)

    assert out.hidden == {"b": PRIMARY, "c": PRIMARY}
    assert [out.shown(k) for k in "abcde"] == [0, MASK, MASK, 5, 30]


def test_threshold_off_hides_nothing():
    assert protect({"a": 1, "b": 2}, [Sum(["a", "b"])], threshold=0).hidden == {}
    assert protect({"a": 1, "b": 2}, [Sum(["a", "b"])], threshold=1).hidden == {}


def test_a_single_hidden_count_in_a_row_with_its_total_takes_the_smallest_other_with_it():
    values = {"rec": 2, "other": 12, "rej": 9, "closed": 0, "total": 23}
    sums = [Sum(["rec", "other", "rej", "closed"], total="total")]

    out = protect(values, sums, threshold=5)

    assert out.hidden == {"rec": PRIMARY, "rej": SECONDARY}
    assert _solvable(values, sums, out.hidden) == set()


def test_only_zeros_left_the_total_goes():
    values = {"a": 3, "b": 0, "total": 3}
    out = protect(values, [Sum(["a", "b"], total="total")], threshold=5)

    assert out.hidden == {"a": PRIMARY, "total": PRIMARY}


def test_secondary_suppression_runs_over_rows_and_columns_until_nothing_is_solvable():
    # A 3 x 3 table with row and column totals: hiding one cell of a row spreads to a column.
    cells = {(r, c): v for (r, c), v in zip(itertools.product("xyz", "123"),
                                             [3, 10, 20, 8, 9, 30, 7, 12, 40], strict=True)}
    for r in "xyz":
        cells[(r, "T")] = sum(cells[(r, c)] for c in "123")
    for c in "123T":
        cells[("T", c)] = sum(cells[(r, c)] for r in "xyz")
    sums = [Sum([(r, c) for c in "123"], total=(r, "T")) for r in "xyzT"]
    sums += [Sum([(r, c) for r in "xyz"], total=("T", c)) for c in "123T"]

    out = protect(cells, sums, threshold=5)

    assert out.hidden[("x", "1")] == PRIMARY
    assert out.count(SECONDARY) >= 3  # one more in its row, its column, and a fourth corner
    assert _solvable(cells, sums, out.hidden) == set()


@pytest.mark.parametrize("small", [1, 2, 3, 4])
def test_differencing_attack_two_tables_differing_by_one_filter(small):
    """Everyone from Honduras: 10 + small; only the women: 10. Both are above the threshold,
    and their difference is the number of men: the women's count is hidden."""
    everyone = {"HN": 10 + small, "SV": 20}
    women = {"HN": 10, "SV": 15}

    hidden = hide_differences(women, [everyone], threshold=5)
    out = protect(women, [Sum(["HN", "SV"])], threshold=5, extra=hidden)

    assert hidden == {"HN": DIFFERENCE}
    assert out.shown("HN") == MASK
    assert out.shown("SV") == MASK  # the (known) total would otherwise give HN back
    assert out.hidden["SV"] == SECONDARY


def test_differences_of_zero_or_of_the_threshold_and_more_are_shown():
    assert hide_differences({"a": 10, "b": 5}, [{"a": 10, "b": 10}], threshold=5) == {}


def test_the_threshold_comes_from_the_settings(settings):
    settings.AMPARO_STATS_THRESHOLD = 11
    assert suppression.default_threshold() == 11
