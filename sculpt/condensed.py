"""Condensed retraining: train only the live hidden units of a pruned stack.

After unit pruning (and as edge pruning cuts more), most hidden units of a member have no kept
edge at all: they hold no trainable parameter, their activation is 0 and they feed nothing, yet a
dense masked stack still multiplies them. :func:`condense` gathers, per member, the live units of
every hidden layer into a padded dense stack whose width is the largest live count over the
members (padding slots are dead units of that member, so every padding weight is masked), and
:func:`scatter_back` writes the trained parameters into their original positions.

A unit is live when it has a kept incoming or a kept outgoing edge: a unit that lost only its
incoming edges still has outgoing weights that weight decay moves, so it is kept. Dead units are
exactly zero in the dense stack and stay so, so the condensed network computes the same function
with the same parameters. The floating-point sums of a matmul are grouped by the kernel, though,
and that grouping depends on the inner dimension, so dropping the zero terms changes results in
the last bits (about half of the activations differ by an ulp or so), and a pruning decision at an
accuracy threshold can then flip. ``condense=False`` (the default of :func:`sculpt.prune.prune_grid`)
keeps the dense masked arithmetic, bit-identical to earlier releases.

Examples
--------
>>> import torch
>>> from sculpt.nets import MaskedMLP
>>> model = MaskedMLP([4, 6, 3], members=2)
>>> keep = torch.tensor([[True, True, False, False, False, False], [True, False, True, True, False, False]])
>>> model.set_unit_masks([keep])
>>> small, index = condense(model)
>>> small.arch, index[0].tolist()
([4, 3, 3], [[0, 1, 2], [0, 2, 3]])
"""
from __future__ import annotations

import torch

from sculpt.nets import MaskedMLP


def live_units(model: MaskedMLP) -> list[torch.Tensor]:
    """Bool (E, h) per hidden layer: the unit has a kept incoming or outgoing edge."""
    masks = [m > 0 for m in model.weight_masks]
    return [masks[l].any(dim=2) | masks[l + 1].any(dim=1) for l in range(len(masks) - 1)]


def worth_condensing(model: MaskedMLP, min_saving: float = 0.25) -> bool:
    """True when condensing drops at least ``min_saving`` of the hidden widths of the widest member."""
    live = live_units(model)
    widths = [int(u.sum(dim=1).max()) for u in live]
    return sum(widths) <= (1.0 - min_saving) * sum(model.arch[1:-1])


def condense(model: MaskedMLP) -> tuple[MaskedMLP, list[torch.Tensor]]:
    """A stack holding only the live hidden units of every member, and where they came from.

    Returns
    -------
    small : MaskedMLP
        Same members and inputs/outputs; hidden layer l has width ``max_e live_e(l)`` (at least 1).
        Parameters and masks are gathered copies.
    index : list of torch.Tensor
        Per hidden layer, (E, width) long tensor: the original unit of each slot (live units in
        increasing order, then dead units as padding).
    """
    E = model.members
    live = live_units(model)
    index = []
    for u in live:
        width = max(1, int(u.sum(dim=1).max()))
        # stable sort of "dead" puts live units first, each member's in increasing order
        index.append(torch.argsort((~u).to(torch.int8), dim=1, stable=True)[:, :width])
    full = _layer_indices(model, index)
    small = MaskedMLP.__new__(MaskedMLP)
    small.arch = [model.arch[0], *[int(i.shape[1]) for i in index], model.arch[-1]]
    small.device = model.device
    with torch.no_grad():
        small.weights = [_gather2(w.detach(), full[l + 1], full[l]).requires_grad_() for l, w in enumerate(model.weights)]
        small.biases = [b.detach().gather(1, full[l + 1]).requires_grad_() for l, b in enumerate(model.biases)]
        small.weight_masks = [_gather2(m, full[l + 1], full[l]) for l, m in enumerate(model.weight_masks)]
        small.unit_masks = [u.gather(1, i) for u, i in zip(model.unit_masks, index)]
    small._refresh_bias_masks()
    small.activations = getattr(model, "activations", None)
    return small, index


def scatter_back(model: MaskedMLP, small: MaskedMLP, index: list[torch.Tensor]) -> None:
    """Write ``small``'s weights and biases into their original positions of ``model``."""
    E = model.members
    full = _layer_indices(model, index)
    with torch.no_grad():
        for l, (w, sw) in enumerate(zip(model.weights, small.weights)):
            n_in = w.shape[2]
            flat = (full[l + 1][:, :, None] * n_in + full[l][:, None, :]).reshape(E, -1)
            w.view(E, -1).scatter_(1, flat, sw.detach().reshape(E, -1))
        for l, (b, sb) in enumerate(zip(model.biases, small.biases)):
            b.scatter_(1, full[l + 1], sb.detach())


def _layer_indices(model: MaskedMLP, hidden_index: list[torch.Tensor]) -> list[torch.Tensor]:
    """Slot -> unit index for every layer (inputs and outputs: all units, in order)."""
    E = model.members
    ends = [torch.arange(n, device=model.device).expand(E, n) for n in (model.arch[0], model.arch[-1])]
    return [ends[0], *hidden_index, ends[1]]


def _gather2(t: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``t[e][rows[e]][:, cols[e]]`` for every member e of an (E, out, in) tensor."""
    E, _, n_in = t.shape
    picked = t.gather(1, rows[:, :, None].expand(E, rows.shape[1], n_in))
    return picked.gather(2, cols[:, None, :].expand(E, rows.shape[1], cols.shape[1])).contiguous()
