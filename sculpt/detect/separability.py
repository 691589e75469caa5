"""The two binomial unit-separability tests and the rule that picks between them (spec 5.6).

Both compare an overlap of reachability sets against a binomial null model over the N units of the
next ``clusterability_step_size`` layers: two sets of sizes o_i, o_j drawn independently overlap
in ``E = o_i o_j / N`` units on average, with ``sigma = sqrt(N x (1 - x))``, ``x = o_i o_j / N^2``.

* "all separate" (K = n): the closest pair of units overlaps no more than chance.
* "one cluster" (K = 1): the two halves of the 2-cut overlap at least as much as chance.

The pass conditions are the paper's code's, boundary clauses included (a z of exactly 0 passes;
"all separate" rejects a pair where one reach set contains the other).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from sculpt.detect.linkage_cuts import Dendrogram, as_rows, average_cosine_dendrogram, closest_pair


@dataclass(frozen=True)
class SeparabilityResult:
    """Outcome of one separability test.

    Attributes
    ----------
    k : int or None
        The number of clusters the test asserts (n for "all separate", 1 for "one cluster"),
        or None when it does not pass.
    z : float
        The signed distance from the null expectation in standard deviations (the raw
        difference when sigma is 0), positive in the direction the test looks for.
    """

    k: int | None
    z: float

    def to_dict(self) -> dict:
        return {"k": self.k, "difference": None if math.isnan(self.z) else float(self.z)}


def _binomial_null(o_a: int, o_b: int, n_window: int) -> tuple[float, float]:
    """Expected overlap and its standard deviation for independent sets of sizes o_a, o_b."""
    x = o_a * o_b / n_window ** 2
    variance = n_window * x * (1 - x)
    sigma = math.sqrt(variance) if variance >= 0 else math.nan  # NaN when x > 1 (fss > css), as in the code
    return o_a * o_b / n_window, sigma


def _z(diff: float, sigma: float) -> float:
    return diff / sigma if sigma != 0 else diff


def all_separate_test(features, n_window: int, dendrogram: Dendrogram | None = None) -> SeparabilityResult:
    """Test whether every unit of the layer is its own cluster ("check_separate_cluster").

    Parameters
    ----------
    features : list of int or ndarray of bool, shape (n_units, n_features)
        Untruncated reachability features of the layer (n_units >= 2), as row bit sets or as a
        boolean array.
    n_window : int
        Number of units in the next ``clusterability_step_size`` layers; the features are cut to
        these first columns.
    dendrogram : Dendrogram, optional
        The layer's dendrogram on the untruncated features; reused when truncation changes nothing.

    Returns
    -------
    SeparabilityResult
    """
    rows = as_rows(features)
    window_bits = (1 << n_window) - 1
    window = [r & window_bits for r in rows]
    # dropping columns that are zero in every row changes no cosine distance, so the
    # untruncated dendrogram serves whenever no unit reaches beyond the window
    if dendrogram is None or window != rows:
        dendrogram = average_cosine_dendrogram(window)
    i, j = closest_pair(dendrogram)
    o_i, o_j = window[i].bit_count(), window[j].bit_count()
    o_ij = (window[i] & window[j]).bit_count()
    expected, sigma = _binomial_null(o_i, o_j, n_window)
    passed = (o_ij < max(o_i, o_j) and o_ij <= expected) or o_ij < 1
    return SeparabilityResult(k=len(rows) if passed else None, z=_z(expected - o_ij, sigma))


def single_cluster_test(features, n_window: int, dendrogram: Dendrogram) -> SeparabilityResult:
    """Test whether the whole layer is one cluster ("check_single_cluster").

    Parameters
    ----------
    features : list of int or ndarray of bool, shape (n_units, n_features)
        Untruncated reachability features of the layer (n_units >= 2).
    n_window : int
        Number of units in the next ``clusterability_step_size`` layers.
    dendrogram : Dendrogram
        The layer's dendrogram on these features; its 2-cut gives the two halves.

    Returns
    -------
    SeparabilityResult
    """
    rows = as_rows(features)
    left, right = dendrogram.children[-1]  # the two halves of the 2-cut
    union_l = union_r = 0
    for i in dendrogram.leaves[left]:
        union_l |= rows[i]
    for i in dendrogram.leaves[right]:
        union_r |= rows[i]
    o_1, o_2 = union_l.bit_count(), union_r.bit_count()
    o_12 = (union_l & union_r).bit_count()
    expected, sigma = _binomial_null(o_1, o_2, n_window)
    passed = (o_12 >= 1 and o_12 >= expected) or o_12 >= max(o_1, o_2)
    return SeparabilityResult(k=1 if passed else None, z=_z(o_12 - expected, sigma))


def combine_tests(n_units: int, separate: SeparabilityResult | None, single: SeparabilityResult | None) -> int | None:
    """K from the two tests: the passing one, the more significant when both pass (ties: 1).

    Returns None when neither passes; a layer of one unit is always 1.
    """
    if n_units == 1:
        return 1
    if separate.k is not None and single.k is not None:
        return 1 if single.z >= separate.z else n_units
    if single.k is not None:
        return 1
    return separate.k
