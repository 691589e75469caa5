"""detect_modules end to end: edge cases, inputs it accepts, the Detection it returns."""
from __future__ import annotations

import json

import numpy as np
import pytest

from sculpt.adapters import as_masks
from sculpt.detect import Detection, Hierarchy, detect_modules
from sculpt.errors import ConfigError, SculptError


def two_blocks(width: int = 4) -> list[np.ndarray]:
    """[4, 2w, 4]: inputs 0,1 -> hidden 0..w-1 -> outputs 0,1; inputs 2,3 -> the rest -> 2,3."""
    m0 = np.zeros((2 * width, 4), bool)
    m0[:width, :2] = True
    m0[width:, 2:] = True
    m1 = np.zeros((4, 2 * width), bool)
    m1[:2, :width] = True
    m1[2:, width:] = True
    return [m0, m1]


def test_two_separable_blocks_give_two_modules():
    d = detect_modules(two_blocks())
    assert isinstance(d, Detection) and isinstance(d.hierarchy, Hierarchy)
    assert d.k_per_layer == [2, 2]
    assert [dict(m) for m in d.modules] == [
        {0: (2, 3), 1: (4, 5, 6, 7), 2: (2, 3)}, {0: (0, 1), 1: (0, 1, 2, 3), 2: (0, 1)}]
    assert [m.id for m in d.modules] == [0, 1]
    assert d.module_of(0, 3) == 0 and d.module_of(2, 0) == 1
    assert d.hierarchy.graph.number_of_edges() == 0
    assert d.hierarchy.levels == [[0, 1]]


def test_all_dense_network_is_one_module():
    masks = [np.ones((6, 4), bool), np.ones((6, 6), bool), np.ones((3, 6), bool)]
    d = detect_modules(masks)
    assert d.condensed_arch == [4, 6, 6, 3]
    assert d.k_per_layer == [1, 1, 1]
    assert d.num_modules == 1 and d.modules[0].layer_span == (0, 3)
    layer0 = d.layers[0]
    # pdist gives 1.1e-16 instead of 0 between identical vectors (1 - 15 / (sqrt 15)^2); the
    # paper's code normalises that noise like any distance, so every pair is equally far apart
    assert [v for _, v in layer0.modularity_by_k] == [-0.125, -0.20833333]
    assert layer0.k_by_modularity == 3 and layer0.single_cluster_test.k == 1
    assert layer0.all_separate_test.k is None and layer0.separability_override_used


def test_layer_with_one_surviving_unit():
    # bottleneck: 3 inputs -> 1 hidden unit (of 4) -> 2 outputs
    m0 = np.zeros((4, 3), bool)
    m0[2] = True
    m1 = np.zeros((2, 4), bool)
    m1[:, 2] = True
    d = detect_modules([m0, m1])
    assert d.surviving_units == [(0, 1, 2), (2,), (0, 1)]
    assert d.layers[1].k == 1 and d.layers[1].all_separate_test is None
    assert d.layers[1].labels_before_merge == (0,)
    assert d.num_modules == 1


def test_layer_with_two_surviving_units():
    # each hidden unit reads all inputs and feeds its own output: the pair is separable
    m0 = np.zeros((5, 2), bool)
    m0[[1, 3]] = True
    m1 = np.zeros((2, 5), bool)
    m1[0, 1] = m1[1, 3] = True
    d = detect_modules([m0, m1])
    layer = d.layers[1]
    assert layer.units == (1, 3) and layer.modularity_by_k == ()
    assert layer.k_by_modularity == 1 and layer.all_separate_test.k == 2 and layer.k == 2
    # both inputs reach both hidden units, so the input layer is one cluster
    assert d.k_per_layer == [1, 2]
    assert d.num_modules == 3


def test_disconnected_output_unit_is_its_own_module():
    masks = two_blocks()
    masks[1][3] = False  # output 3 loses every incoming edge but is never removed
    d = detect_modules(masks)
    assert d.surviving_units[2] == (0, 1, 2, 3)
    out_modules = [d.module_of(2, o) for o in range(4)]
    assert out_modules[0] == out_modules[1] != out_modules[2] != out_modules[3]
    assert dict(d.modules[out_modules[3]]) == {2: (3,)}


def test_fully_disconnected_layer_and_empty_network_raise():
    masks = two_blocks()
    masks[1][:] = False
    with pytest.raises(SculptError, match="weight layer 1 .* has no edges left"):
        detect_modules(masks)
    with pytest.raises(SculptError, match="no edges left"):
        detect_modules([np.zeros((3, 2), bool), np.zeros((1, 3), bool)])
    with pytest.raises(SculptError, match="cannot read masks from a list"):
        detect_modules([])


@pytest.mark.parametrize("kwargs, message", [
    ({"feature_step_size": 0}, "feature_step_size must be a positive integer"),
    ({"clusterability_step_size": 1.5}, "clusterability_step_size must be a positive integer"),
    ({"merge_threshold": 1.5}, r"merge_threshold must be a number in \[0, 1\]"),
    ({"modularity_threshold": float("nan")}, "modularity_threshold must be a finite number"),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        detect_modules(two_blocks(), **kwargs)


def test_to_dict_is_json_ready_and_shaped_like_the_reference():
    d = detect_modules(two_blocks())
    data = json.loads(json.dumps(d.to_dict()))
    assert data["condensed_arch"] == [4, 8, 4] and data["num_modules"] == 2
    assert data["modules"][0] == {"id": 0, "units": {"0": [2, 3], "1": [4, 5, 6, 7], "2": [2, 3]}}
    assert data["layers"][2] == {"layer": 2, "units": [0, 1, 2, 3], "labels_before_merge": [0, 1, 2, 3],
                                 "labels_after_merge": [1, 1, 0, 0], "k": 4, "output_layer": True}
    assert set(data["layers"][0]) >= {"modularity_by_k", "all_separate_test", "single_cluster_test",
                                      "k_by_modularity", "separability_override_considered"}


def test_deterministic():
    a = detect_modules(two_blocks(6)).to_dict()
    b = detect_modules(two_blocks(6)).to_dict()
    assert a == b


class _HasMasks:
    def __init__(self, masks):
        self.masks = masks


def test_adapter_accepts_lists_objects_with_masks_and_float_masks():
    masks = two_blocks()
    expected = detect_modules(masks).to_dict()
    assert detect_modules(_HasMasks(masks)).to_dict() == expected
    assert detect_modules([m.astype(np.float32) for m in masks]).to_dict() == expected
    with pytest.raises(SculptError, match="cannot read masks from a dict"):
        as_masks({"mask0": masks[0]})


def test_adapter_reads_torch_sequential_with_and_without_prune_masks():
    torch = pytest.importorskip("torch")
    from torch.nn.utils import prune

    masks = two_blocks()
    expected = detect_modules(masks).to_dict()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4),
                                torch.nn.Sigmoid())
    for layer, mask in zip((model[0], model[2]), masks):
        prune.custom_from_mask(layer, "weight", torch.from_numpy(mask))
    assert detect_modules(model).to_dict() == expected
    for layer in (model[0], model[2]):
        prune.remove(layer, "weight")  # weights keep the zeros, the mask buffers are gone
    assert not hasattr(model[0], "weight_mask")
    assert detect_modules(model).to_dict() == expected
    with pytest.raises(SculptError, match=r"layer 1 \(BatchNorm1d\) is not a Linear layer"):
        detect_modules(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8)))


def test_detection_loads_back_from_its_dict():
    masks = two_blocks(5)
    masks[0][0, 2] = True  # one edge across the blocks: a hierarchy edge and separability records
    d = detect_modules(masks)
    data = json.loads(json.dumps(d.to_dict()))
    back = Detection.from_dict(data)
    assert back.to_dict() == d.to_dict()
    assert back.arch == [4, 10, 4] and back.modules == d.modules and back.layers == d.layers
    assert back.module_of(0, 3) == d.module_of(0, 3)
    with pytest.raises(SculptError, match="not a detection record: KeyError: 'modules'"):
        Detection.from_dict({k: v for k, v in data.items() if k != "modules"})
    with pytest.raises(SculptError, match="a detection record is a JSON object, got list"):
        Detection.from_dict([data])


def test_hierarchy_graph_is_written_to_graphml_and_read_back(tmp_path):
    import networkx as nx

    masks = two_blocks(5)
    masks[1][0, 7] = True  # module 0 feeds an output of module 1
    h = detect_modules(masks).hierarchy
    path = tmp_path / "hierarchy.graphml"
    nx.write_graphml(h.graph, path)
    back = nx.read_graphml(path, node_type=int)
    assert dict(back.nodes(data=True)) == dict(h.graph.nodes(data=True))
    assert sorted(back.edges(data=True)) == sorted(h.graph.edges(data=True))
    assert Hierarchy.from_dict(h.to_dict()).to_dict() == h.to_dict()


def test_reprs_are_short_summaries():
    from sculpt.nets import PrunedNet
    from sculpt.spectral import weight_graph

    masks = [np.ones((300, 200), bool), np.ones((2, 300), bool)]
    net = PrunedNet.from_arrays(masks, meta={"task": "t", "p_u": 5.0})
    assert repr(net) == "PrunedNet(arch=[200, 300, 2], density=1.0000, task='t', p_u=5.0)"
    assert repr(weight_graph(net)) == ("WeightGraph(n_nodes=502, n_edges=60600, layer_sizes=(200, 300, 2), "
                                       "dead='degree0', n_dropped=0, n_components=1)")
    d = detect_modules(two_blocks())
    assert repr(d) == "Detection(arch=[4, 8, 4], condensed_arch=[4, 8, 4], k_per_layer=[2, 2], num_modules=2)"
    assert repr(d.hierarchy) == "Hierarchy(modules=2, edges=0, levels=[[0, 1]])"
