"""Dead-unit removal as two reachability sweeps on row bit sets, the fast path of detection (spec 5.2).

:func:`sculpt.detect.condense.remove_dead_units` is the paper's cascade (drop inputs without
outgoing edges and hidden units without incoming or outgoing edges until nothing changes). Its
fixpoint is exactly the set of units on some input-to-output path (outputs are always kept):
every unit on such a path keeps its path neighbours, so the cascade never drops it; and a kept
hidden unit has a kept predecessor and a kept successor, so following them leads back to an input
and on to an output. That set is the units reached from the inputs intersected with the units
that reach an output, which one forward and one backward sweep give without iterating.
tests/test_detect_speed.py checks both on all 1,499 stored networks and on random masks.

Examples
--------
>>> import numpy as np
>>> m0 = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]], bool)
>>> m1 = np.array([[1, 1, 0], [0, 0, 0]], bool)
>>> net = live_units([m0, m1])
>>> net.surviving_units
[(0, 1), (0, 1), (0, 1)]
>>> net.inputs   # per weight layer, each kept unit's kept inputs as a bit set
[[3, 2], [3, 0]]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sculpt.detect.bitsets import row_bitsets
from sculpt.errors import SculptError


@dataclass(frozen=True)
class LiveNet:
    """The units on some input-to-output path, and the edges between them.

    Attributes
    ----------
    surviving_units : list of tuple of int
        Per unit layer (inputs first), the original indices of the kept units, ascending.
    inputs : list of list of int
        ``inputs[l][j]``: which kept units of layer l feed kept unit j of layer l+1, as a bit set
        over their positions (bit i = the i-th kept unit); the rows of the condensed mask l.
    successors : list of list of int
        ``successors[l][i]``: which kept units of layer l+1 kept unit i of layer l feeds (the
        columns of the condensed mask l).
    """

    surviving_units: list[tuple[int, ...]]
    inputs: list[list[int]]
    successors: list[list[int]]

    @property
    def arch(self) -> list[int]:
        """Kept units per layer."""
        return [len(u) for u in self.surviving_units]


def _positions(value: int, width: int) -> tuple[int, ...]:
    """Indices of the set bits of ``value`` (below ``width``), ascending."""
    out = []
    while value:
        low = value & -value
        out.append(low.bit_length() - 1)
        value ^= low
    return tuple(out)


def _compress(value: int, kept: tuple[int, ...]) -> int:
    """The bits of ``value`` at the positions ``kept``, packed to positions 0, 1, ..."""
    out = 0
    for position, index in enumerate(kept):
        if value >> index & 1:
            out |= 1 << position
    return out


def live_units(masks: list[np.ndarray]) -> LiveNet:
    """Keep the units on some input-to-output path (and every output unit).

    Parameters
    ----------
    masks : list of ndarray of bool
        Per weight layer, shape (out, in), already checked
        (:func:`sculpt.detect.condense.validate_masks`).

    Returns
    -------
    LiveNet

    Raises
    ------
    SculptError
        When the network has no edges, or no input-to-output path survives; the same messages
        as :func:`sculpt.detect.condense.remove_dead_units`.
    """
    rows = [row_bitsets(m) for m in masks]  # rows[l][j]: inputs of unit j of layer l+1
    empty = [not any(r) for r in rows]
    if all(empty):
        raise SculptError("the network has no edges left (every mask is all zero)")
    for layer, is_empty in enumerate(empty):
        if is_empty:
            raise SculptError(f"weight layer {layer} (unit layer {layer} -> {layer + 1}) has no "
                              "edges left, so no input reaches an output")
    n_weight = len(masks)
    widths = [int(masks[0].shape[1])] + [len(r) for r in rows]
    reached = [(1 << widths[0]) - 1]  # units some input reaches
    for layer_rows in rows:
        source, bits = reached[-1], 0
        for j, incoming in enumerate(layer_rows):
            if incoming & source:
                bits |= 1 << j
        reached.append(bits)
    reaching = [0] * n_weight + [(1 << widths[-1]) - 1]  # units that reach an output
    for layer in range(n_weight - 1, -1, -1):
        target, bits = reaching[layer + 1], 0
        for j in _positions(target, widths[layer + 1]):
            bits |= rows[layer][j]
        reaching[layer] = bits
    kept = [_positions(reached[l] & reaching[l], widths[l]) for l in range(n_weight)]
    kept.append(tuple(range(widths[-1])))
    if not kept[0]:  # without any path every non-output layer is empty; the cascade names layer 0
        raise SculptError("no input-to-output path survives: layer 0 has no unit left "
                          "after removing dead and dangling units")
    inputs = [[_compress(rows[l][j], kept[l]) for j in kept[l + 1]] for l in range(n_weight)]
    successors = []  # the condensed masks' columns: transpose the (small) kept rows
    for l in range(n_weight):
        columns = [0] * len(kept[l])
        for j, incoming in enumerate(inputs[l]):
            bit = 1 << j
            for i in _positions(incoming, len(kept[l])):
                columns[i] |= bit
        successors.append(columns)
    return LiveNet(surviving_units=kept, inputs=inputs, successors=successors)
