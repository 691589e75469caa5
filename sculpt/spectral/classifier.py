"""Keras-style softmax MLP classifiers and their training loop, as Filan et al. trained them.

What the clusterability experiments (spec ``clusterability.md`` anchors A9, A10) need and the
pruning engine's BCE loop (written for Boolean tasks) does not: a ReLU MLP with Keras defaults
(Glorot-uniform weights, zero biases), optional dropout after every hidden layer, Keras kernel
regularisers (``l1``: c * sum|W|, ``l2``: c * sum W**2 -- no factor 1/2 -- on every Linear weight),
categorical cross-entropy, Adam (lr 1e-3, betas 0.9/0.999), and two optional hooks: a
regulariser with ``penalty(model) -> (E,)`` / ``after_step(model)`` (e.g.
:class:`sculpt.spectral.ClusterabilityRegularizer`) and a pruner with ``step()`` / ``apply()``
(:class:`sculpt.prune.polynomial.PolynomialMagnitudePruner`).

Order inside one step: ``pruner.step()`` (tfmot updates masks at batch begin) -> forward ->
loss = CE + kernel penalty + regulariser -> Adam -> ``regulariser.after_step`` -> ``pruner.apply()``.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from sculpt.errors import ConfigError


def keras_mlp(arch, seed: int, dropout: float = 0.0) -> torch.nn.Sequential:
    """ReLU MLP ``arch[0] -> ... -> arch[-1]`` with Glorot-uniform weights and zero biases.

    Parameters
    ----------
    arch : sequence of int
    seed : int
        Seeds the weights (a private generator: same seed -> same network).
    dropout : float
        Rate of a ``torch.nn.Dropout`` after every hidden ReLU (0: none).

    Returns
    -------
    torch.nn.Sequential

    Examples
    --------
    >>> net = keras_mlp((4, 3, 2), seed=0, dropout=0.5)
    >>> [type(m).__name__ for m in net]
    ['Linear', 'ReLU', 'Dropout', 'Linear']
    """
    arch = [int(a) for a in arch]
    if len(arch) < 2 or min(arch) < 1:
        raise ConfigError(f"arch={arch}: expected at least two positive layer widths")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout={dropout}: expected a rate in [0, 1)")
    gen = torch.Generator().manual_seed(int(seed))
    layers: list[torch.nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(arch[:-1], arch[1:])):
        linear = torch.nn.Linear(fan_in, fan_out)
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        with torch.no_grad():
            linear.weight.uniform_(-limit, limit, generator=gen)
            linear.bias.zero_()
        layers.append(linear)
        if i < len(arch) - 2:
            layers.append(torch.nn.ReLU())
            if dropout > 0:
                layers.append(torch.nn.Dropout(dropout))
    return torch.nn.Sequential(*layers)


def kernel_penalty(model: torch.nn.Module, l1: float = 0.0, l2: float = 0.0,
                   first_layer_l1: float | None = None) -> torch.Tensor | float:
    """Keras kernel regularisers summed over every Linear weight: ``l1 * sum|W| + l2 * sum W**2``.

    Parameters
    ----------
    model : torch.nn.Module
    l1, l2 : float
        Rates on every Linear kernel (biases are never penalised, as Keras's ``kernel_regularizer``).
    first_layer_l1 : float, optional
        If given, the first Linear kernel gets ``first_layer_l1 * sum|W|`` *instead of* the l1 / l2
        terms. This is what the paper's TF code did: ``create_mlp_layers`` builds the first Dense
        layer with ``kernel_regularizer=tf.keras.regularizers.l1(reg_rate)`` whichever regulariser
        was asked for, so Filan et al.'s "L2" MLPs had L1 on their input layer and L2 elsewhere.

    Examples
    --------
    >>> net = torch.nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad(): _ = net.weight.copy_(torch.tensor([[1.0, -2.0]]))
    >>> round(float(kernel_penalty(net, l1=0.1, l2=0.01).detach()), 6)
    0.35
    >>> round(float(kernel_penalty(net, l2=0.01, first_layer_l1=0.1).detach()), 6)  # the only Linear is the first
    0.3
    """
    if l1 < 0 or l2 < 0 or (first_layer_l1 is not None and first_layer_l1 < 0):
        raise ConfigError(f"l1={l1}, l2={l2}, first_layer_l1={first_layer_l1}: "
                          "regularisation strengths must be >= 0")
    total: torch.Tensor | float = 0.0
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    for i, m in enumerate(linears):
        if i == 0 and first_layer_l1 is not None:
            if first_layer_l1:
                total = total + first_layer_l1 * m.weight.abs().sum()
            continue
        if l1:
            total = total + l1 * m.weight.abs().sum()
        if l2:
            total = total + l2 * m.weight.pow(2).sum()
    return total


def steps_per_epoch(n: int, batch_size: int) -> int:
    """``ceil(n / batch_size)``: Keras's batches per epoch (the last one may be short)."""
    return int(math.ceil(n / batch_size))


def train_classifier(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int,
                     batch_size: int = 128, lr: float = 1e-3, l1: float = 0.0, l2: float = 0.0,
                     regularizer=None, pruner=None, optimizer: torch.optim.Optimizer | None = None,
                     first_layer_l1: float | None = None) -> torch.optim.Optimizer:
    """Train with Adam on softmax cross-entropy over shuffled minibatches.

    Parameters
    ----------
    model : torch.nn.Module
        Put in train mode for the loop (dropout active), eval mode afterwards.
    x, y : Tensor
        Inputs (n, d) float and integer labels (n,).
    epochs : int
    seed : int
        Seeds the batch order.
    batch_size, lr : int, float
    l1, l2 : float
        Kernel regularisers (see :func:`kernel_penalty`).
    first_layer_l1 : float, optional
        L1 rate that replaces l1 / l2 on the first Linear kernel (see :func:`kernel_penalty`).
    regularizer : object with ``penalty(model)`` and ``after_step(model)``, optional
    pruner : object with ``step()`` and ``apply()``, optional
    optimizer : torch.optim.Optimizer, optional
        Continue with an existing optimiser (Keras keeps Adam's state between the dense and
        pruning phases of ``model.fit``); a fresh Adam otherwise.

    Returns
    -------
    torch.optim.Optimizer
        The optimiser, to continue training with.
    """
    if epochs < 0 or batch_size < 1:
        raise ConfigError(f"epochs={epochs}, batch_size={batch_size}: expected epochs >= 0, batch_size >= 1")
    opt = optimizer if optimizer is not None else torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(int(seed))
    model.train()
    for _ in range(int(epochs)):
        order = torch.randperm(x.shape[0], generator=gen)
        for s in range(0, x.shape[0], batch_size):
            if pruner is not None:
                pruner.step()
            idx = order[s:s + batch_size]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx]) + kernel_penalty(model, l1, l2, first_layer_l1)
            if regularizer is not None:
                loss = loss + regularizer.penalty(model).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if regularizer is not None:
                regularizer.after_step(model)
            if pruner is not None:
                pruner.apply()
    model.eval()
    return opt


@torch.no_grad()
def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of rows whose arg-max logit is the label (model in eval mode)."""
    model.eval()
    return float((model(x).argmax(dim=1) == y).double().mean())


def weight_sparsity(model: torch.nn.Module) -> float:
    """Share of exactly-zero entries over all Linear weights."""
    ws = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    return float(sum(int((w == 0).sum()) for w in ws) / sum(w.numel() for w in ws))


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False


def as_tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 inputs and int64 labels as torch tensors."""
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.from_numpy(y.astype(np.int64))
