"""Gradual magnitude pruning on the polynomial-decay sparsity schedule of Zhu & Gupta (2017).

This is the schedule that TensorFlow Model Optimization's ``PolynomialDecay`` implements and that
Filan et al. (2021) used for every pruned network (initial sparsity 0.5, final 0.9, cubic, a mask
update every 10 steps)::

    s(t) = s_f + (s_i - s_f) * (1 - min(1, (t - t_0) / (t_end - t_0))) ** power,   t_0 <= t

Each weight matrix is pruned on its own (layer-wise, not globally): at an update step the
``round(s(t) * size)`` entries of smallest magnitude are masked. A pruned weight stays zero (its
magnitude is 0 at the next ranking), so sparsity only grows. Biases are never pruned.

References
----------
Zhu, M. & Gupta, S. (2017). To prune, or not to prune: exploring the efficacy of pruning for
model compression. arXiv:1710.01878.
"""
from __future__ import annotations

import math

import torch

from sculpt.errors import ConfigError


def polynomial_sparsity(step: int, initial: float = 0.5, final: float = 0.9, begin_step: int = 0,
                        end_step: int = 1000, power: float = 3.0) -> float:
    """Target sparsity at ``step`` of the polynomial-decay schedule.

    Parameters
    ----------
    step : int
    initial, final : float
        Sparsity at ``begin_step`` and from ``end_step`` on, in [0, 1).
    begin_step, end_step : int
    power : float
        3 is the cubic schedule of Zhu & Gupta.

    Returns
    -------
    float

    Examples
    --------
    >>> polynomial_sparsity(0, end_step=100), polynomial_sparsity(100, end_step=100)
    (0.5, 0.9)
    >>> round(polynomial_sparsity(50, end_step=100), 4)
    0.85
    """
    if not 0.0 <= initial <= final < 1.0:
        raise ConfigError(f"sparsities initial={initial}, final={final}: need 0 <= initial <= final < 1")
    if end_step <= begin_step:
        raise ConfigError(f"end_step={end_step} must exceed begin_step={begin_step}")
    progress = min(1.0, max(0.0, (step - begin_step) / (end_step - begin_step)))
    return float(final + (initial - final) * (1.0 - progress) ** power)


class PolynomialMagnitudePruner:
    """Layer-wise magnitude pruning of ``torch.nn.Linear`` weights on a polynomial schedule.

    Call :meth:`step` once per training batch *before* the forward pass (as tfmot's
    ``UpdatePruningStep`` does) and :meth:`apply` after every optimiser step, so that pruned
    weights stay exactly zero even though Adam's moments would move them.

    Parameters
    ----------
    model : torch.nn.Module
        Every Linear layer's weight is pruned (the output layer too, as ``prune_low_magnitude``
        on a whole Keras model does).
    end_step : int
        Step at which the final sparsity is reached (tfmot: ``ceil(n_train / batch) * epochs``).
    initial, final, power, begin_step
        See :func:`polynomial_sparsity`.
    frequency : int
        Masks are updated at steps ``begin_step + j * frequency`` up to ``end_step``.

    Attributes
    ----------
    masks : list of bool Tensor
    thresholds : list of float
        Per layer, the smallest kept magnitude at the last mask update (0.0 before the first),
        as tfmot's ``threshold`` variable.
    """

    def __init__(self, model: torch.nn.Module, end_step: int, initial: float = 0.5, final: float = 0.9,
                 frequency: int = 10, begin_step: int = 0, power: float = 3.0):
        if int(frequency) < 1:
            raise ConfigError(f"frequency={frequency}: expected >= 1")
        polynomial_sparsity(begin_step, initial, final, begin_step, end_step, power)  # validates
        self.layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        if not self.layers:
            raise ConfigError(f"{type(model).__name__}: no torch.nn.Linear layers to prune")
        self.initial, self.final, self.power = float(initial), float(final), float(power)
        self.begin_step, self.end_step, self.frequency = int(begin_step), int(end_step), int(frequency)
        self.masks = [torch.ones_like(m.weight, dtype=torch.bool) for m in self.layers]
        # tfmot's per-layer ``threshold`` variable: the smallest kept magnitude at the last mask
        # update, 0 before the first one (read by the paper's weight-normalisation callback)
        self.thresholds = [0.0] * len(self.layers)
        self.t = 0

    def due(self, step: int) -> bool:
        """Whether the masks are recomputed at ``step``."""
        return self.begin_step <= step <= self.end_step and (step - self.begin_step) % self.frequency == 0

    @torch.no_grad()
    def step(self) -> None:
        """Advance one training step; recompute the masks when due and zero the pruned weights."""
        if self.due(self.t):
            target = polynomial_sparsity(self.t, self.initial, self.final, self.begin_step, self.end_step,
                                         self.power)
            for i, layer in enumerate(self.layers):
                self.masks[i] = magnitude_mask(layer.weight * self.masks[i], target)
                self.thresholds[i] = float(layer.weight.abs()[self.masks[i]].min())
        self.t += 1
        self.apply()

    @torch.no_grad()
    def apply(self) -> None:
        """Zero the pruned weights."""
        for layer, mask in zip(self.layers, self.masks):
            layer.weight.mul_(mask)

    def sparsity(self) -> float:
        """Share of pruned weights over all pruned layers."""
        total = sum(m.numel() for m in self.masks)
        return float(sum(int((~m).sum()) for m in self.masks) / total)


def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Boolean mask keeping the ``size - round(sparsity * size)`` largest-magnitude entries.

    Ties are broken by position (a stable sort), so the mask is deterministic.

    Examples
    --------
    >>> magnitude_mask(torch.tensor([[0.1, -3.0], [2.0, 0.5]]), 0.5).tolist()
    [[False, True], [True, False]]
    """
    n = weight.numel()
    n_pruned = int(math.floor(sparsity * n + 0.5))
    mask = torch.ones(n, dtype=torch.bool)
    if n_pruned > 0:
        order = torch.sort(weight.detach().abs().reshape(-1), stable=True).indices
        mask[order[:n_pruned]] = False
    return mask.reshape(weight.shape)
