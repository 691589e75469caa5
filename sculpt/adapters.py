"""Masks from whatever network a user brings: one adapter in front of module detection.

Accepted: a list of 0/1 arrays (out x in, PyTorch layout; numpy or torch), any object with a
``.masks`` attribute (such as :class:`sculpt.nets.PrunedNet`), and a ``torch.nn.Sequential`` of
``Linear`` layers and element-wise activations, pruned with ``torch.nn.utils.prune`` (its
``weight_mask`` buffers are used) or not (then the nonzero weights are the edges). Detection,
the spectral summary, drawing and scoring all read a user's model through :func:`as_masks` (and
:func:`weights_from_sequential`), so a model they cannot read fails here, once, naming the layer.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from sculpt.errors import SculptError


def _to_numpy(array) -> np.ndarray:
    if isinstance(array, np.ndarray):  # the common case, without probing for attributes
        return array
    if hasattr(array, "detach"):  # a torch tensor, possibly on a GPU
        array = array.detach().cpu().numpy()
    return np.asarray(array)


def _is_torch_module(obj) -> bool:
    torch = sys.modules.get("torch")  # never import torch just to find out
    return torch is not None and isinstance(obj, torch.nn.Module)


# Modules applied element by element (so a unit's output depends on its own pre-activation only):
# the only thing sculpt lets sit between two Linear layers. Dropout is the identity at evaluation
# and sculpt trains without it; Flatten may only come before the first Linear (it flattens inputs);
# Softmax / LogSoftmax over a row may only come after the last Linear (a classifier's output).
ELEMENTWISE = ("ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Tanh",
               "Sigmoid", "Hardtanh", "Hardsigmoid", "Hardswish", "Softplus", "Softsign", "Tanhshrink",
               "LogSigmoid", "Threshold", "Hardshrink", "Softshrink")
PASS_THROUGH = ("Identity", "Dropout", "AlphaDropout", "FeatureAlphaDropout")


@dataclass
class SequentialLayout:
    """A ``torch.nn.Sequential`` MLP read as a chain: Linear, element-wise modules, Linear, ...

    Attributes
    ----------
    linears : list of (str, torch.nn.Linear)
        Position (``"2"``, or ``"1.0"`` inside a nested Sequential) and layer, in forward order.
    after : list of list of torch.nn.Module
        ``after[l]``: the element-wise modules between Linear l and Linear l+1 (the last entry:
        those after the last Linear, the model's final activation), pass-through modules left out.
    """

    linears: list
    after: list

    @property
    def arch(self) -> list[int]:
        return [int(self.linears[0][1].in_features)] + [int(lin.out_features) for _, lin in self.linears]


def _flatten(model, prefix: str = ""):
    import torch

    for name, child in model.named_children():
        where = f"{prefix}{name}"
        if type(child) is torch.nn.Sequential:
            yield from _flatten(child, where + ".")
        else:
            yield where, child


def _refuse(where: str, layer, why: str):
    raise SculptError(f"layer {where} ({type(layer).__name__}) {why}; sculpt reads an nn.Sequential of "
                      "Linear layers with element-wise activations between them (ReLU, Tanh, GELU, ...)")


def read_sequential(model) -> SequentialLayout:
    """Check that ``model`` is an MLP sculpt can read and return its layout.

    Parameters
    ----------
    model : torch.nn.Sequential
        Linear layers with element-wise activations (:data:`ELEMENTWISE`) between them; Dropout
        and Identity are skipped, nested Sequentials are flattened, a Flatten may open the model.

    Returns
    -------
    SequentialLayout

    Raises
    ------
    SculptError
        Not a Sequential (a custom forward, e.g. with skip connections, cannot be read as a chain),
        or a layer that is not Linear / element-wise (BatchNorm, Conv, Softmax, PReLU...), named
        by its index and type, or Linear layers whose sizes do not chain.
    """
    import torch

    if not isinstance(model, torch.nn.Sequential) or type(model).forward is not torch.nn.Sequential.forward:
        raise SculptError(f"expected a torch.nn.Sequential MLP, got {type(model).__name__}: a model with "
                          "its own forward (skip connections, branches) cannot be read as a chain of layers")
    linears, after = [], []
    last_row_wise = None
    for where, layer in _flatten(model):
        if isinstance(layer, torch.nn.Linear):
            if linears and layer.in_features != linears[-1][1].out_features:
                raise SculptError(f"layer {where} (Linear) has {layer.in_features} inputs but the Linear before "
                                  f"it (layer {linears[-1][0]}) has {linears[-1][1].out_features} outputs")
            linears.append((where, layer))
            after.append([])
        elif isinstance(layer, tuple(getattr(torch.nn, n) for n in PASS_THROUGH)):
            continue
        elif isinstance(layer, torch.nn.Flatten):
            if linears:
                _refuse(where, layer, "comes after a Linear layer")
        elif isinstance(layer, (torch.nn.Softmax, torch.nn.LogSoftmax)):
            # over the features of a row: harmless after the last Linear (checked below), not between
            if getattr(layer, "dim", None) not in (1, -1):
                _refuse(where, layer, f"normalises over dim={layer.dim!r}, not over a row's outputs (dim=1)")
            if not linears:
                _refuse(where, layer, "comes before the first Linear layer")
            after[-1].append(layer)
            last_row_wise = (where, layer, len(linears))
        elif isinstance(layer, tuple(getattr(torch.nn, n) for n in ELEMENTWISE)):
            if not linears:
                _refuse(where, layer, "comes before the first Linear layer")
            if any(True for _ in layer.parameters()):
                _refuse(where, layer, "has parameters")
            after[-1].append(layer)
        elif isinstance(layer, torch.nn.Module) and list(layer.children()):
            _refuse(where, layer, "is a container sculpt cannot flatten (only nested nn.Sequential)")
        else:
            _refuse(where, layer, "is not a Linear layer or an element-wise activation")
    if not linears:
        raise SculptError("the Sequential model has no Linear layer")
    if last_row_wise is not None and last_row_wise[2] < len(linears):
        _refuse(last_row_wise[0], last_row_wise[1], "mixes a row's units and sits between Linear layers")
    return SequentialLayout(linears=linears, after=after)


def linear_mask(layer) -> np.ndarray:
    """Kept edges of one Linear: its ``weight_mask`` (``torch.nn.utils.prune``), else ``weight != 0``."""
    mask = getattr(layer, "weight_mask", None)
    return _to_numpy(mask) != 0 if mask is not None else _to_numpy(layer.weight) != 0


def masks_from_sequential(model) -> list[np.ndarray]:
    """Edge masks of a ``torch.nn.Sequential`` MLP, one per ``Linear`` layer.

    Parameters
    ----------
    model : torch.nn.Sequential
        See :func:`read_sequential` for what it may hold.

    Returns
    -------
    list of ndarray of bool
        ``weight_mask`` where ``torch.nn.utils.prune`` left one, else ``weight != 0``.
    """
    return [linear_mask(layer) for _, layer in read_sequential(model).linears]


def weights_from_sequential(model) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(weights, masks) of a ``torch.nn.Sequential`` MLP: float64 ``weight`` (masked) and bool masks."""
    layers = [layer for _, layer in read_sequential(model).linears]
    masks = [linear_mask(layer) for layer in layers]
    weights = [_to_numpy(layer.weight).astype(np.float64) * m for layer, m in zip(layers, masks)]
    return weights, masks


def as_masks(network) -> list[np.ndarray]:
    """Per-weight-layer boolean masks (out x in) of a network given in any supported form.

    Parameters
    ----------
    network : list of array-like, object with ``.masks``, or torch.nn.Sequential

    Returns
    -------
    list of ndarray of bool
    """
    if isinstance(network, (list, tuple)):  # tested first: detection reads thousands of mask lists
        if network:
            from sculpt.detect.condense import validate_masks

            return validate_masks([_to_numpy(mask) for mask in network])
    elif _is_torch_module(network):
        return masks_from_sequential(network)
    elif hasattr(network, "masks") and not isinstance(network, np.ndarray):
        return as_masks(network.masks)
    raise SculptError("cannot read masks from a "
                      f"{type(network).__name__}: give a list of 0/1 arrays (out x in), an object "
                      "with .masks (e.g. PrunedNet) or a torch.nn.Sequential")
