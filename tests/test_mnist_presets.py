"""Presets of the MNIST tasks, and the MNIST tasks through the pruning engine (tiny sizes)."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from functiongraphs import mnist
from sculpt import presets
from sculpt.config import RunConfig
from sculpt.errors import ConfigError

from tests.test_mnist_tasks import DATA, N_VAL

ALL = sorted(presets.PRESETS)


def test_every_task_has_a_small_and_a_paper_preset():
    assert ALL == sorted((t, p) for t in mnist.TASKS for p in ("paper", "small"))


@pytest.mark.parametrize("task, name", ALL)
def test_preset_matches_its_task(task, name):
    preset = presets.get(task, name)
    built = mnist.TASKS[task](DATA, pairs_per_class=1, validation_images=N_VAL)
    assert preset.acceptance == built.acceptance
    assert (preset.modularity_threshold, preset.merge_threshold) == (-0.3, 0.6)
    assert preset.noise == 0.0 and preset.lr == 0.001
    assert preset.pairs_per_class > preset.validation_pairs_per_class >= 1 and preset.test_pairs_per_class >= 1
    assert 0 < preset.accuracy_threshold < 100
    # Accepted by the run config and by the pruning driver's signature.
    config = RunConfig.from_dict(preset.run_settings()).resolved()
    assert config.arch == preset.hidden and config.p_u == preset.p_u and config.accuracy_threshold == preset.accuracy_threshold
    from sculpt.prune import prune_grid

    inspect.signature(prune_grid).bind(built, [built.n_inputs, *preset.hidden, built.n_outputs],
                                       seed=0, **preset.prune_kwargs())


def test_paper_presets_are_the_papers_settings():
    two = presets.get("mnist-two-digits", "paper")
    assert (two.hidden, two.batch_size, two.epochs, two.pairs_per_class) == ((784, 784), 256, 40, 800)
    assert two.p_u == tuple(float(p) for p in range(5, 75, 5)) and two.p_e == (2.5, 2.0, 1.5, 1.0, 0.5)
    assert two.seeds == (0, 1, 2, 5)
    hier = presets.get("mnist-hierarchical", "paper")
    assert (hier.hidden, hier.epochs, hier.acceptance) == ((784, 784), 40, "row")


def test_small_two_digit_preset_uses_width_392():
    small = presets.get("mnist-two-digits", "small")
    assert small.hidden == (392, 392) and len(small.p_u) == len(small.p_e) == 1
    assert small.task_kwargs() == {"pairs_per_class": small.pairs_per_class,
                                   "validation_pairs_per_class": small.validation_pairs_per_class,
                                   "test_pairs_per_class": small.test_pairs_per_class, "seed": 0}
    assert small.to_dict()["hidden"] == [392, 392]


def test_unknown_task_or_preset():
    with pytest.raises(ConfigError, match="unknown preset 'huge' for mnist-two-digits; known: paper, small"):
        presets.get("mnist-two-digits", "huge")
    with pytest.raises(ConfigError, match="no presets for task 'xor'; tasks with presets: mnist-halves-diff"):
        presets.get("xor", "small")


def test_prune_runs_on_a_tiny_two_digit_task():
    from sculpt.prune import prune

    preset = presets.get("mnist-two-digits", "small")
    task = mnist.two_digits(DATA, pairs_per_class=1, validation_images=N_VAL, seed=0)
    net = prune(task, [1568, 8, 8, 20], p_u=preset.p_u[0], p_e=preset.p_e[0], seed=0, lr=preset.lr,
                batch_size=64, epochs=1, accuracy_threshold=0.0, unit_score_batch_size=32, progress=False)
    assert [m.shape for m in net.masks] == [(8, 1568), (8, 8), (20, 8)]
    assert net.meta["acceptance"] == "block" and set(net.meta["accuracy"]) >= {"bit", "row", "block"}
    assert 0 < net.meta["density"] < 1
