"""The paper's modified modularity metric on cosine distances, for every cut at once (spec 5.5).

``M = sum_c [A_cc - (sum_j A_cj)^2]`` with ``A = P^T D P``, D the pairwise cosine distances
normalised to sum 1 and P the one-hot cluster matrix. Lower is better. Each cluster c contributes
``W_c - S_c^2`` where ``W_c`` sums D inside c and ``S_c`` sums the rows of D over c's units, so the
value of every cut k follows from the contributions of the dendrogram's nodes: each merge replaces
two contributions by one. A merge of clusters a and b has ``W = W_a + W_b + 2 X_ab`` (X_ab sums D
between them) and ``S = S_a + S_b``, so all cuts together cost one pass over the n(n-1)/2 pairs.
Values are rounded to 8 decimals like the paper's code, which is what decides ties between k.
"""
from __future__ import annotations

import numpy as np

from sculpt.detect.linkage_cuts import Dendrogram

DECIMALS = 8
_SCALE = 10.0 ** DECIMALS


def normalised_cosine_distances(distances) -> list[list[float]]:
    """Cosine distance matrix with zero diagonal, divided by its sum when that is nonzero.

    Parameters
    ----------
    distances : list of list of float, or ndarray
        The full matrix with zero diagonal
        (:func:`sculpt.detect.linkage_cuts.cosine_distance_matrix`), or the condensed distances
        that ``pdist(F, 'cosine')`` returns.
    """
    if isinstance(distances, np.ndarray):
        from scipy.spatial.distance import squareform

        distances = squareform(distances).tolist() if distances.ndim == 1 else distances.tolist()
        for i, row in enumerate(distances):
            row[i] = 0.0
    total = 0.0
    for row in distances:
        total += sum(row)
    if total == 0:
        return [list(row) for row in distances]
    return [[v / total for v in row] for row in distances]


def _round(value: float) -> float:
    # numpy.round(x, 8) is rint(x * 1e8) / 1e8 with halves to even, as Python's round(float);
    # a result of zero keeps the sign numpy's rint gives it
    rounded = round(value * _SCALE)
    return rounded / _SCALE if rounded else 0.0 * value


def modularity_by_k(distances, dendrogram: Dendrogram) -> tuple[list[int], list[float]]:
    """Modified modularity of every cut k = 2 .. n-1 of ``dendrogram``.

    Parameters
    ----------
    distances : list of list of float, or ndarray
        Cosine distances of the layer's features, full (``cosine_distance_matrix``) or condensed
        (``pdist(F, 'cosine')``).
    dendrogram : Dendrogram
        The layer's average-linkage tree on the same distances.

    Returns
    -------
    ks : list of int
        2, 3, ..., n-1 (empty when n <= 2).
    values : list of float
        Modularity of each cut, rounded to 8 decimals.
    """
    n = dendrogram.n_leaves
    if n <= 2:
        return [], []
    dist = normalised_cosine_distances(distances)
    row_mass = [sum(row) for row in dist]
    within = [0.0] * n
    contribution = [-(s * s) for s in row_mass]
    value = sum(contribution)
    after_merges = []  # index t-1: after t merges
    leaves = dendrogram.leaves
    for a, b in dendrogram.children:
        cross = 0.0
        leaves_b = leaves[b]
        for i in leaves[a]:
            dist_i = dist[i]
            for j in leaves_b:
                cross += dist_i[j]
        w = within[a] + within[b] + 2.0 * cross
        s = row_mass[a] + row_mass[b]
        within.append(w)
        row_mass.append(s)
        contribution.append(w - s * s)
        value += contribution[-1] - (contribution[a] + contribution[b])
        after_merges.append(value)
    ks = list(range(2, n))
    return ks, [_round(after_merges[n - k - 1]) for k in ks]


def choose_k(ks, values) -> int:
    """argmin of the modularity with ties going to the larger k (the code scans upward with <=)."""
    best = min(values)
    return int(max(k for k, v in zip(ks, values) if v == best))
