"""Dead-unit removal: the cascade that keeps only units on some input-to-output path (spec 5.2).

The paper's code (``correct_arch``) sweeps a symmetric adjacency ten times, dropping every input
unit without outgoing edges and every hidden unit without incoming or without outgoing edges;
output units are never dropped. Dropping is monotone (a dropped unit only removes edges), so the
sweeps reach the same fixpoint in any order; we iterate per layer with boolean reductions until
nothing changes, which equals the paper's result whenever its ten sweeps converge (they do on
all 1,499 reference networks, see tests/test_detect_conformance.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sculpt.errors import SculptError


@dataclass(frozen=True)
class CondensedNet:
    """A layered network with its dead and dangling units removed.

    Attributes
    ----------
    surviving_units : list of ndarray of int
        Per unit layer (inputs first), the original indices of the kept units, ascending.
    masks : list of ndarray of bool
        Per weight layer, the kept edges between kept units, shape (kept out, kept in).
    sweeps : int
        Number of removal sweeps that changed something (the paper's code allows at most 10).
    """

    surviving_units: list[np.ndarray]
    masks: list[np.ndarray]
    sweeps: int

    @property
    def arch(self) -> list[int]:
        """Kept units per layer (the "condensed architecture" of the paper's figure subtitles)."""
        return [len(u) for u in self.surviving_units]


def validate_masks(masks) -> list[np.ndarray]:
    """Check a list of per-layer masks (out x in, PyTorch layout) and return them as bool arrays.

    Parameters
    ----------
    masks : sequence of array-like
        ``masks[l][j, i]`` is true when the edge from unit i of layer l to unit j of layer l+1 is kept.

    Returns
    -------
    list of ndarray of bool
    """
    if isinstance(masks, np.ndarray) or not hasattr(masks, "__len__") or len(masks) == 0:
        raise SculptError("masks must be a non-empty list of 2-d arrays (one per weight layer)")
    out = []
    for layer, mask in enumerate(masks):
        arr = mask if type(mask) is np.ndarray else np.asarray(mask)  # as_masks made most of them
        if arr.ndim != 2:
            raise SculptError(f"mask {layer} must be 2-d (out x in), got shape {arr.shape}")
        if arr.dtype.kind != "b":  # (a dtype's kind is cheaper to test than dtype == bool)
            if not np.isin(arr, (0, 1)).all():
                raise SculptError(f"mask {layer} must hold only 0/1 values")
            arr = arr.astype(bool)
        if layer and arr.shape[1] != out[-1].shape[0]:
            raise SculptError(f"mask {layer} has {arr.shape[1]} inputs but mask {layer - 1} "
                              f"has {out[-1].shape[0]} outputs")
        out.append(arr)
    return out


def remove_dead_units(masks) -> CondensedNet:
    """Drop dead and dangling units until none is left (output units are always kept).

    Parameters
    ----------
    masks : sequence of array-like of bool
        Per weight layer, shape (out, in).

    Returns
    -------
    CondensedNet

    Raises
    ------
    SculptError
        When the network has no edges, or no input-to-output path survives.
    """
    masks = validate_masks(masks)
    if not any(m.any() for m in masks):
        raise SculptError("the network has no edges left (every mask is all zero)")
    for layer, mask in enumerate(masks):
        if not mask.any():
            raise SculptError(f"weight layer {layer} (unit layer {layer} -> {layer + 1}) has no "
                              "edges left, so no input reaches an output")
    n_layers = len(masks) + 1
    alive = [np.ones(masks[0].shape[1], bool)] + [np.ones(m.shape[0], bool) for m in masks]
    sweeps = 0
    while True:
        changed = False
        for layer in range(n_layers - 1):  # output units are never removed
            has_out = (masks[layer] & alive[layer + 1][:, None]).any(axis=0)
            keep = alive[layer] & has_out
            if layer > 0:
                keep &= (masks[layer - 1] & alive[layer - 1][None, :]).any(axis=1)
            if not np.array_equal(keep, alive[layer]):
                alive[layer] = keep
                changed = True
        if not changed:
            break
        sweeps += 1
    for layer in range(n_layers - 1):
        if not alive[layer].any():
            raise SculptError(f"no input-to-output path survives: layer {layer} has no unit left "
                              "after removing dead and dangling units")
    units = [np.flatnonzero(a) for a in alive]
    condensed = [m[np.ix_(alive[l + 1], alive[l])] for l, m in enumerate(masks)]
    return CondensedNet(surviving_units=units, masks=condensed, sweeps=sweeps)
