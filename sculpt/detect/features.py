"""Binary reachability feature vectors of the units of a condensed net (spec 5.3).

The paper's code builds ``R = A + A^2 + ... + A^s`` on the whole condensed adjacency and keeps, for a
unit of layer l, the columns of all later layers, binarised. In a layered net ``A^h`` only links
layer l to layer l+h, so we chain one hop per layer pair instead of powering an N x N matrix: the
block of layer l towards layer m is non-empty only when ``m - l <= s``. A condensed layer has few
units, so each unit's reach is a Python integer bit set (:mod:`sculpt.detect.bitsets`) and a hop
is the union of the next layer's successor sets.
"""
from __future__ import annotations

import numpy as np

from sculpt.detect.bitsets import bitsets_from_bool, bool_from_bitsets


def reachability_bitsets(successors: list[list[int]], n_outputs: int, step_size: int) -> list[list[int]]:
    """Per non-output layer, which later units each unit reaches within ``step_size`` hops.

    With ``F(l, h)[u]`` the reach of unit u of layer l within h hops,
    ``F(l, h)[u] = succ(u) | (OR over v in succ(u) of F(l+1, h-1)[v]) << width(l+1)``: one
    union per edge and horizon, each ``F(l, h)`` computed once.

    Parameters
    ----------
    successors : list of list of int
        Per weight layer, each unit's successors in the next layer as a bit set
        (:attr:`sculpt.detect.live_units.LiveNet.successors`).
    n_outputs : int
        Units of the last layer.
    step_size : int
        Reachability horizon in hops (``feature_step_size``); the number of weight layers gives
        full reachability.

    Returns
    -------
    list of list of int
        ``features[l][u]`` is a bit set over the units of layers l+1 .. output, numbered in layer
        order (bit 0 = first unit of layer l+1); blocks beyond the horizon are empty.
    """
    n_weight = len(successors)
    widths = [len(s) for s in successors] + [n_outputs]
    memo: dict[tuple[int, int], list[int]] = {}
    return [_reach(successors, widths, memo, layer, min(step_size, n_weight - layer))
            for layer in range(n_weight)]


def _reach(successors: list[list[int]], widths: list[int], memo: dict, layer: int, horizon: int) -> list[int]:
    """``F(layer, horizon)`` of :func:`reachability_bitsets`, each computed once through ``memo``.

    A module-level function, not a closure: a recursive closure is a reference cycle that only
    the garbage collector frees, and a collection in the middle of a detection costs more than
    the detection.
    """
    rows = memo.get((layer, horizon))
    if rows is None:
        if horizon == 1 or layer == len(successors) - 1:
            rows = list(successors[layer])
        else:
            deeper, shift, rows = _reach(successors, widths, memo, layer + 1, horizon - 1), widths[layer + 1], []
            for first in successors[layer]:
                later, rest, v = 0, first, 0
                while rest:
                    if rest & 1:
                        later |= deeper[v]
                    rest >>= 1
                    v += 1
                rows.append(first | later << shift)
        memo[layer, horizon] = rows
    return rows


def reachability_features(masks: list[np.ndarray], step_size: int) -> list[np.ndarray]:
    """:func:`reachability_bitsets` of a net's masks, as boolean arrays.

    Parameters
    ----------
    masks : list of ndarray of bool
        Condensed masks, one per weight layer, shape (out, in).
    step_size : int
        Reachability horizon in hops.

    Returns
    -------
    list of ndarray of bool
        ``features[l]`` has shape (units of layer l, units of layers l+1 .. output) with the
        columns in layer order; blocks beyond the horizon are all false.
    """
    masks = [np.asarray(m, dtype=bool) for m in masks]
    widths = [masks[0].shape[1]] + [m.shape[0] for m in masks]
    successors = [bitsets_from_bool(m.T) for m in masks]
    return [bool_from_bitsets(rows, sum(widths[layer + 1:]))
            for layer, rows in enumerate(reachability_bitsets(successors, widths[-1], step_size))]
