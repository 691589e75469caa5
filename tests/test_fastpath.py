"""The hand-written backward and packed trials: bit-identical to autograd and to trials run alone."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reference_tasks import reference_task
from sculpt import fastpath
from sculpt.errors import ConfigError
from sculpt.nets import MaskedMLP
from sculpt.prune import prune_grid
from sculpt.prune.grid import prune_grids
from sculpt.prune.unit import unit_scores
from sculpt.train import member_segments, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _masked_model(arch, members, seed=0):
    model = MaskedMLP(arch, members=members, seed=seed)
    gen = torch.Generator().manual_seed(seed + 100)
    model.set_weight_masks([torch.rand(w.shape, generator=gen) > 0.4 for w in model.weights])
    return model


def _autograd_grads(model, x, y, weight=None):
    loss = F.binary_cross_entropy_with_logits(model(x), y, reduction="none").mean(dim=(1, 2))
    if weight is not None:
        loss = loss * weight
    return torch.autograd.grad(loss.sum(), model.parameters())


@pytest.mark.parametrize("arch", [[4, 6, 3], [4, 24, 24, 16], [8, 36, 36, 36, 4]])
@pytest.mark.parametrize("weighted", [False, True])
def test_hand_written_gradients_equal_autograd_bit_for_bit(arch, weighted):
    model = _masked_model(arch, members=5)
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(5, 8, arch[0], generator=gen)
    y = (torch.rand(5, 8, arch[-1], generator=gen) > 0.5).float()
    weight = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0]) if weighted else None
    mine = fastpath.BCEReLUStep(model, weight)(x, y)
    ref = _autograd_grads(model, x, y, weight)
    assert len(mine) == len(ref) == 2 * (len(arch) - 1)
    for a, b in zip(mine, ref):
        assert a.shape == b.shape and torch.equal(a, b)


def test_hand_written_unit_scores_equal_autograd(monkeypatch):
    task = reference_task("input-separable")
    model = _masked_model([4, 12, 12, 4], members=3)
    X = torch.as_tensor(task.validation.X, dtype=torch.float32)
    Y = torch.as_tensor(task.validation.Y, dtype=torch.float32)
    fast = unit_scores(model, X, Y)
    monkeypatch.setattr(fastpath, "applies", lambda *args, **kwargs: False)
    slow = unit_scores(model, X, Y)
    assert fast.shape == (3, 24) and torch.equal(fast, slow)


def test_training_is_identical_with_and_without_the_fast_path(monkeypatch):
    task = reference_task("input-separable")
    runs = []
    for use_fast in (True, False):
        if not use_fast:
            monkeypatch.setattr(fastpath, "applies", lambda *args, **kwargs: False)
        model = _masked_model([4, 10, 10, 4], members=3)
        result = train(model, task, lr=0.05, batch_size=8, epochs=6, generator=torch.Generator().manual_seed(3),
                       active=torch.tensor([True, False, True]))
        runs.append((result, [p.detach().clone() for p in model.parameters()]))
    (r1, p1), (r2, p2) = runs
    assert all(torch.equal(a, b) for a, b in zip(p1, p2))
    np.testing.assert_array_equal(r1.curves["val_loss"], r2.curves["val_loss"])
    np.testing.assert_array_equal(r1.best_epoch, r2.best_epoch)


def test_fast_path_only_covers_relu_bce_without_regulariser():
    model = MaskedMLP([4, 3, 2])
    assert fastpath.applies(model, None)
    assert not fastpath.applies(model, object())
    assert not fastpath.applies(model, None, loss=object())
    model.activations = [torch.tanh]
    assert not fastpath.applies(model, None)


def test_member_segments_checks_the_sizes():
    assert member_segments(5, None) == [(0, 5)]
    assert member_segments(5, [2, 3]) == [(0, 2), (2, 5)]
    with pytest.raises(ConfigError, match="summing to the stack's 5 members"):
        member_segments(5, [2, 2])


def test_packed_trials_train_like_trials_alone():
    task = reference_task("input-separable")
    seeds, lrs = [0, 4], [0.05, 0.1]
    alone = []
    for seed, lr in zip(seeds, lrs):
        model = MaskedMLP([4, 8, 4], members=2, seed=[seed, seed + 1])
        train(model, task, lr=lr, batch_size=8, epochs=4, generator=torch.Generator().manual_seed(seed))
        alone.append(model)
    packed = MaskedMLP([4, 8, 4], members=4, seed=[0, 1, 4, 5])
    train(packed, task, lr=lrs, batch_size=8, epochs=4, segments=[2, 2],
          generator=[torch.Generator().manual_seed(s) for s in seeds])
    for k, model in enumerate(alone):
        for a, b in zip(model.parameters(), packed.parameters()):
            assert torch.equal(a[:], b[2 * k:2 * k + 2])


def _digest(net):
    if isinstance(net, Exception):
        return str(net)
    return (json.dumps(net.history, sort_keys=True), json.dumps(net.meta, sort_keys=True),
            [m.tobytes() for m in net.masks], [w.tobytes() for w in net.weights], [b.tobytes() for b in net.biases])


def test_a_trial_is_bit_identical_alone_and_packed_with_others():
    task = reference_task("input-separable")
    cell = dict(p_u=(30.0, 60.0), p_e=(2.5, 1.0), batch_size=8, epochs=15, progress=False)
    seeds, lrs = [0, 1, 5], [0.05, 0.1, 0.05]
    packed = prune_grids(task, [4, 12, 12, 4], seeds, lrs, **cell)
    assert sum(isinstance(net, Exception) for net in packed) == 0
    for seed, lr, net in zip(seeds, lrs, packed):
        alone = prune_grid(task, [4, 12, 12, 4], seed=seed, lr=lr, **cell)
        assert _digest(alone) == _digest(net)
    # and packed in another order, next to other trials
    again = prune_grids(task, [4, 12, 12, 4], [5, 0], [0.05, 0.05], **cell)
    assert _digest(again[0]) == _digest(packed[2]) and _digest(again[1]) == _digest(packed[0])


def test_prune_grids_refuses_mismatched_settings():
    task = reference_task("input-separable")
    with pytest.raises(ConfigError, match="one learning rate per seed"):
        prune_grids(task, [4, 6, 4], [0, 1], [0.05])
    with pytest.raises(ConfigError, match="members_per_stack"):
        prune_grids(task, [4, 6, 4], [0, 1], 0.05, members_per_stack=2)


def test_grid_records_are_identical_packed_and_one_trial_at_a_time(tmp_path, monkeypatch):
    from sculpt.experiments import runner
    from sculpt.experiments.config import expand_experiment
    from sculpt.experiments.records import read_records

    doc = {"name": "pack", "kind": "sculpt", "figure": "fig7",
           "defaults": {"p_u": [40.0, 70.0], "p_e": [2.5], "graph": "input-separable", "arch": [12],
                        "batch_size": 8, "epochs": 15},
           "grid": {"seed": [0, 1, 2], "lr": [0.05, 0.1]}}
    exp = expand_experiment(doc)
    packs = runner.pack_trials(list(exp.trials), jobs=1)
    assert [len(p) for p in packs] == [6]  # one stack: same task, arch, schedule; seeds and lr differ
    packed = run_grid_records(runner, exp, tmp_path / "packed", read_records)
    monkeypatch.setattr(runner, "PACK_MAX_FLOATS", 1)  # memory bound of one trial per stack
    assert [len(p) for p in runner.pack_trials(list(exp.trials), jobs=1)] == [1] * 6
    alone = run_grid_records(runner, exp, tmp_path / "alone", read_records)
    assert len(packed) == 6 and all(r["status"] == "ok" for r in packed)
    assert {r["timings"]["packed_trials"] for r in packed} == {6}
    strip = lambda records: sorted(({k: v for k, v in r.items() if k not in ("timings", "provenance")}
                                    for r in records),
                                   key=lambda r: r["trial_id"])
    assert strip(packed) == strip(alone)
    # resume after a finished run: nothing runs twice
    again = runner.run_grid(exp, backend="serial", out=tmp_path / "packed", resume=True, progress=False)
    assert (again.ran, again.skipped, again.remaining) == (0, 6, 0)


def run_grid_records(runner, exp, out, read_records):
    result = runner.run_grid(exp, backend="serial", out=out, progress=False)
    return read_records(result.records_path).records


def test_packs_balance_workers_and_keep_unpackable_trials_apart():
    from sculpt.experiments import runner
    from sculpt.experiments.config import expand_experiment

    doc = {"name": "mix", "kind": "sculpt", "defaults": {"p_u": [40.0], "p_e": [2.5], "batch_size": 8, "epochs": 5},
           "grid": {"seed": [0, 1, 2, 5]},
           "cells": [{"graph": "input-separable", "arch": [12], "lr": 0.05},
                     {"graph": "reused", "arch": [24, 24], "lr": 0.1}]}
    exp = expand_experiment(doc)
    assert sorted(len(p) for p in runner.pack_trials(list(exp.trials), jobs=1)) == [4, 4]
    two = runner.pack_trials(list(exp.trials), jobs=2)
    assert sorted(len(p) for p in two) == [2, 2, 2, 2]
    assert two[0][0].params["graph"] == "reused"  # the costlier packs go first
    echo = expand_experiment({"name": "e", "kind": "echo", "grid": {"seed": [0, 1, 2]}})
    assert [len(p) for p in runner.pack_trials(list(echo.trials), jobs=1)] == [1, 1, 1]


def test_a_pack_leaves_out_the_trials_that_sit_a_round_out():
    from sculpt.prune.driver import train_trying

    task = reference_task("input-separable")
    trying = np.array([False, False, True, False, True])  # trial 0 (members 0-1) sits out
    kwargs = dict(lr=[0.05, 0.1], batch_size=8, epochs=3, segments=[2, 3])
    compact = _masked_model([4, 10, 10, 4], members=5)
    full = _masked_model([4, 10, 10, 4], members=5)
    gens = lambda: [torch.Generator().manual_seed(s) for s in (1, 2)]
    acc = train_trying(compact, task, trying, dict(kwargs, generator=gens()))
    ref = train(full, task, active=torch.from_numpy(trying), **dict(kwargs, generator=gens()))
    for a, b in zip(compact.parameters(), full.parameters()):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(acc[trying], ref.val_accuracy[trying])
    assert np.isnan(acc[:2]).all() and not np.isnan(acc[2:]).any()  # trial 0 was left out


@pytest.mark.parametrize("noise_limit", [None, 1])  # 1: the noise drawn batch by batch
def test_idle_member_chunks_are_left_out_and_the_rest_trains_bit_identically(monkeypatch, noise_limit):
    from sculpt import train as train_module
    from sculpt.prune.driver import held_positions, member_chunk, train_trying

    if noise_limit is not None:
        monkeypatch.setattr(train_module, "EPOCH_NOISE_LIMIT", noise_limit)
    task = reference_task("input-separable")
    assert task.noise > 0  # the draws are made for whole trials, so noise must be on to test it
    arch = [4, 24, 24, 4]
    assert member_chunk(arch) == 16 and member_chunk([4, 24, 24, 16]) == 8
    trying = np.zeros(46, dtype=bool)
    trying[[20, 39, 43]] = True  # trial 0 (40 members): chunks 16-31 and 32-39; trial 1 (6): all of it
    assert held_positions(trying[:40], 16).tolist() == list(range(16, 40))
    kwargs = dict(lr=[0.05, 0.1], batch_size=8, epochs=3, segments=[40, 6])
    gens = lambda: [torch.Generator().manual_seed(s) for s in (1, 2)]
    compact, full = _masked_model(arch, members=46), _masked_model(arch, members=46)
    seen = []
    real_train = train_module.train
    monkeypatch.setattr("sculpt.prune.driver.train", lambda model, task, **kw: (
        seen.append(model.members), real_train(model, task, **kw))[1])
    acc = train_trying(compact, task, trying, dict(kwargs, generator=gens()))
    ref = train(full, task, active=torch.from_numpy(trying), **dict(kwargs, generator=gens()))
    assert seen == [30]  # 24 + 6 of 46 members trained
    for a, b in zip(compact.parameters(), full.parameters()):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(acc[trying], ref.val_accuracy[trying])
    assert np.isnan(acc[:16]).all() and not np.isnan(acc[16:]).any()


def test_idle_members_ride_along_when_a_kernel_may_split_its_range(monkeypatch):
    from sculpt.prune.driver import train_trying

    task = reference_task("input-separable")
    trying = np.zeros(40, dtype=bool)
    trying[3] = True
    seen = []
    real_train = train
    monkeypatch.setattr("sculpt.prune.driver.train", lambda model, task, **kw: (
        seen.append(model.members), real_train(model, task, **kw))[1])
    torch.set_num_threads(2)
    try:
        train_trying(_masked_model([4, 24, 24, 4], members=40), task, trying,
                     dict(lr=0.05, batch_size=8, epochs=1, generator=torch.Generator().manual_seed(1)))
    finally:
        torch.set_num_threads(1)
    assert seen == [40]  # several threads: nothing is left out (the split points follow the length)
