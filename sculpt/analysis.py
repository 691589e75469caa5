"""Path edge-weight products and N90 (paper section 2): is a task's structure visible in the weights?

For an MLP with weight matrices W_1..W_L (PyTorch layout: ``W_l`` has shape out x in), the
*path edge-weight product* between input i and output j is the sum over every directed path from
i to j of the product of the absolute weights along it::

    pi(i, j) = sum over paths i -> j of prod |w_e|  =  (|W_L| ... |W_2| |W_1|)[j, i]

Pruned edges have weight 0, so the same formula covers dense, edge-pruned and unit-edge-pruned
networks.

*Input separability* (Table 1): for a sub-function with inputs I and outputs O, the products
pi(i, j) with i in I, j in O should exceed those from the other inputs into O. The one-sided
Welch t-test (unequal variances, H1: mean inside > mean outside) tests exactly that.

*N90* (Figures 2b-4b): every input-to-output path crosses each hidden layer at exactly one unit,
so the path-product mass splits over the units of a layer; unit u of layer l carries
``(sum_i pi(i -> u)) * (sum_j pi(u -> j))``. N90 of layer l is the smallest number of its units
whose mass adds up to 90 % of the total. Reuse shows up as a small N90 in the layer where the
reused sub-functions are computed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

from sculpt.errors import ConfigError


def _abs_layers(weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    if len(weights) < 1:
        raise ConfigError("weights must list at least one weight matrix")
    layers = [np.abs(np.asarray(w, dtype=np.float64)) for w in weights]
    for index, (w, nxt) in enumerate(zip(layers, layers[1:])):
        if w.ndim != 2 or nxt.ndim != 2 or nxt.shape[1] != w.shape[0]:
            raise ConfigError(f"weights[{index + 1}] has shape {nxt.shape}, which does not follow weights[{index}] "
                              f"of shape {w.shape} (expected (out, {w.shape[0]}))")
    if layers[0].ndim != 2:
        raise ConfigError(f"weights[0] must be a matrix (out x in), got shape {layers[0].shape}")
    return layers


def path_products(weights: Sequence[np.ndarray]) -> np.ndarray:
    """Path edge-weight products between every input and every output.

    Parameters
    ----------
    weights : sequence of arrays
        Weight matrices in PyTorch layout (layer l: out x in), zero where pruned.

    Returns
    -------
    ndarray of shape (n_outputs, n_inputs)
        ``P[j, i] = pi(i, j)``.
    """
    layers = _abs_layers(weights)
    product = layers[0]
    for w in layers[1:]:
        product = w @ product
    return product


@dataclass(frozen=True)
class SeparabilityTest:
    """One-sided Welch t-test of one sub-function (Table 1).

    Attributes
    ----------
    inputs, outputs : tuple of int
        The sub-function's inputs I and outputs O.
    inside_mean, outside_mean : float
        Mean of pi(i, j) over i in I, j in O, and over i not in I, j in O.
    t_statistic, p_value : float
        Welch's t and the one-sided p-value for H1: inside mean > outside mean.
    """

    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    inside_mean: float
    outside_mean: float
    t_statistic: float
    p_value: float

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"inputs": list(self.inputs), "outputs": list(self.outputs),
                "inside_mean": self.inside_mean, "outside_mean": self.outside_mean,
                "t_statistic": self.t_statistic, "p_value": self.p_value}


@dataclass(frozen=True)
class SeparabilityResult:
    """Welch tests of every sub-function of a network.

    Attributes
    ----------
    tests : tuple of SeparabilityTest
    alpha : float
    """

    tests: tuple[SeparabilityTest, ...]
    alpha: float

    @property
    def separable(self) -> bool:
        """True when every sub-function's null hypothesis is rejected at ``alpha``."""
        return all(t.p_value < self.alpha for t in self.tests)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"alpha": self.alpha, "separable": self.separable, "tests": [t.to_dict() for t in self.tests]}


def welch_separability(products: np.ndarray, inputs: Sequence[int], outputs: Sequence[int]) -> SeparabilityTest:
    """One-sided Welch t-test: do inputs ``inputs`` reach outputs ``outputs`` more strongly than the rest?

    Parameters
    ----------
    products : ndarray (n_outputs, n_inputs)
        From :func:`path_products`, or its mean over several networks.
    inputs, outputs : sequence of int
        The sub-function's input and output indices.

    Returns
    -------
    SeparabilityTest
    """
    products = np.asarray(products, dtype=np.float64)
    n_out, n_in = products.shape
    inputs, outputs = tuple(sorted(set(int(i) for i in inputs))), tuple(sorted(set(int(j) for j in outputs)))
    if not inputs or not outputs:
        raise ConfigError("a sub-function needs at least one input and one output")
    if max(inputs) >= n_in or min(inputs) < 0 or max(outputs) >= n_out or min(outputs) < 0:
        raise ConfigError(f"sub-function inputs {list(inputs)} / outputs {list(outputs)} out of range for "
                          f"{n_in} inputs and {n_out} outputs")
    others = [i for i in range(n_in) if i not in inputs]
    if not others:
        raise ConfigError(f"sub-function inputs {list(inputs)} cover every input; nothing to compare with")
    inside = products[np.ix_(outputs, inputs)].ravel()
    outside = products[np.ix_(outputs, others)].ravel()
    if inside.size < 2 or outside.size < 2:
        raise ConfigError("the Welch t-test needs at least two products on each side "
                          f"(got {inside.size} inside and {outside.size} outside)")
    if np.ptp(inside) == 0 and np.ptp(outside) == 0:
        # No spread on either side (e.g. pruned to identical paths): the means decide exactly.
        greater = inside[0] > outside[0]
        t, p = (math.inf, 0.0) if greater else ((-math.inf if inside[0] < outside[0] else 0.0), 1.0)
    else:
        test = stats.ttest_ind(inside, outside, equal_var=False, alternative="greater")
        t, p = float(test.statistic), float(test.pvalue)
    return SeparabilityTest(inputs, outputs, float(inside.mean()), float(outside.mean()), t, p)


def separability_test(weights: Sequence[np.ndarray] | np.ndarray,
                      subfunctions: Sequence[tuple[Sequence[int], Sequence[int]]],
                      alpha: float = 0.05) -> SeparabilityResult:
    """Welch tests of every sub-function of one network (or of averaged path products).

    Parameters
    ----------
    weights : sequence of arrays or ndarray
        Weight matrices (see :func:`path_products`), or an (n_outputs, n_inputs) product matrix
        already computed (e.g. averaged over seeds, as the paper's notebook does).
    subfunctions : sequence of (inputs, outputs)
        E.g. ``[((0, 1), (0, 1)), ((2, 3), (2, 3))]`` for the input-separable graph [4,2,4].
    alpha : float
        Significance level.

    Returns
    -------
    SeparabilityResult
    """
    # A bare 2-D array is a product matrix; a network (even a one-layer one) comes as a list.
    products = weights if isinstance(weights, np.ndarray) and weights.ndim == 2 else path_products(weights)
    tests = tuple(welch_separability(products, ins, outs) for ins, outs in subfunctions)
    return SeparabilityResult(tests, float(alpha))


def unit_path_mass(weights: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Path-product mass carried by every hidden unit, layer by layer.

    Parameters
    ----------
    weights : sequence of arrays
        Weight matrices in PyTorch layout.

    Returns
    -------
    list of ndarray
        One vector per hidden layer: ``(sum_i pi(i -> u)) * (sum_j pi(u -> j))`` for its units.
        Each vector sums to the total mass ``path_products(weights).sum()``.
    """
    layers = _abs_layers(weights)
    n_hidden = len(layers) - 1
    into = []  # into[l][u, i]: products from inputs to unit u of hidden layer l
    product = layers[0]
    for l in range(n_hidden):
        into.append(product)
        product = layers[l + 1] @ product
    out_of = [None] * n_hidden  # out_of[l][j, u]: products from unit u of layer l to outputs
    product = layers[-1]
    for l in range(n_hidden - 1, -1, -1):
        out_of[l] = product
        if l > 0:
            product = product @ layers[l]
    return [into[l].sum(axis=1) * out_of[l].sum(axis=0) for l in range(n_hidden)]


def n90(mass: np.ndarray, fraction: float = 0.9) -> int:
    """Smallest number of units whose mass adds up to ``fraction`` of the layer's total.

    Parameters
    ----------
    mass : ndarray
        One non-negative value per unit (see :func:`unit_path_mass`).
    fraction : float
        0.9 for the paper's N90.

    Returns
    -------
    int
        0 when the layer carries no mass at all.
    """
    if not 0 < fraction <= 1:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction}")
    mass = np.sort(np.asarray(mass, dtype=np.float64))[::-1]
    total = mass.sum()
    if total <= 0:
        return 0
    cumulative = np.cumsum(mass)
    # A tiny tolerance so that e.g. 9 equal units of 10 reach exactly 90 %.
    return int(np.searchsorted(cumulative, fraction * total * (1 - 1e-12), side="left") + 1)


def n90_per_layer(weights: Sequence[np.ndarray], fraction: float = 0.9) -> list[int]:
    """N90 of every hidden layer of a network (Figures 2b-4b)."""
    return [n90(m, fraction) for m in unit_path_mass(weights)]


def output_supports(X: np.ndarray, Y: np.ndarray) -> list[tuple[int, ...]]:
    """The inputs each output of a complete truth table depends on.

    Parameters
    ----------
    X : ndarray (2**n, n)
        Every input row, in binary counting order with x0 the most significant bit.
    Y : ndarray (2**n, m)

    Returns
    -------
    list of tuple of int
        For output j, the inputs i such that flipping x_i changes y_j on some row.
    """
    X, Y = np.asarray(X), np.asarray(Y)
    n = X.shape[1]
    if X.shape[0] != 2 ** n:
        raise ConfigError(f"output_supports needs a complete truth table (2**{n} rows), got {X.shape[0]} rows")
    rows = np.arange(2 ** n)
    supports: list[set[int]] = [set() for _ in range(Y.shape[1])]
    for i in range(n):
        flipped = rows ^ (1 << (n - 1 - i))
        changed = (Y != Y[flipped]).any(axis=0)
        for j in np.flatnonzero(changed):
            supports[j].add(i)
    return [tuple(sorted(s)) for s in supports]


def subfunctions_from_supports(supports: Sequence[Sequence[int]]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Group outputs with the same support: ``[(inputs, outputs), ...]`` ordered by first output."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for j, support in enumerate(supports):
        groups.setdefault(tuple(support), []).append(j)
    return [(inputs, tuple(outputs)) for inputs, outputs in groups.items()]
