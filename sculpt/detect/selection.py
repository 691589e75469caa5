"""Choosing among equally sparse networks by the structure detection finds in them.

The paper keeps the sparsest network of the (p_u, p_e) grid; ties in density are frequent and its
authors broke them by hand, keeping the run with the clearer (fewer-module) structure in the
reuse families (spec 4.4). :func:`fewest_modules` makes that choice explicit and reproducible.
"""
from __future__ import annotations

from typing import Sequence

from sculpt.detect.detection import detect_modules


def fewest_modules(networks: Sequence, **detect_kwargs) -> int:
    """Index of the network whose detected structure has the fewest modules (first on ties).

    Parameters
    ----------
    networks : sequence of PrunedNet or mask lists
        Candidates in order of preference.
    **detect_kwargs
        Passed to :func:`detect_modules` (thresholds, step sizes).

    Returns
    -------
    int
        Position of the chosen network in ``networks``.
    """
    counts = [detect_modules(net, **detect_kwargs).num_modules for net in networks]
    return counts.index(min(counts))
