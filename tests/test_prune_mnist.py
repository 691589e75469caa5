"""Pruning-engine options added for MNIST-size runs: validation acceptance, dense_epochs, min_step, max_rounds."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from functiongraphs.task import Split, Task
from reference_tasks import reference_task, truth_table
from sculpt.errors import ConfigError, SculptError
from sculpt.prune import HalvingSchedule, prune

SETTINGS = dict(lr=0.05, batch_size=8, epochs=15, progress=False)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _drive(schedule: HalvingSchedule, outcomes: list[bool]) -> list[float]:
    """Scripted accept/reject outcomes for a one-member schedule; returns the proposed targets."""
    seen = []
    for ok in outcomes:
        assert not schedule.done[0]
        pp, trying = schedule.propose()
        seen.append(round(float(pp[0]), 6))
        schedule.update(np.array([ok and bool(trying[0])]))
    return seen


def test_min_step_stops_the_halving_early():
    bounded = HalvingSchedule([5.0], 0.0, p_min=0.01, min_step=1.0)
    seen = _drive(bounded, [True, True, False, False, False, False])
    # 15 fails -> 2.5 -> 1.25 -> 0.625 clamped up to 1.0; the rejected 1.0 step ends the stage
    assert seen == [5.0, 10.0, 15.0, 12.5, 11.25, 11.0]
    assert bounded.done.tolist() == [True] and bounded.prev_pp.tolist() == [10.0]
    paper = HalvingSchedule([5.0], 0.0, p_min=0.01)
    assert _drive(paper, [True, True, False, False, False, False]) == [5.0, 10.0, 15.0, 12.5, 11.25, 10.625]
    assert paper.done.tolist() == [False]


def test_min_step_below_one_unit_is_the_papers_p_min():
    s = HalvingSchedule([10.0], 0.0, p_min=4.0, min_step=0.5)
    assert s.p_min == 4.0


def test_max_rounds_stops_each_member_after_its_rounds():
    s = HalvingSchedule([10.0, 20.0], 0.0, p_min=1.0, max_rounds=3)
    for outcome in ([True, True], [True, False], [False, True]):
        assert not s.done.any()
        s.propose()
        s.update(np.array(outcome))
    assert s.done.tolist() == [True, True]
    assert s.prev_pp.tolist() == [20.0, 30.0]  # member 1: 20 ok, 40 fails, 30 (step 10) ok
    assert s.n_accepted.tolist() == [2, 2] and s.n_rejected.tolist() == [1, 1]


def test_max_rounds_and_min_step_bound_a_real_prune():
    task = reference_task("input-separable")
    net = prune(task, [4, 24, 4], p_u=70, p_e=2.5, seed=0, max_rounds=4, min_step=2.0, **SETTINGS)
    # the unit stage stops after 4 rounds (the 4th is a rejected 105 % target), the edge stage
    # after 4 accepted rounds although it could go on
    assert [(r["p"], r["accepted"]) for r in net.history["unit"]] == [(70.0, False), (35.0, True), (70.0, True),
                                                                      (105.0, False)]
    assert [r["accepted"] for r in net.history["edge"]] == [True] * 4
    assert all(r["step"] >= 2.0 for r in net.history["unit"] + net.history["edge"])
    assert (net.meta["max_rounds"], net.meta["min_step"]) == (4, 2.0)
    assert net.meta["accepted"] and net.meta["accuracy"]["row"] == 100.0


def test_defaults_are_the_papers_run_bit_for_bit():
    task = reference_task("input-separable")
    plain = prune(task, [4, 12, 4], p_u=50, p_e=2.5, seed=3, **SETTINGS)
    explicit = prune(task, [4, 12, 4], p_u=50, p_e=2.5, seed=3, dense_epochs=15, min_step=None,
                     max_rounds=None, **SETTINGS)
    assert all(np.array_equal(a, b) for a, b in zip(plain.masks, explicit.masks))
    assert all(np.array_equal(a, b) for a, b in zip(plain.weights, explicit.weights))
    assert plain.history == explicit.history
    assert plain.meta["dense_epochs"] == 15 and plain.meta["max_rounds"] is None and plain.meta["min_step"] is None


def test_dense_epochs_trains_only_the_dense_network_longer():
    task = reference_task("input-separable")
    net = prune(task, [4, 12, 4], p_u=50, p_e=2.5, seed=3, dense_epochs=40, **SETTINGS)
    assert net.meta["dense_epochs"] == 40 and net.meta["epochs"] == 15
    other = prune(task, [4, 12, 4], p_u=50, p_e=2.5, seed=3, **SETTINGS)
    assert net.history != other.history  # a different dense network (or epoch) starts the stages


def _task_with_wrong_test_labels() -> Task:
    """Validation = the truth table; test = the same rows with every output flipped."""
    X, Y = truth_table("exemplar", [4, 2, 4])
    return Task.from_arrays("flipped-test", Split(X, Y), Split(X, Y), Split(X, 1.0 - Y), noise=0.1)


def test_acceptance_reads_validation_never_test():
    net = prune(_task_with_wrong_test_labels(), [4, 24, 4], p_u=70, p_e=2.5, seed=0, **SETTINGS)
    # with test-split acceptance no step (nor the dense net) could pass a 100 % threshold here
    assert net.meta["accepted"] and net.meta["validation_accuracy"] == 100.0
    assert net.meta["dense_accuracy"] == 100.0 and net.history["dense"]["accuracy"]["row"] == 0.0
    assert net.meta["accuracy"]["row"] == 0.0 and net.meta["accuracy"]["bit"] == 0.0
    assert all(r["accuracy"] == 100.0 for r in net.history["edge"] if r["accepted"])
    assert net.density < 0.2


def test_validation_failure_is_reported_with_validation_accuracy():
    X, Y = truth_table("exemplar", [4, 2, 4])
    task = Task.from_arrays("flipped-validation", Split(X, Y), Split(X, 1.0 - Y), Split(X, Y), noise=0.1)
    with pytest.raises(SculptError, match=r"no network reached the accuracy threshold 100% on task "
                                          r"'flipped-validation' \(dense validation accuracy 43.75%\)"):
        prune(task, [4, 24, 4], p_u=70, p_e=2.5, seed=0, **SETTINGS)


@pytest.mark.parametrize("kwargs, message", [
    (dict(dense_epochs=-1), "dense_epochs must be a non-negative integer or None, got -1"),
    (dict(dense_epochs=2.5), "dense_epochs must be a non-negative integer or None, got 2.5"),
    (dict(max_rounds=0), "max_rounds must be a positive integer or None, got 0"),
    (dict(max_rounds=True), "max_rounds must be a positive integer or None, got True"),
    (dict(min_step=0.0), r"min_step is a percentage in \(0, 100\) or None, got 0.0"),
    (dict(min_step=100), r"min_step is a percentage in \(0, 100\) or None, got 100"),
])
def test_bad_bounds_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        prune(reference_task("input-separable"), [4, 8, 4], p_u=50, p_e=2.5, progress=False, **kwargs)
