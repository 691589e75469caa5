"""Polynomial-decay magnitude pruning and the Keras-style classifier loop behind anchors A9 / A10."""
from __future__ import annotations

import pytest
import torch

from sculpt.errors import ConfigError
from sculpt.prune.polynomial import PolynomialMagnitudePruner, magnitude_mask, polynomial_sparsity
from sculpt.spectral.classifier import (accuracy, kernel_penalty, keras_mlp, steps_per_epoch, train_classifier,
                                        weight_sparsity)


def test_cubic_schedule_values():
    # s(t) = 0.9 + (0.5 - 0.9) (1 - t / 100)^3
    assert [round(polynomial_sparsity(t, end_step=100), 6) for t in (0, 10, 50, 90, 100, 150)] == \
        [0.5, 0.6084, 0.85, 0.8996, 0.9, 0.9]
    assert polynomial_sparsity(5, begin_step=10, end_step=20) == 0.5  # before the start: initial sparsity
    with pytest.raises(ConfigError, match="end_step=5 must exceed begin_step=5"):
        polynomial_sparsity(0, begin_step=5, end_step=5)
    with pytest.raises(ConfigError, match="need 0 <= initial <= final < 1"):
        polynomial_sparsity(0, initial=0.9, final=0.5)


def test_magnitude_mask_is_layerwise_exact_and_ties_break_by_position():
    w = torch.tensor([[0.5, -0.5, 0.1], [2.0, 0.5, -3.0]])
    assert magnitude_mask(w, 0.5).tolist() == [[False, False, False], [True, True, True]]
    assert magnitude_mask(w, 0.0).all() and int(magnitude_mask(w, 0.9).sum()) == 1


def test_pruner_follows_the_schedule_and_keeps_pruned_weights_zero():
    model = keras_mlp((6, 8, 3), seed=0)
    pruner = PolynomialMagnitudePruner(model, end_step=30, frequency=10)
    sparsities = []
    for _ in range(41):
        pruner.step()
        with torch.no_grad():  # an optimiser moving every weight must not revive pruned ones
            for m in pruner.layers:
                m.weight.add_(0.01)
        pruner.apply()
        sparsities.append(round(weight_sparsity(model), 4))
    # masks change only at steps 0, 10, 20, 30 (48 + 24 = 72 weights; per layer round(s * size))
    assert sparsities[0] == sparsities[9] == round((24 + 12) / 72, 4)
    assert sparsities[10] == round((round(0.8 * 48) + round(0.8 * 24)) / 72, 4)
    assert sparsities[30] == sparsities[40] == round((round(0.9 * 48) + round(0.9 * 24)) / 72, 4)
    assert pruner.sparsity() == pytest.approx(sparsities[-1], abs=1e-4)


def test_pruner_thresholds_are_the_smallest_kept_magnitude_as_tfmot():
    model = keras_mlp((6, 8, 3), seed=0)
    pruner = PolynomialMagnitudePruner(model, end_step=30, frequency=10)
    assert pruner.thresholds == [0.0, 0.0]  # tfmot's threshold variable starts at 0
    pruner.step()
    for layer, mask, t in zip(pruner.layers, pruner.masks, pruner.thresholds):
        kept = layer.weight.detach().abs()[mask]
        assert t == float(kept.min()) and t > 0
        assert float(layer.weight.detach().abs()[~mask].max()) == 0.0  # pruned are zeroed after step()


def test_keras_mlp_glorot_limits_and_zero_biases():
    net = keras_mlp((784, 256, 10), seed=3)
    w = net[0].weight.detach()
    assert float(w.abs().max()) <= (6 / (784 + 256)) ** 0.5 and float(w.abs().max()) > 0.99 * (6 / 1040) ** 0.5
    assert float(net[0].bias.detach().abs().sum()) == 0.0
    assert torch.equal(keras_mlp((784, 256, 10), seed=3)[0].weight, w)
    with pytest.raises(ConfigError, match="dropout=1.0"):
        keras_mlp((4, 2), seed=0, dropout=1.0)


def test_kernel_penalty_is_the_keras_sum_over_all_linear_kernels():
    net = keras_mlp((3, 2, 2), seed=0)
    expected = sum(0.1 * m.weight.abs().sum() + 0.01 * m.weight.pow(2).sum() for m in net if hasattr(m, "weight"))
    assert float(kernel_penalty(net, l1=0.1, l2=0.01).detach()) == pytest.approx(float(expected.detach()))
    assert kernel_penalty(net) == 0.0
    with pytest.raises(ConfigError, match="must be >= 0"):
        kernel_penalty(net, l1=-1.0)


def test_first_layer_l1_replaces_the_first_kernels_terms_as_the_papers_tf_code():
    # the TF code's "L2" MLPs: regularizers.l1(rate) on the first Dense kernel, l2(rate) on the others
    net = keras_mlp((3, 2, 2), seed=0)
    first, second = net[0].weight, net[2].weight
    expected = 0.1 * first.abs().sum() + 0.01 * second.pow(2).sum()
    got = kernel_penalty(net, l2=0.01, first_layer_l1=0.1)
    assert float(got.detach()) == pytest.approx(float(expected.detach()), rel=1e-12)
    assert float(kernel_penalty(net, l2=0.01, first_layer_l1=0.0).detach()) == \
        pytest.approx(float((0.01 * second.pow(2).sum()).detach()), rel=1e-12)
    with torch.no_grad():
        first.zero_()
    assert float(kernel_penalty(net, l2=0.01, first_layer_l1=0.1).detach()) == \
        pytest.approx(float((0.01 * second.pow(2).sum()).detach()), rel=1e-12)
    with pytest.raises(ConfigError, match="first_layer_l1=-0.1"):
        kernel_penalty(net, first_layer_l1=-0.1)


def test_training_with_pruning_is_deterministic_and_learns():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(512, 8, generator=gen)
    y = (x[:, 0] > 0).long()

    def fit():
        net = keras_mlp((8, 16, 2), seed=1, dropout=0.1)
        torch.manual_seed(0)
        train_classifier(net, x, y, epochs=5, seed=2, batch_size=64, lr=1e-2, l2=1e-4)
        pruner = PolynomialMagnitudePruner(net, end_step=steps_per_epoch(512, 64) * 2, frequency=2)
        train_classifier(net, x, y, epochs=2, seed=3, batch_size=64, lr=1e-2, l1=1e-5, pruner=pruner)
        return net

    a, b = fit(), fit()
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert weight_sparsity(a) == pytest.approx(0.9, abs=0.01)
    assert accuracy(a, x, y) > 0.85  # dense: 0.96; x0 > 0 needs only a few of the 10 % kept
