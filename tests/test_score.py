"""Success criteria (spec 5.8) and graded scores of sculpt.score."""
from __future__ import annotations

import pytest

from functiongraphs.structure_types import Structure
from sculpt import score
from sculpt.detect import detect_modules


def fake(layers: list[dict[int, int]], num_modules: int | None = None, edges=None) -> dict:
    """A detection in reference-record form from {unit: module} per layer (and, given
    ``edges`` as (source, target) module pairs, its hierarchy)."""
    recs = [{"units": sorted(l), "labels_after_merge": [l[u] for u in sorted(l)]} for l in layers]
    ids = {m for l in layers for m in l.values()}
    out = {"layers": recs, "num_modules": len(ids) if num_modules is None else num_modules,
           "modules": [{"id": i} for i in sorted(ids)]}
    if edges is not None:
        out["hierarchy"] = {"edges": [{"source": a, "target": b, "edges": 1} for a, b in edges]}
    return out


SEPARABLE = fake([{0: 0, 1: 0, 2: 1, 3: 1}, {5: 0, 9: 1}, {0: 0, 1: 0, 2: 1, 3: 1}])


def test_input_separable_success_needs_outputs_in_their_inputs_module():
    groups = [[0, 1], [2, 3]]
    assert score.input_separable_success(SEPARABLE, groups, groups)
    swapped = fake([{0: 0, 1: 0, 2: 1, 3: 1}, {5: 0, 9: 1}, {0: 1, 1: 1, 2: 0, 3: 0}])
    assert not score.input_separable_success(swapped, groups, groups)
    three = fake([{0: 0, 1: 0, 2: 1, 3: 1}, {5: 2, 9: 1}, {0: 0, 1: 0, 2: 1, 3: 1}])
    assert not score.input_separable_success(three, groups, groups)


def test_groups_must_survive_and_be_distinct():
    removed = fake([{0: 0, 2: 1, 3: 1}, {5: 0}, {0: 0}])
    assert score.group_module(removed, 0, [0, 1]) is None
    assert not score.inputs_split(removed, [[0, 1], [2, 3]])
    merged = fake([{0: 0, 1: 0, 2: 0, 3: 0}, {5: 0}, {0: 0}])
    assert not score.inputs_split(merged, [[0, 1], [2, 3]])
    assert score.inputs_split(merged, [[0, 1, 2, 3]])


def test_reused_and_overlap_criteria():
    even_odd = [[0, 2], [1, 3]]
    reused = fake([{0: 0, 1: 0, 2: 0, 3: 0}, {4: 1, 7: 2}, {0: 1, 1: 2, 2: 1, 3: 2}])
    assert score.reused_success(reused, even_odd)
    assert not score.reused_success(reused, even_odd, n_modules=5)
    assert score.overlap_output_subfunctions(reused, even_odd)
    # the input-layer module 0 is not one of the output modules
    assert score.overlap_hidden_separability(reused, even_odd)
    stray = fake([{0: 0, 1: 0}, {4: 1, 7: 0}, {0: 1, 1: 2}])
    assert not score.overlap_hidden_separability(stray, [[0], [1]])
    assert score.non_modular_success(fake([{0: 0}, {1: 0}, {0: 0}]))


def test_hierarchical_exact_depends_on_depth():
    inputs, outputs = [[0, 1], [2, 3]], [[0], [1]]
    three = fake([{0: 0, 1: 0, 2: 1, 3: 1}, {1: 2}, {0: 2, 1: 2}])
    assert score.hierarchical_exact(three, inputs, outputs, hidden_layers=2)
    assert not score.hierarchical_exact(three, inputs, outputs, hidden_layers=3)
    five = fake([{0: 0, 1: 0, 2: 1, 3: 1}, {1: 2}, {0: 3, 1: 4}])
    assert score.hierarchical_exact(five, inputs, outputs, hidden_layers=3)


def test_criteria_accept_reference_records_and_detections_alike(reference_dir, exemplar_detections):
    ref = exemplar_detections["net0000"]
    groups = [[0, 1], [2, 3]]
    assert score.input_separable_success(ref, groups, groups)
    from sculpt.reference import load_network

    d = detect_modules(load_network("net0000", reference_dir).masks)
    assert score.input_separable_success(d, groups, groups)
    assert score.unit_modules(d, 0) == score.unit_modules(ref, 0) == {0: 1, 1: 1, 2: 0, 3: 0}


def test_compare_graded_scores():
    structure = Structure(n_inputs=4, n_outputs=4, input_groups=((0, 1), (2, 3)),
                          output_groups=((0,), (1,), (2,), (3,)),
                          output_support_groups=((0, 1), (2, 3)))
    out = score.compare(SEPARABLE, structure, name="input-separable", expected_modules=2)
    assert out["input_ari"] == pytest.approx(1.0)
    assert out["output_ari"] == pytest.approx(0.0)  # 4 singleton functions vs 2 output modules
    assert out["output_support_ari"] == pytest.approx(1.0)  # outputs {0,1} / {2,3} by input support
    assert out["inputs_split"] and not out["outputs_split"]
    assert out["num_modules"] == 2 and out["module_count_error"] == 0
    assert out["criteria"] == {"input_separable_success": True}
    one = fake([{0: 0, 1: 0, 2: 0, 3: 0}, {1: 0}, {0: 0, 1: 0, 2: 0, 3: 0}])
    out = score.compare(one, structure, name="input-separable", expected_modules=2)
    assert out["input_ari"] == pytest.approx(0.0) and out["module_count_error"] == -1
    assert out["criteria"] == {"input_separable_success": False}


def test_compare_names_the_criteria_of_each_catalog_family():
    s = Structure(n_inputs=4, n_outputs=4, input_groups=((0, 1, 2, 3),),
                  output_groups=((0, 2), (1, 3)), output_support_groups=((0, 1, 2, 3),))
    reused = fake([{0: 0, 1: 0, 2: 0, 3: 0}, {4: 1, 7: 2}, {0: 1, 1: 2, 2: 1, 3: 2}], edges=[(0, 1), (0, 2)])
    assert score.compare(reused, s, name="reuse-use2")["criteria"] == {"reused_success": True}
    assert score.compare(reused, s, name="reuse-use2", hidden_layers=1)["criteria"] == {
        "reused_success": True, "reused_depth_success": False}
    assert set(score.compare(reused, s, name="overlap4-use2")["criteria"]) == {
        "overlap_input_separability", "overlap_output_subfunctions", "overlap_hidden_separability"}
    assert score.compare(reused, s, name="hierarchical-use2", hidden_layers=2)["criteria"] == {
        "hierarchical_exact": True, "hierarchical_intermediate": False}  # 1 input group, 3 modules; 2 successors
    assert score.compare(reused, s)["criteria"] == {}
    for name in ("input-separable", "reused", "separable-reused", "non-modular", "overlap1-use4",
                 "hierarchical-use8"):
        assert set(score.compare(reused, s, name=name, hidden_layers=3)["criteria"]) <= set(score.CRITERIA)


def test_two_digits_success_ignores_pruned_pixels_but_needs_each_image_in_its_output_half():
    pixels = [[0, 1, 2, 3], [4, 5, 6, 7]]      # left image, right image
    halves = [[0, 1], [2, 3]]                  # left digit's outputs, right digit's outputs
    # pixels 0 and 7 were pruned away: they are not in any module
    good = fake([{1: 0, 2: 0, 3: 0, 4: 1, 5: 1, 6: 1}, {10: 0, 11: 1}, {0: 0, 1: 0, 2: 1, 3: 1}])
    assert score.two_digits_success(good, pixels, halves)
    assert score.surviving_groups_split(good, 0, pixels)
    assert not score.inputs_split(good, pixels)  # the strict Boolean criterion counts pruned pixels
    crossed = fake([{1: 0, 2: 0, 3: 0, 4: 1, 5: 1, 6: 1}, {10: 0, 11: 1}, {0: 1, 1: 1, 2: 0, 3: 0}])
    assert not score.two_digits_success(crossed, pixels, halves)
    mixed = fake([{1: 0, 2: 1, 3: 0, 4: 1, 5: 1, 6: 1}, {10: 0, 11: 1}, {0: 0, 1: 0, 2: 1, 3: 1}])
    assert not score.two_digits_success(mixed, pixels, halves)
    all_pruned = fake([{4: 1, 5: 1}, {11: 1}, {0: 1, 1: 1, 2: 1, 3: 1}])
    assert not score.two_digits_success(all_pruned, pixels, halves)


def test_reused_depth_success_is_one_module_at_one_hidden_layer():
    even_odd = [[0, 2], [1, 3]]
    single = fake([{0: 0, 1: 0, 2: 0, 3: 0}, {4: 0, 7: 0}, {0: 0, 1: 0, 2: 0, 3: 0}])
    three = fake([{0: 0, 1: 0, 2: 0, 3: 0}, {4: 1, 7: 2}, {0: 1, 1: 2, 2: 1, 3: 2}])
    assert score.reused_depth_success(single, even_odd, hidden_layers=1)
    assert not score.reused_depth_success(three, even_odd, hidden_layers=1)
    assert score.reused_depth_success(three, even_odd, hidden_layers=2)
    assert not score.reused_depth_success(single, even_odd, hidden_layers=2)


def test_single_intermediate_module_from_the_hierarchy():
    inputs = [[0, 1], [2, 3]]
    layers = [{0: 0, 1: 0, 2: 1, 3: 1}, {5: 2, 6: 2}, {0: 3, 1: 4}]
    # A, B -> M -> two output modules: the intermediate module is found
    assert score.single_intermediate_module(fake(layers, edges=[(0, 2), (1, 2), (2, 3), (2, 4)]), inputs)
    # M merged with the outputs (fewer hidden layers than levels) still counts
    merged = fake([{0: 0, 1: 0, 2: 1, 3: 1}, {5: 2, 6: 2}, {0: 2, 1: 2}], edges=[(0, 2), (1, 2)])
    assert score.single_intermediate_module(merged, inputs)
    # A and B feed different modules
    assert not score.single_intermediate_module(fake(layers, edges=[(0, 2), (1, 3), (2, 4)]), inputs)
    # A feeds B (an input module) as well as M
    assert not score.single_intermediate_module(fake(layers, edges=[(0, 1), (0, 2), (1, 2)]), inputs)
    # the input groups are not split
    joined = fake([{0: 0, 1: 0, 2: 0, 3: 0}, {5: 2}, {0: 3, 1: 4}], edges=[(0, 2), (2, 3), (2, 4)])
    assert not score.single_intermediate_module(joined, inputs)
    with pytest.raises(score.SculptError, match="no 'hierarchy'"):
        score.single_intermediate_module(fake(layers), inputs)


def test_single_intermediate_module_on_a_detection_object():
    import numpy as np

    # 4 inputs -> 2 + 2 hidden (separate) -> 1 hidden unit fed by both -> 2 outputs
    masks = [np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=bool),
             np.array([[1, 1, 1, 1]], dtype=bool), np.array([[1], [1]], dtype=bool)]
    detection = detect_modules(masks)
    as_dict = detection.to_dict()
    assert score.single_intermediate_module(detection, [[0, 1], [2, 3]]) == \
        score.single_intermediate_module(as_dict, [[0, 1], [2, 3]])
