"""Condensed retraining: only live units and live inputs train, and the result matches dense masked training."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from functiongraphs.task import Split, Task
from sculpt import condensed, fastpath
from sculpt.nets import MaskedMLP
from sculpt.train import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARCH = [10, 8, 6, 3]


def _pruned_model(seed: int = 0) -> MaskedMLP:
    """Two members with dead hidden units (different ones per member) and inputs 0, 3, 7, 9 without edges."""
    model = MaskedMLP(ARCH, members=2, seed=seed)
    gen = torch.Generator().manual_seed(seed + 7)
    masks = [torch.rand(w.shape, generator=gen) > 0.3 for w in model.weights]
    masks[0][:, :, [0, 3, 7, 9]] = False
    model.set_weight_masks(masks)
    keep = [torch.tensor([[1, 1, 0, 1, 0, 0, 1, 0], [0, 1, 1, 0, 0, 1, 0, 0]], dtype=torch.bool),
            torch.tensor([[1, 0, 1, 1, 0, 0], [0, 1, 0, 1, 0, 0]], dtype=torch.bool)]
    model.set_unit_masks(keep)
    return model


def _task(noise: float = 0.0) -> Task:
    rng = np.random.default_rng(0)

    def split(rows):
        X = rng.random((rows, ARCH[0]), dtype=np.float32)
        Y = (rng.random((rows, ARCH[-1])) > 0.5).astype(np.float32)
        return Split(X, Y)

    return Task.from_arrays("toy", split(64), split(32), split(32), noise=noise)


def _train(model, task, condense):
    return train(model, task, lr=0.01, batch_size=16, epochs=3, generator=torch.Generator().manual_seed(1),
                 condense=condense)


def test_live_inputs_and_when_they_are_dropped():
    model = _pruned_model()
    assert condensed.live_inputs(model).tolist() == [1, 2, 4, 5, 6, 8]
    assert condensed.inputs_to_keep(model, _task()).tolist() == [1, 2, 4, 5, 6, 8]
    # noise is drawn per input element: fewer columns would draw another stream
    assert condensed.inputs_to_keep(model, _task(noise=0.1)) is None
    # 4 of 10 dead is below a 50 % minimum saving (the default minimum is 25 %)
    assert condensed.inputs_to_keep(model, _task(), min_saving=0.5) is None


def test_select_inputs_copies_the_columns_and_keeps_shared_splits_shared():
    task = _task()
    keep = torch.tensor([1, 4, 8])
    small = condensed.select_inputs(task, keep)
    for name in ("train", "validation", "test"):
        np.testing.assert_array_equal(getattr(small, name).X, getattr(task, name).X[:, [1, 4, 8]])
        assert getattr(small, name).Y is getattr(task, name).Y
    assert task.train.X.shape[1] == ARCH[0]  # the original is untouched
    shared = Task.from_arrays("shared", task.train, task.validation)
    picked = condensed.select_inputs(shared, keep)
    assert picked.test is picked.validation


def test_condense_then_scatter_back_writes_exactly_the_live_entries():
    model = _pruned_model()
    inputs = condensed.inputs_to_keep(model, _task())
    small, index = condensed.condense(model, inputs)
    assert small.arch == [6, 4, 3, 3]
    # gathered parameters are the originals at (slot -> unit) positions
    member = 1
    rows, cols = index[0][member], inputs
    np.testing.assert_array_equal(small.weights[0][member].detach().numpy(),
                                  model.weights[0][member][rows][:, cols].detach().numpy())
    marked = [torch.full_like(w.detach(), 5.0) for w in small.weights]
    with torch.no_grad():
        for w, m in zip(small.weights, marked):
            w.copy_(m)
    before = [w.detach().clone() for w in model.weights]
    condensed.scatter_back(model, small, index, inputs)
    for l, (w, old) in enumerate(zip(model.weights, before)):
        reached = w.detach() == 5.0
        # every kept weight lies in the condensed stack; nothing outside it was written
        assert bool(reached[model.weight_masks[l] > 0].all())
        np.testing.assert_array_equal(w.detach()[~reached].numpy(), old[~reached].numpy())
    assert not bool((model.weights[0][:, :, [0, 3, 7, 9]] == 5.0).any())


def test_condensed_training_equals_dense_masked_training():
    task = _task()
    dense, cond = _pruned_model(), _pruned_model()
    masks = [m.clone() for m in dense.weight_masks]
    r_dense = _train(dense, task, condense=False)
    r_cond = _train(cond, task, condense=True)
    for wd, wc, bd, bc, m in zip(dense.weights, cond.weights, dense.biases, cond.biases, masks):
        np.testing.assert_allclose(wc.detach().numpy(), wd.detach().numpy(), rtol=0, atol=1e-6)
        np.testing.assert_allclose(bc.detach().numpy(), bd.detach().numpy(), rtol=0, atol=1e-6)
        assert bool((wc.detach()[m == 0] == 0).all())  # pruned weights stay exactly 0
    for mc, m in zip(cond.weight_masks, masks):
        assert torch.equal(mc, m)
    np.testing.assert_allclose(r_cond.val_loss, r_dense.val_loss, rtol=1e-5)
    np.testing.assert_array_equal(r_cond.best_epoch, r_dense.best_epoch)
    assert cond.weights[0].shape[2] == ARCH[0]  # scattered back into the full stack


def test_condensed_training_is_deterministic():
    task = _task()
    first, second = _pruned_model(), _pruned_model()
    _train(first, task, condense=True)
    _train(second, task, condense=True)
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)


def test_inexact_step_gradients_equal_autograd_up_to_rounding():
    model = _pruned_model()
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(2, 16, ARCH[0], generator=gen)
    y = (torch.rand(2, 16, ARCH[-1], generator=gen) > 0.5).float()
    loss = F.binary_cross_entropy_with_logits(model(x), y, reduction="none").mean(dim=(1, 2))
    expected = torch.autograd.grad(loss.sum(), model.parameters())
    got = fastpath.BCEReLUStep(model, exact=False)(x, y)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-7)


def test_small_condensed_stacks_train_on_one_thread():
    from sculpt.prune.threads import torch_threads

    with torch_threads(2):
        with condensed.threads_for(MaskedMLP([1568, 20, 59, 20], members=1)):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with condensed.threads_for(MaskedMLP([1568, 200, 20], members=1)):  # 317,600 weights: not small
            assert torch.get_num_threads() == 2
