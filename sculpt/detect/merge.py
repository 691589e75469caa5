"""Merging the per-layer clusters of adjacent layers into modules (spec 5.7).

A cluster c of layer i joins the module of a cluster p of layer i-1 when more than ``threshold``
of p's outgoing edges go to c and more than ``threshold`` of c's incoming edges come from p (both
strict, as in the code). Output units are single-unit clusters and only need the incoming
fraction, so several outputs can join one module. Clusters that join nothing open new modules,
numbered after the largest module id so far.
"""
from __future__ import annotations

from sculpt.detect.bitsets import bitsets_from_bool


def _first_appearance(labels) -> tuple[list[int], list[int]]:
    """Distinct labels in order of first appearance (the code's ``create_dict``), and each
    unit's index into them."""
    ids = list(dict.fromkeys(labels))
    position = {label: p for p, label in enumerate(ids)}
    return ids, [position[label] for label in labels]


def merge_across_layers(layer_labels, masks, threshold: float) -> list[list[int]]:
    """Module id of every kept unit, layer by layer.

    Parameters
    ----------
    layer_labels : list of sequence of int
        Per layer, the local cluster labels (0..K-1) of the kept units; the output layer's are
        ``0 .. n_outputs - 1``.
    masks : list of ndarray of bool, or list of list of int
        Condensed masks, one per weight layer, shape (out, in), or their rows as bit sets
        (:func:`sculpt.detect.bitsets.bitsets_from_bool`).
    threshold : float
        The merge threshold delta (0.9 in the paper's Boolean runs).

    Returns
    -------
    list of list of int
        Per layer, the module id of each kept unit; layer 0 keeps its labels.
    """
    rows = [m if isinstance(m, list) else bitsets_from_bool(m) for m in masks]
    merged = [list(layer_labels[0])]
    next_id = max(merged[0]) + 1
    last = len(layer_labels) - 1
    for layer in range(1, len(layer_labels)):
        prev_ids, prev_index = _first_appearance(merged[layer - 1])
        # the code indexes the current layer's clusters by first appearance too (create_dict),
        # which fixes the order in which unmerged clusters receive new module ids
        local_ids, local = _first_appearance(layer_labels[layer])
        n_local = len(local_ids)
        # which previous-layer units each previous module holds, as a bit set
        module_bits = [0] * len(prev_ids)
        for unit, p in enumerate(prev_index):
            module_bits[p] |= 1 << unit
        # edges[p][c]: edges from previous-layer module p to current-layer cluster c
        edges = [[0] * n_local for _ in prev_ids]
        in_total = [0] * n_local
        for unit, incoming in enumerate(rows[layer - 1]):  # row = a current unit's inputs
            c = local[unit]
            in_total[c] += incoming.bit_count()
            for p, bits in enumerate(module_bits):
                edges[p][c] += (incoming & bits).bit_count()
        out_total = [sum(row) for row in edges]
        global_of_local = []
        for c in range(n_local):
            for p in range(len(prev_ids)):
                count = edges[p][c]
                # strict fractions, as the code; 0 / 0 never qualifies (NaN there); the output
                # layer needs only the incoming fraction (its outgoing one is taken as 1)
                out_ok = (1.0 > threshold) if layer == last else (count / out_total[p] > threshold
                                                                   if out_total[p] else False)
                if out_ok and in_total[c] and count / in_total[c] > threshold:
                    global_of_local.append(prev_ids[p])
                    break
            else:
                global_of_local.append(next_id)
                next_id += 1
        merged.append([global_of_local[c] for c in local])
    return merged
