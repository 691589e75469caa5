"""Two views of one network's modularity: the detector's modules and the spectral partition.

For a pruned network with detected modules this computes, on the |W| weight graph:

* the n-cut of the **detected modules** (units in no module are singletons) and of the
  **spectral partition** at k = number of detected modules and at k chosen by the eigengap;
* one shared null distribution of ``layer`` shuffles (every entry of each reduced weight matrix
  permuted, spec 3.1): on each shuffle the spectral n-cut at the same two k, and the n-cut of the
  modules the *detector* finds on the shuffled masks, so each view is tested against the same
  shuffled networks by its own procedure;
* per view, of its test statistic (``statistic`` and its observed ``value``): shuffle mean, population
  sd, Z = (value - mean) / sd and the one-sided p-value p = (1 + #{shuffle <= value}) / (n + 1)
  (ties count against significance; the floor is 1 / (n + 1), so ``n_shuffles = 20`` can reach
  p = 0.048 and no lower), and ``modular`` = p < alpha. The spectral views test the n-cut itself
  (k is the same on the network and on every shuffle). The detector's view tests the **n-cut per
  part**, n-cut / (number of parts), and 1 when the detector finds fewer than two modules: the
  detector picks its own k on every shuffle, and the plain n-cut of a single module is 0 (nothing
  cut), so a shuffle on which it finds no structure would score as the most modular outcome;
  every term cut(A) / vol(A) lies in [0, 1], so the per-part value does too and 1 is its worst;
* given the task's true structure: the adjusted Rand index of each view's labels on the input
  units and on the output units against the true input / output groups (units the view drops
  count as singletons, as in :func:`sculpt.score.compare`), and their mean ``ari``; the output
  truth is the output groups, or the output support groups when every output is its own group.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score

from sculpt.errors import SculptError
from sculpt.spectral.clustering import spectral_clustering
from sculpt.spectral.graph import weight_graph
from sculpt.spectral.kpolicy import eigengap_k
from sculpt.spectral.ncut import ncut, partition_from_modules
from sculpt.spectral.relative import p_value, z_score
from sculpt.spectral.shuffles import shuffle_blocks

VIEWS = ("modules", "spectral_modules_k", "spectral_eigengap_k")


def full_size_weights(graph) -> list[np.ndarray]:
    """The graph's (possibly shuffled) blocks scattered back to the original (out, in) shapes."""
    sizes = graph.layer_sizes
    out = []
    for l, block in enumerate(graph.blocks):
        dense = block.toarray() if hasattr(block, "toarray") else np.asarray(block)
        full = np.zeros((sizes[l + 1], sizes[l]))
        rows = graph.node_unit[graph.node_layer == l + 1]
        cols = graph.node_unit[graph.node_layer == l]
        full[np.ix_(rows, cols)] = dense
        out.append(full)
    return out


def ncut_per_part(value: float, labels: np.ndarray, n_modules: int) -> float:
    r"""The detector view's test statistic: n-cut / number of parts, 1 with fewer than two modules.

    .. math:: s = \frac{1}{k} \sum_{i=1}^{k} \frac{\mathrm{cut}(A_i)}{\mathrm{vol}(A_i)} \in [0, 1]

    over the k parts of the partition (the modules present in the graph and the units in none, each
    its own part); s = 1 when fewer than two of the modules are present, since one module cuts
    nothing (n-cut 0) without being evidence of any modular structure.

    Parameters
    ----------
    value : float
        n-cut of the partition ``labels``.
    labels : ndarray of int
        Node labels from :func:`partition_from_modules` (modules ``0 .. n_modules - 1``, then
        singletons).
    n_modules : int
        Number of modules the labels came from.

    Examples
    --------
    >>> import numpy as np
    >>> ncut_per_part(0.5, np.array([0, 0, 1, 1]), 2)
    0.25
    >>> ncut_per_part(0.0, np.array([0, 0, 0, 0]), 1)
    1.0
    """
    present = np.unique(labels[labels >= 0])
    if np.count_nonzero(present < n_modules) < 2:
        return 1.0
    return float(value) / present.size


def _modules_stat(graph, modules) -> tuple[float, float, np.ndarray]:
    """n-cut of the modules on the graph, its per-part statistic and the labels."""
    modules = list(modules)
    labels = partition_from_modules(graph, modules, unassigned="own")
    value = ncut(graph, labels)
    return value, ncut_per_part(value, labels, len(modules)), labels


def _modules_ncut(graph, detect) -> tuple[float, float]:
    """n-cut and per-part statistic of the modules ``detect`` finds on the graph's masks."""
    masks = [w != 0 for w in full_size_weights(graph)]
    return _modules_stat(graph, detect(masks).modules)[:2]


def _spectral_ncut(graph, k: int, seed) -> tuple[float, np.ndarray]:
    if k > graph.n_nodes:
        return float("nan"), np.zeros(graph.n_nodes, dtype=np.int64)
    result = spectral_clustering(graph, k, seed=seed)
    return result.ncut, result.labels


def _unit_labels(graph, labels: np.ndarray, layer: int, n: int) -> list[int]:
    """Label per unit of node layer ``layer``; units not in the graph become singletons."""
    lookup = {int(u): int(labels[i]) for i, (l, u) in enumerate(zip(graph.node_layer, graph.node_unit))
              if l == layer}
    offset = int(labels.max(initial=0)) + 1
    return [lookup.get(i, offset + i) for i in range(n)]


def output_truth(structure) -> list:
    """The output grouping to score against: ``output_groups``, or ``output_support_groups`` when
    every output is its own group (e.g. [4,2,4], where the sub-functions share inputs pairwise:
    all-singleton truth would give ARI 0 to any partition that pairs outputs)."""
    groups = list(structure.output_groups)
    if all(len(g) == 1 for g in groups):
        return list(getattr(structure, "output_support_groups", groups))
    return groups


def agreement(graph, labels: np.ndarray, structure) -> dict:
    """ARI of a node partition with the true input and output groups (and their mean).

    Also returns the partition's labels on the input and output units (``input_labels``,
    ``output_labels``; units the graph dropped get singleton labels), so another truth can be
    scored later from the record alone.
    """
    last = len(graph.layer_sizes) - 1

    def truth(n, groups):
        out = list(range(n, 2 * n))  # ungrouped units: singletons
        for g, group in enumerate(groups):
            for i in group:
                out[int(i)] = g
        return out

    found_in = _unit_labels(graph, labels, 0, structure.n_inputs)
    found_out = _unit_labels(graph, labels, last, structure.n_outputs)
    ari_in = adjusted_rand_score(truth(structure.n_inputs, structure.input_groups), found_in)
    ari_out = adjusted_rand_score(truth(structure.n_outputs, output_truth(structure)), found_out)
    return {"input_ari": float(ari_in), "output_ari": float(ari_out), "ari": float((ari_in + ari_out) / 2),
            "input_labels": found_in, "output_labels": found_out}


def _view_stats(ncut_value: float, observed: float, null: np.ndarray, alpha: float, statistic: str) -> dict:
    """The view's n-cut and the shuffle test of its statistic (``observed`` against ``null``)."""
    valid = null[np.isfinite(null)]
    if not np.isfinite(observed) or valid.size == 0:
        return {"ncut": None, "statistic": statistic, "value": None, "shuffle_mean": None, "shuffle_sd": None,
                "z": None, "p": None, "modular": None, "n_valid": int(valid.size)}
    z = z_score(observed, valid)
    p = p_value(observed, valid, "conservative")
    return {"ncut": float(ncut_value), "statistic": statistic, "value": float(observed),
            "shuffle_mean": float(valid.mean()), "shuffle_sd": float(valid.std()),
            "z": float(z) if np.isfinite(z) else None, "p": float(p), "modular": bool(p < alpha),
            "n_valid": int(valid.size)}


def two_views(net, modules, structure=None, n_shuffles: int = 20, seed: int = 0, dead: str = "components",
              detect=None, alpha: float = 0.05) -> dict:
    """Both views of a pruned network's modularity against one set of ``layer`` shuffles.

    Parameters
    ----------
    net : PrunedNet-like, list of weight arrays or torch module
    modules : list of modules
        The detector's modules of ``net`` (``Detection.modules``).
    structure : functiongraphs.Structure, optional
        True input / output groups; adds ``input_ari``, ``output_ari``, ``ari`` per view.
    n_shuffles : int
    seed : int
        Root of one SeedSequence per shuffle (child 0 clusters the network itself).
    dead : {"degree0", "components", "largest"}
        Dead-unit policy (default: drop components that do not span input -> output, so islands
        left by pruning do not give zero-cut clusters).
    detect : callable(masks) -> Detection, optional
        The detector re-run on every shuffle (default :func:`sculpt.detect.detect_modules`).
    alpha : float
        ``modular`` = p < alpha.

    Returns
    -------
    dict
        ``n_shuffles``, ``method``, ``dead``, ``n_nodes``, ``k_modules``, ``k_eigengap`` and per view
        (``modules``, ``spectral_modules_k``, ``spectral_eigengap_k``): ``ncut``, ``statistic``
        (``ncut_per_part`` for the detector's view, ``ncut`` for the spectral ones), its observed
        ``value``, ``shuffle_mean``, ``shuffle_sd``, ``z``, ``p``, ``modular`` of that statistic
        (+ ``shuffle_ncut_mean``, the shuffles' plain n-cut, for the detector's view; + ARIs when
        ``structure`` is given).

    Examples
    --------
    >>> import numpy as np
    >>> w = [np.kron(np.eye(2), np.ones((2, 2))), np.kron(np.eye(2), np.ones((1, 2)))]
    >>> v = two_views(w, [{"units": {"0": [0, 1], "1": [0, 1], "2": [0]}},
    ...                   {"units": {"0": [2, 3], "1": [2, 3], "2": [1]}}], n_shuffles=5)
    >>> v["modules"]["ncut"], v["k_modules"]
    (0.0, 2)
    """
    if detect is None:
        from sculpt.detect import detect_modules as detect
    if not isinstance(n_shuffles, (int, np.integer)) or isinstance(n_shuffles, bool) or n_shuffles < 1:
        raise SculptError(f"n_shuffles={n_shuffles!r}: expected a positive integer")
    graph = weight_graph(net, dead=dead)
    modules = list(modules)
    seeds = np.random.SeedSequence(seed).spawn(n_shuffles + 1)
    k_mod = max(1, min(len(modules), graph.n_nodes))
    k_gap = eigengap_k(graph, seed=int(seed)).k if graph.n_nodes >= 4 else 1
    mod_ncut, mod_stat, mod_labels = _modules_stat(graph, modules)
    observed, labels = {"modules": mod_stat}, {"modules": mod_labels}
    observed["spectral_modules_k"], labels["spectral_modules_k"] = _spectral_ncut(graph, k_mod, seeds[0])
    observed["spectral_eigengap_k"], labels["spectral_eigengap_k"] = _spectral_ncut(graph, k_gap, seeds[0])
    ncuts = {**observed, "modules": mod_ncut}
    null_ncut = np.full(n_shuffles, np.nan)  # the detector's plain n-cut on each shuffle (descriptive)
    null = {v: np.full(n_shuffles, np.nan) for v in VIEWS}
    for i, child in enumerate(seeds[1:]):
        rng = np.random.default_rng(child)
        try:
            shuffled = weight_graph(full_size_weights(_with_blocks(graph, shuffle_blocks(graph.blocks, "layer", rng))),
                                    dead=dead)
        except SculptError:  # e.g. a shuffle left no unit connected input -> output: no n-cut, skipped
            continue
        null_ncut[i], null["modules"][i] = _modules_ncut(shuffled, detect)
        null["spectral_modules_k"][i] = _spectral_ncut(shuffled, k_mod, rng)[0]
        null["spectral_eigengap_k"][i] = _spectral_ncut(shuffled, k_gap, rng)[0]
    out = {"n_shuffles": int(n_shuffles), "method": "layer", "dead": dead, "alpha": alpha,
           "n_nodes": graph.n_nodes, "k_modules": int(k_mod), "k_eigengap": int(k_gap)}
    for view in VIEWS:
        out[view] = _view_stats(ncuts[view], observed[view], null[view], alpha,
                                "ncut_per_part" if view == "modules" else "ncut")
        if view == "modules":
            valid = null_ncut[np.isfinite(null_ncut)]
            out[view]["shuffle_ncut_mean"] = float(valid.mean()) if valid.size else None
        if structure is not None:
            out[view].update(agreement(graph, labels[view], structure))
    return out


def _with_blocks(graph, blocks):
    """A shallow copy of ``graph`` carrying other blocks (for :func:`full_size_weights`)."""
    from dataclasses import replace

    return replace(graph, blocks=blocks)
