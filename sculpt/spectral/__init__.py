"""Spectral n-cut clusterability of networks, and training-time tools that promote it.

Scoring (Filan et al., "Clusterability in Neural Networks"; ``docs/clusterability.md``)::

    g = weight_graph(net, dead="degree0")          # |W| graph, dead units dropped and reported
    r = spectral_clustering(g, k=12, seed=0)       # labels, n-cut, eigenvalues, warnings
    ncut(g, partition_from_modules(g, modules))    # n-cut of any partition, e.g. detected modules
    relative_clusterability(g, k=12, n_shuffles=50, method="layer")   # Z, p against shuffles
    summary(net, k="modules")                      # all of it as JSON-ready data

Training (each has ``penalty(model) -> (E,)`` and, where needed, ``after_step(model)``):
:class:`ClusterabilityRegularizer`, :class:`GraphSpectralRegularizer`, :class:`NeuNcutRegularizer`;
:func:`clusterable_init_` rewrites initial weights.
"""
from sculpt.spectral.clustering import SpectralResult, default_n_init, spectral_clustering
from sculpt.spectral.graph import (WeightGraph, channel_blocks, cnn_weight_graph, glorot_uniform,
                                   graph_from_blocks, layer_weights, weight_graph)
from sculpt.spectral.init import clusterable_factors, clusterable_init_
from sculpt.spectral.kpolicy import KChoice, choose_k, eigengap_k, modules_k
from sculpt.spectral.ncut import ave_in_out, ncut, ncut_terms, partition_from_modules
from sculpt.spectral.relative import RelativeClusterability, p_value, relative_clusterability, z_score
from sculpt.spectral.report import summary
from sculpt.spectral.shuffles import shuffle_blocks

# The training-time tools need torch; load them on first use so scoring stays numpy-only and fast.
_LAZY = {
    "GraphSpectralRegularizer": "gsr", "coactivation_adjacency": "gsr", "fixed_graph_adjacency": "gsr",
    "graph_laplacian": "gsr", "gsr_penalty": "gsr",
    "NeuNcutRegularizer": "neuncut", "neuncut_partition": "neuncut", "relaxed_ncut_loss": "neuncut",
    "ClusterabilityRegularizer": "regularizer", "rayleigh_eigenvalues": "regularizer",
    "relu_rescale_normalize_": "regularizer",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"sculpt.spectral.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'sculpt.spectral' has no attribute {name!r}")


__all__ = [
    "ClusterabilityRegularizer", "GraphSpectralRegularizer", "KChoice", "NeuNcutRegularizer",
    "RelativeClusterability", "SpectralResult", "WeightGraph", "ave_in_out", "channel_blocks",
    "choose_k", "clusterable_factors", "clusterable_init_", "cnn_weight_graph", "coactivation_adjacency",
    "default_n_init", "eigengap_k", "fixed_graph_adjacency", "glorot_uniform", "graph_from_blocks",
    "graph_laplacian", "gsr_penalty", "layer_weights", "modules_k", "ncut", "ncut_terms",
    "neuncut_partition", "p_value", "partition_from_modules", "rayleigh_eigenvalues",
    "relative_clusterability", "relaxed_ncut_loss", "relu_rescale_normalize_", "shuffle_blocks",
    "spectral_clustering", "summary", "weight_graph", "z_score",
]
