"""Unit-then-edge pruning of a user's own ``torch.nn.Sequential`` MLP, and the way back to one.

``prune_sequential(model, (X, Y), loss="cross_entropy")`` runs the paper's two stages with the
halving-and-rewind schedule (:func:`sculpt.prune.prune_grid`, the stacked engine underneath) on a
model the user built: any chain of ``Linear`` layers with element-wise activations between them
(:func:`sculpt.adapters.read_sequential`), the user's loss, data and acceptance metric. The
user's weights are the starting point: the dense network trains from them (or is taken as it is
with ``dense_epochs=0``), and every rewind goes back to the last accepted network, never to a
fresh initialisation. The result is a :class:`sculpt.nets.PrunedNet`; :func:`to_sequential`
turns it back into an ``nn.Sequential`` of the same layers carrying ``torch.nn.utils.prune``
masks (``weight_mask`` buffers), which the user's own code runs and trains.

What is the same as the paper's setting: Adam with coupled L2 (weight decay 1e-4), a fresh
optimiser per retraining, best epoch by (validation loss, validation metric), unit scores
``mean_r |dL_r/da| |a|`` on the validation rows, global unit and magnitude percentiles, biases of
units without incoming edges masked. What the user chooses: activations, loss, metric, data,
learning rate, batch size, epochs. Dropout modules are skipped while pruning (no dropout in the
engine) and kept in the exported model. A model of plain ``nn.ReLU`` layers with ``loss="bce"`` is
the paper's MLP: it runs the engine's own (fast, hand-differentiated) path, bit for bit what
``prune_grid(task, arch, init=from_sequential(model))`` gives; other activations and losses go
through autograd (``python -m bench own_model``: about 1.8x the time per training for Tanh, 4x
for a callable loss).

Examples
--------
>>> import torch
>>> from sculpt.prune.sequential import prune_sequential, to_sequential
>>> torch.manual_seed(0)  # doctest: +SKIP
>>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
>>> net = prune_sequential(model, (X, y), loss="cross_entropy", p_u=[20], p_e=[5])  # doctest: +SKIP
>>> pruned = to_sequential(net)        # nn.Sequential with weight_mask buffers  # doctest: +SKIP

References
----------
.. [1] Patil, Michael, Dovrolis. "Neural Sculpting: Uncovering hierarchically modular task
   structure in neural networks through pruning and network analysis." NeurIPS 2023.
"""
from __future__ import annotations

import copy
import inspect
from typing import Any, Callable, Sequence

import numpy as np
import torch

from functiongraphs.task import Split
from sculpt.adapters import read_sequential
from sculpt.errors import ConfigError, SculptError
from sculpt.nets import MaskedMLP, PrunedNet
from sculpt.objectives import DEFAULT_METRIC, BuiltinLoss, Metric, loss_name, make_loss
from sculpt.prune.grid import DEFAULT_P_E, DEFAULT_P_U, prune_grid


class ArrayTask:
    """The task interface the engine reads (splits, noise, acceptance), built from a user's arrays."""

    def __init__(self, name: str, train: Split, validation: Split, n_outputs: int, noise: float = 0.0):
        self.name, self.train, self.validation, self.test = name, train, validation, validation
        self._n_outputs = int(n_outputs)  # the model's; a callable loss may take targets of another width
        self.noise, self.graph, self.output_blocks, self.acceptance = float(noise), None, None, "metric"

    @property
    def n_inputs(self) -> int:
        return int(self.train.X.shape[1])

    @property
    def n_outputs(self) -> int:
        return self._n_outputs

    def __repr__(self) -> str:
        return (f"ArrayTask({self.name!r}, inputs={self.n_inputs}, outputs={self.n_outputs}, "
                f"train rows={self.train.X.shape[0]}, validation rows={self.validation.X.shape[0]})")


# ------------------------------------------------------------------------------------- the model

def _composed(modules: Sequence[torch.nn.Module]) -> Callable:
    modules = [_not_inplace(m) for m in modules]
    if not modules:
        return _identity
    if len(modules) == 1:
        return modules[0]
    return torch.nn.Sequential(*modules)


def _identity(x):
    return x


def _not_inplace(module: torch.nn.Module) -> torch.nn.Module:
    # the engine keeps each hidden activation for the unit scores: an in-place op would overwrite it
    module = copy.deepcopy(module)
    if getattr(module, "inplace", False):
        module.inplace = False
    return module


def from_sequential(model: torch.nn.Sequential, device: Any = "cpu") -> MaskedMLP:
    """A one-member :class:`MaskedMLP` holding the model's weights, biases, masks and activations.

    Existing ``torch.nn.utils.prune`` masks (``weight_mask``) are kept; weights outside them are 0.
    As in the paper's code, a unit without any incoming edge also loses its bias (it then outputs
    the activation of 0). The model itself is not modified.
    """
    layout = read_sequential(model)
    net = MaskedMLP(layout.arch, members=1, seed=0, device=device,
                    activations=None if _plain_relu(layout) else [_composed(a) for a in layout.after[:-1]])
    with torch.no_grad():
        for l, (_, layer) in enumerate(layout.linears):
            net.weights[l].copy_(layer.weight.detach().to(device, torch.float32)[None])
            if layer.bias is not None:
                net.biases[l].copy_(layer.bias.detach().to(device, torch.float32)[None])
            else:
                net.biases[l].zero_()
    masks = []
    for _, layer in layout.linears:
        mask = getattr(layer, "weight_mask", None)
        masks.append(torch.ones_like(layer.weight, dtype=torch.bool) if mask is None else mask.detach() != 0)
    net.set_weight_masks([m.to(device)[None] for m in masks])
    return net


def _plain_relu(layout) -> bool:
    """Exactly one ``nn.ReLU`` between every two Linear layers: the paper's MLP (the engine's default)."""
    return all(len(a) == 1 and type(a[0]) is torch.nn.ReLU for a in layout.after[:-1])


def describe_layers(model: torch.nn.Sequential) -> list[dict]:
    """JSON description of the model's layers, enough for :func:`to_sequential` to rebuild them."""
    out = []
    for where, layer in _all_layers(model):
        if isinstance(layer, torch.nn.Linear):
            out.append({"type": "Linear", "in_features": int(layer.in_features),
                        "out_features": int(layer.out_features), "bias": layer.bias is not None})
        else:
            params = inspect.signature(type(layer).__init__).parameters
            kwargs = {k: v for k, v in vars(layer).items()
                      if k in params and isinstance(v, (bool, int, float, str, type(None)))}
            out.append({"type": type(layer).__name__, "kwargs": kwargs})
    return out


def _all_layers(model):
    from sculpt.adapters import _flatten

    return list(_flatten(model))


class _NoBias:
    """Keeps the biases of ``Linear(bias=False)`` layers at 0 through training (a zero penalty)."""

    def __init__(self, layers: Sequence[int], inner=None):
        self.layers, self.inner = list(layers), inner

    def penalty(self, model: MaskedMLP) -> torch.Tensor:
        if self.inner is not None:
            return self.inner.penalty(model)
        return torch.zeros(model.members, device=model.device)

    def after_step(self, model: MaskedMLP) -> None:
        if self.inner is not None and hasattr(self.inner, "after_step"):
            self.inner.after_step(model)
        with torch.no_grad():
            for l in self.layers:
                model.biases[l].zero_()


# ------------------------------------------------------------------------------------- the data

def _tensor(value, what: str) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise ConfigError(f"{what} must be a torch tensor or numpy array, got {type(value).__name__}")
    return value.detach().cpu()


def _collect(data, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(X, Y) from a pair of tensors/arrays or from a DataLoader (read once, batches concatenated)."""
    if isinstance(data, torch.utils.data.DataLoader):
        xs, ys = [], []
        for i, batch in enumerate(data):
            if not isinstance(batch, (list, tuple)) or len(batch) != 2:
                raise ConfigError(f"{what}: batch {i} of the DataLoader is not an (inputs, targets) pair")
            xs.append(_tensor(batch[0], f"{what} inputs"))
            ys.append(_tensor(batch[1], f"{what} targets"))
        if not xs:
            raise ConfigError(f"{what}: the DataLoader yields no batch")
        return torch.cat(xs), torch.cat(ys)
    if isinstance(data, (list, tuple)) and len(data) == 2:
        return _tensor(data[0], f"{what} inputs"), _tensor(data[1], f"{what} targets")
    raise ConfigError(f"{what} must be an (X, Y) pair of tensors or a torch DataLoader, got {type(data).__name__}")


def _prepare(X, Y, n_in: int, n_out: int, loss, what: str) -> Split:
    """Float32 (rows x n_in) inputs and float32 (rows x k) targets, checked against the model."""
    if X.shape[0] != Y.shape[0]:
        raise ConfigError(f"{what}: {X.shape[0]} input rows but {Y.shape[0]} target rows")
    if X.shape[0] == 0:
        raise ConfigError(f"{what}: no rows")
    X = X.reshape(X.shape[0], -1)
    if X.shape[1] != n_in:
        raise ConfigError(f"{what}: inputs have {X.shape[1]} features but the model's first Linear takes {n_in}")
    if X.is_complex() or not torch.isfinite(X.to(torch.float64)).all():
        raise ConfigError(f"{what}: inputs must be finite real numbers")
    if isinstance(loss, str) and loss_name(loss) == "cross_entropy" and not torch.is_floating_point(Y):
        if Y.dim() != 1 or Y.min() < 0 or Y.max() >= n_out:
            raise ConfigError(f"{what}: class targets must be a vector of integers in 0..{n_out - 1}")
        Y = torch.nn.functional.one_hot(Y.long(), n_out)
    elif Y.dim() == 1:
        Y = Y[:, None]
    if Y.is_complex():
        raise ConfigError(f"{what}: targets must be real numbers")
    Y = Y.to(torch.float32)
    if isinstance(loss, str) and Y.shape[1] != n_out:
        raise ConfigError(f"{what}: targets have {Y.shape[1]} columns but the model has {n_out} outputs")
    if not torch.isfinite(Y).all():
        raise ConfigError(f"{what}: targets must be finite")
    return Split(X.to(torch.float32).numpy(), Y.numpy())


# ------------------------------------------------------------------------------------- pruning

def prune_sequential(model: torch.nn.Sequential, data, loss="bce", *, validation=None, metric=None,
                     threshold: float | None = None, p_u: Sequence[float] | None = DEFAULT_P_U,
                     p_e: Sequence[float] = DEFAULT_P_E, lr: float = 1e-3, batch_size: int | None = None,
                     epochs: int = 20, dense_epochs: int | None = None, seed: int = 0, noise: float = 0.0,
                     name: str = "sequential", device: str = "cpu", progress: bool = False,
                     **options) -> PrunedNet:
    """Unit-then-edge prune a user's ``nn.Sequential`` MLP with halving and rewind.

    Parameters
    ----------
    model : torch.nn.Sequential
        Linear layers with element-wise activations between them (see
        :func:`sculpt.adapters.read_sequential`); an element-wise final activation (e.g. Sigmoid)
        is applied before the loss. Its weights (and any ``weight_mask``) are the starting point;
        the model is not modified.
    data : (X, Y) tensors / arrays, or torch.utils.data.DataLoader
        Training rows (a DataLoader is read once into memory; training shuffles in-tensor).
    loss : {"bce", "cross_entropy", "mse"} or callable, default "bce"
        See :mod:`sculpt.objectives`. For "cross_entropy", Y may be class indices (a long vector).
    validation : like ``data``, optional
        Rows for best-epoch selection, unit scores and acceptance; default: the training rows.
    metric : {"accuracy", "bit_accuracy", "r2"} or callable(outputs, targets) -> float, optional
        Acceptance metric, higher is better; default "bit_accuracy" for BCE, "accuracy" for
        cross-entropy, "r2" for MSE, and for a callable loss "accuracy".
    threshold : float, optional
        A pruning step is accepted when the retrained network's validation metric reaches it.
        Default: the dense network's own validation metric (the paper's Alg. 1/2 wording).
    p_u, p_e : sequences of float
        The (p_u, p_e) grid (percent per step); ``p_u=None`` prunes edges only.
    lr, batch_size, epochs : training settings (Adam with coupled L2 1e-4, fresh per retraining).
        ``batch_size`` defaults to the DataLoader's, else 32.
    dense_epochs : int, optional
        Epochs of the first (dense) training; default ``epochs``; 0 for an already trained model.
    seed : int
        Seeds the shuffles (and input noise); same seed, same masks.
    noise : float
        Standard deviation of Gaussian noise added to training inputs on every draw (paper: 0.1
        on Boolean tasks); default 0.
    name : str
        Task name recorded in ``meta``.
    device : str
    progress : bool
    **options
        Further :func:`sculpt.prune.prune_grid` options (``min_step``, ``max_rounds``,
        ``members_per_stack``, ``prefer``, ``regularizer``, ``validation_loss``...).

    Returns
    -------
    PrunedNet
        The sparsest accepted network of the grid. ``meta["sequential"]`` describes the layers
        (for :func:`to_sequential`), ``meta["loss"]`` / ``meta["metric"]`` what was used.

    Raises
    ------
    SculptError
        A layer the engine cannot run (named by index and type), or no network reached the
        threshold. ConfigError for bad data or settings.
    """
    layout = read_sequential(model)
    arch = layout.arch
    if len(arch) < 3:
        raise ConfigError("prune_sequential needs at least two Linear layers (one hidden layer)")
    final_modules = layout.after[-1]
    final = _composed(final_modules) if final_modules else None
    final_is_sigmoid = len(final_modules) == 1 and isinstance(final_modules[0], torch.nn.Sigmoid)
    X, Y = _collect(data, "data")
    target_dtype, squeeze = Y.dtype, Y.dim() == 1
    train_split = _prepare(X, Y, arch[0], arch[-1], loss, "data")
    val_split = train_split if validation is None else _prepare(*_collect(validation, "validation"),
                                                                arch[0], arch[-1], loss, "validation")
    if val_split.Y.shape[1] != train_split.Y.shape[1]:
        raise ConfigError(f"validation targets have {val_split.Y.shape[1]} columns, training targets "
                          f"{train_split.Y.shape[1]}")
    objective = make_loss(loss, arch[-1], final, final_is_sigmoid, target_dtype, squeeze)
    if isinstance(objective, BuiltinLoss) and objective.name == "bce" and final is None:
        objective = None  # the paper's loss: with ReLU layers the engine's fast path applies
    if metric is None:
        metric = DEFAULT_METRIC[loss_name(loss)] if isinstance(loss, str) else "accuracy"
    score = Metric(metric, final, 0.5 if final_is_sigmoid else 0.0, target_dtype, squeeze)
    if batch_size is None:
        batch_size = getattr(data, "batch_size", None) or 32
    task = ArrayTask(name, train_split, val_split, arch[-1], noise=noise)
    start = from_sequential(model, device=device)
    no_bias = [l for l, (_, layer) in enumerate(layout.linears) if layer.bias is None]
    if no_bias:
        options["regularizer"] = _NoBias(no_bias, options.get("regularizer"))
    net = prune_grid(task, arch, seed=seed, p_u=p_u, p_e=p_e, lr=lr, batch_size=int(batch_size),
                     epochs=epochs, dense_epochs=dense_epochs,
                     accuracy_threshold=100.0 if threshold is None else threshold,
                     accept_relative_to_dense=threshold is None, device=device, progress=progress,
                     init=start, loss=objective, metric=score, **options)
    net.meta.update({"sequential": describe_layers(model),
                     "loss": loss if isinstance(loss, str) else getattr(loss, "__name__", type(loss).__name__),
                     "metric": score.name})
    return net


# ------------------------------------------------------------------------------------- export

def _build_layer(spec: dict, where: int) -> torch.nn.Module:
    kind = spec.get("type")
    if kind == "Linear":
        return torch.nn.Linear(int(spec["in_features"]), int(spec["out_features"]), bias=bool(spec.get("bias", True)))
    cls = getattr(torch.nn, str(kind), None)
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise SculptError(f"meta['sequential'][{where}]: unknown layer type {kind!r}")
    return cls(**spec.get("kwargs", {}))


def to_sequential(net: PrunedNet, like: torch.nn.Sequential | None = None) -> torch.nn.Sequential:
    """An ``nn.Sequential`` computing ``net``, with ``torch.nn.utils.prune`` masks on every Linear.

    Parameters
    ----------
    net : PrunedNet
        From :func:`prune_sequential` (its layers are rebuilt from ``meta["sequential"]``) or from
        :func:`sculpt.prune.prune_grid` (Linear / ReLU, the paper's MLP).
    like : torch.nn.Sequential, optional
        A model of the same layout to copy the non-Linear modules from (e.g. the original one,
        when it holds modules whose settings ``meta`` cannot rebuild).

    Returns
    -------
    torch.nn.Sequential
        Each Linear carries ``weight_orig`` / ``weight_mask`` (``prune.custom_from_mask``), and
        ``bias_mask`` where it has a bias: a bias is kept iff its unit keeps an incoming edge, as
        while pruning. Further training by the user keeps pruned weights at 0.
    """
    from torch.nn.utils import prune

    if like is not None:
        model = copy.deepcopy(like)
        for _, layer in read_sequential(model).linears:
            for name in ("weight", "bias"):
                if hasattr(layer, name + "_orig"):  # drop the old masks: the new ones replace them
                    prune.remove(layer, name)
    elif net.meta.get("sequential"):
        model = torch.nn.Sequential(*[_build_layer(spec, i) for i, spec in enumerate(net.meta["sequential"])])
    else:
        layers: list[torch.nn.Module] = []
        for l in range(len(net.arch) - 1):
            layers.append(torch.nn.Linear(net.arch[l], net.arch[l + 1]))
            if l < len(net.arch) - 2:
                layers.append(torch.nn.ReLU())
        model = torch.nn.Sequential(*layers)
    linears = [layer for _, layer in read_sequential(model).linears]
    if [linears[0].in_features] + [lin.out_features for lin in linears] != list(net.arch):
        raise SculptError(f"the model's Linear layers do not match the network's architecture {net.arch}")
    with torch.no_grad():
        for l, layer in enumerate(linears):
            layer.weight.copy_(torch.from_numpy(net.weights[l]))
            mask = torch.from_numpy(np.asarray(net.masks[l], dtype=bool))
            prune.custom_from_mask(layer, "weight", mask)
            if layer.bias is not None:
                layer.bias.copy_(torch.from_numpy(net.biases[l]))
                prune.custom_from_mask(layer, "bias", mask.any(dim=1))
    return model

