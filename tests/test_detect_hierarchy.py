"""The module hierarchy (sculpt.detect.Hierarchy) on the paper's own networks."""
from __future__ import annotations

import json

import networkx as nx

from sculpt.detect import detect_modules
from sculpt.detect.hierarchy import build_hierarchy
from sculpt.reference import load_network


def test_hierarchical_task_recovers_two_inputs_one_shared_intermediate_two_outputs(reference_dir):
    # hierarchical [8,2,1,2,4], 3 hidden layers: A(x0..x3), B(x4..x7) -> one function of (A, B)
    # -> f1 (even outputs), f2 (odd outputs)
    d = detect_modules(load_network("net0320", reference_dir).masks)
    h = d.hierarchy
    assert sorted(h.graph.edges(data="edges")) == [(0, 2, 3), (1, 2, 2), (2, 3, 2), (2, 4, 2)]
    assert h.levels == [[0, 1], [2], [3, 4]]
    assert h.input_modules == (0, 1) and h.output_modules == (3, 4) and h.reused_modules == (2,)
    assert h.graph.nodes[3] == {"units": "{\"3\": [9], \"4\": [0, 2]}", "first_layer": 3, "last_layer": 4, "size": 3}
    assert h.level_of(2) == 1
    data = json.loads(h.to_json())
    assert data["modules"][0] == {"id": 0, "units": {"0": [0, 1, 2, 3], "1": [4, 7, 19]},
                                  "layer_span": [0, 1]}
    assert data["edges"][0] == {"source": 0, "target": 2, "edges": 3}
    assert data == d.to_dict()["hierarchy"]


def test_edge_counts_add_up_to_the_edges_between_modules(reference_dir):
    net = load_network("net0320", reference_dir)
    d = detect_modules(net.masks)
    total_between = 0
    for layer, mask in enumerate(net.masks):
        for j, i in zip(*mask.nonzero()):
            a, b = d.module_of(layer, int(i)), d.module_of(layer + 1, int(j))
            if a is not None and b is not None and a != b:
                total_between += 1
    assert sum(c for _, _, c in d.hierarchy.graph.edges(data="edges")) == total_between


def test_levels_survive_a_feedback_cycle():
    import numpy as np

    from sculpt.detect.detection import Module

    # module 0 = layers 0 and 2, module 1 = layer 1: edges 0 -> 1 and 1 -> 0
    modules = [Module(0, {0: (0,), 2: (0,)}), Module(1, {1: (0,)})]
    merged = [np.array([0]), np.array([1]), np.array([0])]
    masks = [np.ones((1, 1), bool), np.ones((1, 1), bool)]
    h = build_hierarchy(modules, merged, masks)
    assert not nx.is_directed_acyclic_graph(h.graph)
    assert h.levels == [[0, 1]]
