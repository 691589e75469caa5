"""Figure 13b criteria of the MNIST hierarchical task, on tiny hand-built mask networks.

Eight 'pixels' (left image 0-3, right image 4-7) and three XOR output bits; each network is
built so that the structure detection finds is known (its module ids are asserted too).
"""
from __future__ import annotations

import numpy as np

from functiongraphs.structure_types import Structure
from sculpt import score
from sculpt.detect import detect_modules

LEFT, RIGHT = tuple(range(4)), tuple(range(4, 8))
INPUTS, OUTPUTS = (LEFT, RIGHT), ((0,), (1,), (2,))
# Hidden units 0-2 read the left image, 3-5 the right one; output-module units pair one of each.
PAIRS = [(0, 3), (0, 3), (1, 4), (1, 4), (2, 5), (2, 5)]
TO_OUTPUTS = [(0, 1), (2, 3), (4, 5)]
STRUCTURE = Structure(n_inputs=8, n_outputs=3, input_groups=INPUTS, output_groups=OUTPUTS,
                      output_support_groups=((0, 1, 2),), levels={}, subfunctions={})


def layer(rows, n_in):
    mask = np.zeros((len(rows), n_in), dtype=bool)
    for unit, ins in enumerate(rows):
        mask[unit, list(ins)] = True
    return mask


def detect(masks):
    return detect_modules(masks, modularity_threshold=-0.3, merge_threshold=0.6)


def bars(detection):
    return (score.hierarchical_mnist_input_separability(detection, INPUTS),
            score.hierarchical_mnist_output_modules(detection, OUTPUTS),
            score.hierarchical_mnist_middle_separability(detection, INPUTS, OUTPUTS))


def test_the_exact_hierarchy_passes_all_three_bars():
    # inputs -> two encoders (left 0-2, right 3-5) -> three XOR modules -> three outputs
    masks = [layer([LEFT] * 3 + [RIGHT] * 3, 8), layer([range(3)] * 3 + [range(3, 6)] * 3, 6),
             layer(PAIRS, 6), layer(TO_OUTPUTS, 6)]
    d = detect(masks)
    assert d.num_modules == 5
    assert [list(r.labels_after_merge) for r in d.layers[1:3]] == [[1, 1, 1, 0, 0, 0], [2, 3, 4, 2, 3, 4]]
    assert bars(d) == (True, True, True)


def test_a_middle_layer_in_one_module_fails_middle_separability_only():
    # Fig. 33's deep networks: both images and all three outputs found, the middle layer one block
    masks = [layer([LEFT] * 3 + [RIGHT] * 3, 8), layer([range(6)] * 6, 6), layer(TO_OUTPUTS, 6)]
    d = detect(masks)
    assert list(d.layers[1].labels_after_merge) == [2] * 6 and d.num_modules == 6
    assert bars(d) == (True, True, False)


def test_pixels_in_one_module_fail_input_and_middle_separability():
    # Fig. 33's shallow networks: every first-layer unit sees both images
    masks = [layer([range(8)] * 6, 8), layer([(0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5), (0, 1, 4, 5),
                                             (1, 2, 3, 5), (0, 2, 3, 4)], 6), layer(TO_OUTPUTS, 6)]
    d = detect(masks)
    assert set(d.layers[0].labels_after_merge) == {0}
    assert bars(d) == (False, True, False)


def test_outputs_sharing_a_module_fail_the_output_bar():
    merged = {"layers": [{"units": list(range(8)), "labels_after_merge": [0] * 4 + [1] * 4},
                         {"units": [0, 1], "labels_after_merge": [0, 1]},
                         {"units": [0, 1, 2], "labels_after_merge": [2, 2, 3]}], "num_modules": 4}
    assert bars(merged) == (True, False, False)


def test_pruned_pixels_are_ignored_but_an_image_must_keep_one():
    kept = {"layers": [{"units": [1, 2, 5], "labels_after_merge": [0, 0, 1]},
                       {"units": [0, 1], "labels_after_merge": [0, 1]},
                       {"units": [0, 1, 2], "labels_after_merge": [2, 3, 4]}], "num_modules": 5}
    assert bars(kept) == (True, True, True)
    no_right = {"layers": [{"units": [1, 2], "labels_after_merge": [0, 0]}] + kept["layers"][1:],
                "num_modules": 4}
    assert bars(no_right) == (False, True, False)
    stray = {"layers": kept["layers"][:1] + [{"units": [0, 1], "labels_after_merge": [0, 7]}] + kept["layers"][2:],
             "num_modules": 6}
    assert bars(stray) == (True, True, False)  # hidden unit 1 in a module that is neither


def test_registered_as_the_tasks_named_criteria():
    masks = [layer([LEFT] * 3 + [RIGHT] * 3, 8), layer([range(6)] * 6, 6), layer(TO_OUTPUTS, 6)]
    criteria = score.compare(detect(masks), STRUCTURE, name="mnist-hierarchical", hidden_layers=2)["criteria"]
    assert criteria == {"fig13b_input_separability": True, "fig13b_output_modules": True,
                        "fig13b_middle_separability": False}
    assert set(criteria) == set(score.FIG13B_CRITERIA) <= set(score.CRITERIA)
