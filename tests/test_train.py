"""Training a stack: Adam, masks through training, best-epoch rule, regulariser hook, determinism."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from functiongraphs.task import Split, Task
from reference_tasks import reference_task
from sculpt.errors import ConfigError
from sculpt.nets import MaskedMLP
from sculpt.train import StackAdam, evaluate, paper_validation_loss, select_best_epoch, train


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("fused", [True, False])
def test_stack_adam_matches_torch_adam_with_transposed_grads(fused):
    base = [torch.randn(3, 5, 4, generator=_gen(1)), torch.randn(3, 5, generator=_gen(2))]
    mine = [p.clone().requires_grad_() for p in base]
    ref = [p.clone().requires_grad_() for p in base]
    opt_mine = StackAdam(mine, lr=0.05, weight_decay=1e-4, fused=fused)
    opt_ref = torch.optim.Adam(ref, lr=0.05, weight_decay=1e-4, foreach=False)
    for step in range(6):
        # a weight gradient with transposed strides, as autograd returns for baddbmm
        grads = [torch.randn(3, 4, 5, generator=_gen(10 + step)).transpose(1, 2), torch.randn(3, 5, generator=_gen(20 + step))]
        for p, g in zip(ref, grads):
            p.grad = g.clone()
        opt_ref.step()
        opt_mine.step(grads)
    for a, b in zip(mine, ref):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_best_epoch_rule_follows_spec_2_5():
    inf = math.inf
    best_loss = np.array([inf, inf, inf], dtype=np.float32)
    best_acc = np.array([-inf, -inf, -inf])
    steps = [  # (losses, accs) per epoch for three members
        ([0.5, 0.5, inf], [50.0, 50.0, 50.0]),
        ([0.4, 0.6, inf], [50.0, 75.0, 50.0]),   # m0: lower loss same acc; m1: higher acc; m2: acc >= best
        ([0.45, 0.3, inf], [50.0, 75.0, 25.0]),  # m0: loss worse -> no; m1: better loss same acc; m2: acc worse
        ([2000.0, 0.2, nan_ := float("nan")], [100.0, 50.0, 50.0]),  # m0: >=1000 branch acc>=; m1: acc worse
    ]
    picked = []
    for losses, accs in steps:
        improved, best_loss, best_acc = select_best_epoch(np.array(losses, dtype=np.float32), np.array(accs),
                                                          best_loss, best_acc)
        picked.append(improved.tolist())
    assert picked == [[True, True, True], [True, True, True], [False, True, False], [True, False, True]]
    assert best_loss.tolist() == [0.4000000059604645, 0.30000001192092896, inf]
    assert best_acc.tolist() == [100.0, 75.0, 50.0]


def test_paper_validation_loss_divides_by_batches_minus_one():
    row_loss = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]])
    # batches of 2: means 1.5, 3.5, 5.0 -> sum 10 / (3 - 1)
    assert paper_validation_loss(row_loss, 2).tolist() == [5.0]
    assert paper_validation_loss(row_loss, 8).tolist() == [math.inf]


def test_masks_stay_applied_and_pruned_weights_stay_zero():
    task = reference_task("input-separable")
    model = MaskedMLP([4, 8, 4], members=3, seed=0)
    masks = [torch.rand(w.shape, generator=_gen(l)) > 0.5 for l, w in enumerate(model.weights)]
    masks[0][:, 2] = False  # unit 2 loses every incoming edge -> its bias is masked too
    model.set_weight_masks(masks)
    train(model, task, lr=0.05, batch_size=8, epochs=5, generator=_gen())
    for w, m in zip(model.weights, masks):
        assert torch.count_nonzero(w.detach()[~m]) == 0
        assert torch.count_nonzero(w.detach()[m]) == int(m.sum())
    assert float(model.biases[0].detach()[:, 2].abs().max()) == 0.0


def test_dense_training_reaches_full_accuracy_and_is_deterministic():
    task = reference_task("input-separable")
    results = []
    for _ in range(2):
        model = MaskedMLP([4, 24, 4], members=2, seed=0)
        result = train(model, task, lr=0.05, batch_size=8, epochs=15, generator=_gen())
        results.append((result, [w.detach().clone() for w in model.weights]))
    (r1, w1), (r2, w2) = results
    assert all(torch.equal(a, b) for a, b in zip(w1, w2))
    assert r1.accuracy.tolist() == r2.accuracy.tolist() == [100.0, 100.0]
    assert r1.test["row"].tolist() == [100.0, 100.0]
    assert r1.curves["val_loss"].shape == (15, 2)
    np.testing.assert_array_equal(r1.val_accuracy, r1.accuracy)


def test_inactive_members_are_left_untouched():
    task = reference_task("input-separable")
    model = MaskedMLP([4, 6, 4], members=2, seed=[3, 3])
    before = model.state()
    train(model, task, lr=0.05, batch_size=8, epochs=3, generator=_gen(), active=torch.tensor([True, False]))
    assert torch.equal(model.weights[0][1], before[0][0][1])
    assert not torch.equal(model.weights[0][0], before[0][0][0])


class _ShrinkWeights:
    """A test regulariser: a large L2 penalty, and a counter of after_step calls."""

    def __init__(self):
        self.steps = 0

    def penalty(self, model):
        return 10.0 * sum((w * w).sum(dim=(1, 2)) for w in model.weights)

    def after_step(self, model):
        self.steps += 1


def test_regularizer_penalty_and_after_step():
    task = reference_task("input-separable")
    plain = MaskedMLP([4, 6, 4], members=1, seed=0)
    shrunk = MaskedMLP([4, 6, 4], members=1, seed=0)
    reg = _ShrinkWeights()
    free = train(plain, task, lr=0.05, batch_size=8, epochs=20, generator=_gen())
    held = train(shrunk, task, lr=0.05, batch_size=8, epochs=20, generator=_gen(), regularizer=reg)
    assert reg.steps == 20 * 2  # 16 rows / batch 8 = 2 steps per epoch
    # the penalty pulls every weight to 0, so the task is fitted far worse by the last epoch
    assert held.curves["val_loss"][-1, 0] > free.curves["val_loss"][-1, 0] + 0.1


def test_evaluate_reports_bit_row_and_block_accuracy():
    X = np.eye(4, dtype=np.float32)
    Y = np.array([[1, 0, 0, 1], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=np.float32)
    model = MaskedMLP([4, 4, 4], members=1, seed=0)
    with torch.no_grad():  # identity net: hidden = x, output logit = 4x - 2 -> predicts Y = X
        model.weights[0].copy_(torch.eye(4)[None])
        model.weights[1].copy_(4 * torch.eye(4)[None])
        model.biases[1].fill_(-2.0)
    metrics = evaluate(model, torch.from_numpy(X), torch.from_numpy(Y), output_blocks=((0, 2), (2, 4)))
    # predictions = identity rows; bits right: 3, 3, 4, 4 of 4 -> 14/16; rows 2 and 3 exact
    assert metrics["bit"].tolist() == [87.5]
    assert metrics["row"].tolist() == [50.0]
    # block argmax (ties -> first index): only row 0's second block is wrong -> 7/8
    assert metrics["block"].tolist() == [87.5]


def test_train_refuses_bad_settings():
    task = reference_task("input-separable")
    model = MaskedMLP([4, 6, 4], members=1, seed=0)
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        train(model, task, lr=0.05, batch_size=0, epochs=1, generator=_gen())
    with pytest.raises(ConfigError, match="validation_loss must be"):
        train(model, task, lr=0.05, batch_size=8, epochs=1, generator=_gen(), validation_loss="sum")
    wrong = MaskedMLP([3, 6, 4], members=1, seed=0)
    with pytest.raises(ConfigError, match="does not fit task 'input-separable': it has 4 inputs"):
        train(wrong, task, lr=0.05, batch_size=8, epochs=1, generator=_gen())


def test_large_sets_draw_noise_per_batch(monkeypatch):
    import sculpt.train as train_module

    rows = Split(np.random.default_rng(0).random((64, 3)).astype(np.float32), np.zeros((64, 2), dtype=np.float32))
    task = Task.from_arrays("zeros", rows, rows, noise=0.1)
    monkeypatch.setattr(train_module, "EPOCH_NOISE_LIMIT", 10)
    model = MaskedMLP([3, 4, 2], members=2, seed=0)
    result = train(model, task, lr=0.05, batch_size=16, epochs=3, generator=_gen())
    assert result.accuracy.tolist() == [100.0, 100.0]


def test_paper_validation_loss_keeps_the_latest_epoch_with_best_accuracy():
    task = reference_task("input-separable")
    model = MaskedMLP([4, 24, 4], members=2, seed=0)
    result = train(model, task, lr=0.05, batch_size=16, epochs=12, generator=_gen(), validation_loss="paper")
    acc = result.curves["val_accuracy"]
    assert np.isinf(result.curves["val_loss"]).all() and np.isinf(result.val_loss).all()
    for e in range(2):  # one validation batch -> inf loss -> accuracy-only branch: latest epoch at the max
        assert result.best_epoch[e] == max(i for i in range(12) if acc[i, e] == acc[:, e].max())
