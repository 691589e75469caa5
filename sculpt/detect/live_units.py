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
    widths : list of int
        Units per layer before removal (the network's architecture).
    """

    surviving_units: list[tuple[int, ...]]
    inputs: list[list[int]]
    successors: list[list[int]]
    widths: list[int]

    @property
    def arch(self) -> list[int]:
        """Kept units per layer."""
        return [len(u) for u in self.surviving_units]


def _positions(value: int) -> tuple[int, ...]:
    """Indices of the set bits of ``value``, ascending."""
    out = []
    while value:
        low = value & -value
        out.append(low.bit_length() - 1)
        value ^= low
    return tuple(out)


def _condense(rows: list[int], sources: tuple[int, ...], targets: tuple[int, ...]) -> tuple[list[int], list[int]]:
    """The kept part of one weight layer, as rows and as columns of bit sets.

    ``rows[j]`` holds the inputs of unit j of the next layer; the result keeps the rows
    ``targets`` and, in each, the bits ``sources``, renumbered 0, 1, ...; one pass gives both
    the condensed rows and their transpose.
    """
    inputs, columns = [], [0] * len(sources)
    for target, j in enumerate(targets):
        incoming, packed, bit = rows[j], 0, 1 << target
        for source, i in enumerate(sources):
            if incoming >> i & 1:
                packed |= 1 << source
                columns[source] |= bit
        inputs.append(packed)
    return inputs, columns


def _check_edges(rows: list[list[int]]) -> None:
    """The cascade's errors for a net with an edgeless weight layer."""
    empty = [layer for layer, layer_rows in enumerate(rows) if not any(layer_rows)]
    if len(empty) == len(rows):
        raise SculptError("the network has no edges left (every mask is all zero)")
    if empty:
        layer = empty[0]
        raise SculptError(f"weight layer {layer} (unit layer {layer} -> {layer + 1}) has no "
                          "edges left, so no input reaches an output")


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
    _check_edges(rows)
    n_weight = len(masks)
    widths = [masks[0].shape[1]] + [len(r) for r in rows]
    reached = [(1 << widths[0]) - 1]  # units some input reaches
    for layer_rows in rows:
        source, bits = reached[-1], 0
        for j, incoming in enumerate(layer_rows):
            if incoming & source:
                bits |= 1 << j
        reached.append(bits)
    kept = [tuple(range(widths[-1]))]  # outputs are always kept; built backwards from them
    target = (1 << widths[-1]) - 1  # units that reach an output
    for layer in range(n_weight - 1, -1, -1):
        layer_rows, bits = rows[layer], 0
        for j in _positions(target):
            bits |= layer_rows[j]
        target = bits & reached[layer]  # only reached units can lie on a path
        kept.append(_positions(target))
    kept.reverse()
    if not kept[0]:  # without any path every non-output layer is empty; the cascade names layer 0
        raise SculptError("no input-to-output path survives: layer 0 has no unit left "
                          "after removing dead and dangling units")
    condensed = [_condense(rows[l], kept[l], kept[l + 1]) for l in range(n_weight)]
    return LiveNet(surviving_units=kept, inputs=[c[0] for c in condensed],
                   successors=[c[1] for c in condensed], widths=widths)
