"""The pruning threshold equals np.percentile bit for bit (sculpt.prune.percentile)."""
from __future__ import annotations

import math

import numpy as np

from sculpt.prune.percentile import percentile
from sculpt.prune.unit import global_percentile_keep


def _samples(rng, n):
    kind = int(rng.integers(0, 4))
    if kind == 0:
        return rng.random(n)
    if kind == 1:  # already-pruned entries score exactly 0: ties at the threshold
        return np.where(rng.random(n) < 0.5, 0.0, rng.random(n))
    if kind == 2:
        return rng.integers(0, 4, n).astype(np.float64)
    return rng.standard_normal(n) * 10.0 ** float(rng.integers(-8, 8))


def test_percentile_is_numpys_bit_for_bit():
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(3000):
        values = _samples(rng, int(rng.integers(1, 200)))
        for q in (float(rng.random() * 100), float(rng.integers(0, 101)), 70.0, 2.5, 0.0, 100.0,
                  np.float64(rng.random() * 100)):
            expected = float(np.percentile(values, q))
            got = percentile(values, q)
            assert got == expected and math.copysign(1, got) == math.copysign(1, expected), (values, q)
            checked += 1
    assert checked == 21000


def test_nan_gives_nan_and_the_keep_mask_prunes_ties():
    assert math.isnan(percentile(np.array([1.0, np.nan, 0.0]), 50))
    scores = np.array([0.0, 0.0, 0.0, 1.0, 2.0])
    assert global_percentile_keep(scores, 50.0).tolist() == [False, False, False, True, True]
    assert global_percentile_keep(scores, 70.0).tolist() == (scores > np.percentile(scores, 70.0)).tolist()
