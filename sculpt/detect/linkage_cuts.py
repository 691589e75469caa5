"""One average-linkage cosine dendrogram per layer, and every flat cut replayed from it (spec 5.4).

The paper's code refits ``sklearn.cluster.AgglomerativeClustering(n_clusters=k, affinity='cosine',
linkage='average')`` for every k. For average linkage sklearn computes
``scipy.cluster.hierarchy.linkage(X, 'average', metric='cosine')`` and cuts the tree in
``_hc_cut`` by undoing merges from the last one backwards (a heap of node ids, largest first), so
the k-cluster partition is the state after the first ``n - k`` merges of that one linkage. We compute
the linkage once and replay it. A distance cut (``fcluster``) is not equivalent: binary features
give many tied cosine distances and a threshold cut can return fewer clusters than asked for.
Labels are numbered like sklearn's (the heap's array order), so they match the paper's output.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import pdist


@dataclass(frozen=True)
class Dendrogram:
    """The merge tree of one layer's units.

    Attributes
    ----------
    n_leaves : int
        Number of units clustered.
    children : ndarray of int, shape (n_leaves - 1, 2)
        Merge ``t`` joins nodes ``children[t]`` into node ``n_leaves + t`` (sklearn's ``children_``).
    members : ndarray of bool, shape (2 * n_leaves - 1, n_leaves)
        Which leaves every node (leaf or merge) contains.
    """

    n_leaves: int
    children: np.ndarray
    members: np.ndarray


def cosine_distances(features: np.ndarray) -> np.ndarray:
    """Condensed pairwise cosine distances (``scipy.spatial.distance.pdist(F, 'cosine')``)."""
    return pdist(features.astype(np.float64), "cosine")


def average_cosine_dendrogram(features: np.ndarray, distances: np.ndarray | None = None) -> Dendrogram:
    """Average-linkage dendrogram on cosine distances, exactly as sklearn builds it.

    Parameters
    ----------
    features : ndarray of shape (n_units, n_features)
        No row may be all zero (cosine distance is undefined there).
    distances : ndarray, optional
        ``cosine_distances(features)`` when already computed; ``linkage(X, metric='cosine')``
        computes exactly these first.

    Returns
    -------
    Dendrogram
    """
    n = features.shape[0]
    if n < 2:
        children = np.zeros((0, 2), dtype=np.intp)
    else:
        if distances is None:
            distances = cosine_distances(features)
        children = linkage(distances, method="average")[:, :2].astype(np.intp)
    members = np.zeros((2 * n - 1, n), dtype=bool)
    members[np.arange(n), np.arange(n)] = True
    for t, (a, b) in enumerate(children):
        members[n + t] = members[a] | members[b]
    return Dendrogram(n_leaves=n, children=children, members=members)


def cut(dendrogram: Dendrogram, n_clusters: int) -> np.ndarray:
    """Labels of the ``n_clusters``-cluster cut, numbered like sklearn's ``_hc_cut``.

    Parameters
    ----------
    dendrogram : Dendrogram
    n_clusters : int
        1 <= n_clusters <= number of leaves.

    Returns
    -------
    ndarray of int, shape (n_leaves,)
    """
    n = dendrogram.n_leaves
    if not 1 <= n_clusters <= n:
        raise ValueError(f"cannot cut {n} units into {n_clusters} clusters")
    if n == 1:
        return np.zeros(1, dtype=np.intp)
    # A heap of negated node ids: the root first, then repeatedly replace the newest merge by
    # its two children. The label of a cluster is its position in the heap's array, as in sklearn.
    nodes = [-(2 * n - 2)]
    for _ in range(n_clusters - 1):
        left, right = dendrogram.children[-nodes[0] - n]
        heapq.heappush(nodes, -int(left))
        heapq.heappushpop(nodes, -int(right))
    labels = np.zeros(n, dtype=np.intp)
    for label, node in enumerate(nodes):
        labels[dendrogram.members[-node]] = label
    return labels


def two_cluster_split(dendrogram: Dendrogram) -> tuple[np.ndarray, np.ndarray]:
    """Leaf masks of the two clusters of the 2-cut (the root's children)."""
    left, right = dendrogram.children[-1]
    return dendrogram.members[left], dendrogram.members[right]


def closest_pair(dendrogram: Dendrogram) -> tuple[int, int]:
    """The two units of the only 2-unit cluster of the (n-1)-cut: the first merge."""
    a, b = dendrogram.children[0]
    return int(a), int(b)
