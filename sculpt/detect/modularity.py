"""The paper's modified modularity metric on cosine distances, for every cut at once (spec 5.5).

``M = sum_c [A_cc - (sum_j A_cj)^2]`` with ``A = P^T D P``, D the pairwise cosine distances
normalised to sum 1 and P the one-hot cluster matrix. Lower is better. Each cluster c contributes
``W_c - S_c^2`` where ``W_c`` sums D inside c and ``S_c`` sums the rows of D over c's units, so the
value of every cut k follows from the contributions of the dendrogram's nodes: each merge replaces
two contributions by one. Values are rounded to 8 decimals like the paper's code, which is what
decides ties between k.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.distance import squareform

from sculpt.detect.linkage_cuts import Dendrogram

DECIMALS = 8


def normalised_cosine_distances(condensed: np.ndarray) -> np.ndarray:
    """Cosine distance matrix with zero diagonal, divided by its sum when that is nonzero.

    Parameters
    ----------
    condensed : ndarray
        Condensed pairwise cosine distances, as ``pdist(F, 'cosine')`` returns them.
    """
    dist = squareform(condensed)
    np.fill_diagonal(dist, 0.0)
    total = dist.sum()
    return dist / total if total != 0 else dist


def modularity_by_k(distances: np.ndarray, dendrogram: Dendrogram) -> tuple[np.ndarray, np.ndarray]:
    """Modified modularity of every cut k = 2 .. n-1 of ``dendrogram``.

    Parameters
    ----------
    distances : ndarray
        Condensed cosine distances of the layer's features (``pdist(F, 'cosine')``).
    dendrogram : Dendrogram
        The layer's average-linkage tree on the same distances.

    Returns
    -------
    ks : ndarray of int
        2, 3, ..., n-1 (empty when n <= 2).
    values : ndarray of float
        Modularity of each cut, rounded to 8 decimals.
    """
    n = dendrogram.n_leaves
    if n <= 2:
        return np.zeros(0, dtype=np.intp), np.zeros(0)
    dist = normalised_cosine_distances(distances)
    members = dendrogram.members.astype(np.float64)
    within = ((members @ dist) * members).sum(axis=1)
    row_mass = members @ dist.sum(axis=1)
    contribution = within - row_mass ** 2
    merged = np.arange(n, 2 * n - 1)
    delta = contribution[merged] - contribution[dendrogram.children].sum(axis=1)
    after_merges = contribution[:n].sum() + np.cumsum(delta)  # index t-1: after t merges
    ks = np.arange(2, n)
    values = np.round(after_merges[n - ks - 1], DECIMALS)
    return ks, values


def choose_k(ks: np.ndarray, values: np.ndarray) -> int:
    """argmin of the modularity with ties going to the larger k (the code scans upward with <=)."""
    best = values.min()
    return int(ks[np.flatnonzero(values == best)[-1]])
