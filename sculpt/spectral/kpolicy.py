"""Choosing k, the number of spectral clusters (spec 2.1, 13.5).

The paper's k = 12 is meaningless for the 9-30 surviving units of Neural Sculpting's pruned nets.
Two data-driven policies: ``modules`` (k = the number of modules module detection found, so both
partitions have the same number of parts) and ``eigengap`` (k = argmax_j lambda_{j+1} - lambda_j of
the normalised Laplacian, the classic choice; j = number of zero eigenvalues on a graph that falls
apart into j components).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sculpt.errors import ConfigError
from sculpt.spectral.clustering import normalized_laplacian, smallest_eigenpairs
from sculpt.spectral.ncut import _module_units

K_POLICIES = ("modules", "eigengap")


@dataclass
class KChoice:
    """The chosen k and why.

    Attributes
    ----------
    k : int
    policy : str
        ``"fixed"``, ``"modules"`` or ``"eigengap"``.
    reason : str
    eigenvalues : list of float
        Smallest eigenvalues of L_sym (eigengap policy only).
    """

    k: int
    policy: str
    reason: str
    eigenvalues: list

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"k": int(self.k), "policy": self.policy, "reason": self.reason,
                "eigenvalues": [float(v) for v in self.eigenvalues]}


def eigengap_k(graph, k_min: int = 2, k_max: int = 12, seed: int = 0) -> KChoice:
    """k with the largest gap lambda_{k+1} - lambda_k among k_min <= k <= k_max.

    Parameters
    ----------
    graph : WeightGraph
    k_min, k_max : int
        Range searched; k_max is capped at N // 2 (layered graphs are bipartite, so the upper
        half of the spectrum mirrors the lower half and its gaps say nothing new).
    seed : int

    Returns
    -------
    KChoice
    """
    n = graph.n_nodes
    k_max = min(k_max, n // 2)
    if k_max < k_min:
        raise ConfigError(f"eigengap: graph has {n} nodes, too few for k >= {k_min}")
    lap, sqrt_degree = normalized_laplacian(graph.adjacency)
    side = (graph.node_layer % 2).astype(np.int64)
    vals, _, _ = smallest_eigenpairs(lap, k_max + 1, "auto", np.random.default_rng(seed), 1e-8, side, sqrt_degree)
    vals = np.clip(vals, 0.0, None)
    gaps = np.diff(vals)  # gaps[j-1] = lambda_{j+1} - lambda_j
    ks = np.arange(k_min, k_max + 1)
    best = int(ks[np.argmax(gaps[ks - 1])])
    return KChoice(best, "eigengap", f"largest gap lambda_{best + 1} - lambda_{best} = {gaps[best - 1]:.4f} "
                   f"for k in {k_min}..{k_max}", [float(v) for v in vals])


def modules_k(graph, modules) -> KChoice:
    """k = number of detected modules that keep at least one unit in the graph."""
    index = graph.node_index()
    alive = sum(1 for m in modules
                if any((layer, u) in index for layer, us in _module_units(m).items() for u in us))
    if alive < 1:
        raise ConfigError("k='modules': no detected module has a unit in the weight graph")
    return KChoice(alive, "modules", f"{alive} detected module(s) with units in the graph", [])


def choose_k(graph, k="12", modules=None, k_max: int = 12, seed: int = 0) -> KChoice:
    """Resolve a k setting: an integer, ``"modules"`` or ``"eigengap"``.

    Parameters
    ----------
    graph : WeightGraph
    k : int or str
    modules : list of modules, optional
        Needed for ``"modules"``.
    k_max : int
        Upper end of the eigengap search.
    seed : int

    Returns
    -------
    KChoice
    """
    if isinstance(k, str) and k.strip().lstrip("-").isdigit():
        k = int(k)
    if isinstance(k, (int, np.integer)):
        if k < 1 or k > graph.n_nodes:
            raise ConfigError(f"k={k}: expected 1 <= k <= {graph.n_nodes} (nodes in the weight graph)")
        return KChoice(int(k), "fixed", "given", [])
    if k == "modules":
        if modules is None:
            raise ConfigError("k='modules' needs detected modules (sculpt.detect unavailable or not run)")
        return modules_k(graph, modules)
    if k == "eigengap":
        return eigengap_k(graph, k_max=k_max, seed=seed)
    raise ConfigError(f"k={k!r}: expected an integer or one of {', '.join(K_POLICIES)}")
