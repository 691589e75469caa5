"""The one Wilson interval of the toolkit and the paper-consistency flag."""
from __future__ import annotations

import pytest

from sculpt.stats import consistent, wilson_interval


@pytest.mark.parametrize("k, n, low, high", [
    (0, 12, 0.0, 0.242494), (6, 12, 0.253782, 0.746218), (11, 12, 0.646120, 0.985135),
    (12, 12, 0.757506, 1.0), (3, 4, 0.300642, 0.954413), (0, 4, 0.0, 0.489891),
    (33, 36, 0.781733, 0.971251),
])
def test_wilson_exact_values(k, n, low, high):
    assert wilson_interval(k, n) == pytest.approx((low, high), abs=1e-6)


def test_wilson_agrees_with_scipy_everywhere():
    from scipy.stats import binomtest

    for n in (1, 4, 12, 36):
        for k in range(n + 1):
            ci = binomtest(k, n).proportion_ci(method="wilson")
            assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12), (k, n)


def test_wilson_closed_form_ends():
    z2 = 1.959963984540054 ** 2
    assert wilson_interval(0, 12)[1] == pytest.approx(z2 / (12 + z2), abs=1e-15)
    assert wilson_interval(12, 12) == (pytest.approx(12 / (12 + z2), abs=1e-15), 1.0)


@pytest.mark.parametrize("k, n, message", [(1, 0, "at least one trial"), (5, 4, r"in \[0, 4\]"),
                                           (-1, 4, r"in \[0, 4\]"), (1.5, 4, r"in \[0, 4\]")])
def test_wilson_rejects_bad_counts(k, n, message):
    with pytest.raises(ValueError, match=message):
        wilson_interval(k, n)


def test_consistency_flag_allows_the_papers_rounding():
    # 0.92 printed for 11/12; our 12/12 interval [0.7575, 1] contains it.
    assert consistent(0.92, wilson_interval(12, 12))
    # 4/12: [0.138, 0.609] excludes 1.0 and 0.92 but not 0.58 (7/12).
    assert not consistent(1.0, wilson_interval(4, 12))
    assert not consistent(0.92, wilson_interval(4, 12))
    assert consistent(0.58, wilson_interval(4, 12))
    # The rounding margin: 0.25 is outside [0.2538, 0.7462] but 0.2538 - 0.005 <= 0.25.
    assert consistent(0.25, wilson_interval(6, 12))
    assert not consistent(0.24, wilson_interval(6, 12))
    assert not consistent(0.25, wilson_interval(6, 12), rounding=0.0)
