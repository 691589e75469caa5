"""Binary reachability feature vectors of the units of a condensed net (spec 5.3).

The paper's code builds ``R = A + A^2 + ... + A^s`` on the whole condensed adjacency and keeps, for a
unit of layer l, the columns of all later layers, binarised. In a layered net ``A^h`` only links
layer l to layer l+h, so we chain one boolean product per layer pair instead of powering an N x N
matrix: the block of layer l towards layer m is non-empty only when ``m - l <= s``.
"""
from __future__ import annotations

import numpy as np


def reachability_features(masks: list[np.ndarray], step_size: int) -> list[np.ndarray]:
    """Per non-output layer, which later units each unit reaches within ``step_size`` hops.

    Parameters
    ----------
    masks : list of ndarray of bool
        Condensed masks, one per weight layer, shape (out, in).
    step_size : int
        Reachability horizon in hops (``feature_step_size``); the number of weight layers gives
        full reachability.

    Returns
    -------
    list of ndarray of bool
        ``features[l]`` has shape (units of layer l, units of layers l+1 .. output) with the
        columns in layer order; blocks beyond the horizon are all false.
    """
    n_weight_layers = len(masks)
    forward = [m.T.astype(np.float32) for m in masks]  # (in, out): unit -> next-layer unit
    features = []
    for layer in range(n_weight_layers):
        blocks = []
        reach = np.eye(forward[layer].shape[0], dtype=np.float32)
        for target in range(layer + 1, n_weight_layers + 1):
            if target - layer <= step_size:
                # float32 counts stay exact far beyond any path count we binarise here
                reach = ((reach @ forward[target - 1]) > 0).astype(np.float32)
                blocks.append(reach > 0)
            else:
                blocks.append(np.zeros((reach.shape[0], forward[target - 1].shape[1]), bool))
        features.append(np.concatenate(blocks, axis=1))
    return features
