"""Clusterable initialisation (paper section 4.2, spec 5).

Tag every unit with a uniformly random tag in {0..c-1}; multiply each weight whose two endpoints
share a tag by 1 + (1 - beta)(c - 1) and every other weight by beta. The expected mean |w| is kept:
(1/c)(1 + (1 - beta)(c - 1)) + (1 - 1/c) beta = 1.
"""
from __future__ import annotations

import numpy as np

from sculpt.errors import ConfigError, SculptError

OUTPUT_TAGS = ("distinct", "random")


def same_tag_factor(c: int, beta: float) -> float:
    """Factor for weights between units with the same tag: 1 + (1 - beta)(c - 1)."""
    return 1.0 + (1.0 - beta) * (c - 1)


def unit_tags(layer_sizes, c: int = 10, seed=0, output_tags: str = "distinct") -> list[np.ndarray]:
    """Random tags per unit of every layer (input first).

    Parameters
    ----------
    layer_sizes : sequence of int
    c : int
    seed : int or numpy Generator
    output_tags : {"distinct", "random"}
        ``distinct``: outputs get tags 0, 1, ... one each when there are at most c of them (as the
        paper's training code does for the 10 classes); ``random``: like every other layer.

    Returns
    -------
    list of int ndarray
    """
    if output_tags not in OUTPUT_TAGS:
        raise ConfigError(f"output_tags={output_tags!r}: choose one of {', '.join(OUTPUT_TAGS)}")
    rng = np.random.default_rng(seed)
    tags = [rng.integers(0, c, size=int(n)) for n in layer_sizes]
    if output_tags == "distinct" and layer_sizes[-1] <= c:
        tags[-1] = np.arange(layer_sizes[-1])
    return tags


def clusterable_factors(layer_sizes, c: int = 10, beta: float = 0.6, seed=0, skip_first_layer: bool = True,
                        output_tags: str = "distinct") -> list[np.ndarray]:
    """Per-weight multipliers (torch layout (out, in)) of the clusterable initialisation.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first.
    c : int, default 10
        Number of tags.
    beta : float, default 0.6
        Factor for weights between different tags (0.6 for MLPs, 0.8 for CNNs in the paper).
    seed : int
    skip_first_layer : bool, default True
        Leave the input -> first hidden layer weights untouched, as the paper's training code
        ("pixels aren't always the same"); False tags every layer, as its random-init analysis
        (the 6.80 anchor).
    output_tags : {"distinct", "random"}

    Returns
    -------
    list of float64 ndarray, one per weight layer
    """
    if int(c) < 1:
        raise ConfigError(f"c={c}: expected >= 1")
    if not 0.0 <= beta <= 1.0:
        raise ConfigError(f"beta={beta}: expected 0 <= beta <= 1")
    tags = unit_tags(layer_sizes, c, seed, output_tags)
    same = same_tag_factor(c, beta)
    factors = []
    for l in range(len(layer_sizes) - 1):
        if l == 0 and skip_first_layer:
            factors.append(np.ones((layer_sizes[1], layer_sizes[0])))
            continue
        equal = tags[l + 1][:, None] == tags[l][None, :]
        factors.append(np.where(equal, same, beta))
    return factors


def clusterable_init_(net, c: int = 10, beta: float = 0.6, seed=0, skip_first_layer: bool = True,
                      output_tags: str = "distinct"):
    """Rewrite a network's initial weights in place with the clusterable initialisation.

    Parameters
    ----------
    net : MaskedMLP-like (stacked (E, out, in) tensors in ``.weights``), torch.nn.Module with Linear
        layers, or a list of numpy arrays / torch tensors (torch layout). Every member of a stack
        gets its own tags (seeded from ``seed`` and the member index).
    c, beta, seed, skip_first_layer, output_tags
        See :func:`clusterable_factors`.

    Returns
    -------
    The same object, modified in place.
    """
    import torch

    if isinstance(net, torch.nn.Module):
        arrays = [m.weight for m in net.modules() if isinstance(m, torch.nn.Linear)]
        if not arrays:
            raise SculptError(f"{type(net).__name__}: no torch.nn.Linear layers found")
    elif isinstance(net, (list, tuple)):
        arrays = list(net)
    elif hasattr(net, "weights"):
        arrays = list(net.weights)
    else:
        raise SculptError(f"cannot read weights from {type(net).__name__}")
    stacked = arrays[0].ndim == 3
    members = arrays[0].shape[0] if stacked else 1
    sizes = [arrays[0].shape[-1]] + [a.shape[-2] for a in arrays]
    children = np.random.SeedSequence(seed).spawn(members)
    for e in range(members):
        factors = clusterable_factors(sizes, c, beta, children[e], skip_first_layer, output_tags)
        for a, f in zip(arrays, factors):
            target = a[e] if stacked else a
            if torch.is_tensor(target):
                with torch.no_grad():
                    target.mul_(torch.as_tensor(f, dtype=target.dtype, device=target.device))
            else:
                target *= f.astype(target.dtype)
    return net
