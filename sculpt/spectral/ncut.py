"""Normalised cut of any partition of a weight graph (spec 1.1, 2.2).

n-cut = sum over clusters c of W(c, not c) / vol(c), computed with one sparse product
Y^T A Y (Y the one-hot label matrix): cut_c = vol_c - within_c. It lies in [0, k).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sculpt.errors import ConfigError, SculptError

NCUT_EPS = 1e-8  # the TF code's epsilon in cut / (vol + eps); matters only for empty volumes


def _adjacency(graph) -> sp.csr_matrix:
    adj = getattr(graph, "adjacency", graph)
    if sp.issparse(adj):
        return sp.csr_matrix(adj, dtype=np.float64)
    adj = np.asarray(adj, dtype=np.float64)
    if adj.ndim != 2 or adj.shape[0] != adj.shape[1]:
        raise SculptError(f"adjacency must be a square matrix, got shape {adj.shape}")
    return sp.csr_matrix(adj)


def _check_labels(labels, n: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise SculptError(f"labels: expected {n} entries (one per graph node), got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise SculptError(f"labels: expected integers, got dtype {labels.dtype}")
    return labels.astype(np.int64)


def ncut_terms(graph, labels, eps: float = NCUT_EPS):
    """Per-cluster cut and volume of a partition.

    Parameters
    ----------
    graph : WeightGraph, sparse matrix or 2-D array
        Symmetric non-negative adjacency.
    labels : array of int, shape (N,)
        Cluster of every node; nodes labelled -1 belong to no cluster (their edges still count as
        cut edges of their neighbours' clusters, as in the paper's code).
    eps : float

    Returns
    -------
    clusters : ndarray of int
        The distinct labels (>= 0), ascending.
    cuts, volumes : ndarray of float
        W(c, not c) and vol(c) for each cluster.
    """
    adj = _adjacency(graph)
    labels = _check_labels(labels, adj.shape[0])
    clusters = np.unique(labels[labels >= 0])
    if clusters.size == 0:
        return clusters, np.zeros(0), np.zeros(0)
    member = labels >= 0
    code = np.searchsorted(clusters, labels[member])
    onehot = sp.csr_matrix((np.ones(code.size), (np.flatnonzero(member), code)),
                           shape=(adj.shape[0], clusters.size))
    degree = np.asarray(adj.sum(axis=1)).ravel()
    volumes = onehot.T @ degree
    within = (onehot.T @ (adj @ onehot)).diagonal()  # adj @ onehot first: N x k, not k x N x N
    cuts = np.maximum(volumes - within, 0.0)
    return clusters, cuts, volumes


def ncut(graph, labels, eps: float = NCUT_EPS) -> float:
    """Normalised cut of a partition: sum_c cut(c) / (vol(c) + eps).

    Parameters
    ----------
    graph : WeightGraph, sparse matrix or 2-D array
    labels : array of int, shape (N,)
        Any partition, e.g. spectral labels or :func:`partition_from_modules`; -1 = no cluster.
    eps : float

    Returns
    -------
    float
    """
    _, cuts, volumes = ncut_terms(graph, labels, eps)
    return float(np.sum(cuts / (volumes + eps)))


def ave_in_out(ncut_value: float, k: int) -> float:
    """Within-to-between weight ratio (1 - ncut/k) / (2 ncut/k) logged by the paper's code."""
    if ncut_value <= 0:
        return float("inf")
    r = ncut_value / k
    return float((1 - r) / (2 * r))


UNASSIGNED = ("own", "rest", "drop")


def _module_units(module) -> dict:
    units = module.get("units", module) if isinstance(module, dict) else getattr(module, "units", module)
    if not isinstance(units, dict):
        raise SculptError(f"module: expected a mapping layer -> unit indices, got {type(units).__name__}")
    return {int(layer): [int(u) for u in us] for layer, us in units.items()}


def partition_from_modules(graph, modules, unassigned: str = "own") -> np.ndarray:
    """Labels on the weight graph's node order for a list of detected modules.

    Parameters
    ----------
    graph : WeightGraph
    modules : list of mappings layer -> unit indices
        As ``sculpt.detect`` returns them (``Detection.modules``) or the reference records
        (``{"id": .., "units": {"0": [..], ..}}``). Layer 0 is the input layer; unit indices are
        positions in the original layer. Units the graph dropped are ignored.
    unassigned : {"own", "rest", "drop"}
        What happens to kept units that are in no module: ``own`` gives each its own singleton
        cluster (each then adds 1 to the n-cut if it has edges: the honest count of units the
        detector left out); ``rest`` puts them all into one extra cluster; ``drop`` labels them -1
        so they form no cluster (their edges still count as cut for the modules).

    Returns
    -------
    ndarray of int, shape (N,)
        Module ``i`` gets label ``i``; unassigned units get labels from ``len(modules)`` on (or -1).
    """
    if unassigned not in UNASSIGNED:
        raise ConfigError(f"unassigned={unassigned!r}: choose one of {', '.join(UNASSIGNED)}")
    index = graph.node_index()
    labels = np.full(graph.n_nodes, -1, dtype=np.int64)
    for i, module in enumerate(modules):
        for layer, units in _module_units(module).items():
            for u in units:
                node = index.get((layer, u))
                if node is None:
                    continue  # dropped as dead, or outside the graph
                if labels[node] != -1:
                    raise SculptError(f"unit {u} of layer {layer} is in module {labels[node]} and module {i}")
                labels[node] = i
    free = np.flatnonzero(labels == -1)
    if unassigned == "own":
        labels[free] = len(modules) + np.arange(free.size)
    elif unassigned == "rest" and free.size:
        labels[free] = len(modules)
    return labels
