"""Merging the per-layer clusters of adjacent layers into modules (spec 5.7).

A cluster c of layer i joins the module of a cluster p of layer i-1 when more than ``threshold``
of p's outgoing edges go to c and more than ``threshold`` of c's incoming edges come from p (both
strict, as in the code). Output units are single-unit clusters and only need the incoming
fraction, so several outputs can join one module. Clusters that join nothing open new modules,
numbered after the largest module id so far.
"""
from __future__ import annotations

import numpy as np


def _first_appearance_ids(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct labels in order of first appearance (the code's ``create_dict``), and each
    unit's index into them."""
    ids = np.fromiter(dict.fromkeys(labels.tolist()), dtype=np.intp)
    lookup = np.empty(int(ids.max()) + 1, dtype=np.intp)
    lookup[ids] = np.arange(len(ids))
    return ids, lookup[labels]


def merge_across_layers(layer_labels: list[np.ndarray], masks: list[np.ndarray],
                        threshold: float) -> list[np.ndarray]:
    """Module id of every kept unit, layer by layer.

    Parameters
    ----------
    layer_labels : list of ndarray of int
        Per layer, the local cluster labels (0..K-1) of the kept units; the output layer's are
        ``arange(n_outputs)``.
    masks : list of ndarray of bool
        Condensed masks, one per weight layer, shape (out, in).
    threshold : float
        The merge threshold delta (0.9 in the paper's Boolean runs).

    Returns
    -------
    list of ndarray of int
        Per layer, the module id of each kept unit; layer 0 keeps its labels.
    """
    merged = [np.asarray(layer_labels[0], dtype=np.intp).copy()]
    next_id = int(merged[0].max()) + 1
    last = len(layer_labels) - 1
    for layer in range(1, len(layer_labels)):
        prev_ids, prev_index = _first_appearance_ids(merged[layer - 1])
        # the code indexes the current layer's clusters by first appearance too (create_dict),
        # which fixes the order in which unmerged clusters receive new module ids
        local_ids, local = _first_appearance_ids(np.asarray(layer_labels[layer], dtype=np.intp))
        n_local = len(local_ids)
        # edges[p, c]: edges from previous-layer module p to current-layer cluster c
        cur_unit, prev_unit = np.nonzero(masks[layer - 1])  # mask is (current, previous)
        edges = np.bincount(prev_index[prev_unit] * n_local + local[cur_unit],
                            minlength=len(prev_ids) * n_local).reshape(len(prev_ids), n_local)
        edges = edges.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            in_frac = edges / edges.sum(axis=0, keepdims=True)
            out_frac = edges / edges.sum(axis=1, keepdims=True)
        if layer == last:
            out_frac = np.ones_like(out_frac)
        qualifies = (out_frac > threshold) & (in_frac > threshold)
        global_of_local = np.empty(n_local, dtype=np.intp)
        for c in range(n_local):
            if qualifies[:, c].any():
                global_of_local[c] = prev_ids[np.argmax(qualifies[:, c])]
            else:
                global_of_local[c] = next_id
                next_id += 1
        merged.append(global_of_local[local])
    return merged
