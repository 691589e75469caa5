"""Masks from whatever network a user brings: one adapter in front of module detection.

Accepted: a list of 0/1 arrays (out x in, PyTorch layout; numpy or torch), any object with a
``.masks`` attribute (such as :class:`sculpt.nets.PrunedNet`), and a ``torch.nn.Sequential`` of
``Linear`` layers and parameter-free activations, pruned with ``torch.nn.utils.prune`` (its
``weight_mask`` buffers are used) or not (then the nonzero weights are the edges).
"""
from __future__ import annotations

import sys

import numpy as np

from sculpt.errors import SculptError


def _to_numpy(array) -> np.ndarray:
    if hasattr(array, "detach"):  # a torch tensor, possibly on a GPU
        array = array.detach().cpu().numpy()
    return np.asarray(array)


def _is_torch_module(obj) -> bool:
    torch = sys.modules.get("torch")  # never import torch just to find out
    return torch is not None and isinstance(obj, torch.nn.Module)


def masks_from_sequential(model) -> list[np.ndarray]:
    """Edge masks of a ``torch.nn.Sequential`` MLP, one per ``Linear`` layer.

    Parameters
    ----------
    model : torch.nn.Sequential
        ``Linear`` layers with parameter-free modules (ReLU, Sigmoid, ...) between them.

    Returns
    -------
    list of ndarray of bool
        ``weight_mask`` where ``torch.nn.utils.prune`` left one, else ``weight != 0``.
    """
    import torch

    if not isinstance(model, torch.nn.Sequential):
        raise SculptError(f"expected a torch.nn.Sequential MLP, got {type(model).__name__}")
    masks = []
    for name, layer in model.named_children():
        if isinstance(layer, torch.nn.Linear):
            mask = getattr(layer, "weight_mask", None)
            masks.append(_to_numpy(mask).astype(bool) if mask is not None
                         else _to_numpy(layer.weight) != 0)
        elif any(True for _ in layer.parameters()):
            raise SculptError(f"layer {name!r} ({type(layer).__name__}) has parameters but is not "
                              "Linear; only MLPs of Linear layers and activations are supported")
    if not masks:
        raise SculptError("the Sequential model has no Linear layer")
    return masks


def as_masks(network) -> list[np.ndarray]:
    """Per-weight-layer boolean masks (out x in) of a network given in any supported form.

    Parameters
    ----------
    network : list of array-like, object with ``.masks``, or torch.nn.Sequential

    Returns
    -------
    list of ndarray of bool
    """
    if _is_torch_module(network):
        return masks_from_sequential(network)
    if hasattr(network, "masks") and not isinstance(network, (list, tuple, np.ndarray)):
        return as_masks(network.masks)
    if isinstance(network, (list, tuple)) and len(network) > 0:
        from sculpt.detect.condense import validate_masks

        return validate_masks([_to_numpy(mask) for mask in network])
    raise SculptError("cannot read masks from a "
                      f"{type(network).__name__}: give a list of 0/1 arrays (out x in), an object "
                      "with .masks (e.g. PrunedNet) or a torch.nn.Sequential")
