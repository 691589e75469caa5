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

The input layer is shared by all members, so it is condensed by columns of the data instead:
:func:`live_inputs` lists the inputs with a kept edge in some member, and :func:`select_inputs`
gathers those columns of every split ONCE per retraining (a copy of the data, worth it when a
good share of the inputs is dead, see :data:`MIN_INPUT_SAVING`). Only for noise-free tasks: the
training noise is drawn per input element, so fewer columns would draw a different stream.

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

import copy

import torch

from functiongraphs.task import Split
from sculpt.nets import MaskedMLP

#: Condense the input layer only when at least this share of the inputs has no kept edge: the
#: gather reads all the data once, the saving is that share of the first layer's work in every epoch
#: (measured: at 6 % dead the copy costs more than it saves, at 67 % dead it saves a third).
MIN_INPUT_SAVING = 0.25


def live_units(model: MaskedMLP) -> list[torch.Tensor]:
    """Bool (E, h) per hidden layer: the unit has a kept incoming or outgoing edge."""
    masks = [m > 0 for m in model.weight_masks]
    return [masks[l].any(dim=2) | masks[l + 1].any(dim=1) for l in range(len(masks) - 1)]


def worth_condensing(model: MaskedMLP, min_saving: float = 0.25) -> bool:
    """True when condensing drops at least ``min_saving`` of the hidden widths of the widest member."""
    live = live_units(model)
    widths = [int(u.sum(dim=1).max()) for u in live]
    return sum(widths) <= (1.0 - min_saving) * sum(model.arch[1:-1])


def threads_for(small: MaskedMLP):
    """One torch thread for a condensed stack as small as a Boolean network, else the caller's setting.

    The rule of :mod:`sculpt.prune.threads`: once condensed, an MNIST stack's matmuls are thin
    (1568 x 20 in the first layer) and intra-op threads mostly wait on each other (measured on the
    loaded 2-core machine: a condensed edge round took 1.31 s on two threads, 0.28 s on one).
    """
    from contextlib import nullcontext

    from sculpt.prune.threads import SMALL_NETWORK_WEIGHTS, n_weights, torch_threads

    if torch.get_num_threads() == 1 or n_weights(small.arch) * small.members > SMALL_NETWORK_WEIGHTS:
        return nullcontext()
    return torch_threads(1)


def live_inputs(model: MaskedMLP) -> torch.Tensor:
    """Long (n,): the inputs with a kept outgoing edge in at least one member, in increasing order."""
    return torch.nonzero((model.weight_masks[0] > 0).any(dim=1).any(dim=0)).flatten()


def inputs_to_keep(model: MaskedMLP, task, min_saving: float = MIN_INPUT_SAVING) -> torch.Tensor | None:
    """:func:`live_inputs` when dropping the others pays (noise-free task, ``min_saving`` dead), else None."""
    if task.noise:
        return None
    keep = live_inputs(model)
    if keep.numel() == 0 or keep.numel() > (1.0 - min_saving) * model.arch[0]:
        return None
    return keep


def select_inputs(task, inputs: torch.Tensor):
    """A shallow copy of ``task`` whose splits hold only the columns ``inputs`` (copied once)."""
    cols = inputs.cpu()
    picked = {}

    def pick(split: Split) -> Split:
        if id(split) not in picked:  # splits shared by the task (test is validation) stay shared
            # torch's column gather writes a C-contiguous copy (NumPy's X[:, cols] is slower and
            # comes back in Fortran order, which training would copy once more)
            X = torch.from_numpy(split.X).index_select(1, cols).numpy()
            picked[id(split)] = Split(X, split.Y)
        return picked[id(split)]

    small = copy.copy(task)
    small.train, small.validation, small.test = pick(task.train), pick(task.validation), pick(task.test)
    return small


def condense(model: MaskedMLP, inputs: torch.Tensor | None = None) -> tuple[MaskedMLP, list[torch.Tensor]]:
    """A stack holding only the live hidden units of every member, and where they came from.

    Parameters
    ----------
    model : MaskedMLP
    inputs : torch.Tensor, optional
        Long (n,) input columns to keep (:func:`inputs_to_keep`); every input when None. The
        condensed stack then reads rows of ``select_inputs(task, inputs)``.

    Returns
    -------
    small : MaskedMLP
        Same members and outputs, the inputs ``inputs`` (all when None); hidden layer l has width
        ``max_e live_e(l)`` (at least 1).
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
    full = _layer_indices(model, index, inputs)
    small = MaskedMLP.__new__(MaskedMLP)
    small.arch = [int(full[0].shape[1]), *[int(i.shape[1]) for i in index], model.arch[-1]]
    small.device = model.device
    with torch.no_grad():
        small.weights = [_gather2(w.detach(), full[l + 1], full[l]).requires_grad_() for l, w in enumerate(model.weights)]
        small.biases = [b.detach().gather(1, full[l + 1]).requires_grad_() for l, b in enumerate(model.biases)]
        small.weight_masks = [_gather2(m, full[l + 1], full[l]) for l, m in enumerate(model.weight_masks)]
        small.unit_masks = [u.gather(1, i) for u, i in zip(model.unit_masks, index)]
    small._refresh_bias_masks()
    small.activations = getattr(model, "activations", None)
    return small, index


def scatter_back(model: MaskedMLP, small: MaskedMLP, index: list[torch.Tensor],
                 inputs: torch.Tensor | None = None) -> None:
    """Write ``small``'s weights and biases into their original positions of ``model``.

    Entries of ``model`` that ``small`` does not hold (dead units, dropped inputs) are left as
    they are: exactly zero, since they are pruned.
    """
    E = model.members
    full = _layer_indices(model, index, inputs)
    with torch.no_grad():
        for l, (w, sw) in enumerate(zip(model.weights, small.weights)):
            n_in = w.shape[2]
            flat = (full[l + 1][:, :, None] * n_in + full[l][:, None, :]).reshape(E, -1)
            w.view(E, -1).scatter_(1, flat, sw.detach().reshape(E, -1))
        for l, (b, sb) in enumerate(zip(model.biases, small.biases)):
            b.scatter_(1, full[l + 1], sb.detach())


def _layer_indices(model: MaskedMLP, hidden_index: list[torch.Tensor],
                   inputs: torch.Tensor | None = None) -> list[torch.Tensor]:
    """Slot -> unit index for every layer (inputs: ``inputs`` or all; outputs: all, in order)."""
    E = model.members
    first = torch.arange(model.arch[0], device=model.device) if inputs is None else inputs.to(model.device)
    last = torch.arange(model.arch[-1], device=model.device)
    return [first.expand(E, -1), *hidden_index, last.expand(E, -1)]


def _gather2(t: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``t[e][rows[e]][:, cols[e]]`` for every member e of an (E, out, in) tensor."""
    E, _, n_in = t.shape
    picked = t.gather(1, rows[:, :, None].expand(E, rows.shape[1], n_in))
    return picked.gather(2, cols[:, None, :].expand(E, rows.shape[1], cols.shape[1])).contiguous()
