"""Uncertainty of a success rate: the 95 % Wilson score interval, and whether a paper's value lies in it.

Every rate the toolkit reports from k successes in n trials carries this interval (reports, the
paper comparison index). One function, used everywhere, so every table agrees.
"""
from __future__ import annotations

import math

# Two-sided 95 %: the 0.975 quantile of the standard normal distribution.
Z95 = 1.959963984540054
# The paper prints its rates with two decimals, so its true value lies within +-0.005 of them.
PAPER_ROUNDING = 0.005


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion.

    With :math:`\\hat p = k/n`,

    .. math::

        \\frac{\\hat p + z^2/2n \\pm z\\sqrt{\\hat p(1-\\hat p)/n + z^2/4n^2}}{1 + z^2/n}

    Unlike the normal (Wald) interval it stays inside [0, 1] and does not collapse to a point at
    k = 0 or k = n, which matters for the 4- and 12-trial bars of the paper.

    Parameters
    ----------
    successes, trials : int
        k and n, with 0 <= k <= n and n >= 1.
    z : float
        Normal quantile (default: 95 % two-sided).

    Returns
    -------
    (low, high) : tuple of float

    Raises
    ------
    ValueError
        n < 1 or k outside [0, n].

    Examples
    --------
    >>> [round(x, 4) for x in wilson_interval(0, 12)]
    [0.0, 0.2425]
    >>> [round(x, 4) for x in wilson_interval(6, 12)]
    [0.2538, 0.7462]

    References
    ----------
    .. [1] E. B. Wilson, "Probable inference, the law of succession, and statistical inference",
       J. Amer. Statist. Assoc. 22 (1927) 209-212.
    .. [2] L. D. Brown, T. T. Cai, A. DasGupta, "Interval estimation for a binomial proportion",
       Statistical Science 16 (2001) 101-133.
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"wilson_interval needs at least one trial, got trials={trials!r}")
    if isinstance(successes, bool) or not isinstance(successes, int) or not 0 <= successes <= trials:
        raise ValueError(f"wilson_interval: successes must be an integer in [0, {trials}], got {successes!r}")
    n, p = trials, successes / trials
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # Exact ends at k = 0 and k = n (the formula gives them up to rounding).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def consistent(paper_value: float, interval: tuple[float, float], rounding: float = PAPER_ROUNDING) -> bool:
    """Whether a published rate lies in our interval, allowing for the paper's rounding.

    The paper's 0.92 stands for any rate in [0.915, 0.925] (11/12 = 0.9167), so the value is
    consistent when that range meets ``interval``.

    Examples
    --------
    >>> consistent(0.92, wilson_interval(12, 12))
    True
    >>> consistent(1.0, wilson_interval(4, 12))
    False
    """
    low, high = interval
    return low - rounding <= paper_value <= high + rounding
