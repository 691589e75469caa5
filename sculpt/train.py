"""Training a stack of masked MLPs in lockstep, as the paper's ``utils/train.py`` does for one.

Spec: ``spec/neural_sculpting.md`` section 2. Per member: Adam(lr, weight_decay=1e-4) with coupled
L2 (not AdamW), constant learning rate, a fresh optimiser for every (re)training, mean bitwise
binary cross-entropy, fresh N(0, noise^2) input noise on every draw, shuffled minibatches, and the
best epoch kept by the (validation loss, validation accuracy) rule of section 2.5.

Differences from the paper's code, all deliberate:

* The loss is ``binary_cross_entropy_with_logits`` on the output logits. It equals the paper's
  ``-log(p*y + (1-p)*(1-y))`` on sigmoid probabilities, but stays finite where the sigmoid
  saturates (the paper patches that case with a 1e-8 offset).
* ``validation_loss="mean"`` (default) fixes bug 11.1.2: the validation loss is the mean BCE over
  all validation rows and outputs. ``validation_loss="paper"`` reproduces the code: batch means
  (batches of ``batch_size`` rows, in order) summed and divided by (#batches - 1), which is
  ``inf`` when the validation set fits in one batch; the selection then falls into its
  accuracy-only branch and keeps the LATEST epoch whose accuracy is >= the best so far, whereas
  the mean loss keeps the lowest-loss epoch among the most accurate ones.
* The stack draws one shuffle and one noise tensor for all members per epoch (``torch.rand`` +
  ``argsort`` per member, one ``torch.randn``), so member e's random stream depends on the
  stack size E and its position, not on the other members' state. Same stack, same seed ->
  bit-identical results.
* The accuracy used for best-epoch selection and acceptance is the one ``task.acceptance``
  names ("bit", the paper's per-bit accuracy, by default; equal to exact-row accuracy at 100 %).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F

from sculpt import fastpath
from sculpt.errors import ConfigError
from sculpt.nets import MaskedMLP

WEIGHT_DECAY = 1e-4
# Above this many elements per epoch (E x rows x inputs) noise is drawn batch by batch, not per epoch.
EPOCH_NOISE_LIMIT = 1 << 22


@runtime_checkable
class Regularizer(Protocol):
    """What ``train(..., regularizer=...)`` accepts (e.g. the spectral clusterability regularisers).

    ``penalty(model)`` returns a tensor of shape (E,) that is added to each member's loss at every
    optimiser step (it must be differentiable w.r.t. ``model.weights`` / ``model.biases``).
    An optional ``after_step(model) -> None`` is called after every optimiser step (e.g. to
    renormalise weights); masks are re-applied right after it, so pruned weights stay 0.
    """

    def penalty(self, model: MaskedMLP) -> torch.Tensor:  # pragma: no cover - protocol
        ...


class Loss(Protocol):
    """What ``train(..., loss=...)`` accepts instead of the paper's BCE (:mod:`sculpt.objectives`).

    ``rows(logits, targets)`` returns each row's loss, shape (E, B), from logits (E, B, n_out) and
    targets (E, B, k) or (B, k); a member's training loss is the mean over its rows, and the unit
    scores of :mod:`sculpt.prune.unit` differentiate each row's loss.
    """

    def rows(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        ...


def row_losses(logits: torch.Tensor, targets: torch.Tensor, loss: Loss | None = None, spans=None) -> torch.Tensor:
    """Per-row loss (E, B): mean BCE over outputs (the paper) or ``loss.rows`` when given.

    ``spans``: member ranges of packed trials (:func:`member_segments`); the BCE runs per range.
    """
    if loss is None:
        return _segment_bce(logits, targets.expand_as(logits), spans).mean(dim=2)
    return loss.rows(logits, targets)


def _member_loss(logits: torch.Tensor, targets: torch.Tensor, loss: Loss | None, spans=None) -> torch.Tensor:
    """Training loss of every member (E,) on one batch."""
    if loss is None:  # the paper's mean bitwise BCE, unchanged
        return _segment_bce(logits, targets, spans).mean(dim=(1, 2))
    return loss.rows(logits, targets).mean(dim=1)


def member_segments(E: int, segments=None) -> list[tuple[int, int]]:
    """``[(lo, hi), ...]`` member ranges of the trials packed in a stack of ``E`` members.

    ``segments`` lists the members of each trial in order (they must sum to E); None is one trial.
    Element-wise kernels with transcendental functions (sigmoid, exp, log) take a vectorised path
    for most elements and a scalar path for the tail of a tensor, which can differ in the last bit,
    so every such op runs on one trial's members at a time: a trial's numbers then do not depend on
    which other trials share its stack.
    """
    if segments is None:
        return [(0, E)]
    sizes = [int(n) for n in segments]
    if any(n < 1 for n in sizes) or sum(sizes) != E:
        raise ConfigError(f"segments {sizes} must be positive member counts summing to the stack's {E} members")
    bounds = np.cumsum([0, *sizes])
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def _segment_bce(logits, y, spans=None):
    """Element-wise BCE-with-logits (reduction none), computed per trial segment (see member_segments)."""
    if spans is None or len(spans) == 1:
        return F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return torch.cat([F.binary_cross_entropy_with_logits(logits[lo:hi], y[lo:hi], reduction="none")
                      for lo, hi in spans])


@dataclass
class TrainResult:
    """Outcome of one (re)training of a stack; every array has one entry per member.

    Attributes
    ----------
    accuracy : ndarray (E,)
        Test-split accuracy of the kept (best-epoch) network, in the metric ``task.acceptance``
        names; reported only (pruning compares ``val_accuracy`` with its threshold, so that the
        test split never selects; for Boolean tasks validation and test are the same rows).
    test : dict of ndarray
        "bit", "row" (and "block" when the task has output blocks) test accuracies in percent,
        and "loss" (mean BCE).
    val_loss, val_accuracy : ndarray (E,)
        Validation loss and accuracy (``task.acceptance`` metric) of the kept epoch, as used by
        the selection rule and by the pruning threshold.
    best_epoch : ndarray (E,) of int
    curves : dict of ndarray (epochs, E)
        "val_loss" and "val_accuracy" per epoch.
    """

    accuracy: np.ndarray
    test: dict
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    best_epoch: np.ndarray
    curves: dict = field(default_factory=dict)


def _as_tensors(split, device):
    return (torch.as_tensor(np.ascontiguousarray(split.X), dtype=torch.float32, device=device),
            torch.as_tensor(np.ascontiguousarray(split.Y), dtype=torch.float32, device=device))


@torch.no_grad()
def evaluate(model: MaskedMLP, X: torch.Tensor, Y: torch.Tensor, *, output_blocks=None,
             chunk_rows: int = 8192, loss: Loss | None = None, metric=None, segments=None) -> dict:
    """Per-member metrics of ``model`` on noise-free rows.

    Parameters
    ----------
    loss : Loss, optional
        Row losses (default: the paper's mean BCE over outputs).
    metric : callable(logits (E, rows, n_out), Y (rows, k)) -> tensor (E,), optional
        A user's acceptance metric (higher is better), reported as "metric"; it sees all rows at once.
    segments : list of int, optional
        Members per packed trial (see :func:`member_segments`).

    Returns
    -------
    dict of tensors of shape (E,): "loss" (mean row loss), "bit", "row" (and "block") accuracies in
    percent (float64), or instead "metric" when ``metric`` is given; and "row_loss" (E, rows).
    """
    spans = member_segments(model.members, segments)
    # without the mask products where that is exact (sculpt.fastpath)
    unmasked = fastpath.applies(model, None, None)
    row_loss_parts, bit_ok, row_ok, block_ok, all_logits = [], 0, 0, 0, []
    for start in range(0, X.shape[0], chunk_rows):
        x, y = X[start:start + chunk_rows], Y[start:start + chunk_rows]
        logits = fastpath.forward_unmasked(model, x) if unmasked else model(x)
        row_loss_parts.append(row_losses(logits, y, loss, spans))
        if metric is not None:  # a user's metric replaces the Boolean accuracies
            all_logits.append(logits)
            continue
        correct = (logits > 0) == (y > 0.5)
        bit_ok = bit_ok + correct.sum(dim=(1, 2))
        row_ok = row_ok + correct.all(dim=2).sum(dim=1)
        if output_blocks:
            for a, b in output_blocks:
                block_ok = block_ok + (logits[:, :, a:b].argmax(dim=2) == y[:, a:b].argmax(dim=1)).sum(dim=1)
    rows, outs = X.shape[0], Y.shape[1]
    row_loss = row_loss_parts[0] if len(row_loss_parts) == 1 else torch.cat(row_loss_parts, dim=1)
    out = {"row_loss": row_loss, "loss": row_loss.mean(dim=1)}
    if metric is not None:
        out["metric"] = torch.as_tensor(metric(torch.cat(all_logits, dim=1), Y), dtype=torch.float64,
                                        device=row_loss.device).reshape(-1)
        return out
    out.update({"bit": _percent(bit_ok, rows * outs), "row": _percent(row_ok, rows)})
    if output_blocks:
        out["block"] = _percent(block_ok, rows * len(output_blocks))
    return out


def _percent(count: torch.Tensor, total: int) -> torch.Tensor:
    """``count`` of ``total`` in percent (float64), the one formula of every reported accuracy."""
    return 100.0 * count.double() / total


class _Validation:
    """The per-epoch validation of :func:`train`: (loss, acceptance accuracy) of every member.

    With the hand-written forward (``fast_step``), the default loss, a bit or row acceptance and
    rows that fit one evaluation chunk, only what the selection reads is computed, from inputs
    prepared once per training (the expanded rows, the targets' 0/1 test): the same kernels on the
    same operands as :func:`evaluate`, so the same numbers. Anything else calls :func:`evaluate`.
    """

    def __init__(self, model: MaskedMLP, X, Y, task, *, fast_step, chunk_rows: int, loss, metric, segments,
                 validation_loss: str, batch_size: int):
        self.model, self.X, self.Y, self.task = model, X, Y, task
        self.chunk_rows, self.loss, self.metric, self.segments = chunk_rows, loss, metric, segments
        self.validation_loss, self.batch_size = validation_loss, int(batch_size)
        self.fast_step = fast_step
        lean = (fast_step is not None and loss is None and metric is None and task.acceptance in ("bit", "row")
                and X.shape[0] <= chunk_rows)
        if lean:
            E = model.members
            self.spans = member_segments(E, segments)
            self.x = X.unsqueeze(0).expand(E, -1, -1)
            self.y = Y.unsqueeze(0).expand(E, -1, -1)
            self.target = Y > 0.5
        self.lean = lean

    @torch.no_grad()
    def __call__(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.lean:
            metrics = evaluate(self.model, self.X, self.Y, output_blocks=self.task.output_blocks,
                               chunk_rows=self.chunk_rows, loss=self.loss, metric=self.metric, segments=self.segments)
            return self._loss(metrics["row_loss"], metrics["loss"]), metrics[self.task.acceptance]
        logits = self.fast_step.forward(self.x)
        row_loss = _segment_bce(logits, self.y, self.spans).mean(dim=2)
        correct = (logits > 0) == self.target
        rows, outs = self.Y.shape
        acc = (_percent(correct.sum(dim=(1, 2)), rows * outs) if self.task.acceptance == "bit"
               else _percent(correct.all(dim=2).sum(dim=1), rows))
        return self._loss(row_loss, None), acc

    def _loss(self, row_loss, mean_loss):
        if self.validation_loss == "paper":
            return paper_validation_loss(row_loss, self.batch_size)
        return row_loss.mean(dim=1) if mean_loss is None else mean_loss


def paper_validation_loss(row_loss: torch.Tensor, batch_size: int) -> torch.Tensor:
    """The paper's validation loss (bug 11.1.2): sum of batch means / (#batches - 1).

    ``row_loss`` is (E, rows) of per-row mean BCE; batches are consecutive ``batch_size`` rows.
    One batch gives ``inf`` (a positive sum divided by 0), as in the paper's code.
    """
    rows = row_loss.shape[1]
    n_batches = math.ceil(rows / batch_size)
    batch_means = torch.stack([row_loss[:, s:s + batch_size].mean(dim=1)
                               for s in range(0, rows, batch_size)], dim=1)
    return batch_means.sum(dim=1) / (n_batches - 1) if n_batches > 1 else batch_means.sum(dim=1) / 0.0


def select_best_epoch(val_loss, val_acc, best_loss, best_acc):
    """One epoch of the section 2.5 rule, vectorised over members (NumPy arrays of shape (E,)).

    Returns (improved, new_best_loss, new_best_acc). With a finite loss (< 1000): keep the epoch if
    loss <= best loss and accuracy >= best accuracy, or if accuracy > best accuracy. Otherwise
    (loss >= 1000, inf or nan): keep it if accuracy >= best accuracy, leaving the best loss alone.
    """
    finite = val_loss < 1000
    by_both = finite & (val_loss <= best_loss) & (val_acc >= best_acc)
    by_acc = finite & ~by_both & (val_acc > best_acc)
    by_acc_only = ~finite & (val_acc >= best_acc)
    improved = by_both | by_acc | by_acc_only
    new_loss = np.where(by_both | by_acc, val_loss, best_loss)
    new_acc = np.where(improved, val_acc, best_acc)
    return improved, new_loss, new_acc


class _BestEpoch:
    """The section 2.5 selection over the epochs of one training, with each member's kept parameters.

    The rule runs on the host, on the two (E,) vectors of an epoch's validation (one read per
    epoch, none per step): its dozen comparisons cost less in NumPy than as tiny tensor ops, and
    knowing which members improved lets an epoch that improves all of them copy the parameters,
    and one that improves none skip them, instead of a ``torch.where`` per parameter.
    """

    def __init__(self, params: list):
        E = int(params[0].shape[0])
        self.params = params
        self.kept = [p.detach().clone() for p in params]
        self.loss = np.full(E, np.inf, dtype=np.float32)
        self.acc = np.full(E, -np.inf, dtype=np.float64)
        self.epoch = np.zeros(E, dtype=np.int64)
        self.loss_curve, self.acc_curve = [], []

    def update(self, epoch: int, val_loss: torch.Tensor, val_acc: torch.Tensor) -> None:
        loss, acc = val_loss.cpu().numpy(), val_acc.cpu().numpy()
        self.loss_curve.append(loss)
        self.acc_curve.append(acc)
        improved, self.loss, self.acc = select_best_epoch(loss, acc, self.loss, self.acc)
        self.epoch[improved] = epoch
        if improved.all():
            for kept, p in zip(self.kept, self.params):
                kept.copy_(p.detach())
        elif improved.any():
            keep = torch.from_numpy(improved).to(self.params[0].device)
            self.kept = [torch.where(keep.view(-1, *([1] * (p.dim() - 1))), p.detach(), kept)
                         for p, kept in zip(self.params, self.kept)]

    def restore(self) -> None:
        """Leave every member at its kept epoch's parameters."""
        with torch.no_grad():
            for p, kept in zip(self.params, self.kept):
                p.copy_(kept)


def check_training_settings(lr, batch_size, epochs) -> None:
    """Refuse a learning rate, batch size or epoch count that cannot train (ConfigError)."""
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ConfigError(f"lr must be a positive number, got {lr!r}")
    if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not (isinstance(epochs, (int, np.integer)) and epochs >= 1):
        raise ConfigError(f"epochs must be a positive integer, got {epochs!r}")


def _check_train_args(task, lr, batch_size, epochs, validation_loss, model) -> None:
    check_training_settings(lr, batch_size, epochs)
    if validation_loss not in ("mean", "paper"):
        raise ConfigError(f"validation_loss must be 'mean' or 'paper', got {validation_loss!r}")
    if model.arch[0] != task.n_inputs or model.arch[-1] != task.n_outputs:
        raise ConfigError(f"arch {model.arch} does not fit task {task.name!r}: it has "
                          f"{task.n_inputs} inputs and {task.n_outputs} outputs")


class StackAdam:
    """Adam with coupled L2 (``torch.optim.Adam(weight_decay=wd)`` semantics) over a few tensors.

    On 16-row truth tables the cost of training is Python overhead, and ``torch.optim.Adam.step``
    spends most of its time in bookkeeping (profiler hooks, state dicts, zero_grad). This class
    takes the gradients directly (from ``torch.autograd.grad``) and calls the fused CPU kernel
    when the build has it, else the same update written with ``torch._foreach_*`` ops.
    ``tests/test_train.py`` checks both paths against ``torch.optim.Adam`` step for step.
    """

    def __init__(self, params, lr, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8,
                 fused: bool | None = None, segments=None):
        self.params = list(params)
        self.weight_decay, self.betas, self.eps = weight_decay, betas, eps
        # one update per packed trial, on views of its members: its own learning rate, and the
        # kernel walks its elements exactly as it would in a stack of its own (see member_segments)
        self.spans = member_segments(int(self.params[0].shape[0]), segments)
        lrs = [lr] * len(self.spans) if isinstance(lr, (int, float)) else [float(v) for v in lr]
        if len(lrs) != len(self.spans):
            raise ConfigError(f"got {len(lrs)} learning rates for {len(self.spans)} packed trials")
        self.lrs = lrs
        self.lr = lrs[0]
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.t = 0
        if fused is None:
            fused = hasattr(torch, "_fused_adam_") and all(p.device.type == "cpu" for p in self.params)
        self.fused = fused
        # one step counter shared by every tensor: a single add_ per step instead of a foreach
        self.step_count = torch.zeros((), dtype=torch.float32, device=self.params[0].device)
        self.steps = [self.step_count] * len(self.params)

    @torch.no_grad()
    def step(self, grads) -> None:
        self.t += 1
        # the fused kernel walks grads in the params' memory layout: make them contiguous
        # (autograd returns transposed strides for the weights of a baddbmm)
        grads = [g if g.is_contiguous() else g.contiguous() for g in grads] if self.fused else list(grads)
        if self.fused:
            self.step_count.add_(1)
        if len(self.spans) == 1:
            self._update(self.params, grads, self.exp_avg, self.exp_avg_sq, self.lrs[0])
            return
        for (lo, hi), lr in zip(self.spans, self.lrs):
            self._update([p[lo:hi] for p in self.params], [g[lo:hi] for g in grads],
                         [m[lo:hi] for m in self.exp_avg], [v[lo:hi] for v in self.exp_avg_sq], lr)

    def _update(self, params, grads, exp_avg, exp_avg_sq, lr: float) -> None:
        b1, b2 = self.betas
        if self.fused:
            torch._fused_adam_(params, grads, exp_avg, exp_avg_sq, [], self.steps,
                               lr=lr, beta1=b1, beta2=b2, weight_decay=self.weight_decay,
                               eps=self.eps, amsgrad=False, maximize=False)
            return
        g = torch._foreach_add(grads, params, alpha=self.weight_decay)
        torch._foreach_lerp_(exp_avg, g, 1 - b1)
        torch._foreach_mul_(exp_avg_sq, b2)
        torch._foreach_addcmul_(exp_avg_sq, g, g, value=1 - b2)
        bias1, bias2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        denom = torch._foreach_sqrt(exp_avg_sq)
        torch._foreach_div_(denom, math.sqrt(bias2))
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, exp_avg, denom, value=-lr / bias1)


def _segment_epoch(X, Y, n: int, noise: float, generator, draw: bool, drawn_as=None):
    """One trial segment's epoch: (xs, ys, None) drawn for the whole epoch, or (None, None, order).

    A segment whose members all sit out (``draw=False``) draws nothing, so its generator advances
    exactly as when the trial trains alone; its members get the plain rows (their loss weight is 0).
    ``drawn_as = (members, positions)``: the segment holds only these positions of a trial of
    ``members``; the draws are made for the whole trial and the positions' rows kept.
    """
    N = X.shape[0]
    if not draw:
        return X.unsqueeze(0).expand(n, -1, -1), Y.unsqueeze(0).expand(n, -1, -1), None
    members = n if drawn_as is None else drawn_as[0]
    order = torch.rand((members, N), generator=generator, device=X.device).argsort(dim=1)
    if drawn_as is not None:
        order = order[drawn_as[1]]
    if members * N * X.shape[1] > EPOCH_NOISE_LIMIT:
        return None, None, order
    return _noised(_rows(X, order), noise, generator, drawn_as), _rows(Y, order), None


def _rows(table: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """``table[order]`` (order: (E, b) row indices) as one ``index_select``, cheaper than advanced indexing."""
    return table.index_select(0, order.reshape(-1)).view(*order.shape, table.shape[1])


def _noised(x: torch.Tensor, noise: float, generator, drawn_as=None) -> torch.Tensor:
    """``x + noise * N(0, 1)``, one fresh draw; computed in place on the draw (addition commutes exactly).

    With ``drawn_as = (members, positions)`` the draw is made for all ``members`` of the trial (so the
    generator and every value are as in the whole trial) and the rows of ``positions`` are used.
    """
    if not noise:
        return x
    if drawn_as is None:
        return torch.randn(x.shape, generator=generator, device=x.device).mul_(noise).add_(x)
    draw = torch.randn((drawn_as[0], *x.shape[1:]), generator=generator, device=x.device)
    return draw[drawn_as[1]].mul_(noise).add_(x)


def _epoch_batches(X, Y, spans, generators, draws, noise, batch_size, drawn_as=None):
    """Yield (x, y) batches (E, b, in) / (E, b, out) of one epoch, noised on every draw.

    Each trial segment shuffles and noises its members from its own generator (a whole epoch of
    noise at once unless that is above ``EPOCH_NOISE_LIMIT`` elements, then batch by batch);
    ``drawn_as``: per segment, None or (members of its trial, positions held), see :func:`train`.
    """
    N = X.shape[0]
    drawn_as = drawn_as or [None] * len(spans)
    parts = [_segment_epoch(X, Y, hi - lo, noise, gen, draw, whole)
             for (lo, hi), gen, draw, whole in zip(spans, generators, draws, drawn_as)]
    if all(order is None for _, _, order in parts):
        xs = parts[0][0] if len(parts) == 1 else torch.cat([p[0] for p in parts])
        ys = parts[0][1] if len(parts) == 1 else torch.cat([p[1] for p in parts])
        for s in range(0, N, batch_size):
            yield xs[:, s:s + batch_size], ys[:, s:s + batch_size]
        return
    for s in range(0, N, batch_size):
        xb, yb = [], []
        for (xs, ys, order), gen, whole in zip(parts, generators, drawn_as):
            if order is None:
                xb.append(xs[:, s:s + batch_size])
                yb.append(ys[:, s:s + batch_size])
                continue
            idx = order[:, s:s + batch_size]
            xb.append(_noised(_rows(X, idx), noise, gen, whole))
            yb.append(_rows(Y, idx))
        yield (xb[0], yb[0]) if len(xb) == 1 else (torch.cat(xb), torch.cat(yb))


def train(model: MaskedMLP, task, *, lr, batch_size: int, epochs: int,
          generator, regularizer: Regularizer | None = None, active=None,
          weight_decay: float = WEIGHT_DECAY, validation_loss: Literal["mean", "paper"] = "mean",
          eval_chunk_rows: int = 8192, loss: Loss | None = None, metric=None, segments=None,
          condense: bool = False, drawn_as=None) -> TrainResult:
    """Train every member of ``model`` in place and leave it at its best epoch.

    Parameters
    ----------
    model : MaskedMLP
        Trained in place; masks stay applied. On return each member holds its best-epoch weights.
    task : functiongraphs.Task
        ``train`` rows (noised with ``task.noise`` on every draw), ``validation`` rows for the
        epoch selection, ``test`` rows for the reported accuracy.
    lr, batch_size, epochs : training settings (constant learning rate).
        With ``segments``, ``lr`` may be a list: one learning rate per packed trial.
    generator : torch.Generator or list of torch.Generator
        Source of the shuffles and the input noise; with ``segments``, one per packed trial.
    regularizer : Regularizer, optional
        ``penalty(model) -> (E,)`` added to each member's loss; optional ``after_step(model)``.
    active : bool tensor (E,), optional
        Members to train. The others are restored to their incoming state at the end (they still
        ride along in the batched matmuls; their loss weight is 0).
    weight_decay : float, default 1e-4
        Coupled L2 (``torch.optim.Adam(weight_decay=...)``), as the paper.
    validation_loss : {"mean", "paper"}
        "mean" fixes bug 11.1.2; "paper" reproduces the /(#batches - 1) division (see module doc).
    eval_chunk_rows : int
        Rows per forward pass during evaluation (bounds memory on large validation sets).
    loss : Loss, optional
        Replaces the paper's mean BCE (e.g. a user's cross-entropy, :mod:`sculpt.objectives`).
    metric : callable, optional
        A user's validation metric, see :func:`evaluate`; select it with ``task.acceptance == "metric"``.
    segments : list of int, optional
        Members of each trial packed into the stack, in order (see :func:`member_segments`).
        Each trial draws from its own generator, and only when one of its members is active, so
        a trial's results are bit-identical whether it trains alone or packed with others.
    condense : bool, default False
        Train only the live hidden units (:mod:`sculpt.condensed`) when that drops at least a
        quarter of the widths, and only the live inputs of a noise-free task when a quarter of
        them is dead: much faster on pruned stacks, equal up to floating-point rounding. A
        condensed stack that is small (:data:`sculpt.prune.threads.SMALL_NETWORK_WEIGHTS`)
        trains on one torch thread, as small networks do.
    drawn_as : list, optional
        Per segment, None or ``(members, positions)``: the segment holds only these positions
        (a LongTensor) of a trial of ``members``; shuffles and noise are drawn for the whole trial
        and the positions' rows kept, so they train exactly as inside the whole trial
        (:func:`sculpt.prune.driver.train_trying` uses it to leave idle members out).

    Returns
    -------
    TrainResult

    Notes
    -----
    The optimised objective is the SUM over members of each member's mean BCE (plus penalty), so
    each member's gradient is exactly what it would get alone; Adam is element-wise, so one
    optimiser over the stacked tensors keeps members independent.
    """
    spans = member_segments(model.members, segments)
    lrs = [float(v) for v in lr] if isinstance(lr, (list, tuple)) else [lr] * len(spans)
    generators = list(generator) if isinstance(generator, (list, tuple)) else [generator]
    if len(lrs) != len(spans) or len(generators) != len(spans):
        raise ConfigError(f"{len(spans)} packed trials need as many learning rates and generators, got "
                          f"{len(lrs)} and {len(generators)}")
    for one_lr in lrs:
        _check_train_args(task, one_lr, batch_size, epochs, validation_loss, model)
    settings = dict(spans=spans, lrs=lrs, generators=generators, batch_size=batch_size, epochs=epochs,
                    active=active, weight_decay=weight_decay, validation_loss=validation_loss,
                    eval_chunk_rows=eval_chunk_rows, metric=metric, segments=segments, drawn_as=drawn_as)
    if condense and fastpath.applies(model, regularizer, loss):
        from sculpt import condensed

        if condensed.worth_condensing(model):
            inputs = condensed.inputs_to_keep(model, task)
            small, index = condensed.condense(model, inputs)
            small_task = task if inputs is None else condensed.select_inputs(task, inputs)
            with condensed.threads_for(small):
                result = _train_stack(small, small_task, exact_gradients=False, **settings)
            condensed.scatter_back(model, small, index, inputs)
            return result
    return _train_stack(model, task, regularizer=regularizer, loss=loss, **settings)


def _train_stack(model: MaskedMLP, task, *, spans, lrs, generators, batch_size, epochs, active, weight_decay,
                 validation_loss, eval_chunk_rows, metric, segments, drawn_as=None, regularizer=None,
                 loss=None, exact_gradients: bool = True) -> TrainResult:
    """The training loop of :func:`train` on checked arguments.

    ``exact_gradients=False`` lets the hand-written step sum the weight gradients in its faster
    order (:class:`sculpt.fastpath.BCEReLUStep`); the condensed path, already equal only up to
    rounding, uses it.
    """
    device = model.device
    Xtr, Ytr = _as_tensors(task.train, device)
    Xva, Yva = _as_tensors(task.validation, device)
    Xte, Yte = (Xva, Yva) if task.test is task.validation else _as_tensors(task.test, device)
    blocks = task.output_blocks
    acceptance = task.acceptance
    E, N = model.members, Xtr.shape[0]
    weight = None if active is None else active.to(torch.float32)
    start_state = model.state() if active is not None else None

    model.apply_masks()
    params = model.parameters()
    optimizer = StackAdam(params, [float(v) for v in lrs], weight_decay, segments=segments)
    # a trial whose members all sit out this training draws nothing (its streams stay as alone)
    draws = [True] * len(spans) if active is None else [bool(active[lo:hi].any()) for lo, hi in spans]
    after_step = getattr(regularizer, "after_step", None)

    best = _BestEpoch(params)
    seed_grad = torch.ones((), device=device)  # d(sum of losses)/d(itself), made once
    # the hand-written backward (bit-identical gradients) where it applies, autograd otherwise
    fast_step = (fastpath.BCEReLUStep(model, weight, spans, exact=exact_gradients)
                 if fastpath.applies(model, regularizer, loss) else None)
    validate = _Validation(model, Xva, Yva, task, fast_step=fast_step, chunk_rows=eval_chunk_rows, loss=loss,
                           metric=metric, segments=segments, validation_loss=validation_loss, batch_size=batch_size)
    for epoch in range(int(epochs)):
        for x, y in _epoch_batches(Xtr, Ytr, spans, generators, draws, task.noise, int(batch_size), drawn_as):
            if fast_step is not None:
                optimizer.step(fast_step(x, y))
                continue
            logits = model(x)
            member_loss = _member_loss(logits, y, loss, spans)
            if regularizer is not None:
                member_loss = member_loss + regularizer.penalty(model)
            if weight is not None:
                member_loss = member_loss * weight
            optimizer.step(torch.autograd.grad(member_loss.sum(), params, grad_outputs=seed_grad))
            if after_step is not None:
                after_step(model)
                model.apply_masks()
        best.update(epoch, *validate())

    best.restore()
    if start_state is not None:
        model.load_state(start_state, members=~active)
    test = evaluate(model, Xte, Yte, output_blocks=blocks, chunk_rows=eval_chunk_rows, loss=loss, metric=metric,
                    segments=segments)
    test_np = {k: v.cpu().numpy() for k, v in test.items() if k != "row_loss"}
    return TrainResult(accuracy=test_np[acceptance], test=test_np, val_loss=best.loss, val_accuracy=best.acc,
                       best_epoch=best.epoch, curves={"val_loss": np.stack(best.loss_curve),
                                                      "val_accuracy": np.stack(best.acc_curve)})
