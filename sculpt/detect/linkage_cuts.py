"""One average-linkage cosine dendrogram per layer, and every flat cut replayed from it (spec 5.4).

The paper's code refits ``sklearn.cluster.AgglomerativeClustering(n_clusters=k, affinity='cosine',
linkage='average')`` for every k. For average linkage sklearn computes
``scipy.cluster.hierarchy.linkage(X, 'average', metric='cosine')`` and cuts the tree in
``_hc_cut`` by undoing merges from the last one backwards (a heap of node ids, largest first), so
the k-cluster partition is the state after the first ``n - k`` merges of that one linkage. We compute
the linkage once and replay it. A distance cut (``fcluster``) is not equivalent: binary features
give many tied cosine distances and a threshold cut can return fewer clusters than asked for.
Labels are numbered like sklearn's (the heap's array order), so they match the paper's output.

Features are binary, so a layer's units are held as Python integer row sets
(:mod:`sculpt.detect.bitsets`) and the cosine distances come from popcounts, with SciPy's own
floating-point formula; layers of up to :data:`sculpt.detect.nn_chain.MAX_UNITS` units are linked
by our plain-Python nearest-neighbour chain with SciPy's tie rules (:mod:`sculpt.detect.nn_chain`), larger ones by SciPy.
"""
from __future__ import annotations

import heapq
import math
from typing import NamedTuple

import numpy as np

from sculpt.detect.bitsets import bitsets_from_bool
from sculpt.detect.nn_chain import MAX_UNITS, average_linkage


class Dendrogram(NamedTuple):
    """The merge tree of one layer's units (a named tuple: one is built per layer and cut).

    Attributes
    ----------
    n_leaves : int
        Number of units clustered.
    children : tuple of (int, int)
        Merge ``t`` joins nodes ``children[t]`` into node ``n_leaves + t`` (sklearn's ``children_``).
    members : tuple of int
        For every node (leaves first, then merges), the set of leaves it contains as a bit set
        (bit i = leaf i).
    leaves : tuple of tuple of int
        The same sets as sorted leaf indices.
    """

    n_leaves: int
    children: tuple[tuple[int, int], ...]
    members: tuple[int, ...]
    leaves: tuple[tuple[int, ...], ...]


def as_rows(features) -> list[int]:
    """A layer's features as row bit sets: a 2-d boolean array is packed, a list passes through
    (not copied: nothing here modifies it)."""
    if isinstance(features, list):
        return features
    if isinstance(features, np.ndarray):
        return bitsets_from_bool(features)
    return list(features)


def cosine_distances(features: np.ndarray) -> np.ndarray:
    """Condensed pairwise cosine distances (``scipy.spatial.distance.pdist(F, 'cosine')``)."""
    from scipy.spatial.distance import pdist

    return pdist(np.asarray(features).astype(np.float64), "cosine")


def cosine_distance_matrix(rows) -> list[list[float]]:
    """Full cosine distance matrix of binary rows, bit for bit what ``pdist(F, 'cosine')`` gives.

    SciPy computes ``1 - dot(u, v) / (|u| |v|)`` with the row norms ``sqrt(sum u_i^2)``, clipping
    the quotient to [-1, 1]. For 0/1 rows the dot product and the squared norms are exact
    integers (popcounts), so the same three double operations give identical values.

    Parameters
    ----------
    rows : list of int or 2-d ndarray of bool
        No row may be empty (the distance is undefined).

    Returns
    -------
    list of list of float
        Symmetric, zero diagonal.

    Examples
    --------
    >>> cosine_distance_matrix([0b011, 0b110, 0b100])[0]  # 1 - 1 / (sqrt(2) sqrt(2)), as pdist rounds it
    [0.0, 0.5000000000000001, 1.0]
    """
    rows = as_rows(rows)
    norms = [math.sqrt(r.bit_count()) for r in rows]
    n = len(rows)
    dist = [[0.0] * n for _ in range(n)]
    for i in range(n):
        row_i, norm_i, dist_i = rows[i], norms[i], dist[i]
        for j in range(i + 1, n):
            cosine = (row_i & rows[j]).bit_count() / (norm_i * norms[j])
            if cosine > 1.0:  # SciPy clips rounding errors; popcounts never go below 0
                cosine = 1.0
            dist_i[j] = dist[j][i] = 1.0 - cosine
    return dist


def _scipy_children(dist: list[list[float]]) -> list[tuple[int, int]]:
    from scipy.cluster.hierarchy import linkage

    n = len(dist)
    condensed = np.array([dist[i][j] for i in range(n) for j in range(i + 1, n)], dtype=np.float64)
    return [(int(a), int(b)) for a, b in linkage(condensed, method="average")[:, :2].tolist()]


def average_cosine_dendrogram(features, distances: list[list[float]] | None = None) -> Dendrogram:
    """Average-linkage dendrogram on cosine distances, exactly as sklearn builds it.

    Parameters
    ----------
    features : list of int or 2-d ndarray of bool
        A layer's units as row bit sets (or as a boolean array). No row may be empty (cosine
        distance is undefined there).
    distances : list of list of float, optional
        ``cosine_distance_matrix(features)`` when already computed.

    Returns
    -------
    Dendrogram
    """
    rows = as_rows(features)
    n = len(rows)
    if n == 2:  # one merge; a third of the paper's condensed layers have two units
        return _TWO
    if n < 2:
        children = []
    else:
        if distances is None:
            distances = cosine_distance_matrix(rows)
        children = average_linkage(distances) if n <= MAX_UNITS else _scipy_children(distances)
    members = [1 << i for i in range(n)]
    leaves = [(i,) for i in range(n)]
    for a, b in children:
        members.append(members[a] | members[b])
        leaves.append(tuple(sorted(leaves[a] + leaves[b])))
    return Dendrogram(n_leaves=n, children=tuple(children), members=tuple(members), leaves=tuple(leaves))


_TWO = Dendrogram(n_leaves=2, children=((0, 1),), members=(1, 2, 3), leaves=((0,), (1,), (0, 1)))


def cut(dendrogram: Dendrogram, n_clusters: int) -> list[int]:
    """Labels of the ``n_clusters``-cluster cut, numbered like sklearn's ``_hc_cut``.

    Parameters
    ----------
    dendrogram : Dendrogram
    n_clusters : int
        1 <= n_clusters <= number of leaves.

    Returns
    -------
    list of int, one per leaf
    """
    n = dendrogram.n_leaves
    if not 1 <= n_clusters <= n:
        raise ValueError(f"cannot cut {n} units into {n_clusters} clusters")
    if n == 1:
        return [0]
    # A heap of negated node ids: the root first, then repeatedly replace the newest merge by
    # its two children. The label of a cluster is its position in the heap's array, as in sklearn.
    nodes = [-(2 * n - 2)]
    for _ in range(n_clusters - 1):
        left, right = dendrogram.children[-nodes[0] - n]
        heapq.heappush(nodes, -left)
        heapq.heappushpop(nodes, -right)
    labels = [0] * n
    for label, node in enumerate(nodes):
        for leaf in dendrogram.leaves[-node]:
            labels[leaf] = label
    return labels


def two_cluster_split(dendrogram: Dendrogram) -> tuple[int, int]:
    """Leaf sets (bit sets) of the two clusters of the 2-cut (the root's children)."""
    left, right = dendrogram.children[-1]
    return dendrogram.members[left], dendrogram.members[right]


def closest_pair(dendrogram: Dendrogram) -> tuple[int, int]:
    """The two units of the only 2-unit cluster of the (n-1)-cut: the first merge."""
    return dendrogram.children[0]
