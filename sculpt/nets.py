"""Masked MLP stacks (E networks trained in lockstep) and the ``PrunedNet`` snapshot.

``MaskedMLP`` holds E members with one architecture as tensors of shape (E, out, in), so a whole
(p_u, p_e) grid trains with batched matmuls (spec/neural_sculpting.md section 2.1, DESIGN decision 1).
``PrunedNet`` is the plain-numpy result every later stage (detection, scoring, drawing) reads; it
never needs torch except to be produced.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sculpt.atomic import write_atomic
from sculpt.errors import ConfigError, SnapshotError

SNAPSHOT_FORMAT = "sculpt.PrunedNet/1"


def validate_arch(arch: Sequence[int], where: str = "arch") -> list[int]:
    """Check an architecture list ``[n_in, h1, ..., hL, n_out]`` and return it as ints.

    Raises
    ------
    ConfigError
        Fewer than three entries (no hidden layer), a non-integer or a width below 1.
    """
    try:
        widths = [int(w) for w in arch]
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a list of integer widths, got {arch!r}") from None
    if any(int(w) != w for w in arch):
        raise ConfigError(f"{where} must be a list of integer widths, got {arch!r}")
    if len(widths) < 3:
        raise ConfigError(f"{where} needs inputs, at least one hidden layer and outputs, got {widths}")
    for i, w in enumerate(widths):
        if w < 1:
            raise ConfigError(f"{where}[{i}] is {w}: every layer needs a width of at least 1")
    return widths


def resolve_device(device: Any = "cpu"):
    """``device`` as a ``torch.device`` this torch build can use.

    Raises
    ------
    ConfigError
        Not a device name torch knows, or a CUDA / MPS device this build or machine lacks
        (a CPU-only torch wheel has no CUDA; torch's own error would surface mid-run).
    """
    import torch

    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(f"device {device!r}: not a torch device name (e.g. 'cpu', 'cuda', 'cuda:0')") from None
    if resolved.type == "cuda":
        if torch.version.cuda is None:
            raise ConfigError(f"device {str(device)!r}: this torch build ({torch.__version__}) has no CUDA "
                              "support; use device 'cpu' or install a CUDA build of torch")
        if not torch.cuda.is_available():
            raise ConfigError(f"device {str(device)!r}: torch has CUDA {torch.version.cuda} but finds no "
                              "usable GPU here; use device 'cpu'")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ConfigError(f"device {str(device)!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif resolved.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ConfigError(f"device {str(device)!r}: MPS is not available in this torch build or machine")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"device {str(device)!r}: sculpt runs on 'cpu', 'cuda' or 'mps'")
    return resolved


# float32 copies of every parameter a stack keeps while pruning: the weights, their gradients, Adam's
# two moments, the 0/1 masks, the best epoch's copy and the rewind point (weights and masks).
COPIES_PER_PARAMETER = 8
# activations of every layer kept for a backward pass (pre- and post-ReLU, and their gradients)
ACTIVATION_COPIES = 3
EVALUATION_CHUNK = 8192  # rows sculpt.train.evaluate pushes through the stack at once


def estimate_stack_bytes(arch: Sequence[int], members: int, batch_rows: int = 0, eval_rows: int = 0) -> int:
    """Bytes a stack of ``members`` networks needs while it trains and prunes (an estimate from above).

    ``4 members (COPIES_PER_PARAMETER params + ACTIVATION_COPIES batch_rows units + 2 eval_rows width)``
    in float32, where ``params`` counts the weights and biases of one member, ``units`` its
    non-input units, ``width`` its widest layer, ``batch_rows`` the rows of a training (or
    unit-scoring) batch, whose activations all stay alive for the backward pass, and ``eval_rows``
    the rows of an evaluation chunk, of which only two consecutive layers are alive at once.

    Examples
    --------
    >>> estimate_stack_bytes([4, 24, 24, 4], members=70, batch_rows=16, eval_rows=16)
    2750720
    """
    arch = [int(a) for a in arch]
    params = sum(a * b + b for a, b in zip(arch[:-1], arch[1:]))
    units, width = sum(arch[1:]), max(arch[1:])
    per_member = COPIES_PER_PARAMETER * params + ACTIVATION_COPIES * int(batch_rows) * units
    return 4 * int(members) * (per_member + 2 * int(eval_rows) * width)


def check_stack_memory(arch: Sequence[int], members: int, batch_rows: int = 0, eval_rows: int = 0,
                       device: Any = "cpu") -> None:
    """Refuse (ConfigError) a stack that cannot fit in the memory of ``device`` before allocating it.

    Raises
    ------
    ConfigError
        With the estimate of :func:`estimate_stack_bytes`, the memory available and the settings.
    """
    from sculpt.memory import check_fits

    needed = estimate_stack_bytes(arch, members, batch_rows, eval_rows)
    available = None
    if str(device).startswith("cuda"):
        import torch

        try:  # an unusable device is refused by resolve_device, with its own message
            available = int(torch.cuda.mem_get_info(torch.device(device))[0]) if torch.cuda.is_available() else None
        except (RuntimeError, TypeError, ValueError, AssertionError):
            available = None
    check_fits(needed, f"training arch {list(arch)} as a stack of {members} network(s)", available=available)


class MaskedMLP:
    """A stack of E masked MLPs with one architecture, trained in lockstep.

    ReLU hidden units, sigmoid outputs (``forward`` returns logits; the sigmoid is applied by the
    loss and by ``predict``), Kaiming-normal fan_in weights (std sqrt(2 / fan_in), every layer
    including the output layer) and zero biases, as the paper's ``models/mlp.py``.

    A pruned weight stays exactly zero through training: the forward pass multiplies by the mask
    (so its gradient is 0) and the stored parameter is zeroed when a mask is set; Adam's coupled L2
    term then adds ``wd * 0`` and its moments stay 0. A bias is masked iff its unit has no incoming
    edge (spec 2.1, ``utils/prune.py:53-62``).

    Parameters
    ----------
    arch : list of int
        ``[n_in, h1, ..., hL, n_out]``.
    members : int, default 1
        Number of networks E in the stack.
    seed : int or sequence of int, default 0
        Initialisation seeds. An int ``s`` gives member e the seed ``s + e``; a sequence gives one
        seed per member (repeat a seed to start members from the same network). Member e's
        initial weights depend only on its own seed.
    device : str or torch.device, default "cpu"
    activations : list of callable, optional
        One element-wise function per hidden layer (e.g. the activation modules of a user's
        ``nn.Sequential``, see :mod:`sculpt.prune.sequential`); default ReLU everywhere (the paper).

    Attributes
    ----------
    weights, biases : list of torch.Tensor
        Shapes (E, out, in) and (E, out), ``requires_grad=True``.
    weight_masks : list of torch.Tensor
        float32 0/1 tensors of shape (E, out, in).
    unit_masks : list of torch.Tensor
        bool tensors (E, h) per hidden layer: False for units removed by unit pruning.
    """

    def __init__(self, arch: Sequence[int], members: int = 1, seed: int | Sequence[int] = 0,
                 device: Any = "cpu", activations: Sequence[Any] | None = None):
        import torch

        self.arch = validate_arch(arch)
        self.activations = _check_activations(activations, len(self.arch) - 2)
        if isinstance(seed, (int, np.integer)):
            if int(members) < 1:
                raise ConfigError(f"members must be at least 1, got {members}")
            seeds = [int(seed) + e for e in range(int(members))]
        else:
            seeds = [int(s) for s in seed]
            if len(seeds) != int(members):
                raise ConfigError(f"got {len(seeds)} seeds for {members} members")
        self.device = resolve_device(device)
        per_member = [self._init_member(s) for s in seeds]
        self.weights = [torch.stack([m[l] for m in per_member]).to(self.device).requires_grad_()
                        for l in range(self.n_layers)]
        self.biases = [torch.zeros(len(seeds), self.arch[l + 1], device=self.device).requires_grad_()
                       for l in range(self.n_layers)]
        self.weight_masks = [torch.ones_like(w, requires_grad=False) for w in self.weights]
        self.unit_masks = [torch.ones(len(seeds), h, dtype=torch.bool, device=self.device)
                           for h in self.arch[1:-1]]
        self._refresh_bias_masks()

    def _init_member(self, seed: int):
        import torch

        gen = torch.Generator().manual_seed(seed)
        weights = []
        for fan_in, fan_out in zip(self.arch[:-1], self.arch[1:]):
            # Kaiming normal, fan_in mode, gain sqrt(2): std = sqrt(2 / fan_in)
            weights.append(torch.randn(fan_out, fan_in, generator=gen) * math.sqrt(2.0 / fan_in))
        return weights

    # ----------------------------------------------------------------------------- shape facts
    @property
    def members(self) -> int:
        return int(self.weights[0].shape[0])

    @property
    def n_layers(self) -> int:
        return len(self.arch) - 1

    @property
    def n_weights(self) -> int:
        """Number of original (dense) weights of one member."""
        return sum(a * b for a, b in zip(self.arch[:-1], self.arch[1:]))

    @property
    def n_hidden(self) -> int:
        """Number of original hidden units of one member."""
        return sum(self.arch[1:-1])

    def parameters(self) -> list:
        return [*self.weights, *self.biases]

    def kept_weights(self):
        """Kept weights per member, a long tensor of shape (E,)."""
        return sum(m.sum(dim=(1, 2)) for m in self.weight_masks).long()

    def density(self) -> np.ndarray:
        """Fraction of the original weights kept, per member (float64 array of shape (E,))."""
        return self.kept_weights().cpu().numpy().astype(np.float64) / self.n_weights

    # ----------------------------------------------------------------------------- forward
    def forward(self, x, return_hidden: bool = False):
        """Logits of every member on ``x``.

        Parameters
        ----------
        x : torch.Tensor
            (B, n_in) shared by all members or (E, B, n_in) one batch per member.
        return_hidden : bool
            Also return the post-ReLU activations of every hidden layer, each (E, B, h).

        Returns
        -------
        logits : torch.Tensor (E, B, n_out), and the hidden list when asked.
        """
        import torch

        h = x if x.dim() == 3 else x.unsqueeze(0).expand(self.members, -1, -1)
        hidden = []
        last = self.n_layers - 1
        for l, (w, b, m, bm) in enumerate(zip(self.weights, self.biases, self.weight_masks,
                                              self.bias_masks)):
            h = torch.baddbmm((b * bm).unsqueeze(1), h, (w * m).transpose(1, 2))
            if l < last:
                h = torch.relu(h) if self.activations is None else self.activations[l](h)
                hidden.append(h)
        return (h, hidden) if return_hidden else h

    __call__ = forward

    # ----------------------------------------------------------------------------- masks
    def _refresh_bias_masks(self) -> None:
        # a unit without incoming edges loses its bias too (utils/prune.py:53-62)
        self.bias_masks = [(m.sum(dim=2) > 0).to(m.dtype) for m in self.weight_masks]

    def set_weight_masks(self, masks, members=None) -> None:
        """Replace the weight masks (list of bool/0-1 tensors (E, out, in)) and zero pruned params.

        With ``members`` (bool tensor (E,)), only those members take the new masks.
        """
        import torch

        with torch.no_grad():
            for l, new in enumerate(masks):
                new = new.to(self.weight_masks[l].dtype)
                if members is not None:
                    new = torch.where(members[:, None, None], new, self.weight_masks[l])
                self.weight_masks[l] = new
            self._refresh_bias_masks()
            self.apply_masks()

    def set_unit_masks(self, unit_masks, members=None) -> None:
        """Remove hidden units: a removed unit loses its incoming row and its outgoing column.

        ``unit_masks`` is a list of bool tensors (E, h), one per hidden layer. The weight masks
        become ``old_mask & keep_out[:, :, None] & keep_in[:, None, :]``.
        """
        import torch

        if members is not None:
            unit_masks = [torch.where(members[:, None], new, old)
                          for new, old in zip(unit_masks, self.unit_masks)]
        self.unit_masks = [u.clone() for u in unit_masks]
        ones_in = torch.ones(self.members, self.arch[0], dtype=torch.bool, device=self.device)
        ones_out = torch.ones(self.members, self.arch[-1], dtype=torch.bool, device=self.device)
        alive = [ones_in, *self.unit_masks, ones_out]
        masks = [(self.weight_masks[l] > 0) & alive[l + 1][:, :, None] & alive[l][:, None, :]
                 for l in range(self.n_layers)]
        self.set_weight_masks(masks)

    def apply_masks(self) -> None:
        """Zero the stored parameters outside the masks (pruned weights stay exactly 0)."""
        import torch

        with torch.no_grad():
            for w, b, m, bm in zip(self.weights, self.biases, self.weight_masks, self.bias_masks):
                w.mul_(m)
                b.mul_(bm)

    # ----------------------------------------------------------------------------- state
    def state(self) -> tuple:
        """A detached copy of everything that pruning rewinds (params and masks)."""
        return (tuple(w.detach().clone() for w in self.weights),
                tuple(b.detach().clone() for b in self.biases),
                tuple(m.clone() for m in self.weight_masks),
                tuple(u.clone() for u in self.unit_masks))

    def load_state(self, state: tuple, members=None) -> None:
        """Restore ``state``; with ``members`` (bool (E,)) only for those members (torch.where)."""
        import torch

        weights, biases, masks, units = state

        def pick(new, old):
            if members is None:
                return new.clone()
            return torch.where(members.view(-1, *([1] * (new.dim() - 1))), new, old)

        with torch.no_grad():
            for w, s in zip(self.weights, weights):
                w.copy_(pick(s, w))
            for b, s in zip(self.biases, biases):
                b.copy_(pick(s, b))
        self.weight_masks = [pick(s, m) for s, m in zip(masks, self.weight_masks)]
        self.unit_masks = [pick(s, u) for s, u in zip(units, self.unit_masks)]
        self._refresh_bias_masks()

    @staticmethod
    def merge_state(state: tuple, update: tuple, members) -> tuple:
        """``update`` for the chosen members, ``state`` for the others (a new state tuple)."""
        import torch

        def pick(new, old):
            return torch.where(members.view(-1, *([1] * (new.dim() - 1))), new, old)

        return tuple(tuple(pick(n, o) for n, o in zip(new_part, old_part))
                     for new_part, old_part in zip(update, state))

    def select(self, index: Sequence[int]) -> "MaskedMLP":
        """A new stack made of the given members (repeats allowed), parameters copied."""
        import torch

        idx = torch.as_tensor(list(index), dtype=torch.long, device=self.device)
        out = MaskedMLP.__new__(MaskedMLP)
        out.arch = list(self.arch)
        out.device = self.device
        out.activations = self.activations
        out.weights = [w.detach()[idx].clone().requires_grad_() for w in self.weights]
        out.biases = [b.detach()[idx].clone().requires_grad_() for b in self.biases]
        out.weight_masks = [m[idx].clone() for m in self.weight_masks]
        out.unit_masks = [u[idx].clone() for u in self.unit_masks]
        out._refresh_bias_masks()
        return out

    @staticmethod
    def concat(stacks: Sequence["MaskedMLP"]) -> "MaskedMLP":
        """One stack holding the members of all ``stacks`` in order (same arch required)."""
        import torch

        first = stacks[0]
        if any(s.arch != first.arch for s in stacks):
            raise ConfigError("cannot concatenate stacks with different architectures")
        out = MaskedMLP.__new__(MaskedMLP)
        out.arch = list(first.arch)
        out.device = first.device
        out.activations = first.activations
        out.weights = [torch.cat([s.weights[l].detach() for s in stacks]).requires_grad_()
                       for l in range(first.n_layers)]
        out.biases = [torch.cat([s.biases[l].detach() for s in stacks]).requires_grad_()
                      for l in range(first.n_layers)]
        out.weight_masks = [torch.cat([s.weight_masks[l] for s in stacks]) for l in range(first.n_layers)]
        out.unit_masks = [torch.cat([s.unit_masks[l] for s in stacks]) for l in range(len(first.unit_masks))]
        out._refresh_bias_masks()
        return out

    def to_pruned_net(self, member: int, history: Any = None, meta: dict | None = None) -> "PrunedNet":
        """Export one member as a :class:`PrunedNet` (numpy float32 weights, bool masks)."""
        masks = [(m[member] > 0).cpu().numpy() for m in self.weight_masks]
        bias_masks = [(m[member] > 0).cpu().numpy() for m in self.bias_masks]
        weights = [np.where(mk, w[member].detach().cpu().numpy(), 0).astype(np.float32)
                   for w, mk in zip(self.weights, masks)]
        biases = [np.where(bm, b[member].detach().cpu().numpy(), 0).astype(np.float32)
                  for b, bm in zip(self.biases, bias_masks)]
        return PrunedNet(arch=list(self.arch), weights=weights, biases=biases, masks=masks,
                         history=history if history is not None else {}, meta=dict(meta or {}))

    @classmethod
    def from_pruned_net(cls, net: "PrunedNet", members: int = 1) -> "MaskedMLP":
        """A stack of ``members`` copies of a saved network (to retrain or prune it further)."""
        import torch

        model = cls(net.arch, members=1, seed=0)
        with torch.no_grad():
            for l in range(model.n_layers):
                model.weights[l].copy_(torch.from_numpy(net.weights[l])[None])
                model.biases[l].copy_(torch.from_numpy(net.biases[l])[None])
        model.set_weight_masks([torch.from_numpy(m)[None] for m in net.masks])
        return model.select([0] * members)


def _check_activations(activations, n_hidden: int):
    """None (ReLU, the paper) or a list of ``n_hidden`` callables, one per hidden layer."""
    if activations is None:
        return None
    activations = list(activations)
    if len(activations) != n_hidden or not all(callable(a) for a in activations):
        raise ConfigError(f"activations must be {n_hidden} callables (one per hidden layer), "
                          f"got {len(activations)}")
    return activations


@dataclass
class PrunedNet:
    """A trained (and usually pruned) MLP as plain numpy arrays: what detection and drawing read.

    Attributes
    ----------
    arch : list of int
        ``[n_in, h1, ..., hL, n_out]``.
    weights : list of float32 arrays
        Layer l has shape (arch[l+1], arch[l]) (PyTorch layout: out x in), zero where pruned.
    biases : list of float32 arrays
        Layer l has shape (arch[l+1],).
    masks : list of bool arrays
        Same shapes as ``weights``; True = the edge from input unit i to output unit j is kept.
    history : JSON-able
        Pruning rounds (p, accepted, density, accuracies) of the stages that produced it.
    meta : dict (JSON-able)
        Task name, seed, p_u, p_e, training settings, thresholds, final accuracies.
    ties : list of mask lists
        The masks of every equally sparse accepted network of the grid this one was chosen from,
        in tie order, itself included (empty when it had no tie). In memory only: not saved.

    Notes
    -----
    On disk (``save``) a snapshot is ONE ``<stem>.npz`` written atomically (temp file + rename)
    holding ``weight{l}``, ``bias{l}``, ``mask{l}`` and ``header``: a unicode string with the JSON
    of ``{"format", "arch", "history", "meta"}``. A readable copy of that header is written beside
    it as ``<stem>.json`` for people and tools; ``load`` only trusts the ``.npz``. Nothing is pickled.
    """

    arch: list
    weights: list
    biases: list
    masks: list
    history: Any = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    ties: list = field(default_factory=list, repr=False, compare=False)

    def __repr__(self) -> str:
        # a short summary, not the arrays (a 784-wide net would print megabytes)
        try:
            density = f"{self.density:.4f}"
        except Exception:  # noqa: BLE001 - repr of an inconsistent net must still work
            density = "?"
        keys = ("task", "p_u", "p_e", "seed")
        meta = ", ".join(f"{k}={self.meta[k]!r}" for k in keys if isinstance(self.meta, dict) and k in self.meta)
        return f"PrunedNet(arch={list(self.arch)}, density={density}" + (f", {meta})" if meta else ")")

    @property
    def n_weights(self) -> int:
        return sum(a * b for a, b in zip(self.arch[:-1], self.arch[1:]))

    @property
    def kept_weights(self) -> int:
        return int(sum(int(m.sum()) for m in self.masks))

    @property
    def density(self) -> float:
        """Kept weights / all original weights."""
        return self.kept_weights / self.n_weights

    @classmethod
    def from_arrays(cls, masks: Sequence[np.ndarray], weights: Sequence[np.ndarray] | None = None,
                    biases: Sequence[np.ndarray] | None = None, history: Any = None,
                    meta: dict | None = None) -> "PrunedNet":
        """Build from masks alone (weights default to the 0/1 masks, biases to 0) or full arrays.

        The architecture is read from the mask shapes; everything is validated like ``load``.
        """
        masks = [np.asarray(m) for m in masks]
        if not masks or any(m.ndim != 2 for m in masks):
            raise SnapshotError("masks must be a non-empty list of 2-d (out x in) arrays")
        for l in range(1, len(masks)):
            if masks[l].shape[1] != masks[l - 1].shape[0]:
                raise SnapshotError(f"masks[{l}] has {masks[l].shape[1]} inputs but masks[{l - 1}] has "
                                    f"{masks[l - 1].shape[0]} outputs: the layers do not chain")
        arch = [int(masks[0].shape[1])] + [int(m.shape[0]) for m in masks]
        masks = [m.astype(bool) for m in masks]
        if weights is None:
            weights = [m.astype(np.float32) for m in masks]
        if biases is None:
            biases = [np.zeros(m.shape[0], dtype=np.float32) for m in masks]
        net = cls(arch=arch, weights=[np.asarray(w, dtype=np.float32) for w in weights],
                  biases=[np.asarray(b, dtype=np.float32) for b in biases], masks=masks,
                  history=history if history is not None else {}, meta=dict(meta or {}))
        net.validate("PrunedNet.from_arrays")
        return net

    def validate(self, where: str = "PrunedNet") -> None:
        """Check arch chain, shapes, dtypes, finiteness and zero weights outside the masks.

        Raises
        ------
        SnapshotError
        """
        try:
            arch = [int(a) for a in self.arch]
        except (TypeError, ValueError):
            raise SnapshotError(f"{where}: arch must be a list of integers, got {self.arch!r}") from None
        if len(arch) < 2 or min(arch) < 1:
            raise SnapshotError(f"{where}: arch {arch} needs at least two layers of width >= 1")
        n = len(arch) - 1
        for name, arrays in (("weights", self.weights), ("biases", self.biases), ("masks", self.masks)):
            if len(arrays) != n:
                raise SnapshotError(f"{where}: arch {arch} has {n} weight layers but {len(arrays)} {name}")
        for l in range(n):
            shape = (arch[l + 1], arch[l])
            w, b, m = self.weights[l], self.biases[l], self.masks[l]
            for name, arr, want_shape, want_dtype in (("weight", w, shape, np.float32),
                                                      ("bias", b, shape[:1], np.float32),
                                                      ("mask", m, shape, np.bool_)):
                if not isinstance(arr, np.ndarray) or arr.dtype != want_dtype:
                    raise SnapshotError(f"{where}: {name}{l} must be a {np.dtype(want_dtype).name} array,"
                                        f" got {getattr(arr, 'dtype', type(arr).__name__)}")
                if arr.shape != want_shape:
                    raise SnapshotError(f"{where}: {name}{l} has shape {arr.shape}, arch {arch} needs {want_shape}")
            if not (np.isfinite(w).all() and np.isfinite(b).all()):
                raise SnapshotError(f"{where}: layer {l} holds non-finite weights or biases")
            if np.any(w[~m] != 0):
                raise SnapshotError(f"{where}: weight{l} is non-zero at {int(np.count_nonzero(w[~m]))} pruned positions")
        self.arch = arch

    # ----------------------------------------------------------------------------- numpy inference
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Sigmoid output probabilities (rows x n_out, float32) of a plain numpy forward pass.

        Only for the paper's ReLU / sigmoid MLP: a network pruned from a user's ``nn.Sequential``
        (``meta["sequential"]``) has its own activations and loss; run it with
        :func:`sculpt.prune.sequential.to_sequential`.
        """
        if isinstance(self.meta, dict) and self.meta.get("sequential"):
            raise ConfigError("this network was pruned from an nn.Sequential with its own activations: run "
                              "sculpt.prune.sequential.to_sequential(net) instead of predict")
        h = np.asarray(X, dtype=np.float32)
        if h.ndim != 2 or h.shape[1] != self.arch[0]:
            raise ConfigError(f"predict expects rows x {self.arch[0]} inputs, got shape {h.shape}")
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w.T + b
            if l < len(self.weights) - 1:
                h = np.maximum(h, 0)
        return (1.0 / (1.0 + np.exp(-h.astype(np.float64)))).astype(np.float32)

    # ----------------------------------------------------------------------------- files
    def _header(self) -> dict:
        return {"format": SNAPSHOT_FORMAT, "arch": [int(a) for a in self.arch],
                "history": self.history, "meta": self.meta}

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``<stem>.npz`` (atomic) and a readable ``<stem>.json`` copy of its header.

        ``path`` may end in ``.npz`` or be the bare stem. Returns the ``.npz`` path.
        """
        self.validate("PrunedNet.save")
        stem = _stem(path)
        stem.parent.mkdir(parents=True, exist_ok=True)
        header = json.dumps(self._header(), sort_keys=True)
        arrays = {"header": np.array(header)}
        for l in range(len(self.masks)):
            arrays[f"weight{l}"] = self.weights[l]
            arrays[f"bias{l}"] = self.biases[l]
            arrays[f"mask{l}"] = self.masks[l]
        target = stem.with_name(stem.name + ".npz")
        write_atomic(target, lambda f: np.savez_compressed(f, **arrays))
        pretty = json.dumps(self._header(), indent=1, sort_keys=True).encode()
        write_atomic(stem.with_name(stem.name + ".json"), lambda f: f.write(pretty))
        return target

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PrunedNet":
        """Read a snapshot written by :meth:`save` and validate it.

        Raises
        ------
        SnapshotError
            Missing or corrupt file, missing key, wrong dtype or shape, inconsistent content.
        """
        from sculpt.safe_npz import read_npz

        target = _stem(path)
        target = target.with_name(target.name + ".npz")
        if not os.path.lexists(target):
            raise SnapshotError(f"{target}: no such snapshot file")
        return cls.from_snapshot_arrays(read_npz(target), str(target))

    @classmethod
    def from_snapshot_arrays(cls, arrays: dict, where: str) -> "PrunedNet":
        """The snapshot held by the arrays of a ``.npz`` (``header``, ``weight{l}``, ``bias{l}``, ``mask{l}``).

        Raises
        ------
        SnapshotError
            Missing or unexpected key, bad header, wrong dtype or shape, inconsistent content;
            the message starts with ``where``.
        """
        target = where
        if "header" not in arrays:
            raise SnapshotError(f"{target}: missing key 'header'")
        header = parse_header(arrays["header"], str(target))
        arch = header["arch"]
        n = len(arch) - 1
        expected = {"header"} | {f"{k}{l}" for k in ("weight", "bias", "mask") for l in range(n)}
        missing = sorted(expected - set(arrays))
        if missing:
            raise SnapshotError(f"{target}: missing key {missing[0]!r} (arch {arch} has {n} layers)")
        extra = sorted(set(arrays) - expected)
        if extra:
            raise SnapshotError(f"{target}: unexpected key {extra[0]!r}")
        net = cls(arch=arch, weights=[arrays[f"weight{l}"] for l in range(n)],
                  biases=[arrays[f"bias{l}"] for l in range(n)], masks=[arrays[f"mask{l}"] for l in range(n)],
                  history=header["history"], meta=header["meta"])
        net.validate(str(target))
        return net


def parse_header(header_arr: np.ndarray, where: str) -> dict:
    """The JSON header of a snapshot, checked: format, keys, arch a list of at least two widths >= 1.

    Raises
    ------
    SnapshotError
        Not a unicode scalar, not JSON (also: nested too deep, NaN or Infinity), wrong format,
        missing keys, a bad arch or a meta that is not an object.
    """
    from sculpt.json_input import JSONInputError, loads_strict

    if header_arr.dtype.kind != "U" or header_arr.shape != ():
        raise SnapshotError(f"{where}: 'header' must be a unicode string, got {header_arr.dtype} of shape "
                            f"{header_arr.shape}")
    try:
        header = loads_strict(str(header_arr))
    except JSONInputError as exc:
        raise SnapshotError(f"{where}: header is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError(f"{where}: header format must be {SNAPSHOT_FORMAT!r}")
    for key in ("arch", "history", "meta"):
        if key not in header:
            raise SnapshotError(f"{where}: header misses key {key!r}")
    arch = header["arch"]
    if (not isinstance(arch, list) or len(arch) < 2
            or not all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in arch)):
        raise SnapshotError(f"{where}: header arch must be a list of at least two integer widths >= 1, got "
                            f"{str(arch)[:80]}")
    if not isinstance(header["meta"], dict):
        raise SnapshotError(f"{where}: header meta must be an object")
    return header


def _stem(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".npz", ".json") else p
