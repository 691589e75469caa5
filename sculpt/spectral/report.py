"""One JSON-ready spectral summary of a network, next to its detected modules (for score.json and the CLI)."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from sculpt.spectral.graph import weight_graph
from sculpt.spectral.kpolicy import choose_k
from sculpt.spectral.ncut import ncut, partition_from_modules
from sculpt.spectral.relative import check_seed_and_jobs, relative_clusterability


def detected_modules(net):
    """Modules found by ``sculpt.detect`` on the network's masks, or (None, note) when unavailable."""
    try:
        from sculpt.detect import detect_modules
    except ImportError as exc:
        return None, f"module detection unavailable ({exc})"
    from sculpt.adapters import _is_torch_module

    # a user's nn.Sequential has no .masks: its prune masks come through the one adapter
    masks = net if _is_torch_module(net) else getattr(net, "masks", None)
    if masks is None:
        return None, "no masks on this network: module detection skipped"
    return list(detect_modules(masks).modules), None


def module_partition_summary(graph, modules, spectral_labels, unassigned: str = "own") -> dict:
    """n-cut of the detected modules on the weight graph and their agreement with the spectral labels."""
    labels = partition_from_modules(graph, modules, unassigned=unassigned)
    in_module = labels < len(modules)
    return {"n_modules": len(modules), "ncut": ncut(graph, labels), "unassigned": unassigned,
            "n_unassigned": int((~in_module).sum()),
            "ari_vs_spectral": float(adjusted_rand_score(labels, spectral_labels)),
            "nmi_vs_spectral": float(normalized_mutual_info_score(labels, spectral_labels))}


def summary(net, k=12, n_shuffles: int = 50, method: str = "layer", seed: int = 0, dead: str = "degree0",
            modules=None, n_jobs: int = 1, ties: str = "conservative", progress: bool = False) -> dict:
    """Spectral clusterability of a network and of its detected modules, as plain JSON data.

    Parameters
    ----------
    net : PrunedNet-like, list of weight arrays, torch module or WeightGraph
    k : int or {"modules", "eigengap"}
        See :func:`sculpt.spectral.kpolicy.choose_k`.
    n_shuffles : int
    method : {"layer", "layer_nonzero"}
    seed : int >= 0 or None
        None: fresh entropy, reported as ``seed`` in the result (see :func:`relative_clusterability`).
    dead : {"degree0", "components", "largest"}
    modules : list of modules, optional
        Detected modules; by default ``sculpt.detect.detect_modules(net.masks)`` when available.
    n_jobs : int
    ties : {"conservative", "paper", "mid"}
    progress : bool

    Returns
    -------
    dict
        ``k`` (with policy and reason), ``ncut``, ``shuffle_mean``, ``shuffle_std``, ``z``, ``p``,
        ``p_paper``, ``spectral`` (eigenvalues, balance, warnings), ``graph`` (what was dropped),
        ``modules`` (n-cut of the detected modules, ARI/NMI vs the spectral partition) or
        ``modules_note`` when detection is unavailable.
    """
    check_seed_and_jobs(seed, n_jobs)  # before any work
    if seed is None:  # one fresh root for k's choice and the shuffles, reported as "seed"
        seed = int(np.random.SeedSequence().entropy)
    graph = weight_graph(net, dead=dead)
    note = None
    if modules is None:
        modules, note = detected_modules(net)
    choice = choose_k(graph, k, modules=modules, seed=seed)
    rel = relative_clusterability(graph, k=choice.k, n_shuffles=n_shuffles, method=method, seed=seed,
                                  n_jobs=n_jobs, ties=ties, dead=dead, progress=progress)
    out = rel.to_dict()
    out["k_choice"] = choice.to_dict()
    if modules is not None:
        out["modules"] = module_partition_summary(graph, modules, rel.observed.labels)
    else:
        out["modules_note"] = note
    return _json_ready(out)


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else ("inf" if value > 0 else "-inf")
    return value
