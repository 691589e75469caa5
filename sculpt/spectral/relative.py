"""Relative clusterability: the n-cut of a network against the n-cuts of shuffled copies (spec 3).

Statistics as the paper's code computes them: mean and population std (ddof=0) of the shuffled
n-cuts, Z = (observed - mean) / std (negative = more clusterable), and the one-sided left p-value of
North, Curtis & Sham. The paper counts only shuffles strictly below the observed value, so a tie
(e.g. 0 = 0 on fully modular nets with topology-preserving shuffles) reads as the *most* significant
result; by default ties count against significance here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from sculpt.errors import ConfigError
from sculpt.spectral.clustering import SpectralResult, spectral_clustering
from sculpt.spectral.graph import WeightGraph, graph_from_blocks, weight_graph
from sculpt.spectral.shuffles import SHUFFLE_METHODS, shuffle_blocks

TIES = ("conservative", "paper", "mid")
TIE_TOLERANCE = 1e-9  # n-cuts closer than this count as equal (exact zeros from disconnected graphs)


def p_value(observed: float, shuffled, ties: str = "conservative") -> float:
    """One-sided left p-value of an observed n-cut against shuffled ones.

    Parameters
    ----------
    observed : float
    shuffled : array of float
    ties : {"conservative", "paper", "mid"}
        ``conservative``: (1 + #{s <= obs}) / (n + 1), ties count against significance (default);
        ``paper``: (1 + #{s < obs}) / (n + 1), the paper's code; ``mid``: ties count one half.

    Returns
    -------
    float
    """
    if ties not in TIES:
        raise ConfigError(f"ties={ties!r}: choose one of {', '.join(TIES)}")
    s = np.asarray(shuffled, dtype=np.float64)
    tie = np.abs(s - observed) <= TIE_TOLERANCE
    below = (s < observed) & ~tie
    extra = {"conservative": tie.sum(), "paper": 0, "mid": 0.5 * tie.sum()}[ties]
    return float((1 + below.sum() + extra) / (s.size + 1))


def z_score(observed: float, shuffled) -> float:
    """(observed - mean) / std with the population std; 0 if all equal, +-inf if std is 0 otherwise."""
    s = np.asarray(shuffled, dtype=np.float64)
    mean, std = s.mean(), s.std()
    if std == 0:
        return 0.0 if abs(observed - mean) <= TIE_TOLERANCE else float(np.sign(observed - mean) * np.inf)
    return float((observed - mean) / std)


@dataclass
class RelativeClusterability:
    """n-cut of a network and its shuffle null distribution.

    Attributes
    ----------
    ncut : float
        n-cut of the spectral partition of the network itself.
    shuffled : ndarray
        n-cut of each shuffle (NaN where a shuffle left fewer than k nodes).
    mean, std, z, p : float
        Shuffle mean, population std, Z-score and one-sided p-value (see ``ties``).
    p_paper : float
        The p-value as the paper's code counts ties, for comparison.
    k, method, ties, n_shuffles, seed
        The settings used.
    observed : SpectralResult
    graph : dict
        :meth:`WeightGraph.report` of the network's graph.
    warnings : list of str
    """

    ncut: float
    shuffled: np.ndarray
    mean: float
    std: float
    z: float
    p: float
    p_paper: float
    k: int
    method: str
    ties: str
    n_shuffles: int
    seed: int
    observed: SpectralResult
    graph: dict
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {"ncut": float(self.ncut), "k": int(self.k), "method": self.method,
                "n_shuffles": int(self.n_shuffles), "seed": int(self.seed),
                "shuffle_mean": float(self.mean), "shuffle_std": float(self.std),
                "z": float(self.z), "p": float(self.p), "ties": self.ties, "p_paper": float(self.p_paper),
                "shuffled": [float(v) for v in self.shuffled], "spectral": self.observed.to_dict(),
                "graph": self.graph, "warnings": list(self.warnings)}


def shuffled_ncut(blocks, method: str, dead: str, k: int, n_init, solver: str,
                  seed: np.random.SeedSequence) -> float:
    """n-cut of one shuffle: shuffle the blocks, re-apply the dead-unit policy, cluster."""
    rng = np.random.default_rng(seed)
    graph = graph_from_blocks(shuffle_blocks(blocks, method, rng), dead=dead)
    if graph.n_nodes < k:
        return float("nan")
    return spectral_clustering(graph, k, n_init=n_init, solver=solver, seed=rng).ncut


def check_seed_and_jobs(seed, n_jobs) -> None:
    """Refuse a seed other than None or an integer >= 0, and ``n_jobs`` other than -1 or >= 1.

    Called before any work, so a bad value costs nothing (numpy refuses negative seeds, joblib
    ``n_jobs=0``, only once the clustering is under way).

    Raises
    ------
    ConfigError
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ConfigError(f"seed={seed!r}: expected an integer >= 0 (or None for fresh entropy)")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or not (n_jobs >= 1 or n_jobs == -1):
        raise ConfigError(f"n_jobs={n_jobs!r}: expected a positive number of workers, or -1 for every core")


def relative_clusterability(net, k: int = 12, n_shuffles: int = 50, method: str = "layer", seed: int = 0,
                            n_jobs: int = 1, ties: str = "conservative", dead: str = "degree0",
                            n_init: int | None = None, solver: str = "auto", member: int | None = None,
                            progress: bool = True, backend: str | None = None) -> RelativeClusterability:
    """Compare a network's spectral n-cut with that of ``n_shuffles`` shuffled copies.

    Parameters
    ----------
    net : WeightGraph or anything :func:`weight_graph` accepts
    k : int
        Number of clusters (see :mod:`sculpt.spectral.kpolicy` to choose one for small nets).
    n_shuffles : int
        50 in the paper's main tables.
    method : {"layer", "layer_nonzero"}
    seed : int >= 0 or None
        Root of one SeedSequence per shuffle (child 0 clusters the network itself), so results
        are identical for any ``n_jobs``. None draws fresh entropy from the operating system;
        the drawn root is reported as ``seed`` so that run can be repeated.
    n_jobs : int
        joblib workers for the shuffles: a positive number, or -1 for every core.
    ties : {"conservative", "paper", "mid"}
        How :func:`p_value` counts ties.
    dead, n_init, solver, member
        Passed to :func:`weight_graph` and :func:`spectral_clustering`.
    progress : bool
        tqdm bar on stderr.
    backend : str, optional
        joblib backend for ``n_jobs > 1`` (default loky processes).

    Returns
    -------
    RelativeClusterability
    """
    if method not in SHUFFLE_METHODS:
        raise ConfigError(f"method={method!r}: choose one of {', '.join(SHUFFLE_METHODS)}")
    if ties not in TIES:
        raise ConfigError(f"ties={ties!r}: choose one of {', '.join(TIES)}")
    if not isinstance(n_shuffles, (int, np.integer)) or n_shuffles < 1:
        raise ConfigError(f"n_shuffles={n_shuffles!r}: expected a positive integer")
    check_seed_and_jobs(seed, n_jobs)
    graph = net if isinstance(net, WeightGraph) else weight_graph(net, dead=dead, member=member)
    root = np.random.SeedSequence(seed)
    seed = int(root.entropy)  # None: the fresh entropy drawn, reported so the run can be repeated
    seeds = root.spawn(n_shuffles + 1)
    observed = spectral_clustering(graph, k, n_init=n_init, solver=solver, seed=seeds[0])
    jobs = (delayed(shuffled_ncut)(graph.blocks, method, graph.dead, k, n_init, solver, s) for s in seeds[1:])
    bar = dict(total=n_shuffles, desc=f"{method} shuffles", disable=not progress, leave=False)
    if n_jobs == 1:
        values = [fn(*a, **kw) for fn, a, kw in tqdm(jobs, **bar)]
    else:
        values = list(tqdm(Parallel(n_jobs=n_jobs, backend=backend, return_as="generator")(jobs), **bar))
    shuffled = np.asarray(values, dtype=np.float64)
    valid = shuffled[np.isfinite(shuffled)]
    warnings = list(graph.warnings) + list(observed.warnings)
    if valid.size < shuffled.size:
        warnings.append(f"{shuffled.size - valid.size} shuffle(s) kept fewer than k={k} nodes and were skipped")
    if valid.size == 0:
        raise ConfigError(f"no shuffle kept k={k} nodes; choose a smaller k")
    return RelativeClusterability(
        ncut=observed.ncut, shuffled=shuffled, mean=float(valid.mean()), std=float(valid.std()),
        z=z_score(observed.ncut, valid), p=p_value(observed.ncut, valid, ties),
        p_paper=p_value(observed.ncut, valid, "paper"), k=int(k), method=method, ties=ties,
        n_shuffles=int(n_shuffles), seed=int(seed), observed=observed, graph=graph.report(), warnings=warnings)
