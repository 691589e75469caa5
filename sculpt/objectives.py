"""Losses and acceptance metrics of a user's model, in the shape the stacked engine reads.

The paper trains with the mean bitwise binary cross-entropy and accepts a pruning step on bit
accuracy; :func:`sculpt.train.train` and :func:`sculpt.prune.unit.unit_scores` take any
:class:`sculpt.train.Loss` instead. A loss here maps the stack's logits (E, B, n_out) and the
targets (E or 1, B, k) to one loss per row, shape (E, B):

* ``"bce"``: mean over outputs of ``BCE(sigmoid(z), y)``, computed from the logits z;
* ``"cross_entropy"``: ``-sum_c y_c log softmax(z)_c`` (targets one-hot or probabilities);
* ``"mse"``: mean over outputs of ``(f(z) - y)^2``;
* a callable ``loss(outputs, targets) -> scalar``, a batch-mean loss such as
  ``torch.nn.functional.mse_loss`` or ``torch.nn.CrossEntropyLoss()``: each row's loss is the
  callable on that row alone (``torch.func.vmap``), so a batch's loss is the mean of its rows'.

``f`` is the model's final element-wise activation when its ``nn.Sequential`` ends with one (e.g. a
``Sigmoid``); the built-in BCE then works on the logits before it, which is the same number and
stays finite where the sigmoid saturates. Metrics are "higher is better" numbers per member:
``"accuracy"`` (percent of rows whose argmax matches the one-hot or class-index target, or for one
output whose side of the decision threshold is right),
``"bit_accuracy"`` (percent of outputs on the right side of 0.5, the paper's bit accuracy),
``"r2"`` (100 * coefficient of determination) or a callable ``metric(outputs, targets) -> float``.

Examples
--------
>>> import torch
>>> loss = make_loss("mse", n_outputs=1)
>>> loss.rows(torch.zeros(2, 3, 1), torch.ones(3, 1)).shape
torch.Size([2, 3])
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from sculpt.errors import ConfigError

LOSSES = ("bce", "cross_entropy", "mse")
METRICS = ("accuracy", "bit_accuracy", "r2")
DEFAULT_METRIC = {"bce": "bit_accuracy", "cross_entropy": "accuracy", "mse": "r2"}
_ALIASES = {"bce_with_logits": "bce", "binary_cross_entropy": "bce", "ce": "cross_entropy",
            "crossentropy": "cross_entropy", "mse_loss": "mse"}


def _identity(x):
    return x


def apply_final(final: Callable, logits: torch.Tensor) -> torch.Tensor:
    """``final`` on every row of a stack's logits (E, B, n_out), as the model applies it to (B, n_out).

    The rows are flattened first so that a row-wise final module (``Softmax(dim=1)``) normalises
    over a row's outputs, not over the batch.
    """
    if final is _identity:
        return logits
    return final(logits.reshape(-1, logits.shape[-1])).reshape(logits.shape)


class BuiltinLoss:
    """One of :data:`LOSSES`, applied to ``final(logits)`` (``final``: the model's last activation)."""

    def __init__(self, name: str, final: Callable | None = None, final_is_sigmoid: bool = False):
        self.name, self.final, self.final_is_sigmoid = name, final or _identity, final_is_sigmoid

    def rows(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        targets = targets.expand(logits.shape[0], *targets.shape[-2:])
        if self.name == "bce":
            return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(dim=2)
        outputs = apply_final(self.final, logits)
        if self.name == "cross_entropy":
            return -(targets * torch.log_softmax(outputs, dim=2)).sum(dim=2)
        return (outputs - targets).square().mean(dim=2)

    def __repr__(self) -> str:
        return f"BuiltinLoss({self.name!r})"


class CallableLoss:
    """A user's batch-mean loss ``fn(outputs, targets)``; row r's loss is ``fn`` on row r alone.

    ``target_dtype`` / ``squeeze`` give the callable the targets as the user passed them (e.g. class
    indices as a long vector for ``torch.nn.CrossEntropyLoss``); the engine stores them as float
    columns.
    """

    def __init__(self, fn: Callable, final: Callable | None = None, target_dtype=torch.float32,
                 squeeze: bool = False):
        self.fn, self.final, self.target_dtype, self.squeeze = fn, final or _identity, target_dtype, squeeze

    def _one_row(self, output, target):
        target = target.to(self.target_dtype)
        if self.squeeze:
            target = target[0]
        return self.fn(output[None], target[None]).reshape(())

    def rows(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        E, B = logits.shape[:2]
        targets = targets.expand(E, B, targets.shape[-1])
        outputs = apply_final(self.final, logits).reshape(E * B, -1)
        try:
            per_row = torch.func.vmap(self._one_row)(outputs, targets.reshape(E * B, -1))
        except Exception as exc:  # noqa: BLE001 - any failure of user code becomes one clear error
            raise ConfigError(f"the loss {getattr(self.fn, '__name__', type(self.fn).__name__)} cannot be "
                              f"evaluated row by row with torch.func.vmap ({type(exc).__name__}: {exc}); "
                              "give a batch-mean loss made of torch operations, or one of "
                              f"{', '.join(LOSSES)}") from None
        return per_row.reshape(E, B)

    def __repr__(self) -> str:
        return f"CallableLoss({getattr(self.fn, '__name__', type(self.fn).__name__)})"


def loss_name(loss) -> str:
    """Canonical name of a built-in loss string, or ConfigError naming the choices."""
    key = str(loss).lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in LOSSES:
        raise ConfigError(f"unknown loss {loss!r}: choose one of {', '.join(LOSSES)} or pass a callable")
    return key


def make_loss(loss, n_outputs: int, final: Callable | None = None, final_is_sigmoid: bool = False,
              target_dtype=torch.float32, squeeze: bool = False):
    """A :class:`sculpt.train.Loss` from a name or a callable.

    Parameters
    ----------
    loss : str or callable
    n_outputs : int
        Outputs of the network (cross-entropy needs at least two).
    final : callable, optional
        The model's final element-wise activation.
    final_is_sigmoid : bool
        ``final`` is a sigmoid: "bce" then reads the logits before it.
    target_dtype, squeeze : how a callable loss wants its targets (see :class:`CallableLoss`).
    """
    if callable(loss) and not isinstance(loss, str):
        return CallableLoss(loss, final, target_dtype, squeeze)
    name = loss_name(loss)
    if name == "cross_entropy" and n_outputs < 2:
        raise ConfigError(f"loss 'cross_entropy' needs at least 2 outputs (classes), the network has {n_outputs}")
    if name == "bce" and final is not None and not final_is_sigmoid:
        raise ConfigError("loss 'bce' reads logits: end the model with its last Linear layer or a Sigmoid")
    if name == "cross_entropy" and final is not None:
        raise ConfigError("loss 'cross_entropy' reads logits: end the model with its last Linear layer")
    return BuiltinLoss(name, final, final_is_sigmoid)


def _accuracy(outputs: torch.Tensor, targets: torch.Tensor, threshold: float) -> torch.Tensor:
    if outputs.shape[-1] == 1:
        hit = (outputs[..., 0] > threshold) == (targets[..., 0] > 0.5)
    elif targets.shape[-1] == 1:  # class indices (a callable loss keeps the user's targets)
        hit = outputs.argmax(dim=-1) == targets[..., 0].round().long()
    else:
        hit = outputs.argmax(dim=-1) == targets.argmax(dim=-1)
    return 100.0 * hit.double().mean(dim=-1)


def _r2(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    residual = (outputs.double() - targets.double()).square().sum(dim=(-2, -1))
    total = (targets.double() - targets.double().mean(dim=-2, keepdim=True)).square().sum(dim=(-2, -1))
    return 100.0 * (1.0 - residual / total.clamp_min(1e-300))


class Metric:
    """A per-member acceptance metric over all validation rows: ``metric(logits, Y) -> (E,)``.

    Parameters
    ----------
    metric : {"accuracy", "bit_accuracy", "r2"} or callable(outputs, targets) -> float
    final : callable, optional
        The model's final element-wise activation (outputs = final(logits)).
    logit_threshold : float
        Decision threshold of one-output accuracy and of bit accuracy on the OUTPUTS: 0 for logits,
        0.5 when the model ends with a sigmoid.
    target_dtype, squeeze : how a callable metric wants its targets.
    """

    def __init__(self, metric, final: Callable | None = None, logit_threshold: float = 0.0,
                 target_dtype=torch.float32, squeeze: bool = False):
        if isinstance(metric, str) and metric not in METRICS:
            raise ConfigError(f"unknown metric {metric!r}: choose one of {', '.join(METRICS)} or pass a callable")
        if not isinstance(metric, str) and not callable(metric):
            raise ConfigError(f"metric must be a name or a callable, got {type(metric).__name__}")
        self.metric, self.final, self.threshold = metric, final or _identity, float(logit_threshold)
        self.target_dtype, self.squeeze = target_dtype, squeeze

    @property
    def name(self) -> str:
        return self.metric if isinstance(self.metric, str) else getattr(self.metric, "__name__",
                                                                        type(self.metric).__name__)

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        outputs = apply_final(self.final, logits)
        targets = targets.expand(outputs.shape[0], *targets.shape[-2:])
        if self.metric == "accuracy":
            return _accuracy(outputs, targets, self.threshold)
        if self.metric == "bit_accuracy":
            return 100.0 * ((outputs > self.threshold) == (targets > 0.5)).double().mean(dim=(1, 2))
        if self.metric == "r2":
            return _r2(outputs, targets)
        values = []
        for e in range(outputs.shape[0]):
            t = targets[e].to(self.target_dtype)
            value = self.metric(outputs[e], t[:, 0] if self.squeeze else t)
            try:
                values.append(float(value))
            except (TypeError, ValueError):
                raise ConfigError(f"metric {self.name} must return one number, got {type(value).__name__}") from None
        return torch.tensor(values, dtype=torch.float64)

    def __repr__(self) -> str:
        return f"Metric({self.name!r})"
