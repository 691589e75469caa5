"""The pruning threshold: ``np.percentile(values, q)`` (linear method), step for step.

NumPy 2's percentile partitions the array at ``np.unique`` of the neighbour indices, and the first
``np.unique`` call of a process imports ``numpy.ma`` (about 5 ms, a twentieth of a whole small
pruning trial); each call also runs some forty lines of Python around two numbers. The
threshold needs neither: this is the same arithmetic on the two order statistics, in float64,
found by ``np.partition`` (linear time; a full sort of the 770,000 weights of an MNIST net took a
tenth of a condensed edge round).

With the values sorted as ``a``, NumPy takes the virtual index ``v = (n - 1) (q / 100)``, the
neighbours ``a[floor(v)]``, ``a[floor(v) + 1]`` (both ``a[-1]`` when ``v >= n - 1``) and
``t = v - floor(v)``, and returns ``a + (b - a) t`` when ``t < 0.5``, else ``b - (b - a)(1 - t)``;
a NaN anywhere gives NaN. tests/test_prune_percentile.py checks equality with ``np.percentile``
bit for bit.

Examples
--------
>>> import numpy as np
>>> float(percentile(np.array([0.0, 1.0, 2.0, 4.0]), 50.0))
1.5
"""
from __future__ import annotations

import math

import numpy as np


def percentile(values: np.ndarray, q: float) -> float:
    """``float(np.percentile(values, q))`` for a 1-d float64 array and a scalar q in [0, 100].

    Parameters
    ----------
    values : ndarray of float64, 1-d, non-empty
    q : float

    Returns
    -------
    float
    """
    n = values.size
    virtual = (n - 1) * (float(q) / 100.0)
    if np.isnan(values).any():  # NumPy returns NaN for a NaN anywhere
        return math.nan
    if virtual >= n - 1:
        return float(values.max())
    lower = 0 if virtual < 0 else int(math.floor(virtual))
    upper = 0 if virtual < 0 else lower + 1
    t = virtual - (0 if virtual < 0 else lower)
    # the two order statistics by selection, not a full sort: the same two values
    a = np.partition(values, (lower, upper))
    below, above = float(a[lower]), float(a[upper])
    diff = above - below
    if t >= 0.5:
        return above - diff * (1 - t)
    return below + diff * t
